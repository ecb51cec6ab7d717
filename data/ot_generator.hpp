// Seeded synthetic entropic OT instances (`lsekit gen ot`): Gaussian mixture -> point cloud.
#pragma once

#include <cstdint>

#include "data/ot_instance.hpp"

namespace lsekit {

enum class OtWeights { Uniform, Dirichlet };

/// Source: a mixture of `components` equally likely Gaussians in R^d,
///   x = (mu_k + width * z) / sqrt(d),  mu_k ~ N(0, spread^2 I_d),  z ~ N(0, I_d),
/// with n training and n_test held-out samples. Target: m atoms drawn the same way from
/// another mixture (its own means nu_k ~ N(0, spread^2 I_d)). The 1/sqrt(d) keeps the data
/// unit-scale in every dimension: E|x|^2 = spread^2 + width^2. Atom weights b: uniform 1/m,
/// or Dirichlet(alpha, ..., alpha) (normalized Gamma(alpha) draws). epsilon is stored as
/// the instance's temperature.
/// Draw order (part of the determinism contract, lsekit::Rng only): source means, target
/// means, training samples, held-out samples, atoms (each: component, then d normals),
/// then the m Gamma draws of Dirichlet weights.
struct OtGenOptions {
  long n = 4000;
  long n_test = 1000;
  long m = 200;
  long d = 2;
  double epsilon = 0.05;
  long components = 4;
  double spread = 1.0;
  double width = 0.3;
  OtWeights weights = OtWeights::Dirichlet;
  double alpha = 1.0;  // Dirichlet concentration
  std::uint64_t seed = 1;
};

/// Throws InputError ("OT generator: ...") for invalid options.
OtInstance generate_ot(const OtGenOptions& o);

}  // namespace lsekit
