// Solves a KL-DRO regression problem from Eigen arrays in memory (no files).
// Build: see examples/cpp/CMakeLists.txt (find_package) or README (pkg-config).
#include <cstdio>
#include <random>

#include <lsekit/lsekit.hpp>

int main() {
  const lsekit::Index n = 2000, p = 5;
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal;
  lsekit::MatRM x(n, p);
  lsekit::Vec y(n);
  for (lsekit::Index i = 0; i < n; ++i) {
    for (lsekit::Index j = 0; j < p; ++j) x(i, j) = normal(gen);
    y(i) = x.row(i).sum() + 0.5 + 0.1 * normal(gen);  // w = (1, ..., 1), b = 0.5
  }

  const lsekit::DroRegression problem(x, y, /*lambda=*/1.0, /*l2=*/1e-3);
  lsekit::SolverOptions opt;  // every default: softplus, adaptive rho, Adam
  opt.epochs = 20;
  const lsekit::Result r = lsekit::solve(problem, opt);

  std::printf("%s\n", r.brief_report().c_str());
  std::printf("w = [");
  for (lsekit::Index j = 0; j < p; ++j) std::printf("%s%.3f", j ? ", " : "", r.theta(j));
  std::printf("], b = %.3f\n", r.theta(p));
  return r.ok() ? 0 : 1;
}
