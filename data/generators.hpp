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
