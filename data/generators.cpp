// Seeded synthetic datasets (generators.hpp). Only lsekit::Rng is used, so a seed gives
// the same data on every platform and standard library.
//
// Draw order (part of the determinism contract): w* (p normals), b* (one normal), the
// training rows (features, then noise, row by row), the test rows likewise, then the
// outlier rows (a Fisher-Yates shuffle of 0..n-1, first k taken) and their signs.
#include "data/generators.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "data/labels.hpp"

namespace lsekit {
namespace {

void check(const RegressionGenOptions& o) {
  auto fail = [](const std::string& m) { throw InputError("regression generator: " + m); };
  if (o.n < 1) fail("n must be >= 1");
  if (o.p < 1) fail("p must be >= 1");
  if (o.n_test < 0) fail("n_test must be >= 0");
  constexpr double kMaxCells = 1e10;
  if (static_cast<double>(o.n + o.n_test) * static_cast<double>(o.p) > kMaxCells) {
    fail("(n + n_test) * p is too large");
  }
  if (!(o.noise >= 0.0) || !std::isfinite(o.noise)) fail("noise must be finite and >= 0");
  if (!(o.df > 0.0) || !std::isfinite(o.df)) fail("df must be finite and > 0");
  if (!(std::fabs(o.corr) < 1.0)) fail("corr must be in (-1, 1)");
  if (!(o.outlier_frac >= 0.0 && o.outlier_frac <= 1.0)) fail("outlier_frac must be in [0, 1]");
  if (!(o.outlier_scale >= 0.0) || !std::isfinite(o.outlier_scale)) {
    fail("outlier_scale must be finite and >= 0");
  }
}

// x ~ N(0, Sigma), Sigma_ij = corr^|i-j|, as the stationary AR(1) recursion
// x_0 = z_0, x_j = corr x_{j-1} + sqrt(1 - corr^2) z_j.
void fill_split(Split& s, long n, long p, const Vec& w, double b, const RegressionGenOptions& o,
                Rng& rng) {
  s.x.resize(n, p);
  s.y.resize(n);
  const double innov = std::sqrt(1.0 - o.corr * o.corr);
  for (long i = 0; i < n; ++i) {
    double prev = rng.normal();
    s.x(i, 0) = prev;
    for (long j = 1; j < p; ++j) {
      prev = o.corr * prev + innov * rng.normal();
      s.x(i, j) = prev;
    }
    const double eps = o.noise > 0.0 ? o.noise * rng.student_t(o.df) : 0.0;
    double dot = 0.0;
    for (long j = 0; j < p; ++j) dot += s.x(i, j) * w[j];
    s.y[i] = dot + b + eps;
  }
}

// Mean and sample standard deviation of column `j` of `m` (or of a vector), summed in
// index order: Eigen's vectorized reductions would make the last bits depend on the
// SIMD width, and the data must not depend on the machine.
template <class M>
std::pair<double, double> mean_sd(const M& m, Index j) {
  const Index n = m.rows();
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) sum += m(i, j);
  const double mean = sum / static_cast<double>(n);
  if (n < 2) return {mean, 0.0};
  double ss = 0.0;
  for (Index i = 0; i < n; ++i) ss += (m(i, j) - mean) * (m(i, j) - mean);
  return {mean, std::sqrt(ss / static_cast<double>(n - 1))};
}

}  // namespace

Dataset generate_regression(const RegressionGenOptions& o) {
  check(o);
  Rng rng(o.seed);
  Vec w(o.p);
  for (long j = 0; j < o.p; ++j) w[j] = rng.normal();
  const double b = rng.normal();

  Dataset d;
  d.task = Task::Regression;
  fill_split(d.train, o.n, o.p, w, b, o, rng);
  if (o.n_test > 0) {
    d.test.emplace();
    fill_split(*d.test, o.n_test, o.p, w, b, o, rng);
  }

  // Outliers: k = round(frac * n) distinct training rows, shifted by +-scale * sd(y).
  const long k = std::min(o.n, std::lround(o.outlier_frac * static_cast<double>(o.n)));
  const double shift = o.outlier_scale * mean_sd(d.train.y, 0).second;
  std::vector<std::int64_t> order(static_cast<std::size_t>(o.n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  rng.shuffle(order.data(), o.n);
  IVec group = IVec::Zero(o.n);
  for (long t = 0; t < k; ++t) {
    const auto i = static_cast<Index>(order[static_cast<std::size_t>(t)]);
    group[i] = 1;
    d.train.y[i] += rng.below(2) ? shift : -shift;
  }
  d.train.group = std::move(group);

  if (o.standardize) {
    // Training statistics (outliers included, as a user of real data would have them).
    Eigen::RowVectorXd mean(o.p), sd(o.p);
    for (long j = 0; j < o.p; ++j) {
      const auto [m, s] = mean_sd(d.train.x, j);
      mean[j] = m;
      sd[j] = s > 0.0 ? s : 1.0;
    }
    const auto [y_mean_raw, y_sd_raw] = mean_sd(d.train.y, 0);
    const double y_mean = y_mean_raw;  // clang < 16 cannot capture structured bindings
    const double y_sd = y_sd_raw > 0.0 ? y_sd_raw : 1.0;
    auto apply = [&](Split& s) {  // elementwise: exact whatever the vectorization
      s.x = (s.x.rowwise() - mean).array().rowwise() / sd.array();
      s.y = (s.y.array() - y_mean) / y_sd;
    };
    apply(d.train);
    if (d.test) apply(*d.test);
  }
  d.provenance = {{"generator", std::string("regression")},
                  {"seed", seed_attr(o.seed)},
                  {"param_n", std::int64_t{o.n}},
                  {"param_p", std::int64_t{o.p}},
                  {"param_n_test", std::int64_t{o.n_test}},
                  {"param_noise", o.noise},
                  {"param_df", o.df},
                  {"param_corr", o.corr},
                  {"param_outliers", o.outlier_frac},
                  {"param_outlier_scale", o.outlier_scale},
                  {"param_raw", std::int64_t{o.standardize ? 0 : 1}}};
  return d;
}

}  // namespace lsekit

// ---- Gaussian-mixture classification (generate_classification) -------------------------

namespace lsekit {

Dataset generate_classification(const ClassificationGenOptions& o) {
  auto fail = [](const std::string& m) { throw InputError("classification generator: " + m); };
  if (o.n < 1) fail("n must be >= 1");
  if (o.p < 1) fail("p must be >= 1");
  if (o.n_test < 0) fail("n_test must be >= 0");
  if (o.num_classes < 2) fail("num_classes must be >= 2");
  if (o.num_classes > 100000) fail("num_classes must be <= 100000");
  if (static_cast<double>(o.n + o.n_test + o.num_classes) * static_cast<double>(o.p) > 1e10)
    fail("(n + n_test) * p is too large");
  if (!(o.separation >= 0.0) || !std::isfinite(o.separation))
    fail("separation must be finite and >= 0");
  if (!(o.label_noise >= 0.0 && o.label_noise <= 1.0)) fail("label_noise must be in [0, 1]");

  Rng rng(o.seed);
  const double scale = o.separation / std::sqrt(2.0 * static_cast<double>(o.p));
  MatRM mu(o.num_classes, o.p);
  for (long k = 0; k < o.num_classes; ++k)
    for (long j = 0; j < o.p; ++j) mu(k, j) = scale * rng.normal();
  auto fill = [&](Split& s, long n) {
    s.x.resize(n, o.p);
    s.labels.resize(n);
    for (long i = 0; i < n; ++i) {
      const auto y = static_cast<Index>(rng.below(static_cast<std::uint64_t>(o.num_classes)));
      s.labels[i] = y;
      for (long j = 0; j < o.p; ++j) s.x(i, j) = mu(y, j) + rng.normal();
    }
    s.y = s.labels.cast<double>();
  };
  Dataset d;
  d.task = Task::Classification;
  d.num_classes = o.num_classes;
  fill(d.train, o.n);
  if (o.n_test > 0) {
    d.test.emplace();
    fill(*d.test, o.n_test);
  }
  if (o.label_noise > 0.0) {
    IVec clean = d.train.labels;
    inject_label_noise(d.train.labels, o.num_classes, o.label_noise, NoiseKind::Uniform, rng);
    d.train.y = d.train.labels.cast<double>();
    d.train.y_clean = std::move(clean);
  }
  d.provenance = {{"generator", std::string("classification")},
                  {"seed", seed_attr(o.seed)},
                  {"param_n", std::int64_t{o.n}},
                  {"param_p", std::int64_t{o.p}},
                  {"param_classes", std::int64_t{o.num_classes}},
                  {"param_n_test", std::int64_t{o.n_test}},
                  {"param_separation", o.separation},
                  {"param_noise", o.label_noise}};
  return d;
}

}  // namespace lsekit
