// Tests of problems/dro_classification.hpp (tilted multinomial logistic regression) and of
// tasks/classification.hpp:
//  (a) the exact F and its gradient: finite differences (with l2 and intercepts), a
//      brute-force long-double loop, overflow safety, thread-count independence;
//  (b) minibatch products: contiguous vs gathered rows, batches larger than one product
//      panel, many classes (class panels), repeated items, accumulation into the buffer;
//  (c) every solver reaches F* of `full` (L-BFGS to |grad F| <= 1e-9, mu = 1e-3) on a small
//      seeded Gaussian mixture, with tolerances derived from theory;
//  (d) the task: metrics, solution round-trip, and invalid solutions (K mismatch, NaN).
#include <omp.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "data/generators.hpp"
#include "problems/dro_classification.hpp"
#include "solvers/instances.hpp"
#include "test_support.hpp"
#include "tasks/classification.hpp"

using namespace lsekit;
using Catch::Matchers::Contains;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

/// A Gaussian-mixture dataset (data/generators.hpp) and a problem viewing it. The dataset
/// lives on the heap so the problem's views stay valid whatever happens to this struct.
struct Instance {
  std::shared_ptr<Dataset> data;
  DroClassification problem;
};

Instance make_instance(Index n, Index p, Index k, std::uint64_t seed, double lambda, double l2,
                       double separation = 2.5, double noise = 0.0, Index n_test = 0) {
  ClassificationGenOptions g;
  g.n = n;
  g.p = p;
  g.num_classes = k;
  g.n_test = n_test;
  g.separation = separation;
  g.label_noise = noise;
  g.seed = seed;
  auto d = std::make_shared<Dataset>(generate_classification(g));
  DroClassification pr(d->train.x, d->train.labels, k, lambda, l2);
  return {d, pr};
}

Vec random_theta(Index dim, std::uint64_t seed, double scale = 0.5) {
  Rng rng(seed);
  Vec t(dim);
  for (Index j = 0; j < dim; ++j) t(j) = scale * rng.normal();
  return t;
}

/// l_i = log sum_k e^{z_ik} - z_{i y_i}, z_i = W x_i + c, by direct loops in long double.
std::vector<long double> brute_force_losses(const DroClassification& pr, const Vec& theta) {
  const Index n = pr.num_items(), p = pr.num_features(), k = pr.num_classes();
  std::vector<long double> out(n);
  std::vector<long double> z(k);
  for (Index i = 0; i < n; ++i) {
    long double mx = -INFINITY;
    for (Index c = 0; c < k; ++c) {
      long double acc = theta(k * p + c);
      for (Index j = 0; j < p; ++j)
        acc += static_cast<long double>(theta(c * p + j)) * pr.x()(i, j);
      z[c] = acc;
      mx = std::max(mx, acc);
    }
    long double sum = 0.0L;
    for (Index c = 0; c < k; ++c) sum += std::exp(z[c] - mx);
    out[i] = std::log(sum) + mx - z[pr.labels()(i)];
  }
  return out;
}

/// F = lambda log((1/n) sum_i e^{l_i/lambda}) + (mu/2)|W|^2, max-shifted, long double.
double brute_force_f(const DroClassification& pr, const Vec& theta) {
  const std::vector<long double> l = brute_force_losses(pr, theta);
  const long double lambda = pr.temperature();
  long double mx = l[0];
  for (long double v : l) mx = std::max(mx, v);
  long double z = 0.0L;
  for (long double v : l) z += std::exp((v - mx) / lambda);
  long double reg = 0.0L;
  const Index kp = pr.num_classes() * pr.num_features();
  for (Index j = 0; j < kp; ++j) reg += static_cast<long double>(theta(j)) * theta(j);
  return static_cast<double>(mx + lambda * std::log(z / static_cast<long double>(l.size())) +
                             0.5L * pr.l2() * reg);
}

struct ThreadGuard {
  int saved = omp_get_max_threads();
  ~ThreadGuard() { omp_set_num_threads(saved); }
};

/// One OpenMP thread while in scope (tiny exact evaluations at every trace row).
struct SerialEval {
  int saved = omp_get_max_threads();
  SerialEval() { omp_set_num_threads(1); }
  ~SerialEval() { omp_set_num_threads(saved); }
};

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(3);
  s << v;
  return s.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// (a) exact F and gradient
// ---------------------------------------------------------------------------------------------

TEST_CASE("DRO classification: exact gradient matches finite differences (l2, intercepts)",
          "[classification][fd]") {
  SerialEval serial;  // thread-count independence is tested separately
  // n = 300 is one evaluator chunk; n = 3000 several chunks merged with running maxima; a
  // block budget of 64 additionally streams each chunk in blocks of 64 items.
  for (Index n : {300, 3000}) {
    for (double l2 : {0.0, 0.3}) {
      for (double lambda : {0.2, 1.0, 5.0}) {
        for (Index budget : {Index{1} << 16, Index{64}}) {
          INFO("n = " << n << ", l2 = " << l2 << ", lambda = " << lambda
                      << ", budget = " << budget);
          const Instance in = make_instance(n, 4, 3, 11, lambda, l2);
          const DroClassification& pr = in.problem;
          ExactEvaluator<DroClassification> ev(pr, budget);
          const Vec theta = random_theta(pr.dim(), 77);
          Vec grad;
          const double f = ev.value_and_gradient(theta, grad);
          CHECK_THAT(f, WithinRel(brute_force_f(pr, theta), 1e-13));
          CHECK(ev.value(theta) == f);
          const Vec fd = test::fd_gradient([&](const Vec& t) { return ev.value(t); }, theta, 1e-3);
          INFO("grad " << grad.transpose() << "\nFD   " << fd.transpose());
          CHECK((grad - fd).norm() <= 1e-8 * std::max(1.0, fd.norm()));
          // The intercept block is checked on its own (it is a separate GEMM-free sum), and it
          // is not trivially zero here.
          const Index k = pr.num_classes();
          CHECK((grad.tail(k) - fd.tail(k)).norm() <= 1e-8 * std::max(1.0, fd.norm()));
          CHECK(fd.tail(k).norm() > 1e-3);
          // Softmax rows sum to one, so the intercept gradient sums to zero (before l2, which
          // never touches the intercepts).
          CHECK(std::abs(grad.tail(k).sum()) <= 1e-12);
        }
      }
    }
  }
}

TEST_CASE("DRO classification: l2 acts on W only, F matches a brute-force loop",
          "[classification]") {
  SerialEval serial;
  const double mu = 0.7;
  const Instance base = make_instance(500, 5, 4, 3, 1.0, 0.0);
  const DroClassification ridge(base.data->train.x, base.data->train.labels, 4, 1.0, mu);
  ExactEvaluator<DroClassification> e0(base.problem), e1(ridge);
  const Vec theta = random_theta(base.problem.dim(), 3, 1.0);
  const Index kp = 4 * 5;
  Vec g0, g1;
  const double f0 = e0.value_and_gradient(theta, g0), f1 = e1.value_and_gradient(theta, g1);
  CHECK_THAT(f1 - f0, WithinRel(0.5 * mu * theta.head(kp).squaredNorm(), 1e-12));
  CHECK(((g1 - g0).head(kp) - mu * theta.head(kp)).cwiseAbs().maxCoeff() <= 1e-13);
  CHECK(g1.tail(4) == g0.tail(4));  // intercepts are never regularized
  Vec shifted = theta;
  shifted.tail(4).array() += 3.0;
  CHECK(ridge.regularizer(shifted, nullptr) == ridge.regularizer(theta, nullptr));

  for (double lambda : {0.05, 1.0, 50.0}) {
    for (double l2 : {0.0, 2.0}) {
      const DroClassification pr(base.data->train.x, base.data->train.labels, 4, lambda, l2);
      ExactEvaluator<DroClassification> ev(pr);
      for (std::uint64_t seed : {1, 2, 3}) {
        const Vec t = random_theta(pr.dim(), seed);
        INFO("lambda = " << lambda << ", l2 = " << l2 << ", seed = " << seed);
        CHECK_THAT(ev.value(t), WithinRel(brute_force_f(pr, t), 1e-13));
      }
    }
  }
  // Invariances: adding one vector to every row of W, or one constant to every intercept,
  // changes no loss (SPEC 2.2: theta* is never unique).
  const Vec t = random_theta(base.problem.dim(), 9);
  Vec moved = t;
  for (Index k = 0; k < 4; ++k) moved.segment(k * 5, 5) += Vec::LinSpaced(5, -1.0, 2.0);
  moved.tail(4).array() += 5.0;
  CHECK_THAT(e0.value(moved), WithinRel(e0.value(t), 1e-12));
}

TEST_CASE("DRO classification: overflow-safe at huge logits, exact for tiny losses",
          "[classification][overflow]") {
  const Instance in = make_instance(400, 3, 3, 5, 1e-3, 0.0);
  const DroClassification& pr = in.problem;
  ExactEvaluator<DroClassification> ev(pr, 64);
  // Logits ~ 1e3: e^z overflows, and l/lambda ~ 1e6 would overflow e^{l/lambda}.
  const Vec big = random_theta(pr.dim(), 4, 300.0);
  Vec grad;
  EvalInfo info;
  const double f = ev.value_and_gradient(big, grad, &info);
  REQUIRE(std::isfinite(f));
  REQUIRE(grad.allFinite());
  REQUIRE(std::isfinite(info.kappa_mean));
  CHECK_THAT(f, WithinRel(brute_force_f(pr, big), 1e-12));
  // lambda -> 0: F -> max loss (up to lambda log n).
  const std::vector<long double> l = brute_force_losses(pr, big);
  const double lmax = static_cast<double>(*std::max_element(l.begin(), l.end()));
  CHECK(f <= lmax);
  CHECK(f >= lmax - 1e-3 * std::log(400.0) - 1e-9);

  // A sample far on the right side of the boundary has a loss ~ e^{-margin}, far below the
  // double epsilon of 1: log1p keeps it to full relative precision.
  MatRM x(2, 1);
  x << 40.0, -40.0;
  IVec y(2);
  y << 0, 1;
  const DroClassification two(x, y, 2, 1.0);
  Vec theta(4);
  theta << 1.0, -1.0, 0.0, 0.0;  // z_0 = (40, -40), z_1 = (-40, 40): margins 80
  auto ws = two.make_workspace(1, 2);
  Mat s(2, 1);
  two.scores(theta, IndexSet::range(0, 1), IndexSet::range(0, 2), ws, s);
  CHECK_THAT(s(0, 0), WithinRel(std::log1p(std::exp(-80.0)), 1e-14));
  CHECK_THAT(s(1, 0), WithinRel(std::exp(-80.0), 1e-14));
  // NaN parameters give a NaN score (the evaluator reports F as non-finite), never a
  // silently finite one.
  Vec bad = theta;
  bad(1) = std::nan("");
  two.scores(bad, IndexSet::range(0, 1), IndexSet::range(0, 2), ws, s);
  CHECK(std::isnan(s(0, 0)));
  CHECK(std::isnan(ExactEvaluator<DroClassification>(two).value(bad)));
}

TEST_CASE("DRO classification: item_smoothness bounds the tilted term's curvature at its loss",
          "[classification]") {
  // The tilted term e^{(l_i - alpha)/lambda} has Hessian w (S + a a^T / lambda) (x) x~ x~^T in
  // theta, S = diag(p) - p p^T, a = p - e_y, x~ = (x, 1). item_smoothness(i, l_i) must be at
  // least lambda_max(S + a a^T / lambda) |x~|^2 at every theta: from random logits to
  // well-fitted ones (p_y -> 1, where the local bound 2 (1 - p_y) is far below 1/2), and
  // loss_smoothness at least lambda_max(S) |x~|^2.
  const double lambda = 0.3;
  auto inst = make_instance(60, 5, 4, 11, lambda, 0.0, 4.0);
  const auto& pr = inst.problem;
  const Index p = pr.num_features();
  Vec fit = Vec::Zero(pr.dim());  // a least-loss direction: class means as weights
  for (Index i = 0; i < pr.num_items(); ++i)
    fit.segment(pr.labels()(i) * p, p) += pr.x().row(i).transpose() / static_cast<double>(pr.num_items());
  double tightest = 0.0;
  for (double scale : {0.0, 0.3, 1.0, 5.0, 30.0}) {
    for (std::uint64_t seed : {1u, 2u}) {
      const Vec theta = scale * fit + 0.1 * random_theta(pr.dim(), seed);
      const MatRM z = pr.logits(theta, pr.x());
      for (Index i = 0; i < pr.num_items(); ++i) {
        Vec pi = (z.row(i).array() - z.row(i).maxCoeff()).exp().transpose();
        pi /= pi.sum();
        const Index y = pr.labels()(i);
        double rest = 0.0;  // the loss without rounding p_y to 1: log1p(sum_{k != y} e^{z_k - z_y})
        for (Index c = 0; c < pi.size(); ++c)
          if (c != y) rest += std::exp(z(i, c) - z(i, y));
        const double loss = std::log1p(rest);
        Mat s = Mat(pi.asDiagonal()) - pi * pi.transpose();
        Vec a = pi;
        a(y) -= 1.0;
        const double x2 = pr.x().row(i).squaredNorm() + 1.0;
        Eigen::SelfAdjointEigenSolver<Mat> es_t(s + a * a.transpose() / lambda), es_s(s);
        const double need_t = es_t.eigenvalues().maxCoeff() * x2, need_s = es_s.eigenvalues().maxCoeff() * x2;
        const double have_t = pr.item_smoothness(i, loss), have_s = pr.loss_smoothness(i);
        INFO("scale " << scale << " item " << i << " loss " << loss);
        // (S's diagonal p_k - p_k^2 cancels to ~1e-16 absolute where p_y -> 1.)
        REQUIRE(have_t >= need_t - 1e-13 * x2);
        REQUIRE(have_s >= need_s - 1e-13 * x2);
        if (need_t > 0.0) tightest = std::max(tightest, need_t / have_t);
      }
    }
  }
  CHECK(tightest > 0.3);  // a bound, not a vacuous one
}

TEST_CASE("DRO classification: exact evaluation is identical for 1 and 2 threads",
          "[classification][threads]") {
  ThreadGuard guard;
  const Instance in = make_instance(20000, 6, 5, 21, 0.5, 0.1);
  const Vec theta = random_theta(in.problem.dim(), 8);
  ExactEvaluator<DroClassification> ev1(in.problem), ev2(in.problem);
  Vec g1, g2;
  EvalInfo i1, i2;
  omp_set_num_threads(1);
  const double f1 = ev1.value_and_gradient(theta, g1, &i1);
  omp_set_num_threads(2);
  const double f2 = ev2.value_and_gradient(theta, g2, &i2);
  CHECK(f1 == f2);
  CHECK(g1 == g2);
  CHECK(i1.kappa_mean == i2.kappa_mean);
  CHECK_THAT(f1, WithinRel(brute_force_f(in.problem, theta), 1e-12));
  // kappa = n sum_i pi_i^2 with pi = softmax(l / lambda), computed directly.
  const std::vector<long double> l = brute_force_losses(in.problem, theta);
  long double mx = 0, z = 0, z2 = 0;
  for (long double v : l) mx = std::max(mx, v);
  for (long double v : l) {
    const long double e = std::exp((v - mx) / 0.5L);
    z += e;
    z2 += e * e;
  }
  CHECK_THAT(i1.kappa_mean, WithinRel(static_cast<double>(20000 * z2 / (z * z)), 1e-11));
}

// ---------------------------------------------------------------------------------------------
// (b) minibatch products
// ---------------------------------------------------------------------------------------------

namespace {

/// sum_i w_i grad l_i by direct loops: d l_i / d z_ik = P_ik - [k = y_i], d z_ik / d W_kj = x_ij.
Vec reference_gradient(const DroClassification& pr, const Vec& theta,
                       const std::vector<Index>& items, const Mat& w) {
  const Index p = pr.num_features(), k = pr.num_classes();
  Vec g = Vec::Zero(pr.dim());
  for (std::size_t t = 0; t < items.size(); ++t) {
    const Index i = items[t];
    Vec z(k);
    for (Index c = 0; c < k; ++c)
      z(c) = pr.x().row(i).dot(theta.segment(c * p, p)) + theta(k * p + c);
    Vec prob(k);
    num::softmax(z, prob);
    for (Index c = 0; c < k; ++c) {
      const double d = w(static_cast<Index>(t), 0) * (prob(c) - (c == pr.labels()(i) ? 1.0 : 0.0));
      g.segment(c * p, p) += d * pr.x().row(i).transpose();
      g(k * p + c) += d;
    }
  }
  return g;
}

void check_batch(const DroClassification& pr, const Vec& theta, Index start, Index m) {
  INFO("K = " << pr.num_classes() << ", p = " << pr.num_features() << ", batch " << m);
  std::vector<Index> idx(m);
  for (Index i = 0; i < m; ++i) idx[i] = start + i;
  auto ws_a = pr.make_workspace(1, m), ws_b = pr.make_workspace(1, m);
  Mat sa(m, 1), sb(m, 1);
  const IndexSet g = IndexSet::range(0, 1);
  pr.scores(theta, g, IndexSet::range(start, m), ws_a, sa);
  pr.scores(theta, g, IndexSet::list(idx.data(), m), ws_b, sb);
  CHECK((sa - sb).cwiseAbs().maxCoeff() <= 1e-13 * std::max(1.0, sa.cwiseAbs().maxCoeff()));
  const std::vector<long double> ref = brute_force_losses(pr, theta);
  // The logits come from a p-term GEMM sum, exact to ~1e-13 absolute here; a loss is exact to
  // that absolute error (or relative error when it is large).
  for (Index i = 0; i < m; ++i) {
    const double want = static_cast<double>(ref[start + i]);
    CHECK(std::abs(sa(i, 0) - want) <= 1e-11 * std::max(1.0, want));
  }

  Mat w(m, 1);
  Rng rng(1);
  for (Index i = 0; i < m; ++i) w(i, 0) = rng.uniform();
  Vec ga = Vec::Zero(pr.dim()), gb = Vec::Zero(pr.dim());
  pr.add_gradient(theta, g, IndexSet::range(start, m), ws_a, w, ga);
  pr.add_gradient(theta, g, IndexSet::list(idx.data(), m), ws_b, w, gb);
  const double scale = ga.cwiseAbs().maxCoeff();
  CHECK((ga - gb).cwiseAbs().maxCoeff() <= 1e-12 * scale);
  const Vec want = reference_gradient(pr, theta, idx, w);
  CHECK((ga - want).cwiseAbs().maxCoeff() <= 1e-11 * scale);
  // add_gradient accumulates (+=) and reuses what scores() cached.
  Vec twice = ga;
  pr.add_gradient(theta, g, IndexSet::range(start, m), ws_a, w, twice);
  CHECK((twice - 2.0 * ga).cwiseAbs().maxCoeff() <= 1e-12 * scale);
}

}  // namespace

TEST_CASE("DRO classification: contiguous and gathered minibatches agree with direct loops",
          "[classification]") {
  // Small batches (one product), batches larger than one item panel (kItemBlock = 256: the
  // gathered rows are re-gathered per panel in add_gradient), wide features (feature panels)
  // and more classes than one class panel (64).
  struct Case {
    Index n, p, k, start, m;
  };
  const Case cases[] = {{300, 4, 3, 37, 101},
                        {300, 4, 3, 0, 1},
                        {900, 7, 4, 13, 600},
                        {400, 700, 5, 20, 150},
                        {300, 30, 70, 5, 270}};
  for (const Case& c : cases) {
    const Instance in = make_instance(c.n, c.p, c.k, 2, 1.0, 0.0, 1.0);
    check_batch(in.problem, random_theta(in.problem.dim(), 6, 0.3), c.start, c.m);
  }

  // A shuffled gathered set with repeats scores each row like the full data.
  const Instance in = make_instance(300, 4, 3, 2, 1.0, 0.0);
  const DroClassification& pr = in.problem;
  const Vec theta = random_theta(pr.dim(), 6);
  const std::vector<long double> ref = brute_force_losses(pr, theta);
  std::vector<Index> shuffled{250, 3, 3, 299, 0, 120};
  const Index k = static_cast<Index>(shuffled.size());
  auto ws = pr.make_workspace(1, k);
  Mat sc(k, 1), w = Mat::Ones(k, 1);
  pr.scores(theta, IndexSet::range(0, 1), IndexSet::list(shuffled.data(), k), ws, sc);
  for (Index i = 0; i < k; ++i)
    CHECK_THAT(sc(i, 0), WithinRel(static_cast<double>(ref[shuffled[i]]), 1e-12));
  Vec g = Vec::Zero(pr.dim());
  pr.add_gradient(theta, IndexSet::range(0, 1), IndexSet::list(shuffled.data(), k), ws, w, g);
  const Vec want = reference_gradient(pr, theta, shuffled, w);
  CHECK((g - want).cwiseAbs().maxCoeff() <= 1e-12 * want.cwiseAbs().maxCoeff());
}

TEST_CASE("DRO classification: the problem views the data and refuses invalid input",
          "[classification]") {
  MatRM x = MatRM::Random(5, 2);
  IVec y(5);
  y << 0, 1, 2, 1, 0;
  const DroClassification pr(x, y, 3, 1.0);
  CHECK(pr.x().data() == x.data());  // no copy: a view of the caller's matrix
  CHECK(pr.labels().data() == y.data());
  CHECK(pr.dim() == 3 * 2 + 3);
  IVec bad = y;
  bad(3) = 3;
  CHECK_THROWS_WITH(DroClassification(x, bad, 3, 1.0),
                    Contains("label 3 at row 3") && Contains("0..2"));
  bad(3) = -1;
  CHECK_THROWS_WITH(DroClassification(x, bad, 3, 1.0), Contains("label -1"));
  CHECK_THROWS_WITH(DroClassification(x, y, 1, 1.0), Contains("at least 2 classes"));
  CHECK_THROWS_WITH(DroClassification(x, y, 3, 0.0), Contains("lambda"));
  CHECK_THROWS_WITH(DroClassification(x, y, 3, 1.0, -1.0), Contains("l2"));
  const IVec shorter = y.head(4);
  CHECK_THROWS_WITH(DroClassification(x, shorter, 3, 1.0),
                    Contains("5 rows") && Contains("4 labels"));
  // Copies and assignment keep viewing the same data.
  DroClassification copy = pr;
  copy = DroClassification(x, y, 3, 2.0);
  CHECK(copy.x().data() == x.data());
  CHECK(copy.temperature() == 2.0);
}

// ---------------------------------------------------------------------------------------------
// (c) every solver reaches F*
// ---------------------------------------------------------------------------------------------

namespace {

/// Largest eigenvalue of the Hessian of F at theta, from central differences of the exact
/// gradient (d = K p + K = 15 gradient pairs).
double hessian_max_eigenvalue(const DroClassification& pr, const Vec& theta) {
  ExactEvaluator<DroClassification> ev(pr);
  const Index d = pr.dim();
  Mat h(d, d);
  Vec gp, gm, t = theta;
  const double eps = 1e-5;
  for (Index j = 0; j < d; ++j) {
    t(j) = theta(j) + eps;
    ev.value_and_gradient(t, gp);
    t(j) = theta(j) - eps;
    ev.value_and_gradient(t, gm);
    t(j) = theta(j);
    h.col(j) = (gp - gm) / (2 * eps);
  }
  const Mat sym = 0.5 * (h + h.transpose());
  return Eigen::SelfAdjointEigenSolver<Mat>(sym).eigenvalues().maxCoeff();
}

}  // namespace

TEST_CASE("every solver reaches F* of full on a small Gaussian mixture",
          "[classification][convergence][slow]") {
  SerialEval serial;
  // n = 400, p = 4, K = 3 overlapping classes (separation 2), lambda = 1, mu = 1e-3.
  const double lambda = 1.0, mu = 1e-3;
  const Instance in = make_instance(400, 4, 3, 7, lambda, mu, 2.0);
  const DroClassification& pr = in.problem;
  const double n = static_cast<double>(pr.num_items()), d = static_cast<double>(pr.dim());

  SolverOptions fo = SolverOptions::reference();
  const Result full = solve(pr, fo);
  REQUIRE(full.status == Status::Converged);
  REQUIRE(full.grad_norm <= 1e-9);
  const double f_star = full.objective;
  // Strong convexity mu: |theta - theta*|^2 <= 2 (F - F*) / mu, and F - F* <= |grad|^2/(2 mu):
  // with |grad F| <= 1e-9 the reference is exact to 5e-16.
  CHECK_THAT(f_star, WithinRel(brute_force_f(pr, full.theta), 1e-13));
  const double h_max = hessian_max_eigenvalue(pr, full.theta);
  std::string table = "F* = " + fmt(f_star) + ", kappa* = " + fmt(full.kappa) +
                      ", lambda_max(Hess) = " + fmt(h_max) + "\n";

  // Stochastic allowance (as for regression in test_solvers.cpp): near the optimum Adam moves
  // every coordinate by ~eta_K per step (eta_K = step (1 + K/k0)^(-1/2), the final decayed
  // step), so the iterate jitters by ~eta_K per coordinate and the exact gap is about
  // (1/2) lambda_max(Hess F) d eta_K^2; we allow 10 times that.
  auto jitter = [&](const SolverOptions& o) {
    const double eta_k = o.step / std::sqrt(1.0 + o.epochs);  // K/k0 = epochs
    return 10.0 * 0.5 * h_max * d * eta_k * eta_k;
  };
  auto options = [](SolverKind kind, long batch, double epochs, std::uint64_t seed) {
    SolverOptions o = SolverOptions::plain(kind);
    o.batch = batch;
    o.epochs = epochs;
    o.seed = seed;
    o.eval_points = 5;
    return o;
  };

  SECTION("softplus (default adaptive rho) and variational-log") {
    for (SolverKind kind : {SolverKind::Softplus, SolverKind::VariationalLog}) {
      for (std::uint64_t seed : {1, 2}) {
        const SolverOptions o = options(kind, 10, 150, seed);
        const Result r = solve(pr, o);
        INFO(r.brief_report());
        REQUIRE(r.ok());
        const double gap = r.objective - f_star;
        // Softplus follows F_rho <= F <= F_rho + lambda rho kappa / 2 (first order in rho
        // kappa), so F(theta_rho*) - F* <= F(theta_rho*) - F_rho(theta_rho*) ~ lambda rho kappa/2,
        // which the adaptive rho keeps near lambda rho_kappa / 2 (doubled here for the
        // first-order approximation). Variational-log is unbiased: jitter only.
        const double relax = kind == SolverKind::Softplus ? lambda * r.rho * r.kappa : 0.0;
        const double tol = relax + jitter(o);
        table += std::string(name_of(kSolverNames, kind)) + " seed " + std::to_string(seed) +
                 ": gap " + fmt(gap) + " (tol " + fmt(tol) + ", rho " + fmt(r.rho) + ")\n";
        CHECK(gap >= -1e-12);
        CHECK(gap <= tol);
        if (kind == SolverKind::Softplus) {
          CHECK(r.rho * r.kappa <= 10.0 * o.rho_kappa);
          REQUIRE(r.alpha.size() == 1);
          CHECK_THAT(r.alpha(0), WithinAbs(r.objective, 0.05));
        }
      }
    }
  }

  SECTION("sumexp reaches F* up to the l2 reweighting of the stripped objective") {
    // The stripped objective lambda G + R, G = mean e^{l/lambda}, is stationary where
    // e^{F0/lambda} grad F0 + mu W = 0 (F0 = lambda log G), i.e. at the minimizer of F with mu
    // replaced by mu' = mu / G(theta). Comparing F_mu at theta' = theta*(mu') with theta*(mu):
    //   F_mu(theta') - F* <= (mu - mu')/2 (|W'|^2 - |W*|^2) <= (mu - mu')/2 |W'|^2,
    // a bound computed below from the run itself (plus the Adam jitter).
    for (std::uint64_t seed : {1, 2}) {
      const SolverOptions o = options(SolverKind::SumExp, 10, 150, seed);
      const Result r = solve(pr, o);
      INFO(r.brief_report());
      REQUIRE(r.ok());
      const double g_mean = std::exp((r.objective - pr.regularizer(r.theta, nullptr)) / lambda);
      const double shift = 0.5 * (mu - mu / g_mean) * 2.0 * pr.regularizer(r.theta, nullptr) / mu;
      const double gap = r.objective - f_star, tol = shift + jitter(o);
      table += "sumexp seed " + std::to_string(seed) + ": gap " + fmt(gap) + " (tol " + fmt(tol) +
               ", l2 reweighting bound " + fmt(shift) + ")\n";
      CHECK(gap >= -1e-12);
      CHECK(gap <= tol);
    }
  }

  SECTION("biased-softmax converges to its biased point, within lambda (kappa - 1) / B") {
    // The iterates follow grad G_B with G_B = E_B lambda log mean_B e^{s/lambda} = F - b_B,
    // b_B ~ lambda (kappa - 1) / (2B) (n - B)/(n - 1) >= 0, so
    //   F(theta_B) - F* <= b_B(theta_B) - b_B(theta*) <= b_B(theta_B) (+ jitter);
    // we allow twice the first-order value at the final iterate.
    for (long batch : {10L, 40L}) {
      const SolverOptions o = options(SolverKind::BiasedSoftmax, batch, 150, 1);
      const double b = static_cast<double>(batch);
      const Result r = solve(pr, o);
      INFO(r.brief_report());
      REQUIRE(r.ok());
      const double gap = r.objective - f_star;
      const double bound = lambda * (r.kappa - 1.0) / b * (n - b) / (n - 1.0);
      table += "biased-softmax B=" + std::to_string(batch) + ": gap " + fmt(gap) + " (bound " +
               fmt(bound) + " + jitter " + fmt(jitter(o)) + ")\n";
      CHECK(gap >= -1e-12);
      CHECK(gap <= bound + jitter(o));
    }
  }

  SECTION("erm reaches the optimum of its own objective, not F*") {
    // ERM minimizes E(theta) = mean_i l_i + R. Its exact optimum, by L-BFGS on E computed
    // with the problem's own scores/add_gradient (uniform weights 1/n), to |grad E| <= 1e-9.
    const Index ni = pr.num_items();
    auto ws = pr.make_workspace(1, ni);
    Mat s(ni, 1);
    const Mat w = Mat::Constant(ni, 1, 1.0 / n);
    auto erm = [&](const Vec& t, Vec& g) {
      const IndexSet one = IndexSet::range(0, 1), all = IndexSet::range(0, ni);
      pr.scores(t, one, all, ws, s);
      g.setZero(pr.dim());
      pr.add_gradient(t, one, all, ws, w, g);
      return s.mean() + pr.regularizer(t, &g);
    };
    Vec ref = pr.initial_point(), g;
    const LbfgsReport rep = lbfgs_minimize(erm, ref, LbfgsParam{},
                                           [](long, const Vec&, double, double) { return true; });
    REQUIRE(rep.status == LbfgsStatus::Converged);
    const SolverOptions o = options(SolverKind::Erm, 10, 150, 1);
    const Result r = solve(pr, o);
    REQUIRE(r.ok());
    const double erm_gap = erm(r.theta, g) - rep.value;
    table += "erm: ERM gap " + fmt(erm_gap) + " (tol " + fmt(jitter(o)) + "), F(theta_erm) - F* " +
             fmt(r.objective - f_star) + "\n";
    CHECK(erm_gap >= -1e-12);
    CHECK(erm_gap <= jitter(o));
    // ...which is not the DRO optimum at lambda = 1 (and F* is not ERM's optimum either).
    CHECK(r.objective - f_star > 100.0 * jitter(o));
    CHECK(erm(full.theta, g) - rep.value > 100.0 * jitter(o));
  }
  WARN(table);
}

TEST_CASE("full: L-BFGS reaches |grad F| <= 1e-9 with mu = 1e-3 at every lambda",
          "[classification][convergence]") {
  SerialEval serial;
  for (double lambda : {0.2, 1.0, 5.0}) {
    const Instance in = make_instance(400, 4, 3, 7, lambda, 1e-3, 2.0);
    const Result r = solve(in.problem, SolverOptions::reference());
    INFO(r.brief_report());
    CHECK(r.status == Status::Converged);
    CHECK(r.grad_norm <= 1e-9);
    Vec g;
    ExactEvaluator<DroClassification>(in.problem).value_and_gradient(r.theta, g);
    CHECK(g.norm() <= 1e-9);
    // A smaller lambda weights the worst samples more: F* grows as lambda decreases.
    CHECK(r.objective <= brute_force_f(in.problem, in.problem.initial_point()));
  }
}

// ---------------------------------------------------------------------------------------------
// (d) the task
// ---------------------------------------------------------------------------------------------

TEST_CASE("classification task: metrics, solution round-trip, invalid solutions",
          "[classification][task]") {
  SerialEval serial;
  ClassificationGenOptions g;
  g.n = 600;
  g.p = 3;
  g.num_classes = 4;
  g.n_test = 400;
  g.label_noise = 0.2;
  g.seed = 5;
  Dataset d = generate_classification(g);
  d.path = "mem.h5";
  ProblemOptions po;
  po.lambda = 0.5;
  po.l2 = 1e-3;
  const ClassificationTask task(std::move(d), po);
  const double* data_ptr = task.data().train.x.data();
  CHECK(task.problem().x().data() == data_ptr);  // the problem views the task's data
  {
    // Copies share the data, so the problem stays valid after the original is gone.
    auto heap = std::make_unique<ClassificationTask>(task);
    const ClassificationTask moved = std::move(*heap);
    heap.reset();
    CHECK(moved.problem().x().data() == data_ptr);
  }
  const Result r = solve(task.problem(), SolverOptions::reference());
  REQUIRE(r.ok());
  const Metrics m = task.metrics(r.theta);
  auto get = [&](const std::string& k) {
    for (const auto& [name, v] : m)
      if (name == k) return v;
    FAIL("no metric " << k);
    return 0.0;
  };
  // Accuracies by a direct count.
  const Dataset& data = task.data();
  Index hit = 0;
  std::vector<Index> ch(4, 0), cn(4, 0);
  for (Index i = 0; i < data.test->size(); ++i) {
    Vec z(4);
    for (Index c = 0; c < 4; ++c)
      z(c) = data.test->x.row(i).dot(r.theta.segment(c * 3, 3)) + r.theta(12 + c);
    Index best = 0;
    z.maxCoeff(&best);
    const Index y = data.test->labels(i);
    hit += best == y;
    ch[y] += best == y;
    ++cn[y];
  }
  CHECK_THAT(get("test_acc"), WithinAbs(static_cast<double>(hit) / 400.0, 1e-15));
  double worst = 1.0;
  for (Index c = 0; c < 4; ++c) {
    const double a = static_cast<double>(ch[c]) / static_cast<double>(cn[c]);
    CHECK_THAT(get("test_acc_class_" + std::to_string(c)), WithinAbs(a, 1e-15));
    worst = std::min(worst, a);
  }
  CHECK(get("test_worst_class_acc") == worst);
  // Clean-label objective and the test objective are exact F's on those labels / that split.
  const DroClassification clean(data.train.x, *data.train.y_clean, 4, 0.5, 1e-3);
  const DroClassification test(data.test->x, data.test->labels, 4, 0.5, 1e-3);
  CHECK_THAT(get("train_objective_clean"), WithinRel(brute_force_f(clean, r.theta), 1e-12));
  CHECK_THAT(get("test_objective"), WithinRel(brute_force_f(test, r.theta), 1e-12));
  // Noisy training labels: the clean-label fit is better than the noisy-label one.
  CHECK(get("train_acc_clean") > get("train_acc"));
  CHECK(get("train_objective_clean") < r.objective);

  H5Doc doc;
  task.write_solution(doc, "/runs/0001", r.theta);
  CHECK(doc.datasets.at("/runs/0001/solution/weights").shape == std::vector<std::uint64_t>{4, 3});
  CHECK(doc.datasets.at("/runs/0001/solution/intercept").shape == std::vector<std::uint64_t>{4});
  const Vec back = task.read_solution(doc, "/runs/0001", "res.h5");
  CHECK(back == r.theta);
  // Row-major (K, p) as h5py sees it: weights[k][j] = W_kj.
  const auto& wv =
      std::get<std::vector<double>>(doc.datasets.at("/runs/0001/solution/weights").data);
  CHECK(wv[1 * 3 + 2] == r.theta(1 * 3 + 2));

  // A result for 3 classes read against a 4-class dataset: K mismatch names file and shapes.
  H5Doc k3;
  k3.set("/solution/weights", Array::matrix(MatRM::Zero(3, 3)));
  k3.set("/solution/intercept", Array::vector(Vec::Zero(3)));
  CHECK_THROWS_AS(task.read_solution(k3, "", "k3.h5"), InputError);
  CHECK_THROWS_WITH(task.read_solution(k3, "", "k3.h5"),
                    Contains("k3.h5") && Contains("/solution/weights has shape (3, 3)") &&
                        Contains("4 classes") && Contains("DRO classification"));
  H5Doc reg;  // a regression result (weights of shape (p))
  reg.set("/solution/weights", Array::vector(Vec::Zero(3)));
  reg.set("/solution/intercept", Array::scalar(0.0));
  CHECK_THROWS_WITH(task.read_solution(reg, "", "reg.h5"), Contains("shape (3)"));
  H5Doc nan_doc;
  task.write_solution(nan_doc, "", r.theta);
  std::get<std::vector<double>>(nan_doc.datasets.at("/solution/intercept").data)[2] = std::nan("");
  CHECK_THROWS_WITH(task.read_solution(nan_doc, "", "nan.h5"), Contains("non-finite"));
  H5Doc missing;
  CHECK_THROWS_WITH(task.read_solution(missing, "", "none.h5"), Contains("required"));
}
