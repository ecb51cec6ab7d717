// Shared helpers of the lsekit test suite: seeded problem instances, brute-force
// references written independently of the library's evaluator, and a finite-difference
// gradient. Everything here is deliberately simple (direct loops, long double) so that
// it can serve as an oracle for the optimized code it checks.
#pragma once

#include <Eigen/Cholesky>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/rng.hpp"
#include "core/types.hpp"
#include "data/generators.hpp"
#include "problems/dro_regression.hpp"

namespace lsekit::test {

/// Standardizes every column of x and the vector y to mean 0 and (population) sd 1.
inline void standardize(MatRM& x, Vec& y) {
  const double n = static_cast<double>(x.rows());
  for (Index j = 0; j < x.cols(); ++j) {
    const double mean = x.col(j).mean();
    x.col(j).array() -= mean;
    const double sd = std::sqrt(x.col(j).squaredNorm() / n);
    x.col(j) /= sd;
  }
  y.array() -= y.mean();
  y /= std::sqrt(y.squaredNorm() / n);
}

/// A small standardized linear regression with heavy-tailed (Student-t, 3 dof) noise:
/// x ~ N(0, I_p), y = x.w* + 0.5 + noise * t_3 with w*_j = (-1)^j (1 + j) / p,
/// then x and y standardized. Seeded and platform-independent (lsekit::Rng).
struct RegressionData {
  MatRM x;
  Vec y;
};
inline RegressionData make_regression_data(Index n, Index p, std::uint64_t seed, double noise = 0.5,
                                           bool standardized = true) {
  Rng rng(seed);
  RegressionData d{MatRM(n, p), Vec(n)};
  for (Index i = 0; i < n; ++i) {
    double yi = 0.5;
    for (Index j = 0; j < p; ++j) {
      d.x(i, j) = rng.normal();
      yi +=
          d.x(i, j) * ((j % 2 ? -1.0 : 1.0) * static_cast<double>(1 + j) / static_cast<double>(p));
    }
    d.y(i) = yi + noise * rng.student_t(3.0);
  }
  if (standardized) standardize(d.x, d.y);
  return d;
}
/// Synthetic classification data (data/generators.hpp): n samples, p features, k classes, a
/// fraction `noise` of flipped labels; features scaled by `scale` and offset by `offset`
/// (unstandardized when not 1 and 0).
inline Dataset make_classification_data(Index n, Index p, Index k, double noise, std::uint64_t seed,
                                        double scale = 1.0, double offset = 0.0) {
  ClassificationGenOptions g;
  g.n = n;
  g.p = p;
  g.num_classes = k;
  g.label_noise = noise;
  g.seed = seed;
  Dataset data = generate_classification(g);
  if (scale != 1.0 || offset != 0.0) data.train.x = (scale * data.train.x.array() + offset).matrix();
  return data;
}

inline DroRegression make_regression(Index n = 300, Index p = 4, std::uint64_t seed = 7,
                                     double lambda = 1.0, double l2 = 0.0, double noise = 0.5) {
  RegressionData d = make_regression_data(n, p, seed, noise);
  return DroRegression(std::move(d.x), std::move(d.y), lambda, l2);
}

/// The instance of the blog experiment (SPEC-style toy): n = 100, x ~ N(0, 1),
/// y = 0.8 x - 1 + 0.3 t_3, lambda = 1, not standardized.
inline DroRegression make_blog_instance(std::uint64_t seed = 2024, Index n = 100) {
  Rng rng(seed);
  MatRM x(n, 1);
  Vec y(n);
  for (Index i = 0; i < n; ++i) {
    x(i, 0) = rng.normal();
    y(i) = 0.8 * x(i, 0) - 1.0 + 0.3 * rng.student_t(3.0);
  }
  return DroRegression(std::move(x), std::move(y), 1.0);
}

/// l_i(theta) = (w.x_i + b - y_i)^2 by a direct loop in long double.
inline std::vector<long double> brute_force_scores(const DroRegression& pr, const Vec& theta) {
  const Index n = pr.num_items(), p = pr.num_features();
  std::vector<long double> s(n);
  for (Index i = 0; i < n; ++i) {
    long double r = static_cast<long double>(theta(p)) - pr.y()(i);
    for (Index j = 0; j < p; ++j)
      r += static_cast<long double>(pr.x()(i, j)) * static_cast<long double>(theta(j));
    s[i] = r * r;
  }
  return s;
}

/// F(theta) = lambda log((1/n) sum_i exp(l_i/lambda)) + (mu/2)|w|^2 by a direct double loop
/// over samples and features in long double (max-shifted so it cannot overflow).
inline double brute_force_f(const DroRegression& pr, const Vec& theta) {
  const Index n = pr.num_items(), p = pr.num_features();
  const long double lambda = pr.temperature();
  const std::vector<long double> s = brute_force_scores(pr, theta);
  long double mx = s[0];
  for (long double v : s) mx = std::max(mx, v);
  long double z = 0.0L;
  for (long double v : s) z += std::exp((v - mx) / lambda);
  long double reg = 0.0L;
  for (Index j = 0; j < p; ++j) reg += static_cast<long double>(theta(j)) * theta(j);
  return static_cast<double>(mx + lambda * std::log(z / static_cast<long double>(n)) +
                             0.5L * pr.l2() * reg);
}

/// Central finite-difference gradient, fourth order (Richardson-extrapolated):
/// g_j = [8 (f(x + h e_j) - f(x - h e_j)) - (f(x + 2h e_j) - f(x - 2h e_j))] / (12 h).
/// The step is relative: h_j = h * max(1, |x_j|).
inline Vec fd_gradient(const std::function<double(const Vec&)>& f, const Vec& x, double h = 1e-4) {
  Vec g(x.size());
  Vec xp = x;
  for (Index j = 0; j < x.size(); ++j) {
    const double hj = h * std::max(1.0, std::abs(x(j)));
    auto at = [&](double t) {
      xp(j) = x(j) + t;
      const double v = f(xp);
      xp(j) = x(j);
      return v;
    };
    g(j) = (8.0 * (at(hj) - at(-hj)) - (at(2 * hj) - at(-2 * hj))) / (12.0 * hj);
  }
  return g;
}

/// The least-squares solution (w, b) of the normal equations [X 1]^T [X 1] theta = [X 1]^T y,
/// plus mu on the diagonal of the w block (ridge; intercept unregularized).
inline Vec least_squares(const DroRegression& pr, double mu = 0.0) {
  const Index n = pr.num_items(), p = pr.num_features();
  Mat a(n, p + 1);
  a.leftCols(p) = pr.x();
  a.col(p).setOnes();
  Mat ata = a.transpose() * a / static_cast<double>(n);
  ata.topLeftCorner(p, p).diagonal().array() += mu;
  const Vec aty = a.transpose() * pr.y() / static_cast<double>(n);
  return ata.ldlt().solve(aty);
}

/// Relative difference |a - b| / max(1, |b|) of two vectors (max-norm).
inline double rel_diff(const Vec& a, const Vec& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

}  // namespace lsekit::test
