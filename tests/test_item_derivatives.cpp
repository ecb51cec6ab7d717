// Tests of the per-item derivative interface (ItemDerivativeProblem, core/problem.hpp) of
// DroRegression and DroClassification, which the variance-reduced solvers use to store
// D x n snapshot derivatives instead of per-sample gradients:
//  (a) a_i = dl_i/dz_i: grad l_i = a_i (x) x~_i matches a finite-difference gradient of the
//      single score l_i(theta) (so a is the derivative, not merely consistent with itself);
//  (b) add_item_gradient with c(:, i) = W_i a_i equals add_gradient with weights W, and an
//      arbitrary c equals a direct loop sum_i c(:, i) (x) x~_i, accumulated into grad;
// on contiguous and gathered (repeated) items, batches larger than one product panel,
// many classes (class panels) and unstandardized features.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <vector>

#include "core/problem.hpp"
#include "data/generators.hpp"
#include "problems/dro_classification.hpp"
#include "problems/dro_regression.hpp"
#include "test_support.hpp"

using namespace lsekit;

namespace {

Vec random_vec(Index size, Rng& rng, double scale) {
  Vec t(size);
  for (Index j = 0; j < size; ++j) t(j) = scale * rng.normal();
  return t;
}

// x~_i of either problem as a row of X plus the intercept's 1, and the direct sum
// grad[k p + j] += c(k, i) x_ij, grad[D p + k] += c(k, i).
template <class X>
Vec direct_item_gradient(const X& x, Index dsz, IndexSet items, const Mat& c) {
  const Index p = x.cols();
  Vec g = Vec::Zero(dsz * p + dsz);
  for (Index i = 0; i < items.size(); ++i)
    for (Index k = 0; k < dsz; ++k) {
      for (Index j = 0; j < p; ++j) g(k * p + j) += c(k, i) * x(items[i], j);
      g(dsz * p + k) += c(k, i);
    }
  return g;
}

// The checks (a) and (b) for one problem, one theta and one index set.
template <ItemDerivativeProblem P, class X>
void check_item_derivatives(const P& pr, const X& x, const Vec& theta, IndexSet items, Rng& rng) {
  const Index m = items.size(), dsz = pr.derivative_dim(), dim = pr.dim();
  REQUIRE(dim == dsz * x.cols() + dsz);
  auto ws = pr.make_workspace(1, m);
  Mat s(m, 1);
  pr.scores(theta, IndexSet::range(0, 1), items, ws, s);
  Mat a(dsz, m);
  pr.item_derivatives(items, ws, a);
  REQUIRE(a.allFinite());

  // (b) against add_gradient with random weights, accumulated on top of a random buffer.
  Mat w(m, 1);
  for (Index i = 0; i < m; ++i) w(i, 0) = rng.uniform() - 0.3;
  const Vec g0 = random_vec(dim, rng, 1.0);
  Vec g_ref = g0, g_item = g0;
  pr.add_gradient(theta, IndexSet::range(0, 1), items, ws, w, g_ref);
  Mat c = a;
  for (Index i = 0; i < m; ++i) c.col(i) *= w(i, 0);
  pr.add_item_gradient(items, ws, c, g_item);
  const double scale = std::max(1.0, (g_ref - g0).cwiseAbs().maxCoeff());
  CHECK((g_item - g_ref).cwiseAbs().maxCoeff() <= 1e-12 * scale);

  // (b) arbitrary c against the direct loop.
  Mat cr(dsz, m);
  for (Index i = 0; i < m; ++i) cr.col(i) = random_vec(dsz, rng, 1.0);
  Vec g_any = g0;
  pr.add_item_gradient(items, ws, cr, g_any);
  const Vec g_dir = direct_item_gradient(x, dsz, items, cr);
  CHECK((g_any - g0 - g_dir).cwiseAbs().maxCoeff() <= 1e-11 * std::max(1.0, g_dir.cwiseAbs().maxCoeff()));

  // (a) a few items: a_i (x) x~_i against finite differences of l_i alone.
  for (Index i : {Index{0}, m / 2, m - 1}) {
    const Index it = items[i];
    auto ws1 = pr.make_workspace(1, 1);
    Mat s1(1, 1);
    auto li = [&](const Vec& t) {
      pr.scores(t, IndexSet::range(0, 1), IndexSet::range(it, 1), ws1, s1);
      return s1(0, 0);
    };
    const Vec fd = test::fd_gradient(li, theta, 1e-4);
    Vec g1 = Vec::Zero(dim);
    pr.scores(theta, IndexSet::range(0, 1), IndexSet::range(it, 1), ws1, s1);
    pr.add_item_gradient(IndexSet::range(it, 1), ws1, a.col(i), g1);
    INFO("item " << it);
    CHECK((g1 - fd).cwiseAbs().maxCoeff() <= 1e-6 * std::max(1.0, fd.cwiseAbs().maxCoeff()));
  }
}

std::vector<Index> random_items(Index n, Index m, Rng& rng) {
  std::vector<Index> idx(m);
  for (auto& v : idx) v = static_cast<Index>(rng.uniform() * static_cast<double>(n)) % n;
  idx[m - 1] = idx[0];  // a repeated item
  return idx;
}

}  // namespace

TEST_CASE("DRO regression: per-item derivatives match finite differences and add_gradient",
          "[regression][itemderiv]") {
  Rng rng(11);
  for (bool standardized : {true, false}) {
    test::RegressionData d = test::make_regression_data(300, 6, 5, 0.5, standardized);
    if (!standardized) d.x.col(2) *= 40.0, d.x.col(4).array() += 7.0;  // badly scaled features
    const MatRM x = d.x;
    DroRegression pr(std::move(d.x), std::move(d.y), 0.3, 1e-2);
    for (int rep = 0; rep < 3; ++rep) {
      const Vec theta = random_vec(pr.dim(), rng, standardized ? 0.7 : 0.05);
      const std::vector<Index> idx = random_items(pr.num_items(), 37, rng);
      INFO("standardized " << standardized << " rep " << rep);
      check_item_derivatives(pr, x, theta, IndexSet::list(idx.data(), 37), rng);
      check_item_derivatives(pr, x, theta, IndexSet::range(13, 50), rng);
    }
  }
}

TEST_CASE("DRO classification: per-item derivatives match finite differences and add_gradient",
          "[classification][itemderiv]") {
  Rng rng(12);
  struct Shape {
    Index n, p, k, batch;
  };
  // Small; more items than one product panel (kItemBlock); many classes and features
  // (class and feature panels).
  for (Shape sh : {Shape{200, 5, 3, 17}, Shape{700, 9, 4, 300}, Shape{150, 70, 40, 20}}) {
    ClassificationGenOptions g;
    g.n = sh.n;
    g.p = sh.p;
    g.num_classes = sh.k;
    g.separation = 2.0;
    g.n_test = 0;
    g.seed = 3 + sh.k;
    auto data = std::make_shared<Dataset>(generate_classification(g));
    DroClassification pr(data->train.x, data->train.labels, sh.k, 0.5, 1e-3);
    const Vec theta = random_vec(pr.dim(), rng, 0.4);
    const std::vector<Index> idx = random_items(sh.n, sh.batch, rng);
    INFO("n " << sh.n << " p " << sh.p << " K " << sh.k << " batch " << sh.batch);
    check_item_derivatives(pr, data->train.x, theta, IndexSet::list(idx.data(), sh.batch), rng);
    check_item_derivatives(pr, data->train.x, theta, IndexSet::range(sh.n - sh.batch, sh.batch),
                           rng);
  }
}
