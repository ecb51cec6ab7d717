// lsekit gen KIND --out FILE: seeded synthetic datasets and OT instances.
#include <cstdio>
#include <iostream>

#include "core/errors.hpp"
#include "data/generators.hpp"
#include "tools/commands.hpp"
#include "tools/solver_cli.hpp"
#include "tasks/tasks.hpp"

namespace lsekit::cli {

namespace {

int gen_regression(int argc, const char* const* argv) {
  RegressionGenOptions g;
  const RegressionGenOptions def;
  std::string out;
  bool force = false;
  po::options_description desc(
      "usage: lsekit gen regression --out FILE [options]\n\n"
      "Heavy-tailed linear regression with outliers (default: 20640 x 8, like California\n"
      "housing): x ~ N(0, Sigma), Sigma_ij = corr^|i-j|, y = x.w* + b* + noise * t_df, a fraction\n"
      "of training targets shifted by +-outlier-scale * sd(y) (group 1). Standardized.\n\noptions");
  desc.add_options()("help,h", "show this help")("config", po::value<std::string>(), "read further options from FILE (key = value lines)")
      ("out,o", po::value(&out), "file to write (required)")
      ("force", po::bool_switch(&force), "overwrite --out if it exists")
      ("n", po::value(&g.n)->default_value(def.n), "training samples")
      ("p", po::value(&g.p)->default_value(def.p), "features")
      ("n-test", po::value(&g.n_test)->default_value(def.n_test), "test samples (clean)")
      ("noise", po::value(&g.noise)->default_value(def.noise, text(def.noise)), "noise scale")
      ("df", po::value(&g.df)->default_value(def.df, text(def.df)), "Student-t degrees of freedom")
      ("corr", po::value(&g.corr)->default_value(def.corr, text(def.corr)), "feature correlation")
      ("outliers", po::value(&g.outlier_frac)->default_value(def.outlier_frac, text(def.outlier_frac)),
       "fraction of training outliers")
      ("outlier-scale", po::value(&g.outlier_scale)->default_value(def.outlier_scale, text(def.outlier_scale)),
       "outlier shift in units of sd(y)")
      ("raw", "do not standardize")
      ("seed", po::value(&g.seed)->default_value(def.seed), "random seed");
  po::variables_map vm;
  parse(argc, argv, desc, {}, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  g.standardize = !vm.count("raw");
  if (g.n < 1 || g.p < 1 || g.n_test < 0) throw InputError("--n and --p must be >= 1, --n-test >= 0");
  if (g.n > (1L << 28) || g.p > (1L << 16) || g.n * g.p > (1L << 31))
    throw InputError("--n x --p is too large");
  if (!(g.outlier_frac >= 0.0 && g.outlier_frac < 1.0)) throw InputError("--outliers must be in [0, 1)");
  if (!(g.df > 0.0)) throw InputError("--df must be > 0");
  if (!(g.noise >= 0.0)) throw InputError("--noise must be >= 0");
  if (!(g.corr > -1.0 && g.corr < 1.0)) throw InputError("--corr must be in (-1, 1)");
  check_output(out, force);
  const Dataset d = generate_regression(g);
  write_plainly(out, [&] { write_dataset(out, d); });
  std::printf("wrote %s: regression, %ld x %ld train, %ld test, seed %llu\n", out.c_str(),
              static_cast<long>(d.train.x.rows()), static_cast<long>(d.train.x.cols()),
              d.test ? static_cast<long>(d.test->x.rows()) : 0L,
              static_cast<unsigned long long>(g.seed));
  return kExitOk;
}

struct GenKind {
  const char* name;
  int (*run)(int, const char* const*);
  const char* help;
};
constexpr GenKind kKinds[] = {
    {"regression", gen_regression, "heavy-tailed regression with outliers (DRO regression)"},
    {"classification", cmd_gen_classification, "Gaussian mixture, K classes (DRO classification)"},
    {"ot", cmd_gen_ot, "Gaussian mixture -> point cloud (entropic semi-discrete OT)"},
};

}  // namespace

int cmd_gen(int argc, const char* const* argv) {
  const std::string kind = argc >= 2 ? argv[1] : "";
  for (const auto& k : kKinds)
    if (kind == k.name) return k.run(argc - 1, argv + 1);
  if (kind == "--help" || kind == "-h") {
    std::printf("usage: lsekit gen KIND --out FILE [options]   (lsekit gen KIND --help)\n\nkinds:\n");
    for (const auto& k : kKinds) std::printf("  %-15s %s\n", k.name, k.help);
    return kExitOk;
  }
  std::string names;
  for (const auto& k : kKinds) names += std::string(names.empty() ? "" : ", ") + k.name;
  throw InputError("lsekit gen: unknown or missing kind '" + kind + "' (choose one of " + names + ")");
}

}  // namespace lsekit::cli
