// lsekit gen ot --out FILE: a seeded entropic OT instance (Gaussian mixture -> point cloud).
#include <cstdio>
#include <iostream>

#include "core/errors.hpp"
#include "data/ot_generator.hpp"
#include "tools/commands.hpp"
#include "tools/solver_cli.hpp"
#include "tasks/tasks.hpp"

namespace lsekit::cli {

int cmd_gen_ot(int argc, const char* const* argv) {
  OtGenOptions g;
  const OtGenOptions def;
  std::string out, weights = "dirichlet";
  bool force = false;
  po::options_description desc(
      "usage: lsekit gen ot --out FILE [options]\n\n"
      "Entropic semi-discrete OT instance (lsekit-ot): source = mixture of --components equally\n"
      "likely Gaussians in R^d, x = (mu_k + width z)/sqrt(d) with mu_k ~ N(0, spread^2 I), --n\n"
      "training and --n-test held-out samples; target = --m atoms drawn likewise from another\n"
      "mixture, weights uniform or Dirichlet(alpha). Cost |x - y|^2, temperature --epsilon.\n\n"
      "options");
  desc.add_options()("help,h", "show this help")("config", po::value<std::string>(), "read further options from FILE (key = value lines)")(
      "out,o", po::value(&out), "file to write (required)")("force", po::bool_switch(&force),
                                                            "overwrite --out if it exists")(
      "n", po::value(&g.n)->default_value(def.n), "training source samples")(
      "n-test", po::value(&g.n_test)->default_value(def.n_test), "held-out source samples")(
      "m", po::value(&g.m)->default_value(def.m), "target atoms")(
      "d", po::value(&g.d)->default_value(def.d), "dimension")(
      "epsilon", po::value(&g.epsilon)->default_value(def.epsilon, text(def.epsilon)),
      "temperature stored in the instance")("components",
                                            po::value(&g.components)->default_value(def.components),
                                            "Gaussian components of each mixture")(
      "spread", po::value(&g.spread)->default_value(def.spread, text(def.spread)),
      "standard deviation of the component means")(
      "width", po::value(&g.width)->default_value(def.width, text(def.width)),
      "standard deviation within a component")(
      "weights", po::value(&weights)->default_value(weights), "atom weights: uniform|dirichlet")(
      "alpha", po::value(&g.alpha)->default_value(def.alpha, text(def.alpha)),
      "Dirichlet concentration")("seed", po::value(&g.seed)->default_value(def.seed),
                                 "random seed");
  po::variables_map vm;
  parse(argc, argv, desc, {}, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (weights == "uniform")
    g.weights = OtWeights::Uniform;
  else if (weights == "dirichlet")
    g.weights = OtWeights::Dirichlet;
  else
    throw InputError("--weights: unknown value '" + weights + "' (choose uniform or dirichlet)");
  if (g.n < 1 || g.m < 1 || g.d < 1 || g.n_test < 0)
    throw InputError("--n, --m and --d must be >= 1, --n-test >= 0");
  if (!(g.epsilon > 0.0)) throw InputError("--epsilon must be > 0");
  if (g.components < 1) throw InputError("--components must be >= 1");
  check_output(out, force);
  const OtInstance inst = generate_ot(g);
  write_plainly(out, [&] { write_ot_instance(out, inst); });
  std::printf(
      "wrote %s: entropic OT, %ld x %ld source (+ %ld held-out), %ld atoms (%s), "
      "epsilon %g, seed %llu\n",
      out.c_str(), g.n, g.d, g.n_test, g.m, weights.c_str(), g.epsilon,
      static_cast<unsigned long long>(g.seed));
  return kExitOk;
}

}  // namespace lsekit::cli
