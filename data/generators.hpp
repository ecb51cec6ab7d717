// Seeded synthetic data for lsekit (`lsekit gen`).
#pragma once

#include <cstdint>

#include "data/dataset.hpp"

namespace lsekit {

/// Heavy-tailed linear regression with outliers, shaped like the California
/// housing benchmark (20640 x 8):
///   x ~ N(0, Sigma) with Sigma_ij = corr^|i-j|,  y = x.w* + b* + noise * t_df,
/// a fraction `outlier_frac` of training targets shifted by +-outlier_scale * sd(y)
/// (group 1; inliers are group 0). Features and targets are standardized with
/// the training statistics when `standardize` is set. n_test clean test samples.
struct RegressionGenOptions {
  long n = 20640;
  long p = 8;
  long n_test = 2000;
  double noise = 0.5;
  double df = 3.0;
  double corr = 0.3;
  double outlier_frac = 0.01;
  double outlier_scale = 10.0;
  bool standardize = true;
  std::uint64_t seed = 1;
};
Dataset generate_regression(const RegressionGenOptions& o);

}  // namespace lsekit

namespace lsekit {

/// Gaussian-mixture classification with K classes in R^p:
///   y ~ Uniform{0..K-1},  x = mu_y + N(0, I_p),
///   mu_k = separation * g_k / sqrt(2p),  g_k ~ N(0, I_p),
/// so E|mu_a - mu_b|^2 = separation^2 (separation = expected distance between two class
/// means in within-class standard deviations). n_test clean test samples. With label_noise
/// > 0, exactly round(label_noise * n) training labels are flipped uniformly to another
/// class (data/labels.hpp) and /train/y_clean keeps the true ones.
/// Draw order: the K means (row by row), the training rows (label, then p coordinates),
/// the test rows likewise, then the label noise.
struct ClassificationGenOptions {
  long n = 2000;
  long p = 10;
  long num_classes = 3;
  long n_test = 1000;
  double separation = 3.0;
  double label_noise = 0.0;
  std::uint64_t seed = 1;
};
Dataset generate_classification(const ClassificationGenOptions& o);

}  // namespace lsekit
