// lsekit gen classification --out FILE: seeded Gaussian-mixture classification data
// (data/generators.hpp, generate_classification). A row of the kinds table of cmd_gen.
#include <cstdio>
#include <iostream>

#include "core/errors.hpp"
#include "data/generators.hpp"
#include "tools/commands.hpp"
#include "tools/solver_cli.hpp"
#include "tasks/tasks.hpp"

namespace lsekit::cli {

int cmd_gen_classification(int argc, const char* const* argv) {
  ClassificationGenOptions g;
  const ClassificationGenOptions def;
  std::string out;
  bool force = false;
  po::options_description desc(
      "usage: lsekit gen classification --out FILE [options]\n\n"
      "Gaussian-mixture classification (DRO classification): y ~ Uniform{0..K-1},\n"
      "x = mu_y + N(0, I_p), class means mu_k = separation * g_k / sqrt(2p) with g_k ~ N(0, I_p)\n"
      "(so two means are `separation` within-class sds apart on average). Optional uniform\n"
      "label noise on the training split (exact count; /train/y_clean keeps the true labels).\n\n"
      "options");
  desc.add_options()("help,h", "show this help")("config", po::value<std::string>(), "read further options from FILE (key = value lines)")(
      "out,o", po::value(&out), "file to write (required)")("force", po::bool_switch(&force),
                                                            "overwrite --out if it exists")(
      "n", po::value(&g.n)->default_value(def.n), "training samples")(
      "p", po::value(&g.p)->default_value(def.p), "features")(
      "classes", po::value(&g.num_classes)->default_value(def.num_classes), "number of classes K")(
      "n-test", po::value(&g.n_test)->default_value(def.n_test), "test samples (clean labels)")(
      "separation", po::value(&g.separation)->default_value(def.separation, text(def.separation)),
      "expected distance between two class means (in within-class sds)")(
      "noise", po::value(&g.label_noise)->default_value(def.label_noise, text(def.label_noise)),
      "fraction of training labels flipped to another class, in [0, 1]")(
      "seed", po::value(&g.seed)->default_value(def.seed), "random seed");
  po::variables_map vm;
  parse(argc, argv, desc, {}, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (g.n < 1 || g.p < 1 || g.n_test < 0)
    throw InputError("--n and --p must be >= 1, --n-test >= 0");
  if (g.num_classes < 2) throw InputError("--classes must be >= 2");
  if (g.n > (1L << 28) || g.p > (1L << 16) || g.num_classes > 100000 ||
      (g.n + g.n_test) * g.p > (1L << 31))
    throw InputError("--n x --p (or --classes) is too large");
  if (!(g.separation >= 0.0) || !std::isfinite(g.separation))
    throw InputError("--separation must be finite and >= 0");
  if (!(g.label_noise >= 0.0 && g.label_noise <= 1.0))
    throw InputError("--noise must be in [0, 1]");
  check_output(out, force);
  const Dataset d = generate_classification(g);
  write_plainly(out, [&] { write_dataset(out, d); });
  std::printf("wrote %s: classification, %ld x %ld train, %ld test, %ld classes, seed %llu\n",
              out.c_str(), static_cast<long>(d.train.x.rows()), static_cast<long>(d.train.x.cols()),
              d.test ? static_cast<long>(d.test->x.rows()) : 0L, g.num_classes,
              static_cast<unsigned long long>(g.seed));
  return kExitOk;
}

}  // namespace lsekit::cli
