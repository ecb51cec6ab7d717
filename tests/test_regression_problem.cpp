// Tests of problems/dro_regression.hpp through core/exact_evaluator.hpp: finite-difference
// gradient of the exact F (with l2, intercept unregularized), brute-force values, contiguous
// vs gathered minibatches, thread-count independence, overflow safety and kappa.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "solvers/instances.hpp"
#include "core/numerics.hpp"
#include "problems/dro_regression.hpp"
#include "test_support.hpp"

using namespace lsekit;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

Vec random_theta(Index dim, std::uint64_t seed, double scale = 0.5) {
  Rng rng(seed);
  Vec t(dim);
  for (Index j = 0; j < dim; ++j) t(j) = scale * rng.normal();
  return t;
}

/// Restores the OpenMP thread count when a test ends (also on a failed REQUIRE).
struct ThreadGuard {
  int saved = omp_get_max_threads();
  ~ThreadGuard() { omp_set_num_threads(saved); }
};

}  // namespace

TEST_CASE("DRO regression: exact gradient matches finite differences", "[regression][fd]") {
  // n = 300 is one chunk; n = 5000 is five chunks merged with running maxima; a block
  // budget of 64 additionally streams every chunk in blocks (rescaling partial gradients).
  struct Case {
    Index n;
    double l2, lambda;
    Index budget;
  };
  std::vector<Case> cases;
  for (double l2 : {0.0, 0.3})
    for (double lambda : {0.2, 1.0, 5.0}) cases.push_back({300, l2, lambda, Index{1} << 16});
  cases.push_back({5000, 0.3, 1.0, 64});
  cases.push_back({5000, 0.0, 0.2, Index{1} << 16});
  cases.push_back({5000, 0.0, 5.0, 64});
  for (const Case& c : cases) {
    INFO("n = " << c.n << ", l2 = " << c.l2 << ", lambda = " << c.lambda
                << ", budget = " << c.budget);
    const DroRegression pr = test::make_regression(c.n, 3, 5, c.lambda, c.l2);
    ExactEvaluator<DroRegression> ev(pr, c.budget);
    const Vec theta = random_theta(pr.dim(), 77);
    Vec grad;
    const double f = ev.value_and_gradient(theta, grad);
    CHECK_THAT(f, WithinRel(test::brute_force_f(pr, theta), 1e-13));
    CHECK(ev.value(theta) == f);  // value() and value_and_gradient() agree bitwise
    const Vec fd = test::fd_gradient([&](const Vec& t) { return ev.value(t); }, theta, 1e-3);
    INFO("grad " << grad.transpose() << "\nFD   " << fd.transpose());
    CHECK((grad - fd).norm() <= 1e-8 * std::max(1.0, fd.norm()));
    CHECK(fd.norm() > 1e-2);
  }
}

TEST_CASE("DRO regression: l2 acts on the weights only, never on the intercept", "[regression]") {
  const double mu = 0.7;
  const DroRegression plain = test::make_regression(400, 4, 12, 1.0, 0.0);
  const DroRegression ridge(plain.x(), plain.y(), 1.0, mu);
  ExactEvaluator<DroRegression> e0(plain), e1(ridge);
  const Vec theta = random_theta(plain.dim(), 3, 1.0);
  const Index p = plain.num_features();
  Vec g0, g1;
  const double f0 = e0.value_and_gradient(theta, g0), f1 = e1.value_and_gradient(theta, g1);
  CHECK_THAT(f1 - f0, WithinRel(0.5 * mu * theta.head(p).squaredNorm(), 1e-12));
  CHECK(((g1 - g0).head(p) - mu * theta.head(p)).cwiseAbs().maxCoeff() <= 1e-13);
  CHECK(g1(p) == g0(p));  // the intercept's gradient is untouched by l2
  // Moving only the intercept changes R by nothing.
  Vec t2 = theta;
  t2(p) += 1.0;
  CHECK(ridge.regularizer(t2, nullptr) == ridge.regularizer(theta, nullptr));
}

TEST_CASE("DRO regression: exact F matches a brute-force double loop", "[regression]") {
  const DroRegression base = test::make_regression(777, 5, 9);
  for (double lambda : {0.05, 1.0, 50.0}) {
    for (double l2 : {0.0, 2.0}) {
      const DroRegression pr(base.x(), base.y(), lambda, l2);
      ExactEvaluator<DroRegression> ev(pr);
      for (std::uint64_t seed : {1, 2, 3}) {
        const Vec theta = random_theta(pr.dim(), seed);
        INFO("lambda = " << lambda << ", l2 = " << l2 << ", seed = " << seed);
        CHECK_THAT(ev.value(theta), WithinRel(test::brute_force_f(pr, theta), 1e-13));
      }
    }
  }
  // Limits: mean loss <= F <= max loss; F -> mean loss as lambda -> inf, -> max loss as lambda ->
  // 0.
  const Vec theta = random_theta(base.dim(), 4);
  const std::vector<long double> s = test::brute_force_scores(base, theta);
  long double mean = 0, mx = 0;
  for (long double v : s) mean += v / s.size(), mx = std::max(mx, v);
  for (double lambda : {1e-3, 0.1, 1.0, 10.0, 1e4}) {
    const DroRegression pr(base.x(), base.y(), lambda);
    const double f = ExactEvaluator<DroRegression>(pr).value(theta);
    CHECK(f >= static_cast<double>(mean));
    CHECK(f <= static_cast<double>(mx));
    if (lambda == 1e4) CHECK_THAT(f, WithinRel(static_cast<double>(mean), 1e-3));
    if (lambda == 1e-3)  // F = max - lambda log n + O(lambda) for a unique max
      CHECK_THAT(f, WithinAbs(static_cast<double>(mx), 1e-3 * std::log(777.0) + 1e-6));
  }
}

TEST_CASE("DRO regression: contiguous and gathered index sets give the same scores and gradient",
          "[regression]") {
  const DroRegression pr = test::make_regression(300, 4, 2);
  const Vec theta = random_theta(pr.dim(), 6);
  const Index start = 37, m = 101;
  std::vector<Index> idx(m);
  for (Index i = 0; i < m; ++i) idx[i] = start + i;
  auto ws_a = pr.make_workspace(1, m), ws_b = pr.make_workspace(1, m);
  Mat sa(m, 1), sb(m, 1);
  const IndexSet g = IndexSet::range(0, 1);
  pr.scores(theta, g, IndexSet::range(start, m), ws_a, sa);
  pr.scores(theta, g, IndexSet::list(idx.data(), m), ws_b, sb);
  CHECK((sa - sb).cwiseAbs().maxCoeff() <= 1e-14 * sa.cwiseAbs().maxCoeff());
  const std::vector<long double> ref = test::brute_force_scores(pr, theta);
  for (Index i = 0; i < m; ++i)
    CHECK_THAT(sa(i, 0), WithinRel(static_cast<double>(ref[start + i]), 1e-13));

  Mat w(m, 1);
  Rng rng(1);
  for (Index i = 0; i < m; ++i) w(i, 0) = rng.uniform();
  Vec ga = Vec::Zero(pr.dim()), gb = Vec::Zero(pr.dim());
  pr.add_gradient(theta, g, IndexSet::range(start, m), ws_a, w, ga);
  pr.add_gradient(theta, g, IndexSet::list(idx.data(), m), ws_b, w, gb);
  CHECK((ga - gb).cwiseAbs().maxCoeff() <= 1e-13 * ga.cwiseAbs().maxCoeff());
  // Reference: sum_i w_i 2 r_i (x_i, 1).
  Vec ref_g = Vec::Zero(pr.dim());
  const Index p = pr.num_features();
  for (Index i = 0; i < m; ++i) {
    const Index j = start + i;
    const double r = pr.x().row(j).dot(theta.head(p)) + theta(p) - pr.y()(j);
    ref_g.head(p) += w(i, 0) * 2.0 * r * pr.x().row(j).transpose();
    ref_g(p) += w(i, 0) * 2.0 * r;
  }
  CHECK((ga - ref_g).cwiseAbs().maxCoeff() <= 1e-12 * ref_g.cwiseAbs().maxCoeff());
  // add_gradient accumulates (+=) into the buffer.
  Vec twice = ga;
  pr.add_gradient(theta, g, IndexSet::range(start, m), ws_a, w, twice);
  CHECK((twice - 2.0 * ga).cwiseAbs().maxCoeff() <= 1e-13 * ga.cwiseAbs().maxCoeff());

  // A shuffled gathered set with repeats scores each row like the contiguous set.
  std::vector<Index> shuffled{250, 3, 3, 299, 0, 120};
  const Index k = static_cast<Index>(shuffled.size());
  Mat sc(k, 1);
  pr.scores(theta, g, IndexSet::list(shuffled.data(), k), ws_b, sc);
  for (Index i = 0; i < k; ++i)
    CHECK_THAT(sc(i, 0), WithinRel(static_cast<double>(ref[shuffled[i]]), 1e-13));
}

TEST_CASE("exact evaluation is bitwise identical for 1 and 2 OpenMP threads",
          "[regression][threads]") {
  ThreadGuard guard;
  // n = 100000 gives the maximum of 64 chunks; scores spread so chunk maxima differ.
  const DroRegression pr = test::make_regression(100000, 5, 99, 0.5, 0.1);
  const Vec theta = random_theta(pr.dim(), 8);
  struct Out {
    double f = 0, f_value = 0;
    Vec grad, lse;
    EvalInfo info;
  };
  auto eval = [&](int threads, ExactEvaluator<DroRegression>& ev) {
    omp_set_num_threads(threads);
    Out o;
    o.f = ev.value_and_gradient(theta, o.grad, &o.info);
    o.f_value = ev.group_values(theta, o.lse);
    return o;
  };
  ExactEvaluator<DroRegression> ev1(pr), ev2(pr), shared(pr);
  const Out a = eval(1, ev1), b = eval(2, ev2), c = eval(2, shared), d = eval(1, shared);
  for (const Out* o : {&b, &c, &d}) {
    CHECK(o->f == a.f);
    CHECK(o->f_value == a.f_value);
    CHECK(o->grad == a.grad);
    CHECK(o->lse == a.lse);
    CHECK(o->info.kappa_mean == a.info.kappa_mean);
  }
  CHECK_THAT(a.f, WithinRel(test::brute_force_f(pr, theta), 1e-12));
  CHECK(a.lse.size() == 1);
  CHECK_THAT(a.lse(0) + pr.regularizer(theta, nullptr), WithinRel(a.f, 1e-15));
}

TEST_CASE("exact F is finite and accurate when scores are ~1e3 lambda", "[regression][overflow]") {
  // Residuals ~ 10, lambda = 0.1 -> l/lambda ~ 1e3 >> log(DBL_MAX) = 709.
  const test::RegressionData d = test::make_regression_data(2000, 3, 17, 0.5, false);
  Vec y = d.y;
  y.array() += 10.0;
  for (double lambda : {0.1, 1e-3}) {
    const DroRegression pr(d.x, y, lambda);
    ExactEvaluator<DroRegression> ev(pr, 128);  // several streamed blocks per chunk
    const Vec theta = Vec::Zero(pr.dim());
    Vec grad;
    EvalInfo info;
    const double f = ev.value_and_gradient(theta, grad, &info);
    INFO("lambda = " << lambda << ", F = " << f);
    REQUIRE(std::isfinite(f));
    REQUIRE(grad.allFinite());
    REQUIRE(std::isfinite(info.kappa_mean));
    const std::vector<long double> s = test::brute_force_scores(pr, theta);
    long double mx = 0;
    for (long double v : s) mx = std::max(mx, v);
    CHECK(mx / lambda > 1e3);  // the naive e^{l/lambda} would overflow
    CHECK_THAT(f, WithinRel(test::brute_force_f(pr, theta), 1e-13));
    CHECK(f <= static_cast<double>(mx));
    // The intercept gradient is the tilted average of 2 r_i; at theta = 0, r_i = -y_i ~ -10
    // and |r_i| <= sqrt(max l), so it lies in [-2 sqrt(max l), 0).
    CHECK(grad(pr.num_features()) >= -2.0 * std::sqrt(static_cast<double>(mx)) * (1 + 1e-12));
    CHECK(grad(pr.num_features()) < 0.0);
  }
}

TEST_CASE("kappa from EvalInfo equals n sum p_i^2 computed directly", "[regression][kappa]") {
  for (double lambda : {0.1, 1.0, 10.0}) {
    for (Index n : {250, 3000}) {
      const DroRegression pr = test::make_regression(n, 3, 23, lambda);
      ExactEvaluator<DroRegression> ev(pr);
      const Vec theta = random_theta(pr.dim(), 5);
      EvalInfo info;
      ev.value(theta, &info);
      const std::vector<long double> s = test::brute_force_scores(pr, theta);
      long double mx = 0, z = 0, z2 = 0;
      for (long double v : s) mx = std::max(mx, v);
      for (long double v : s) {
        const long double e = std::exp((v - mx) / lambda);
        z += e;
        z2 += e * e;
      }
      const double kappa = static_cast<double>(n * z2 / (z * z));  // n sum p_i^2
      INFO("lambda = " << lambda << ", n = " << n << ", kappa = " << kappa);
      CHECK_THAT(info.kappa_mean, WithinRel(kappa, 1e-12));
      CHECK(info.kappa_max == info.kappa_mean);  // one group
      CHECK(kappa >= 1.0);
      CHECK(kappa <= static_cast<double>(n));
    }
  }
}
