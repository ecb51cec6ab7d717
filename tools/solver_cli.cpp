#include "tools/solver_cli.hpp"

#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/errors.hpp"

namespace lsekit::cli {

std::string text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

namespace {

// Reaches the protected substitutions (placeholder -> text) of a Boost.Program_options error.
struct PoErrorAccess : po::error_with_option_name {
  static std::map<std::string, std::string>& substitutions(po::error_with_option_name& e) {
    return e.*(&PoErrorAccess::m_substitutions);
  }
};

template <class E, size_t N>
std::string help_list(const std::array<NamedValue<E>, N>& t) {
  std::string s;
  for (const auto& nv : t) s += std::string("\n  ") + nv.name + ": " + nv.help;
  return s;
}
template <class E, size_t N>
E to_enum(const std::array<NamedValue<E>, N>& t, const std::string& s, const char* option) {
  if (auto e = parse_name(t, s)) return *e;
  throw InputError(std::string("--") + option + ": unknown value '" + s + "' (choose one of " +
                   names_joined(t, ", ") + ")");
}
}  // namespace

void add_solver_options(po::options_description& d, SolverArgs& a) {
  SolverOptions& o = a.opt;
  const SolverOptions def;
  a.solver = name_of(kSolverNames, def.solver);
  a.optimizer = name_of(kOptimizerNames, def.optimizer);
  a.schedule = name_of(kScheduleNames, def.schedule);
  a.sampling = name_of(kSamplingNames, def.sampling);
  a.variance_reduction = name_of(kVarianceReductionNames, def.variance_reduction);
  d.add_options()
      ("solver", po::value(&a.solver)->default_value(a.solver),
       ("stochastic estimator or baseline:" + help_list(kSolverNames)).c_str())
      ("rho", po::value(&o.rho)->default_value(def.rho, text(def.rho)),
       "softplus rho in (0,1); 0 adapts rho to keep rho*kappa at --rho-kappa")
      ("rho-kappa", po::value(&o.rho_kappa_target)->default_value(def.rho_kappa_target, text(def.rho_kappa_target)),
       "adaptive rho: target value of rho*kappa (relaxation bias ~ lambda*target/2)")
      ("optimizer", po::value(&a.optimizer)->default_value(a.optimizer, a.optimizer + " (lbfgs for full)"),
       ("step rule:" + help_list(kOptimizerNames)).c_str())
      ("step", po::value(&o.step)->default_value(def.step, text(def.step)), "base step size")
      ("schedule", po::value(&a.schedule)->default_value(a.schedule),
       ("step-size schedule:" + help_list(kScheduleNames)).c_str())
      ("decay-k0", po::value(&o.decay_k0)->default_value(def.decay_k0, text(def.decay_k0)),
       "k0 of the decay schedule in steps (0 = one epoch)")
      ("momentum", po::value(&o.momentum)->default_value(def.momentum, text(def.momentum)), "Nesterov momentum")
      ("beta1", po::value(&o.beta1)->default_value(def.beta1, text(def.beta1)), "Adam beta1")
      ("beta2", po::value(&o.beta2)->default_value(def.beta2, text(def.beta2)), "Adam beta2")
      ("clip", po::value(&o.clip)->default_value(def.clip, text(def.clip)), "gradient-norm clipping threshold (0 = off)")
      ("average", po::bool_switch(&o.average), "Polyak averaging of the iterates")
      ("average-from", po::value(&o.average_from)->default_value(def.average_from, text(def.average_from)),
       "fraction of the run after which iterates are averaged")
      ("batch", po::value(&o.batch)->default_value(def.batch), "minibatch size (DRO: samples; OT: source samples)")
      ("atoms", po::value(&o.atoms)->default_value(def.atoms), "OT: atoms per source sample drawn from b (0 = all)")
      ("sampling", po::value(&a.sampling)->default_value(a.sampling),
       ("minibatch sampling:" + help_list(kSamplingNames)).c_str())
      ("epochs", po::value(&o.epochs)->default_value(def.epochs, text(def.epochs)), "passes over the data")
      ("steps", po::value(&o.steps)->default_value(def.steps), "number of steps (overrides --epochs when > 0)")
      ("seed", po::value(&o.seed)->default_value(def.seed), "random seed (fixes the whole run)")
      ("tol", po::value(&o.tol)->default_value(def.tol, text(def.tol)),
       "stop once the criterion is <= tol: the certified relative gap gap_bound/max(1,|F|) where a "
       "certificate exists (DRO regression, entropic OT), else |grad F|/max(1,|F|); 0 = run the whole budget")
      ("time-limit", po::value(&o.time_limit)->default_value(def.time_limit, text(def.time_limit)),
       "budget in seconds of solver time (0 = none)")
      ("variance-reduction", po::value(&a.variance_reduction)->default_value(a.variance_reduction),
       ("variance reduction:" + help_list(kVarianceReductionNames)).c_str())
      ("eval-points", po::value(&o.eval_points)->default_value(def.eval_points),
       "exact evaluations (trace rows) along a stochastic run")
      ("blowup", po::value(&o.blowup)->default_value(def.blowup, text(def.blowup)),
       "stop as diverged when F > F0 + blowup*(1+|F0|)")
      ("gtol", po::value(&o.gtol)->default_value(def.gtol, text(def.gtol)), "full: stop when |grad F| <= gtol (sinkhorn: marginal error = |grad F|_1)")
      ("max-iter", po::value(&o.max_iter)->default_value(def.max_iter), "full: L-BFGS / Sinkhorn iteration limit")
      ("lbfgs-memory", po::value(&o.lbfgs_memory)->default_value(def.lbfgs_memory), "full/lbfgs: history size");
}

void add_problem_options(po::options_description& d, ProblemOptions& p) {
  const ProblemOptions def;
  d.add_options()
      ("lambda", po::value(&p.lambda)->default_value(def.lambda, text(def.lambda)), "DRO temperature lambda > 0")
      ("epsilon", po::value(&p.epsilon)->default_value(def.epsilon, text(def.epsilon)),
       "OT temperature epsilon > 0 (0 = the instance's)")
      ("l2", po::value(&p.l2)->default_value(def.l2, text(def.l2)), "L2 regularization mu >= 0 (intercepts excluded)")
      ("init", po::value(&p.init)->default_value(def.init),
       "solvers' start point: zero, or ls (ordinary least squares on the training data; DRO regression only)");
}

SolverOptions finish(SolverArgs& a, const po::variables_map& vm) {
  SolverOptions& o = a.opt;
  o.solver = to_enum(kSolverNames, a.solver, "solver");
  o.schedule = to_enum(kScheduleNames, a.schedule, "schedule");
  o.sampling = to_enum(kSamplingNames, a.sampling, "sampling");
  o.variance_reduction = to_enum(kVarianceReductionNames, a.variance_reduction, "variance-reduction");
  a.optimizer_given = vm.count("optimizer") && !vm["optimizer"].defaulted();
  if (a.optimizer_given) o.optimizer = to_enum(kOptimizerNames, a.optimizer, "optimizer");
  else o.optimizer = SolverOptions::defaults_for(o.solver).optimizer;
  return o;
}

void parse(int argc, const char* const* argv, const po::options_description& visible,
           const po::positional_options_description& positional, po::variables_map& vm) {
  po::store(po::command_line_parser(argc, argv).options(visible).positional(positional).run(), vm);
  if (vm.count("config") && !vm["config"].as<std::string>().empty()) {
    const std::string path = vm["config"].as<std::string>();
    // An ifstream opens a directory without complaint and reads nothing from it, and reads
    // /dev/zero forever: accept regular files and pipes (--config <(...)) only.
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (fs::is_directory(st)) throw IoError(path + ": is a directory, not a config file");
    if (fs::exists(st) && !fs::is_regular_file(st) && !fs::is_fifo(st))
      throw IoError(path + ": not a regular file (a device or socket), not a config file");
    std::ifstream in(path);
    if (!in) throw IoError(path + ": cannot open the config file");
    try {
      po::store(po::parse_config_file(in, visible), vm);
    } catch (const po::error& e) {
      throw InputError(path + ": " + error_message(e));
    }
  }
  po::notify(vm);
}

std::string error_message(const po::error& e) {
  // what() replaces each placeholder ("%value%") by its text until none is left, so a text
  // that contains its own placeholder (`--batch %value%`) loops forever. Users' texts get
  // '%' replaced by the look-alike U+FF05 first. The exception object is never const.
  if (auto* named = dynamic_cast<const po::error_with_option_name*>(&e)) {
    auto& subs = PoErrorAccess::substitutions(const_cast<po::error_with_option_name&>(*named));
    for (auto& kv : subs) {
      for (std::size_t pos; (pos = kv.second.find('%')) != std::string::npos;)
        kv.second.replace(pos, 1, "\xEF\xBC\x85");
    }
  }
  return e.what();
}

int set_threads(int threads) {
  // libgomp allocates its team up front: --threads 100000000 would exhaust memory.
  constexpr int kMaxThreads = 1024;
  if (threads < 0 || threads > kMaxThreads)
    throw InputError("--threads must be in 0.." + std::to_string(kMaxThreads) +
                     " (0 = all cores), got " + std::to_string(threads));
  if (threads > 0) omp_set_num_threads(threads);
  return omp_get_max_threads();
}

std::string command_line(int argc, const char* const* argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += argv[i];
  }
  return s;
}

void check_output(const std::string& out, bool force) {
  namespace fs = std::filesystem;
  if (out.empty()) throw InputError("--out is required");
  if (fs::exists(out) && !force)
    throw InputError("--out " + out + " exists; pass --force to overwrite it");
  if (fs::exists(out) && !fs::is_regular_file(out))  // --force never replaces /dev/null or a directory
    throw InputError("--out " + out + " exists and is not a regular file; not replacing it");
  const fs::path parent = fs::path(out).parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw IoError(out + ": directory " + parent.string() + " does not exist");
}

}  // namespace lsekit::cli
