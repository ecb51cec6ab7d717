// Optimality measures, stopping and status (SPEC section 6), and the variance-reduced solver:
//  * certificates are never below the true gap F(theta) - F* (DRO regression and
//    classification, entropic OT),
//    and tiny at an exact optimum;
//  * grad_norm is an independent |grad F|;
//  * every status path: converged (with the true gap then below tol), budget-exhausted (with the
//    criterion in the message), diverged (non-finite and above the start: F never above F0),
//    interrupted;
//  * passes accounting;
//  * SVRG converges linearly with its default step on every problem, and its safeguard recovers
//    from a step 64 times too large.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "core/exact_evaluator.hpp"
#include "data/generators.hpp"
#include "data/ot_generator.hpp"
#include "problems/dro_classification.hpp"
#include "solvers/instances.hpp"
#include "test_support.hpp"

using namespace lsekit;
using namespace lsekit::test;
using Catch::Matchers::Contains;

namespace {

template <class P>
double exact_f(const P& p, const Vec& theta) {
  ExactEvaluator<P> ev(p);
  return ev.value(theta);
}

template <class P>
Vec optimum(const P& p, double* f_star) {
  SolverOptions o = SolverOptions::reference();
  o.gtol = 1e-11;
  const Result r = solve(p, o);
  REQUIRE(r.ok());
  *f_star = r.objective;
  return r.theta;
}

// Points around theta*: theta* + delta * random direction, delta from 1e-7 to 3.
template <class P, class Check>
void around(const P& p, const Vec& theta_star, std::uint64_t seed, Check check) {
  Rng rng(seed);
  for (double delta : {1e-7, 1e-5, 1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0}) {
    for (int k = 0; k < 3; ++k) {
      Vec dir(theta_star.size());
      for (Index j = 0; j < dir.size(); ++j) dir(j) = rng.normal();
      check(Vec(theta_star + delta * dir / dir.norm() * std::max(1.0, theta_star.norm())));
    }
  }
}

// The defaults with SVRG (auto picks SAGA on DRO problems).
SolverOptions svrg(SolverKind k) {
  SolverOptions o = SolverOptions::defaults_for(k);
  o.variance_reduction = VarianceReduction::Svrg;
  return o;
}

// Certificate validity on one family of DRO problems. For every seed, lambda in {0.2, 1, 5} and
// regularization in `regs`, build(seed, lambda, reg, use) constructs the problem and calls
// use(problem) while the data it refers to is alive (DroClassification keeps a view of its
// data). The problem is solved to its optimum; there the certificate must hold and its bound be
// tiny; at points around the optimum (around()) the bound must never be below the true gap
// F - F*. extra(measure, gap, f_star, reg) adds checks of its own at each of those points.
template <class Build, class Extra = void (*)(const Measure&, double, double, double)>
void check_certificates(
    std::initializer_list<std::uint64_t> seeds, std::initializer_list<double> regs, Build build,
    Extra extra = [](const Measure&, double, double, double) {}) {
  for (std::uint64_t seed : seeds) {
    for (double lambda : {0.2, 1.0, 5.0}) {
      for (double reg : regs) {
        INFO("seed " << seed << " lambda " << lambda << " regularization " << reg);
        build(seed, lambda, reg, [&](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          double f_star = 0.0;
          const Vec theta_star = optimum(p, &f_star);
          ExactEvaluator<P> ev(p);
          Vec g;
          const Measure at_opt = measure(p, ev, theta_star, g);
          REQUIRE(at_opt.certified);
          CHECK(at_opt.gap_bound <= 1e-8 * std::max(1.0, std::abs(f_star)));
          around(p, theta_star, seed, [&](const Vec& th) {
            const Measure m = measure(p, ev, th, g);
            const double gap = m.objective - f_star;
            INFO("F - F* = " << gap << ", bound " << m.gap_bound);
            CHECK(m.gap_bound >= gap - 1e-12 * std::abs(f_star));
            extra(m, gap, f_star, reg);
          });
        });
      }
    }
  }
}

OtInstance ot_instance(long n, long m, double eps, std::uint64_t seed) {
  OtGenOptions o;
  o.n = n;
  o.m = m;
  o.d = 2;
  o.epsilon = eps;
  o.seed = seed;
  return generate_ot(o);
}

}  // namespace

TEST_CASE("DRO regression certificate: never below the true gap, tiny at the optimum",
          "[certificate][regression]") {
  // Unstandardized features and target (scale 3, offset 2): the bound must not rely on scale.
  check_certificates({1u, 2u}, {0.0, 1e-2},
                     [](std::uint64_t seed, double lambda, double l2, const auto& use) {
                       RegressionData d = make_regression_data(120, 5, seed, 0.7, false);
                       d.x = (3.0 * d.x.array() + 2.0).matrix();
                       d.y = (3.0 * d.y.array() + 2.0).matrix();
                       use(DroRegression(d.x, d.y, lambda, l2));
                     });
}

TEST_CASE("entropic OT certificate: never below the true gap, tiny at the optimum",
          "[certificate][ot]") {
  for (double eps : {0.5, 0.1, 0.02}) {
    const OtInstance inst = ot_instance(150, 12, eps, 5);
    const SemiDiscreteOt p(inst.x, inst.y, inst.b, eps);
    double f_star = 0.0;
    const Vec g_star = optimum(p, &f_star);
    ExactEvaluator<SemiDiscreteOt> ev(p);
    Vec g;
    const Measure at_opt = measure(p, ev, g_star, g);
    INFO("eps " << eps);
    REQUIRE(at_opt.certified);
    CHECK(at_opt.gap_bound <= 1e-8 * std::max(1.0, std::abs(f_star)));
    CHECK_THAT(at_opt.marginal_error, Catch::Matchers::WithinAbs(g.lpNorm<1>(), 0.0));
    around(p, g_star, 9, [&](const Vec& th) {
      const Measure m = measure(p, ev, th, g);
      const double gap = m.objective - f_star;
      INFO("F - F* = " << gap << ", bound " << m.gap_bound);
      CHECK(m.gap_bound >= gap - 1e-12 * std::abs(f_star));
    });
  }
}

TEST_CASE("DRO classification certificate: never below the true gap, tiny at the optimum",
          "[certificate][classification]") {
  // Unstandardized features (scale 4, offset 3): the bound must not rely on scale.
  auto build = [](std::uint64_t seed, double lambda, double mu, const auto& use) {
    const Dataset data = make_classification_data(200, 6, 4, 0.2, seed, 4.0, 3.0);
    use(DroClassification(data.train.x, data.train.labels, 4, lambda, mu));
  };
  // Second order near the optimum: about |grad F|^2 / (2 mu), not first order.
  auto second_order = [](const Measure& m, double gap, double f_star, double mu) {
    if (gap < 1e-9) CHECK(m.gap_bound <= m.grad_norm * m.grad_norm / mu + 1e-12 * std::abs(f_star));
  };
  check_certificates({4u, 7u}, {1e-3, 1e-1}, build, second_order);
  const Dataset data = make_classification_data(50, 3, 3, 0.0, 1);
  const DroClassification p(data.train.x, data.train.labels, 3, 1.0, 0.0);  // mu = 0: no dual
  ExactEvaluator<DroClassification> ev(p);
  Vec gr;
  CHECK_FALSE(measure(p, ev, p.initial_point(), gr).certified);
}

TEST_CASE("DRO classification certificate: within 3x of the true gap near the optimum",
          "[certificate][classification]") {
  // Unstandardized features (scale 4, offset 3) couple W with the intercepts, and mu = 1e-3
  // is far below the data's curvature: a dual point taken at theta itself would give about
  // |grad_W|^2 / (2 mu), tens to thousands of times the gap here (checked below, so that the
  // tightness is the Krylov refinement's doing). W has 5 x 30 = 150 entries, more than the
  // refinement's Krylov steps.
  const Dataset data = make_classification_data(400, 30, 5, 0.2, 11, 4.0, 3.0);
  const double mu = 1e-3;
  const DroClassification p(data.train.x, data.train.labels, 5, 1.0, mu);
  double f_star = 0.0;
  const Vec theta_star = optimum(p, &f_star);
  ExactEvaluator<DroClassification> ev(p);
  Vec gr;
  Rng rng(5);
  for (double delta : {1e-4, 1e-3}) {
    for (int k = 0; k < 4; ++k) {
      Vec dir(theta_star.size());
      for (Index j = 0; j < dir.size(); ++j) dir(j) = rng.normal();
      const Vec th = theta_star + delta * dir / dir.norm() * theta_star.norm();
      const Measure m = measure(p, ev, th, gr);
      const double gap = m.objective - f_star;
      INFO("delta " << delta << ": F - F* = " << gap << ", bound " << m.gap_bound
                    << ", |grad F|^2 / (2 mu) = " << m.grad_norm * m.grad_norm / (2.0 * mu));
      REQUIRE(gap > 1e-10);
      CHECK(m.gap_bound >= gap);
      CHECK(m.gap_bound <= 3.0 * gap);
      CHECK(m.grad_norm * m.grad_norm / (2.0 * mu) >= 10.0 * m.gap_bound);
    }
  }
  // With a target, the refinement runs only when the plain bound is above it by at most
  // kRefineWithin, and the passes say which ran.
  Vec dir(theta_star.size());
  for (Index j = 0; j < dir.size(); ++j) dir(j) = rng.normal();
  const Vec th = theta_star + 1e-3 * theta_star.norm() * dir / dir.norm();
  const double f = exact_f(p, th);
  double passes = 0.0;
  const double plain = p.gap_bound(th, f, gr, 1e300, &passes);  // any bound meets it
  CHECK(passes == 2.0);
  passes = 0.0;
  CHECK(p.gap_bound(th, f, gr, plain / (2.0 * DroClassification::kRefineWithin), &passes) == plain);
  CHECK(passes == 2.0);
  passes = 0.0;
  const double refined = p.gap_bound(th, f, gr, plain / 2.0, &passes);
  CHECK(passes == 2.0 + DroClassification::kKrylovSteps + 1.0);
  CHECK(refined < plain / 10.0);
  CHECK(refined >= f - f_star);
  CHECK(p.gap_bound(th, f, gr) == refined);  // target 0: always refined
}

TEST_CASE("certificate gate: after two certificates, waits for their rate to reach the target",
          "[certificate][gate]") {
  CertificateGate gate{1e-6, 2.0};
  CHECK_FALSE(gate.due(0.0, 1.0, 1.0));  // never at the start
  CHECK_FALSE(gate.due(3.0, 0.9, 1.0));  // nor at the first check after it
  CHECK(gate.due(5.0, 0.85, 1.0));       // then: a reference bound
  gate.mark(17.0, 1.0, 1e-3, 12.0);      // a certificate that took 12 passes
  CHECK_FALSE(gate.due(28.0, 0.8, 1e-9));  // spaced by its own cost
  gate.mark(44.0, 0.9, 1e-4, 12.0);        // a factor 10 per 27 passes
  // The bound reaches 0.8e-6 after 27 log10(125) = 56.6 passes; a drop of |grad F| or of F
  // that would predict it earlier is ignored now that the rate is known.
  CHECK_FALSE(gate.due(60.0, 0.7, 1e-9));
  CHECK_FALSE(gate.due(100.0, 0.69, 1e-9));
  CHECK(gate.due(101.0, 0.68, 1e-9));
  CHECK(gate.due(44.0 + 120.0, 0.68, 1.0));  // and every 10 costs whatever the predictions
  // Without a rate, |grad F| predicts (the bound is second order in it).
  CertificateGate g2{1e-6, 2.0};
  g2.due(0.0, 1.0, 1.0);
  g2.due(2.5, 1.0, 1.0);
  g2.mark(3.0, 1.0, 1e-4, 2.0);
  CHECK_FALSE(g2.due(6.0, 1.0, 0.5));
  CHECK(g2.due(8.0, 1.0, 0.05));
}

TEST_CASE("certificate gate: two costly certificates' ratio to the gap predicts the bound from F",
          "[certificate][gate]") {
  // F* = 1, certificates 1.6 times the gap: B = 4e-6 at F - F* = 2.5e-6 (work 17), B = 2e-6 at
  // 1.25e-6 (work 44), each 12 passes (costly: the plain one costs 2). Their ratio is
  // (4e-6 - 2e-6) / 1.25e-6 = 1.6, so the bound at F is about 2e-6 - 1.6 (1 + 1.25e-6 - F):
  // 0.8e-6 at F = 1 + 0.5e-6. Their rate alone (a factor 2 per 27 passes) predicts it at 79.7.
  auto gate_with = [](double cost_prev, double cost_last) {
    CertificateGate g{1e-6, 2.0};
    g.due(0.0, 1.1, 1.0);
    g.due(5.0, 1.01, 1.0);
    g.mark(17.0, 1.0, 4e-6, cost_prev, 1.0 + 2.5e-6);
    g.mark(44.0, 1.0, 2e-6, cost_last, 1.0 + 1.25e-6);
    return g;
  };
  CertificateGate g = gate_with(12.0, 12.0);
  CHECK_FALSE(g.due(60.0, 1.0 + 0.65e-6, 1.0));  // about 1.04e-6
  CHECK(g.due(62.0, 1.0 + 0.45e-6, 1.0));        // about 0.72e-6
  // A plain certificate before a refined one says nothing about the refined one's ratio: the
  // rate decides.
  CertificateGate mixed = gate_with(2.0, 12.0);
  CHECK_FALSE(mixed.due(62.0, 1.0 + 0.45e-6, 1.0));
  CHECK(mixed.due(80.0, 1.0 + 0.45e-6, 1.0));
  // A ratio below 1 is impossible for a bound (B >= F - F*): it is taken as 1, and the
  // prediction is then the rigorous inherited bound B_last - (F_last - F).
  CertificateGate low{1e-6, 2.0};
  low.due(0.0, 1.1, 1.0);
  low.due(5.0, 1.01, 1.0);
  low.mark(17.0, 1.0, 2.1e-6, 12.0, 1.0 + 2.5e-6);
  low.mark(44.0, 1.0, 2e-6, 12.0, 1.0 + 1.25e-6);
  CHECK_FALSE(low.due(62.0, 1.0 + 0.45e-6, 1.0));  // 2e-6 - 0.8e-6 = 1.2e-6
  CHECK(low.due(63.0, 1.0 - 0.01e-6, 1.0));        // 2e-6 - 1.26e-6 = 0.74e-6
}

TEST_CASE("grad_norm equals an independently computed |grad F| (DRO regression)",
          "[certificate][regression]") {
  const RegressionData d = make_regression_data(80, 3, 4, 0.5, false);
  const double lambda = 0.5, mu = 0.1;
  const DroRegression p(d.x, d.y, lambda, mu);
  Rng rng(3);
  Vec th(4);
  for (Index j = 0; j < 4; ++j) th(j) = rng.normal();
  // Brute force: p_i = softmax(l/lambda), grad = sum p_i 2 r_i (x_i, 1) + mu (w, 0).
  Vec r = d.x * th.head(3);
  r.array() += th(3) - d.y.array();
  const Vec l = r.array().square();
  Vec pw = ((l.array() - l.maxCoeff()) / lambda).exp();
  pw /= pw.sum();
  Vec grad = Vec::Zero(4);
  for (Index i = 0; i < 80; ++i) {
    grad.head(3) += pw(i) * 2.0 * r(i) * d.x.row(i).transpose();
    grad(3) += pw(i) * 2.0 * r(i);
  }
  grad.head(3) += mu * th.head(3);
  ExactEvaluator<DroRegression> ev(p);
  Vec g;
  const Measure m = measure(p, ev, th, g);
  CHECK_THAT(m.grad_norm, Catch::Matchers::WithinRel(grad.norm(), 1e-10));
}

TEST_CASE("status: converged only when the criterion is met, and the true gap is then below tol",
          "[status]") {
  const DroRegression p = make_regression(300, 4, 11, 1.0, 1e-3);
  double f_star = 0.0;
  optimum(p, &f_star);
  SolverOptions o = SolverOptions::plain(SolverKind::VariationalLog);
  o.tol = 1e-2;
  o.step = 0.1;
  o.epochs = 300;
  const Result r = solve(p, o);
  INFO(r.brief_report() << "; " << r.message);
  REQUIRE(r.status == Status::Converged);
  CHECK(r.certified);
  CHECK(r.criterion <= 1e-2);
  CHECK((r.objective - f_star) / std::max(1.0, std::abs(f_star)) <= 1e-2);
  CHECK(r.epochs < 300.0);  // it stopped on the tolerance, not on the budget
}

TEST_CASE("status: budget-exhausted states the criterion and what to raise", "[status]") {
  const DroRegression p = make_regression(300, 4, 12, 1.0, 1e-3);
  SolverOptions o = SolverOptions::plain(SolverKind::VariationalLog);
  o.tol = 1e-12;
  o.epochs = 2;
  const Result r = solve(p, o);
  INFO(r.message);
  CHECK(r.status == Status::BudgetExhausted);
  CHECK_THAT(r.message, Contains("relative gap <="));
  CHECK_THAT(r.message, Contains("`epochs`"));
  CHECK(std::isfinite(r.criterion));
  CHECK(r.criterion > 1e-12);
}

TEST_CASE("status: diverged on a non-finite value returns a finite iterate no worse than the start",
          "[status]") {
  const DroRegression p = make_regression(300, 4, 13, 0.2);
  SolverOptions o = SolverOptions::plain(SolverKind::SumExp);
  o.optimizer = OptimizerKind::Sgd;
  o.schedule = ScheduleKind::Constant;
  o.step = 1e3;
  o.epochs = 5;
  const Result r = solve(p, o);
  INFO(r.message);
  REQUIRE(r.status == Status::Diverged);
  CHECK(r.theta.allFinite());
  CHECK(r.objective <= r.trace.front().objective);
}

TEST_CASE("status: a run that ends above its starting objective is diverged, never success",
          "[status][classification]") {
  // Noisy labels, small lambda, a large Adam step: the plain estimator makes F worse.
  const Dataset data = make_classification_data(600, 20, 5, 0.3, 3);
  const DroClassification p(data.train.x, data.train.labels, 5, 0.2, 1e-3);
  SolverOptions o = SolverOptions::plain(SolverKind::BiasedSoftmax);
  o.batch = 10;
  o.step = 3.0;
  o.epochs = 5;
  const Result r = solve(p, o);
  INFO(r.brief_report() << "; " << r.message);
  REQUIRE(r.status == Status::Diverged);
  CHECK(r.objective <= r.trace.front().objective + 1e-12);
  for (const TracePoint& t : r.trace) CHECK(std::isfinite(t.objective));
}

namespace {
struct StopAfter : Observer {
  long polls = 0, limit;
  explicit StopAfter(long n) : limit(n) {}
  bool interrupted() override { return ++polls > limit; }
};
}  // namespace

TEST_CASE("status: interrupted, by the plain loop and by SVRG", "[status]") {
  const DroRegression p = make_regression(2000, 4, 14, 1.0, 1e-3);
  for (VarianceReduction vr : {VarianceReduction::None, VarianceReduction::Svrg}) {
    SolverOptions o = SolverOptions::defaults_for(SolverKind::Softplus);
    o.variance_reduction = vr;
    o.tol = 1e-14;
    StopAfter obs(3);
    const Result r = solve(p, o, &obs);
    CHECK(r.status == Status::Interrupted);
    CHECK(r.theta.allFinite());
  }
}

TEST_CASE("passes: the work of the algorithm, diagnostic evaluations apart", "[passes]") {
  const DroRegression p = make_regression(400, 4, 15, 1.0);
  SolverOptions o = SolverOptions::plain(SolverKind::Softplus);
  o.batch = 40;
  o.epochs = 3;
  o.eval_points = 4;
  o.tol = 0.0;  // rows are diagnostics: not in passes
  Result r = solve(p, o);
  CHECK_THAT(r.passes, Catch::Matchers::WithinAbs(3.0, 1e-12));
  CHECK(r.eval_passes >= 4.0);  // one exact pass (plus the certificate's) per row
  o.tol = 1e-14;  // rows are stopping checks: counted
  r = solve(p, o);
  CHECK(r.passes >= 3.0 + 4.0);
  CHECK(r.trace.back().passes == r.passes);
  // SVRG: every epoch is its snapshot pass, the stored-derivative pass and 1 per sample of 2n
  // steps (2 per sample, at theta and at the snapshot, where derivatives are not stored).
  SolverOptions v = svrg(SolverKind::VariationalLog);
  v.tol = 1e-14;
  v.epochs = 30;  // budget in passes
  v.svrg_initial_scale = 0.5;
  r = solve(p, v);
  CHECK(r.passes >= 30.0);
  CHECK(r.passes <= 30.0 + 5.0 + 2.0);  // the budget is checked at each snapshot
  for (size_t k = 1; k < r.trace.size(); ++k) CHECK(r.trace[k].passes > r.trace[k - 1].passes);
}

TEST_CASE("SVRG with its default step converges linearly on every problem", "[svrg][slow]") {
  auto check_linear = [](const Result& r, double f_star, double passes_max) {
    INFO(r.brief_report() << "; " << r.message);
    REQUIRE(r.status == Status::Converged);
    CHECK(r.passes <= passes_max);
    CHECK((r.objective - f_star) / std::max(1.0, std::abs(f_star)) <= 1e-6);
    // Error ratio over the accepted snapshots: geometric, bounded below 1 on average.
    const auto& t = r.trace;
    const double e0 = t.front().objective - f_star, e1 = t.back().objective - f_star;
    if (e1 > 1e-13 && t.size() > 2) {
      const double per_row = std::pow(e1 / e0, 1.0 / static_cast<double>(t.size() - 1));
      CHECK(per_row < 0.9);
    }
    for (size_t k = 1; k < t.size(); ++k) CHECK(t[k].objective <= t[k - 1].objective);
  };
  SECTION("DRO regression, unstandardized") {
    RegressionData d = make_regression_data(300, 6, 21, 0.5, false);
    d.x = (5.0 * d.x.array() + 1.0).matrix();
    for (double lambda : {0.2, 1.0}) {
      const DroRegression p(d.x, d.y, lambda, 1e-3);
      double f_star = 0.0;
      optimum(p, &f_star);
      for (SolverKind k : {SolverKind::Softplus, SolverKind::VariationalLog})
        check_linear(solve(p, svrg(k)), f_star, 1000);  // ill-conditioned
    }
  }
  SECTION("DRO classification") {
    const Dataset data = make_classification_data(500, 10, 4, 0.1, 22);
    const DroClassification p(data.train.x, data.train.labels, 4, 1.0, 1e-3);
    double f_star = 0.0;
    optimum(p, &f_star);
    check_linear(solve(p, svrg(SolverKind::Softplus)), f_star, 400);
  }
  SECTION("entropic OT, every atom") {
    const OtInstance inst = ot_instance(400, 20, 0.05, 23);
    const SemiDiscreteOt p(inst.x, inst.y, inst.b, 0.05);
    double f_star = 0.0;
    optimum(p, &f_star);
    for (SolverKind k : {SolverKind::Softplus, SolverKind::BiasedSoftmax})
      check_linear(solve(p, svrg(k)), f_star, 400);
  }
}

TEST_CASE("SVRG's safeguard recovers from a step 64 times too large", "[svrg]") {
  const DroRegression p = make_regression(300, 4, 31, 0.5, 1e-3);
  double f_star = 0.0;
  optimum(p, &f_star);
  SolverOptions o = svrg(SolverKind::VariationalLog);
  o.svrg_initial_scale = 64.0;
  const Result r = solve(p, o);
  INFO(r.brief_report() << "; " << r.message);
  REQUIRE(r.status == Status::Converged);
  CHECK_THAT(r.message, Contains("rejected by the safeguard"));
  CHECK((r.objective - f_star) / std::max(1.0, std::abs(f_star)) <= 1e-6);
}

TEST_CASE("variance reduction resolves: auto is saga (DRO) or svrg (OT) where unbiased, an impossible svrg is refused",
          "[svrg][options]") {
  SolverOptions o = SolverOptions::defaults_for(SolverKind::Softplus);
  CHECK(o.variance_reduced(false));
  CHECK(o.resolved(false).batch == 1);
  CHECK(o.resolved(false).variance_reduction == VarianceReduction::Saga);  // DRO
  CHECK(o.resolved(true).variance_reduction == VarianceReduction::Svrg);   // OT
  o.solver = SolverKind::BiasedSoftmax;
  CHECK_FALSE(o.variance_reduced(false));  // a minibatch softmax is not a finite sum
  CHECK(o.variance_reduced(true));         // OT with every atom: exact per-sample terms
  o.atoms = 8;
  CHECK_FALSE(o.variance_reduced(true));
  o.variance_reduction = VarianceReduction::Svrg;
  CHECK_THAT(o.check(100, 50, true), Contains("`atoms=0`"));
  o.atoms = 0;
  CHECK_THAT(o.check(100, 1, false), Contains("biased-softmax"));
}
