#include "tools/solver_cli.hpp"

#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string_view>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/h5.hpp"

namespace lsekit::cli {

std::string text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const std::vector<FieldFlag> kFieldFlags = {
    // SolverOptions (solvers/options.hpp)
    {"solver", "--solver"}, {"rho", "--rho"}, {"rho_kappa", "--rho-kappa"},
    {"optimizer", "--optimizer"}, {"step", "--step"}, {"schedule", "--schedule"},
    {"decay_k0", "--decay-k0"}, {"momentum", "--momentum"}, {"beta1", "--beta1"},
    {"beta2", "--beta2"}, {"clip", "--clip"}, {"average", "--average"},
    {"average_from", "--average-from"}, {"batch", "--batch"}, {"atoms", "--atoms"},
    {"sampling", "--sampling"}, {"epochs", "--epochs"}, {"steps", "--steps"}, {"seed", "--seed"},
    {"tol", "--tol"}, {"time_limit", "--time-limit"},
    {"variance_reduction", "--variance-reduction"}, {"eval_points", "--eval-points"},
    {"vr_step", "--vr-step"}, {"extrapolate", "--extrapolate"}, {"blowup", "--blowup"},
    {"checkpoint_every", "--checkpoint-every"},
    {"gtol", "--gtol"},
    {"max_iter", "--max-iter"}, {"lbfgs_memory", "--lbfgs-memory"},
    // ProblemOptions (tasks/task.hpp) and solve()'s resume state
    {"lambda", "--lambda"}, {"epsilon", "--epsilon"}, {"l2", "--l2"}, {"init", "--init"},
    {"resume", "--resume"},
    // FashionMnistOptions and CsvOptions (data/importers.hpp)
    {"dir", "--dir"}, {"n_train", "--n-train"}, {"noise", "--noise"}, {"keep", "--keep"},
    {"label", "--label"}, {"task", "--task"}, {"labels", "--labels"},
    {"num_classes", "--num-classes"}, {"test_fraction", "--test-fraction"},
    {"delimiter", "--delimiter"},
};

namespace {
const FieldFlag* find_field(std::string_view field) {
  for (const FieldFlag& f : kFieldFlags)
    if (field == f.field) return &f;
  return nullptr;
}
// The field of a flag given without its dashes ("rho-kappa" -> "rho_kappa"); "" if none.
std::string field_of_flag(const std::string& name) {
  for (const FieldFlag& f : kFieldFlags)
    if (name == f.flag + 2) return f.field;
  return {};
}
}  // namespace

std::string cli_wording(const std::string& m) {
  std::string out;
  std::size_t i = 0;
  while (true) {
    const std::size_t a = m.find('`', i);
    const std::size_t b = a == std::string::npos ? a : m.find('`', a + 1);
    if (b == std::string::npos) break;
    const std::string span = m.substr(a + 1, b - a - 1);
    const std::size_t eq = span.find('=');
    out.append(m, i, a - i);
    if (const FieldFlag* f = find_field(std::string_view(span).substr(0, eq))) {
      out += f->flag;
      if (eq != std::string::npos) out += " " + span.substr(eq + 1);
      i = b + 1;
    } else {  // not a field: keep the backquote, look for one from the next character
      out += '`';
      i = a + 1;
    }
  }
  out.append(m, i, std::string::npos);
  return out;
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
  for (const auto& nv : t) s += std::string("\n  ") + nv.name + ": " + cli_wording(nv.help);
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
      ("rho-kappa", po::value(&o.rho_kappa)->default_value(def.rho_kappa, text(def.rho_kappa)),
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
      ("vr-step", po::value(&o.vr_step)->default_value(def.vr_step, text(def.vr_step)),
       "saga and prospect: a fixed step size instead of the safeguarded data-derived one (0 = data-derived)")
      ("extrapolate", po::value(&o.extrapolate)->default_value(def.extrapolate, def.extrapolate ? "on" : "off"),
       "saga and prospect with the data-derived step: end an accepted epoch at its extrapolated point "
       "when that is lower (on|off; off = the methods as published)")
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

void parse(int argc, const char* const* argv, const po::options_description& described,
           const po::positional_options_description& positional, po::variables_map& vm) {
  // Every subcommand takes --config FILE, whether or not its table lists it.
  po::options_description visible;
  visible.add(described);
  std::string config_unused;
  if (!described.find_nothrow("config", false))
    visible.add_options()("config", po::value(&config_unused), "read further options from FILE");
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

namespace {

std::string reason_of(int err) {
  if (err == EACCES || err == EPERM) return "permission denied";
  std::string r = std::strerror(err);
  if (!r.empty()) r[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(r[0])));
  return r;
}

/// Creates and removes a probe file in `dir`; 0 or the errno of the failure.
int probe_directory(const std::filesystem::path& dir) {
  const std::string probe =
      (dir.empty() ? std::string(".") : dir.string()) + "/.lsekit-probe-" + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return errno;
  ::close(fd);
  ::unlink(probe.c_str());
  return 0;
}

}  // namespace

void check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::exists(parent, ec))
    throw IoError("cannot write " + path + ": directory " + parent.string() + " does not exist");
  if (!parent.empty() && !fs::is_directory(parent, ec))
    throw IoError("cannot write " + path + ": " + parent.string() + " is not a directory");
  if (const int err = probe_directory(parent)) throw IoError("cannot write " + path + ": " + reason_of(err));
  if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0)
    throw IoError("cannot write " + path + ": " + reason_of(errno));
}

void check_output(const std::string& out, bool force, const char* option) {
  namespace fs = std::filesystem;
  if (out.empty()) throw InputError(std::string(option) + " is required");
  if (fs::exists(out) && !force)
    throw InputError(std::string(option) + " " + out + " exists; pass --force to overwrite it");
  if (fs::exists(out) && !fs::is_regular_file(out))  // --force never replaces /dev/null or a directory
    throw InputError(std::string(option) + " " + out + " exists and is not a regular file; not replacing it");
  check_writable(out);
}

void write_output(const std::string& out, const H5Doc& doc) {
  write_plainly(out, [&] { write_h5doc(out, doc, true); });
}

void write_plainly(const std::string& out, const std::function<void()>& write) {
  try {
    check_writable(out);  // the directory may have changed during the run
    write();
  } catch (const IoError& e) {
    const std::string what = e.what();
    if (what.rfind("cannot write " + out + ":", 0) == 0) throw;
    // The HDF5 layer names its temporary file: say what failed in the user's terms.
    std::error_code ec;
    const auto space = std::filesystem::space(std::filesystem::path(out).parent_path().empty()
                                                  ? std::filesystem::path(".")
                                                  : std::filesystem::path(out).parent_path(), ec);
    throw IoError("cannot write " + out + ": " +
                  (!ec && space.available < (1u << 20) ? "no space left on the device"
                                                       : "the HDF5 library could not write the file"));
  }
}

// ---- options that do not apply ------------------------------------------------------

ApplyContext problem_context(const std::string& input) {
  ApplyContext c;
  std::string format;
  try {
    format = file_format(input);
  } catch (const std::exception&) {
    return c;  // load_task reports the unreadable file with its own message
  }
  c.ot = format == "lsekit-ot";
  if (format == "lsekit-dataset") {
    try {  // the root attribute only, not the data
      h5::Handle file = h5::open_file(input);
      AttrValue v;
      c.regression = h5::has_attr(file.get(), "task") &&
                     h5::read_attr_value(file.get(), "task", v, nullptr, h5::Where{input, ""}, "/") &&
                     std::holds_alternative<std::string>(v) && std::get<std::string>(v) == "regression";
    } catch (const std::exception&) {
    }
  }
  return c;
}

bool variance_reduction_on(const SolverOptions& o, bool batch_over_groups) {
  return o.variance_reduced(batch_over_groups);
}

bool table_variance_reduction(const SolverOptions& o, bool batch_over_groups) {
  return o.variance_reduced(batch_over_groups) &&
         o.resolved(batch_over_groups).variance_reduction == VarianceReduction::Saga;
}

namespace {

struct Applicability {
  const char* field;  // the option's field (library wording; the command line shows its flag)
  std::function<bool(const ApplyContext&)> applies;
  const char* reason;  // why it does not apply (completes "`X` does not apply: ...")
  const char* reason_svrg = nullptr;  // the reason when the runs use variance reduction
};

bool stochastic(const ApplyContext& c) { return c.solver != SolverKind::Full; }
bool step_rule(const ApplyContext& c) {  // a run that takes gradient steps with `optimizer`
  return c.optimizer == OptimizerKind::Sgd || c.optimizer == OptimizerKind::Nesterov ||
         c.optimizer == OptimizerKind::Adam;
}
bool own_step_rule(const ApplyContext& c) { return step_rule(c) && !c.variance_reduction; }
bool full_quasi_newton(const ApplyContext& c) {
  return c.solver == SolverKind::Full && (c.optimizer == OptimizerKind::Lbfgs || c.optimizer == OptimizerKind::Sinkhorn);
}

// The one table: option -> when it has an effect -> why not otherwise.
const std::vector<Applicability>& applicability_table() {
  static const std::vector<Applicability> t = {
      {"lambda", [](const ApplyContext& c) { return !c.ot; },
       "entropic OT's temperature is `epsilon` (lambda is the DRO temperature)"},
      {"l2", [](const ApplyContext& c) { return !c.ot; }, "entropic OT's semi-dual has no L2 term"},
      {"init", [](const ApplyContext& c) { return !c.ot; },
       "entropic OT starts from the zero potential (`init` applies to DRO problems)"},
      {"epsilon", [](const ApplyContext& c) { return c.ot; },
       "it is entropic OT's temperature; DRO problems take `lambda`"},
      {"atoms", [](const ApplyContext& c) { return c.ot && stochastic(c); },
       "it samples OT target atoms per source sample (stochastic solvers on entropic OT only)"},
      {"rho", [](const ApplyContext& c) { return c.solver == SolverKind::Softplus; },
       "rho is the softplus relaxation parameter (`solver=softplus` only)"},
      {"rho_kappa", [](const ApplyContext& c) { return c.solver == SolverKind::Softplus && !c.variance_reduction; },
       "it sets softplus's adaptive rho (`solver=softplus` only)",
       "with SVRG, softplus's rho follows `tol` (its bias stays two orders below the tolerance)"},
      {"step", own_step_rule,
       "full uses L-BFGS/Sinkhorn, which take no step size (give `optimizer=sgd|nesterov|adam` for "
       "full-batch gradient steps)",
       "SVRG derives its own step from the data (pass `variance_reduction=none` to use `step`)"},
      {"epochs", [](const ApplyContext& c) { return stochastic(c) || step_rule(c); },
       "full with L-BFGS/Sinkhorn stops on `gtol`/`max_iter`, not on epochs"},
      {"steps", [](const ApplyContext& c) { return stochastic(c) || step_rule(c); },
       "full with L-BFGS/Sinkhorn stops on `gtol`/`max_iter`, not on a step count"},
      {"schedule", own_step_rule, "full uses L-BFGS/Sinkhorn, which have no step-size schedule",
       "SVRG derives its own step from the data (pass `variance_reduction=none` to use `schedule`)"},
      {"decay_k0", own_step_rule, "full uses L-BFGS/Sinkhorn, which have no step-size schedule",
       "SVRG derives its own step from the data (pass `variance_reduction=none` to use `decay_k0`)"},
      // lbfgs/sinkhorn with a stochastic solver is a wrong value, not an unused option: the
      // solver options' validation names `solver=full`.
      {"optimizer", [](const ApplyContext& c) {
         return !c.variance_reduction || c.optimizer == OptimizerKind::Lbfgs || c.optimizer == OptimizerKind::Sinkhorn;
       },
       "variance reduction (SVRG) uses its own step rule; pass `variance_reduction=none` to use `optimizer`"},
      {"momentum", [](const ApplyContext& c) { return own_step_rule(c) && c.optimizer == OptimizerKind::Nesterov; },
       "it is the Nesterov momentum (`optimizer=nesterov` only)",
       "SVRG uses its own step rule (pass `variance_reduction=none` to use `momentum`)"},
      {"beta1", [](const ApplyContext& c) { return own_step_rule(c) && c.optimizer == OptimizerKind::Adam; },
       "it is an Adam parameter (`optimizer=adam` only)",
       "SVRG uses its own step rule (pass `variance_reduction=none` to use Adam)"},
      {"beta2", [](const ApplyContext& c) { return own_step_rule(c) && c.optimizer == OptimizerKind::Adam; },
       "it is an Adam parameter (`optimizer=adam` only)",
       "SVRG uses its own step rule (pass `variance_reduction=none` to use Adam)"},
      {"batch", stochastic, "full uses every sample at every step"},
      {"sampling", [](const ApplyContext& c) { return stochastic(c) && !c.variance_reduction; },
       "full uses every sample at every step",
       "SVRG samples by importance from its snapshot (pass `variance_reduction=none` to use `sampling`)"},
      {"average", [](const ApplyContext& c) { return stochastic(c) && !c.variance_reduction; },
       "iterate averaging applies to the stochastic solvers",
       "SVRG returns its last accepted snapshot (pass `variance_reduction=none` to average)"},
      {"average_from", [](const ApplyContext& c) { return stochastic(c) && !c.variance_reduction; },
       "iterate averaging applies to the stochastic solvers",
       "SVRG returns its last accepted snapshot (pass `variance_reduction=none` to average)"},
      {"clip", [](const ApplyContext& c) { return stochastic(c) && !c.variance_reduction; },
       "gradient clipping applies to the stochastic solvers",
       "SVRG safeguards its own step (pass `variance_reduction=none` to use `clip`)"},
      {"variance_reduction", stochastic, "full uses exact gradients (nothing to reduce)"},
      {"vr_step", [](const ApplyContext& c) { return c.table_vr; },
       "it is the fixed step of `variance_reduction=saga` and `solver=prospect`"},
      {"extrapolate", [](const ApplyContext& c) { return c.table_vr; },
       "it is the epoch extrapolation of `variance_reduction=saga` and `solver=prospect`"},
      {"eval_points", [](const ApplyContext& c) { return stochastic(c) && !c.variance_reduction; },
       "full records every iteration", "SVRG records one trace row per accepted snapshot"},
      {"gtol", full_quasi_newton, "it is the L-BFGS/Sinkhorn tolerance of `solver=full`; use `tol`"},
      {"max_iter", full_quasi_newton,
       "it is the L-BFGS/Sinkhorn iteration limit of `solver=full`; use `epochs`/`steps`"},
      {"lbfgs_memory", [](const ApplyContext& c) { return c.solver == SolverKind::Full && c.optimizer == OptimizerKind::Lbfgs; },
       "it is the history size of L-BFGS (`solver=full` `optimizer=lbfgs` only)"},
  };
  return t;
}

std::string describe(const ApplyContext& c) {
  std::string s = c.ot ? "entropic OT" : c.regression ? "DRO regression" : "DRO classification";
  s += std::string(", `solver=") + name_of(kSolverNames, c.solver) + "`";
  if (c.solver == SolverKind::Full || !c.variance_reduction)
    s += std::string(" `optimizer=") + name_of(kOptimizerNames, c.optimizer) + "`";
  if (c.variance_reduction)
    s += c.table_vr ? (c.solver == SolverKind::Prospect ? "" : " with SAGA") : " with SVRG";
  return s;
}

}  // namespace

void check_applicable(const po::variables_map& vm, const std::vector<ApplyContext>& runs,
                      const std::string& input) {
  std::set<std::string> given;
  for (const auto& [name, value] : vm)
    if (!value.defaulted())
      if (std::string field = field_of_flag(name); !field.empty()) given.insert(field);
  check_applicable(given, runs, input);
}

void check_applicable(const std::set<std::string>& given, const std::vector<ApplyContext>& runs,
                      const std::string& input) {
  if (runs.empty()) return;
  for (const auto& a : applicability_table()) {
    if (!given.count(a.field)) continue;
    bool any = false;
    for (const auto& c : runs) any = any || a.applies(c);
    if (!any) {
      const char* why = a.reason_svrg && runs.front().variance_reduction ? a.reason_svrg : a.reason;
      throw InputError(std::string("`") + a.field + "` does not apply to " + input + " (" + describe(runs.front()) +
                       (runs.size() > 1 ? ", nor to any other run of the grid" : "") + "): " + why);
    }
  }
}

}  // namespace lsekit::cli
