// Tests of entropic semi-discrete OT (SPEC section 2.3): problems/semidiscrete_ot.hpp through
// the one exact evaluator, the log-domain Sinkhorn reference (solvers/sinkhorn.hpp) against
// L-BFGS, every stochastic solver on a tiny instance, numerics at epsilon = 1e-3, lsekit-ot
// files (data/ot_instance.hpp, data/ot_generator.hpp) and the OT task (tasks/ot.hpp).
#include <omp.h>
#include <unistd.h>

#include <Eigen/Eigenvalues>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "data/h5doc.hpp"
#include "data/ot_generator.hpp"
#include "data/ot_instance.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "solvers/instances.hpp"
#include "test_support.hpp"
#include "tasks/ot.hpp"

using namespace lsekit;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;
namespace fs = std::filesystem;

namespace {

OtInstance make_instance(long n, long m, long d, double eps, std::uint64_t seed = 1,
                         OtWeights weights = OtWeights::Dirichlet, long n_test = 0) {
  OtGenOptions o;
  o.n = n;
  o.m = m;
  o.d = d;
  o.epsilon = eps;
  o.seed = seed;
  o.weights = weights;
  o.n_test = n_test;
  return generate_ot(o);
}

Vec random_g(Index m, std::uint64_t seed, double scale = 0.3) {
  Rng rng(seed);
  Vec g(m);
  for (Index j = 0; j < m; ++j) g(j) = scale * rng.normal();
  return g;
}

/// c(x_i, y_j) = sum_k (x_ik - y_jk)^2 by a direct loop in long double.
long double brute_cost(const MatRM& x, Index i, const MatRM& y, Index j) {
  long double c = 0.0L;
  for (Index k = 0; k < x.cols(); ++k) {
    const long double t = static_cast<long double>(x(i, k)) - y(j, k);
    c += t * t;
  }
  return c;
}

/// L_i = eps log sum_j b_j exp((g_j - c_ij)/eps), max-shifted, long double.
std::vector<long double> brute_lse(const MatRM& x, const MatRM& y, const Vec& b, const Vec& g,
                                   double eps) {
  std::vector<long double> out(x.rows());
  for (Index i = 0; i < x.rows(); ++i) {
    long double mx = -INFINITY;
    for (Index j = 0; j < y.rows(); ++j) mx = std::max(mx, g(j) - brute_cost(x, i, y, j));
    long double z = 0.0L;
    for (Index j = 0; j < y.rows(); ++j)
      z += b(j) * std::exp((g(j) - brute_cost(x, i, y, j) - mx) / eps);
    out[i] = mx + eps * std::log(z);
  }
  return out;
}

/// F(g) by a direct double loop over samples and atoms.
double brute_f(const MatRM& x, const MatRM& y, const Vec& b, const Vec& g, double eps) {
  const auto l = brute_lse(x, y, b, g, eps);
  long double acc = 0.0L, lin = 0.0L;
  for (long double v : l) acc += v;
  for (Index j = 0; j < b.size(); ++j) lin += static_cast<long double>(b(j)) * g(j);
  return static_cast<double>(acc / static_cast<long double>(x.rows()) - lin);
}

/// Reference optimum of the empirical problem by L-BFGS.
Result reference(const SemiDiscreteOt& p, double gtol = 1e-10) {
  SolverOptions o = SolverOptions::reference();
  o.gtol = gtol;
  return solve(p, o);
}

struct ThreadGuard {
  int saved = omp_get_max_threads();
  ~ThreadGuard() { omp_set_num_threads(saved); }
};

struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("lsekit-test-ot-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("entropic OT: exact F and c-transform match a brute-force double loop", "[ot]") {
  // n = 9 (< 64 groups: the evaluator streams items per group) and n = 150 (chunks of whole
  // groups), with a tiny block budget so that blocks are split as well.
  for (long n : {9L, 150L}) {
    for (Index budget : {Index{1} << 16, Index{40}}) {
      for (double eps : {0.05, 0.5}) {
        INFO("n = " << n << ", budget = " << budget << ", eps = " << eps);
        const OtInstance inst = make_instance(n, 13, 3, eps, 4);
        const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
        ExactEvaluator<SemiDiscreteOt> ev(p, budget);
        const Vec g = random_g(13, 8);
        Vec lse;
        const double f = ev.group_values(g, lse);
        CHECK_THAT(f, WithinRel(brute_f(inst.x, inst.y, inst.b, g, eps), 1e-12));
        CHECK(ev.value(g) == f);
        const auto l = brute_lse(inst.x, inst.y, inst.b, g, eps);
        for (Index i = 0; i < n; ++i)
          CHECK_THAT(lse(i), WithinAbs(static_cast<double>(l[i]), 1e-12));
      }
    }
  }
}

TEST_CASE("entropic OT: exact gradient matches finite differences", "[ot][fd]") {
  for (long n : {9L, 150L}) {
    for (double eps : {0.05, 0.5}) {
      INFO("n = " << n << ", eps = " << eps);
      const OtInstance inst = make_instance(n, 11, 2, eps, 2);
      const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
      ExactEvaluator<SemiDiscreteOt> ev(p, 64);
      const Vec g = random_g(11, 5);
      Vec grad;
      ev.value_and_gradient(g, grad);
      const Vec fd = test::fd_gradient([&](const Vec& t) { return ev.value(t); }, g, 1e-4);
      INFO("grad " << grad.transpose() << "\nFD   " << fd.transpose());
      CHECK((grad - fd).norm() <= 1e-8 * std::max(1.0, fd.norm()));
      CHECK(fd.norm() > 1e-3);
    }
  }
}

TEST_CASE("entropic OT: the evaluator's Hessian matches finite differences of the gradient",
          "[ot][fd][hessian]") {
  ThreadGuard guard;
  // n = 9 (fewer groups than chunks) and n = 700 (several Hessian runs, several blocks).
  for (long n : {9L, 700L}) {
    for (double eps : {0.05, 0.5}) {
      INFO("n = " << n << ", eps = " << eps);
      const OtInstance inst = make_instance(n, 11, 2, eps, 4);
      const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
      ExactEvaluator<SemiDiscreteOt> ev(p, 64);
      const Vec g = random_g(11, 6);
      Vec grad, grad_h, lse, lse_h, curv;
      Mat h;
      const double f = ev.evaluate(g, &grad, nullptr, &lse, nullptr);
      const double f_h = ev.evaluate_with_hessian(g, grad_h, nullptr, &lse_h, h, &curv);
      // The same pass: F, grad F and the group LSEs are bitwise those without the Hessian.
      CHECK(f == f_h);
      CHECK(grad == grad_h);
      CHECK(lse == lse_h);
      // Column j of H by central differences of grad F.
      Mat fd(11, 11);
      for (Index j = 0; j < 11; ++j) {
        Vec gp = g, gm = g, dp, dm;
        gp(j) += 1e-6;
        gm(j) -= 1e-6;
        ev.value_and_gradient(gp, dp);
        ev.value_and_gradient(gm, dm);
        fd.col(j) = (dp - dm) / 2e-6;
      }
      CHECK((h - fd).norm() <= 1e-6 * std::max(1.0, fd.norm()));
      CHECK((h - h.transpose()).norm() == 0.0);
      CHECK((h * Vec::Ones(11)).norm() <= 1e-12 * h.norm());  // H 1 = 0
      CHECK(Eigen::SelfAdjointEigenSolver<Mat>(h).eigenvalues().minCoeff() >= -1e-12 * h.norm());
      // Curvature of sample i: 1 - |chi(x_i)|^2 with chi_j = b_j exp((S_ij - L_i) / eps).
      for (Index i : {Index{0}, n - 1}) {
        const Vec s = g.array() - (inst.y.rowwise() - inst.x.row(i)).rowwise().squaredNorm().array();
        const Vec chi = inst.b.array() / inst.b.sum() * ((s.array() - lse(i)) / eps).exp();
        CHECK_THAT(curv(i), WithinAbs(1.0 - chi.squaredNorm(), 1e-13));
      }
      // Independent of the thread count, bitwise.
      Mat h1;
      Vec g1;
      omp_set_num_threads(1);
      ExactEvaluator<SemiDiscreteOt>(p, 64).evaluate_with_hessian(g, g1, nullptr, nullptr, h1);
      omp_set_num_threads(2);
      CHECK(h1 == h);
      CHECK(g1 == grad);
    }
  }
}

TEST_CASE("entropic OT: the certificate with the caller's Hessian is the certificate without it",
          "[ot][certificate][hessian]") {
  const OtInstance inst = make_instance(300, 15, 2, 0.1, 8);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, 0.1);
  ExactEvaluator<SemiDiscreteOt> ev(p);
  const Vec g = 0.05 * random_g(15, 9);
  Vec grad;
  Mat h;
  const double f = ev.evaluate_with_hessian(g, grad, nullptr, nullptr, h);
  const double with_h = p.gap_bound(g, f, grad, &h), without = p.gap_bound(g, f, grad);
  CHECK(std::isfinite(with_h));
  CHECK_THAT(with_h, WithinRel(without, 1e-9));
  CHECK(p.certificate_passes(true) == 2.0);
  CHECK(p.certificate_passes() == 3.0);
}

TEST_CASE("entropic OT: F(g + t) = F(g), the gradient sums to zero, normalization", "[ot]") {
  const OtInstance inst = make_instance(200, 17, 2, 0.1, 3);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, 0.1);
  ExactEvaluator<SemiDiscreteOt> ev(p);
  const Vec g = random_g(17, 9);
  Vec g1, g2;
  const double f = ev.value_and_gradient(g, g1);
  for (double t : {-3.0, 0.25, 7.5}) {
    const Vec gt = g.array() + t;
    const double ft = ev.value_and_gradient(gt, g2);
    CHECK_THAT(ft, WithinAbs(f, 1e-13 * (1.0 + std::abs(t))));
    CHECK((g2 - g1).cwiseAbs().maxCoeff() <= 1e-14);
  }
  CHECK(std::abs(g1.sum()) <= 1e-15);  // sum_j (mean chi - b)_j = 1 - 1
  const Vec gn = p.normalized(g);
  CHECK(std::abs(p.b().dot(gn)) <= 1e-15);
  CHECK_THAT(ev.value(gn), WithinAbs(f, 1e-14));
  // -A(g) = <b, g> with gradient -b.
  Vec gr = Vec::Zero(17);
  CHECK(p.regularizer(g, &gr) == -p.b().dot(g));
  CHECK(gr == -p.b());
}

TEST_CASE("entropic OT: gathered and contiguous index sets agree, repeated atoms accumulate",
          "[ot]") {
  for (long d : {2L, 70L}) {  // d = 70: the GEMM is issued in several panels
    INFO("d = " << d);
    const OtInstance inst = make_instance(300, 257, d, 0.1, 6);
    const SemiDiscreteOt p(inst.x, inst.y, inst.b, 0.1);
    const Vec g = random_g(257, 1);
    auto ws = p.make_workspace(300, 257);
    Mat s1(257, 40), s2(257, 40), s3(257, 40);
    std::vector<Index> groups(40), items(257);
    for (Index k = 0; k < 40; ++k) groups[k] = 100 + k;
    for (Index j = 0; j < 257; ++j) items[j] = j;
    p.scores(g, IndexSet::range(100, 40), IndexSet::range(0, 257), ws, s1);
    p.scores(g, IndexSet::list(groups.data(), 40), IndexSet::range(0, 257), ws, s2);
    p.scores(g, IndexSet::list(groups.data(), 40), IndexSet::list(items.data(), 257), ws, s3);
    CHECK((s1 - s2).cwiseAbs().maxCoeff() <= 1e-13);
    CHECK((s1 - s3).cwiseAbs().maxCoeff() <= 1e-13);
    // Against the direct cost.
    double worst = 0.0;
    for (Index k = 0; k < 40; ++k)
      for (Index j = 0; j < 257; ++j)
        worst = std::max(
            worst, std::abs(s1(j, k) -
                            static_cast<double>(g(j) - brute_cost(inst.x, 100 + k, inst.y, j))));
    CHECK(worst <= 1e-13 * static_cast<double>(d));
    // Repeated atoms: row sums land on the same coordinate.
    const Index rep[] = {5, 5, 9};
    Mat w(3, 2);
    w << 1.0, 2.0, 3.0, 4.0, 5.0, 6.0;
    Mat s(3, 2);
    p.scores(g, IndexSet::list(groups.data(), 2), IndexSet::list(rep, 3), ws, s);
    Vec grad = Vec::Zero(257);
    p.add_gradient(g, IndexSet::list(groups.data(), 2), IndexSet::list(rep, 3), ws, w, grad);
    CHECK(grad(5) == 10.0);
    CHECK(grad(9) == 11.0);
    CHECK(grad.sum() == 21.0);
  }
}

TEST_CASE("entropic OT: plan outputs match brute force", "[ot]") {
  const double eps = 0.07;
  const OtInstance inst = make_instance(90, 12, 3, eps, 11);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
  const Vec g = random_g(12, 4);
  Vec lse, cost, kl;
  MatRM bary;
  IVec assign;
  ExactEvaluator<SemiDiscreteOt>(p).group_values(g, lse);
  p.plan_outputs(g, lse, &cost, &kl, &bary, &assign);
  const auto l = brute_lse(inst.x, inst.y, inst.b, g, eps);
  for (Index i = 0; i < 90; ++i) {
    long double c = 0, k = 0, best = -INFINITY, tot = 0;
    Index arg = 0;
    std::vector<long double> t(3, 0.0L);
    for (Index j = 0; j < 12; ++j) {
      const long double cij = brute_cost(inst.x, i, inst.y, j);
      const long double r = (g(j) - cij - l[i]) / eps;
      const long double chi = inst.b(j) * std::exp(r);
      tot += chi;
      c += chi * cij;
      k += chi * r;
      for (int q = 0; q < 3; ++q) t[q] += chi * inst.y(j, q);
      if (r + std::log(static_cast<long double>(inst.b(j))) > best)
        best = r + std::log(static_cast<long double>(inst.b(j))), arg = j;
    }
    CHECK_THAT(static_cast<double>(tot), WithinAbs(1.0, 1e-12));  // chi(x_i) sums to 1
    CHECK_THAT(cost(i), WithinAbs(static_cast<double>(c), 1e-12));
    CHECK_THAT(kl(i), WithinAbs(static_cast<double>(k), 1e-11));
    for (int q = 0; q < 3; ++q) CHECK_THAT(bary(i, q), WithinAbs(static_cast<double>(t[q]), 1e-13));
    CHECK(assign(i) == arg);
  }
}

TEST_CASE("Sinkhorn and L-BFGS agree, marginal error at the optimum is below 1e-6", "[ot]") {
  for (double eps : {0.1, 0.3}) {
    INFO("eps = " << eps);
    const OtInstance inst = make_instance(300, 25, 2, eps, 7);
    const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
    SolverOptions o = SolverOptions::reference();
    o.optimizer = OptimizerKind::Sinkhorn;
    o.gtol = 1e-11;
    const Result sk = solve(p, o);
    const Result lb = reference(p, 1e-11);
    REQUIRE(sk.status == Status::Converged);
    REQUIRE(lb.ok());
    CHECK(std::abs(sk.objective - lb.objective) <= 1e-8 * std::abs(lb.objective));
    CHECK(sk.grad_norm <= 1e-11);  // Sinkhorn's own marginal error
    ExactEvaluator<SemiDiscreteOt> ev(p);
    Vec grad;
    CHECK(ev.value_and_gradient(sk.theta, grad) == sk.objective);
    CHECK(grad.lpNorm<1>() < 1e-6);  // the marginal error, recomputed by the evaluator
    ev.value_and_gradient(lb.theta, grad);
    CHECK(grad.lpNorm<1>() < 1e-6);
    // Potentials agree up to the constant shift.
    CHECK((p.normalized(sk.theta) - p.normalized(lb.theta)).cwiseAbs().maxCoeff() < 1e-6);
    // Sinkhorn's trace: F of each iterate, non-increasing after the first iterations.
    REQUIRE(sk.trace.size() >= 3);
    CHECK(sk.trace.back().objective == sk.objective);
    CHECK(sk.trace.back().objective <= sk.trace.front().objective);
  }
}

TEST_CASE("Sinkhorn and the OT evaluator are bitwise identical for 1 and 2 threads", "[ot]") {
  ThreadGuard guard;
  const OtInstance inst = make_instance(700, 40, 3, 0.1, 12);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, 0.1);
  SolverOptions o = SolverOptions::reference();
  o.optimizer = OptimizerKind::Sinkhorn;
  o.max_iter = 20;
  Result r[2];
  Vec gr[2];
  double f[2];
  for (int t = 1; t <= 2; ++t) {
    omp_set_num_threads(t);
    r[t - 1] = solve(p, o);
    f[t - 1] = ExactEvaluator<SemiDiscreteOt>(p).value_and_gradient(random_g(40, 3), gr[t - 1]);
  }
  CHECK(r[0].theta == r[1].theta);
  CHECK(r[0].objective == r[1].objective);
  CHECK(f[0] == f[1]);
  CHECK(gr[0] == gr[1]);
}

TEST_CASE("optimizer sinkhorn is rejected for non-OT problems and other solvers", "[ot]") {
  SolverOptions o = SolverOptions::reference();
  o.optimizer = OptimizerKind::Sinkhorn;
  CHECK(o.check(100, 1, false).find("entropic OT") != std::string::npos);
  CHECK(o.check(100, 1000, true).empty());
  o.solver = SolverKind::Softplus;
  CHECK(o.check(100, 1000, true).find("`solver=full`") != std::string::npos);
  const DroRegression dro = test::make_regression(50, 2, 1);
  SolverOptions f = SolverOptions::reference();
  f.optimizer = OptimizerKind::Sinkhorn;
  CHECK_THROWS_AS(solve(dro, f), InputError);
}

TEST_CASE("every stochastic solver converges on a tiny OT instance", "[ot][solvers][slow]") {
  const double eps = 0.1;
  const OtInstance inst = make_instance(256, 16, 2, eps, 1);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
  const Result ref = reference(p);
  REQUIRE(ref.ok());
  const double fstar = ref.objective;
  struct Case {
    const char* what;
    SolverKind kind;
    OptimizerKind opt;
    ScheduleKind sched;
    double step;
    long batch, atoms;
    double epochs, rho, tol;
  };
  const Case cases[] = {
      // All atoms in the batch (exact inner logsumexp), Polyak averaging throughout.
      {"all atoms", SolverKind::BiasedSoftmax, OptimizerKind::Adam, ScheduleKind::Decay, 0.1, 16, 0,
       100, 0, 1e-4},
      {"all atoms", SolverKind::VariationalLog, OptimizerKind::Nesterov, ScheduleKind::Constant,
       0.05, 16, 0, 100, 0, 1e-4},
      {"all atoms", SolverKind::Softplus, OptimizerKind::Nesterov, ScheduleKind::Constant, 0.05, 16,
       0, 100, 0, 1e-4},
      // Genevay et al. (2016): one sample, all atoms, SGD with C/sqrt(k) and averaging.
      {"Genevay", SolverKind::BiasedSoftmax, OptimizerKind::Sgd, ScheduleKind::InvSqrt, 2.0, 1, 0,
       60, 0, 1e-4},
      {"Genevay", SolverKind::VariationalLog, OptimizerKind::Sgd, ScheduleKind::InvSqrt, 2.0, 1, 0,
       60, 0, 1e-3},
      // 16 atoms drawn from b (alias table): biased-softmax is biased; softplus with rho = 0.01.
      {"sampled atoms", SolverKind::BiasedSoftmax, OptimizerKind::Nesterov, ScheduleKind::Constant,
       0.05, 16, 16, 100, 0, 5e-3},
      {"sampled atoms", SolverKind::Softplus, OptimizerKind::Sgd, ScheduleKind::Constant, 0.05, 16,
       16, 300, 0.01, 1e-3},
  };
  for (const Case& c : cases) {
    SolverOptions o = SolverOptions::plain(c.kind);
    o.optimizer = c.opt;
    o.schedule = c.sched;
    o.step = c.step;
    o.batch = c.batch;
    o.atoms = c.atoms;
    o.epochs = c.epochs;
    o.rho = c.rho;
    o.average = true;
    o.eval_points = 5;
    REQUIRE(o.check(p.num_items(), p.num_groups(), true).empty());
    const Result r = solve(p, o);
    const double rel = (r.objective - fstar) / std::abs(fstar);
    INFO(c.what << ": " << r.brief_report() << ", relative gap " << rel);
    CHECK(r.ok());
    CHECK(rel >= -1e-12);
    CHECK(rel <= c.tol);
    CHECK(r.trace.front().objective - fstar > 0.1 * std::abs(fstar));  // it had far to go
    if (c.kind != SolverKind::BiasedSoftmax) CHECK(r.alpha.size() == 256);
  }
}

TEST_CASE("OT baselines: sumexp finds its own minimizer, erm cannot move g",
          "[ot][solvers][slow]") {
  const double eps = 0.1;
  const OtInstance inst = make_instance(256, 16, 2, eps, 1);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
  // sumexp minimizes (1/n) sum_i eps sum_j b_j e^{(g_j - c_ij)/eps} - <b, g>, whose minimizer
  // is one Sinkhorn g-update from f = 0: g_j = -eps log (1/n) sum_i e^{-c_ij/eps}.
  Vec target(16);
  for (Index j = 0; j < 16; ++j) {
    long double z = 0.0L;
    for (Index i = 0; i < 256; ++i) z += std::exp(-brute_cost(inst.x, i, inst.y, j) / eps);
    target(j) = static_cast<double>(-eps * std::log(z / 256.0L));
  }
  SolverOptions o = SolverOptions::plain(SolverKind::SumExp);
  o.step = 0.02;
  o.schedule = ScheduleKind::Constant;
  o.epochs = 200;
  o.batch = 16;
  o.average = true;
  const Result r = solve(p, o);
  REQUIRE(r.ok());
  CHECK((r.theta - target).cwiseAbs().maxCoeff() < 2e-2);
  // erm's per-group surrogate sum_j b_j (g_j - c_ij) minus <b, g> is constant in g.
  SolverOptions e = SolverOptions::plain(SolverKind::Erm);
  e.optimizer = OptimizerKind::Sgd;
  e.epochs = 5;
  const Result re = solve(p, e);
  CHECK(re.theta.cwiseAbs().maxCoeff() <= 1e-14);
}

TEST_CASE("epsilon = 1e-3: no overflow or NaN, variational-log and sumexp stop cleanly",
          "[ot][overflow]") {
  const double eps = 1e-3;
  const OtInstance inst = make_instance(300, 20, 2, eps, 5);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
  // Exact F at potentials ~ 1 (scores / eps ~ 1e3): finite and exact.
  const Vec g = random_g(20, 2, 1.0);
  ExactEvaluator<SemiDiscreteOt> ev(p);
  Vec grad;
  const double f = ev.value_and_gradient(g, grad);
  CHECK(std::isfinite(f));
  CHECK(grad.allFinite());
  CHECK_THAT(f, WithinRel(brute_f(inst.x, inst.y, inst.b, g, eps), 1e-11));
  for (SolverKind k : {SolverKind::BiasedSoftmax, SolverKind::Softplus}) {
    for (long atoms : {0L, 8L}) {
      for (double step : {1e-2, 1.0}) {
        SolverOptions o = SolverOptions::plain(k);
        o.atoms = atoms;
        o.step = step;
        o.epochs = 5;
        o.eval_points = 6;
        const Result r = solve(p, o);
        INFO(r.brief_report() << " atoms " << atoms << " step " << step << ": " << r.message);
        // A run whose F rose above its start is reported diverged and returns its best row.
        CHECK((r.ok() || r.status == Status::Diverged));
        CHECK(r.objective <= r.trace.front().objective + 1e-12);
        CHECK(r.theta.allFinite());
        for (const TracePoint& t : r.trace) CHECK(std::isfinite(t.objective));
      }
    }
  }
  for (SolverKind k : {SolverKind::VariationalLog, SolverKind::SumExp}) {
    SolverOptions o = SolverOptions::plain(k);
    o.optimizer = OptimizerKind::Sgd;
    o.schedule = ScheduleKind::Constant;
    o.step = 1.0;
    o.epochs = 5;
    const Result r = solve(p, o);
    INFO(r.brief_report() << ": " << r.message);
    CHECK(r.status == Status::Diverged);
    CHECK(contains(r.message, "`step`"));
    CHECK(contains(r.message, "softplus"));
    CHECK(r.theta.allFinite());
    CHECK(std::isfinite(ev.value(r.theta)));
  }
}

TEST_CASE("OT instances round-trip bitwise, the generator is seeded", "[ot][data]") {
  TempDir tmp;
  const OtInstance a = make_instance(50, 7, 3, 0.2, 3, OtWeights::Dirichlet, 11);
  write_ot_instance(tmp.file("a.h5"), a);
  const OtInstance r = read_ot_instance(tmp.file("a.h5"));
  CHECK(r.x == a.x);
  REQUIRE(r.x_test);
  CHECK(*r.x_test == *a.x_test);
  CHECK(r.y == a.y);
  CHECK(r.b == a.b);
  CHECK(r.epsilon == 0.2);
  CHECK(std::abs(a.b.sum() - 1.0) < 1e-15);
  CHECK((a.b.array() > 0.0).all());
  CHECK(a.b.maxCoeff() > 1.5 * a.b.minCoeff());  // Dirichlet: not uniform
  const OtInstance same = make_instance(50, 7, 3, 0.2, 3, OtWeights::Dirichlet, 11);
  CHECK(same.x == a.x);
  CHECK(same.b == a.b);
  const OtInstance other = make_instance(50, 7, 3, 0.2, 4, OtWeights::Dirichlet, 11);
  CHECK(other.x != a.x);
  const OtInstance u = make_instance(50, 7, 3, 0.2, 3, OtWeights::Uniform);
  CHECK((u.b.array() == 1.0 / 7.0).all());
  CHECK_FALSE(u.x_test);
  // Unit scale in any dimension: E|x|^2 = spread^2 + width^2 = 1.09.
  const OtInstance hi = make_instance(4000, 5, 64, 0.2, 3);
  CHECK_THAT(hi.x.rowwise().squaredNorm().mean(), WithinRel(1.09, 0.25));
  OtGenOptions bad;
  bad.epsilon = 0.0;
  CHECK_THROWS_AS(generate_ot(bad), InputError);
}

TEST_CASE("invalid OT instances are input errors naming file, dataset and entropic OT",
          "[ot][data]") {
  TempDir tmp;
  const std::string f = tmp.file("bad.h5");
  const OtInstance good = make_instance(20, 5, 2, 0.1, 1, OtWeights::Uniform, 4);
  auto doc_of = [&](const OtInstance& inst) {
    H5Doc d;
    d.set_attr("/", "format", std::string("lsekit-ot"));
    d.set_attr("/", "format_version", std::int64_t{1});
    d.set_attr("/", "epsilon", inst.epsilon);
    d.set_attr("/", "cost", std::string("sqeuclidean"));
    d.set("/source/X", Array::matrix(inst.x));
    if (inst.x_test) d.set("/source/X_test", Array::matrix(*inst.x_test));
    d.set("/target/Y", Array::matrix(inst.y));
    d.set("/target/b", Array::vector(inst.b));
    return d;
  };
  auto bad = [&](const H5Doc& doc, const std::string& object) {
    write_h5doc(f, doc);
    std::string msg;
    try {
      read_ot_instance(f);
    } catch (const InputError& e) {
      msg = e.what();
    }
    INFO(msg);
    REQUIRE(!msg.empty());
    CHECK(contains(msg, f));
    CHECK(contains(msg, object));
    CHECK(contains(msg, "entropic OT"));
    return msg;
  };
  write_h5doc(f, doc_of(good));
  CHECK(read_ot_instance(f).y == good.y);

  SECTION("negative weight") {
    OtInstance i = good;
    i.b(1) = -0.05;
    i.b(2) += 0.05;
    CHECK(contains(bad(doc_of(i), "/target/b"), "negative"));
  }
  SECTION("weights not normalized: says by how much") {
    OtInstance i = good;
    i.b(0) += 1e-3;
    CHECK(contains(bad(doc_of(i), "/target/b"), "off by 0.001"));
  }
  SECTION("weights normalized within 1e-9 are accepted") {
    OtInstance i = good;
    i.b(0) += 5e-10;
    write_h5doc(f, doc_of(i));
    CHECK_NOTHROW(read_ot_instance(f));
  }
  SECTION("epsilon <= 0") {
    for (double e : {0.0, -0.1, std::nan("")}) {
      H5Doc d = doc_of(good);
      d.set_attr("/", "epsilon", e);
      CHECK(contains(bad(d, "epsilon"), "> 0"));
    }
  }
  SECTION("dimension mismatch between atoms and samples") {
    OtInstance i = good;
    i.y = MatRM::Ones(5, 3);
    CHECK(contains(bad(doc_of(i), "/target/Y"), "3 columns"));
  }
  SECTION("held-out samples of another dimension") {
    OtInstance i = good;
    i.x_test = MatRM::Ones(4, 1);
    bad(doc_of(i), "/source/X_test");
  }
  SECTION("b length differs from the number of atoms") {
    H5Doc d = doc_of(good);
    d.set("/target/b", Array::vector(Vec::Constant(4, 0.25)));
    CHECK(contains(bad(d, "/target/b"), "length 4"));
  }
  SECTION("NaN in the source samples") {
    OtInstance i = good;
    i.x(3, 1) = std::nan("");
    CHECK(contains(bad(doc_of(i), "/source/X"), "non-finite"));
  }
  SECTION("infinite atom") {
    OtInstance i = good;
    i.y(2, 0) = INFINITY;
    bad(doc_of(i), "/target/Y");
  }
  SECTION("wrong format, version or cost") {
    H5Doc d = doc_of(good);
    d.set_attr("/", "format", std::string("lsekit-dataset"));
    bad(d, "format");
    d = doc_of(good);
    d.set_attr("/", "format_version", std::int64_t{2});
    bad(d, "format_version");
    d = doc_of(good);
    d.set_attr("/", "cost", std::string("euclidean"));
    bad(d, "cost");
  }
  SECTION("missing or malformed datasets") {
    H5Doc d = doc_of(good);
    d.datasets.erase("/target/b");
    CHECK(contains(bad(d, "/target/b"), "missing"));
    d = doc_of(good);
    d.set("/source/X", Array::vector(Vec::Ones(20)));
    CHECK(contains(bad(d, "/source/X"), "rank"));
    d = doc_of(good);  // integer b is converted (issue 12); this one sums to 5
    d.set("/target/b", Array::vector(IVec::Ones(5)));
    CHECK(contains(bad(d, "/target/b"), "sum to 5"));
  }
  SECTION("the writer refuses what the reader refuses") {
    OtInstance i = good;
    i.b(0) = 2.0;
    CHECK_THROWS_AS(write_ot_instance(tmp.file("w.h5"), i), InputError);
    CHECK_FALSE(fs::exists(tmp.file("w.h5")));
  }
}

TEST_CASE("OT task: metrics at the optimum, outputs and solution round trip", "[ot][task]") {
  OtInstance inst = make_instance(400, 25, 2, 0.1, 2, OtWeights::Dirichlet, 150);
  const MatRM x_copy = inst.x;
  ProblemOptions po;
  OtTask task(std::move(inst), po);
  OtTask moved = std::move(task);  // the problem's references survive a move of the task
  const SemiDiscreteOt& p = moved.problem();
  CHECK(p.x() == x_copy);
  CHECK(p.epsilon() == 0.1);
  po.epsilon = 0.3;
  CHECK(OtTask(make_instance(40, 5, 2, 0.1), po).problem().epsilon() == 0.3);

  const Result ref = reference(p, 1e-11);
  REQUIRE(ref.ok());
  const Vec g = ref.theta.array() + 2.5;  // any shift: outputs are normalized
  Metrics m = moved.metrics(g);
  auto get = [&](const std::string& k) {
    for (const auto& [name, v] : m)
      if (name == k) return v;
    FAIL("no metric " << k);
    return 0.0;
  };
  CHECK(get("marginal_error") < 1e-6);
  CHECK_THAT(get("train_dual"), WithinAbs(-ref.objective, 1e-12));
  // Strong duality at the optimum: primal value of the plan = dual value.
  CHECK_THAT(get("entropic_cost_kl"), WithinAbs(get("train_dual"), 1e-7));
  CHECK(get("transport_cost") > 0.0);
  CHECK(get("plan_kl") > 0.0);
  CHECK(std::isfinite(get("test_dual")));
  {  // per trace row: the marginal error (for the marginal-error plot) and the held-out dual
    const Metrics tm = moved.trace_metrics(g);
    REQUIRE(tm.size() == 2);
    CHECK(tm[0].first == "marginal_error");
    CHECK_THAT(tm[0].second, WithinAbs(get("marginal_error"), 1e-15));
    CHECK(tm[1].first == "test_dual");
  }

  H5Doc doc;
  moved.write_solution(doc, "", g);
  const auto& pot = std::get<std::vector<double>>(doc.datasets.at("/solution/potential").data);
  const Vec gn = Eigen::Map<const Vec>(pot.data(), 25);
  CHECK(std::abs(p.b().dot(gn)) < 1e-14);
  CHECK(doc.datasets.at("/solution/c_transform").shape == std::vector<std::uint64_t>{400});
  CHECK(doc.datasets.at("/outputs/test_barycentric_map").shape ==
        (std::vector<std::uint64_t>{150, 2}));
  const Array& asg = doc.datasets.at("/outputs/test_assignment");
  REQUIRE(asg.is_int());
  for (auto a : std::get<std::vector<std::int64_t>>(asg.data)) CHECK((a >= 0 && a < 25));
  // At the optimum, f and g are the Sinkhorn fixed point: f_i = -L_i(g).
  const auto& f = std::get<std::vector<double>>(doc.datasets.at("/solution/c_transform").data);
  Vec lse;
  ExactEvaluator<SemiDiscreteOt>(p).group_values(gn, lse);
  for (Index i = 0; i < 400; ++i) CHECK(f[i] == -lse(i));
  const Vec back = moved.read_solution(doc, "", "r.h5");
  CHECK(back == gn);
  doc.set("/solution/potential", Array::vector(Vec::Zero(24)));
  CHECK_THROWS_AS(moved.read_solution(doc, "", "r.h5"), InputError);
}
