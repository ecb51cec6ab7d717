// lsekit compare: a grid of solvers x step sizes x seeds on one problem, optionally also
// x lambda (--lambdas) x minibatch size (--batches) x step rule (--optimizers) x softplus
// rho (--rhos). Runs execute in parallel, each single-threaded, so no result depends on
// --jobs. One HDF5 file holds every run under /runs/<id> and a summary table; the printed
// summary has one row per configuration (the solver and the extra axes that vary).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <type_traits>

#include "core/errors.hpp"
#include "solvers/instances.hpp"
#include "tools/commands.hpp"
#include "tools/run_record.hpp"
#include "tools/solver_cli.hpp"
#include "tasks/tasks.hpp"

namespace lsekit::cli {

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

/// The comma list given to --`option`, every value satisfying `valid` (`rule` says how).
template <class T, class Valid>
std::vector<T> parse_numbers(const std::string& s, const char* option, Valid valid, const char* rule) {
  std::vector<T> out;
  for (const auto& item : split(s)) {
    char* end = nullptr;
    errno = 0;
    T v{};
    if constexpr (std::is_integral_v<T>) v = std::strtol(item.c_str(), &end, 10);
    else v = std::strtod(item.c_str(), &end);
    if (end == item.c_str() || *end || errno == ERANGE || !valid(v))
      throw InputError(std::string("--") + option + ": invalid value '" + item + "' (" + rule + ")");
    out.push_back(v);
  }
  if (out.empty()) throw InputError(std::string("--") + option + " is empty");
  return out;
}

/// True when the user gave `name` (on the command line or in the config file).
bool given(const po::variables_map& vm, const char* name) {
  return vm.count(name) && !vm[name].defaulted();
}

/// Runs that differ only in step size and seed: one row of the printed summary.
struct Config {
  size_t task;     // index into the lambda grid
  bool reference;  // full with L-BFGS: no optimizer, batch, step or seed axes
  SolverKind solver;
  OptimizerKind optimizer;
  long batch;
  double rho;
  std::vector<size_t> runs;
};

struct Run {
  size_t task = 0;    // index into the lambda grid (the task built with that lambda)
  size_t config = 0;  // index into the configurations
  SolverOptions opt;
  Result result;
  std::vector<TraceMetrics> rows;
  Metrics metrics;
  std::string error;
  bool started = false;  // false: never ran (the compare was interrupted first)
};

/// Which extra axes have more than one value (only those are printed).
struct Varying {
  bool lambda, optimizer, batch, rho;
};

/// The final objective of a run that counts as an answer (converged or budget-exhausted);
/// +inf otherwise.
double usable_objective(const Result& r) { return r.ok() ? r.objective : INFINITY; }

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// One printed row: over the step sizes of a configuration, the step whose median final F
/// (over seeds, usable runs only) is best, its spread and time, and per step size how many
/// runs converged / ran out of budget / diverged (/ were interrupted).
struct Row {
  double best_f = std::nan(""), best_step = std::nan(""), spread = std::nan(""), time = std::nan("");
  std::string by_step;
};

/// A number, or "n/a" where there is none (no usable run): never inf or nan in a table.
std::string num(double v, const char* fmt = "%.4g") {
  if (!std::isfinite(v)) return "n/a";
  char b[40];
  std::snprintf(b, sizeof b, fmt, v);
  return b;
}

Row summarize(const std::vector<Run>& runs, const Config& c, bool with_interrupted) {
  Row row;
  std::vector<double> steps;
  for (size_t i : c.runs)
    if (runs[i].started && std::find(steps.begin(), steps.end(), runs[i].opt.step) == steps.end())
      steps.push_back(runs[i].opt.step);
  std::sort(steps.begin(), steps.end());
  for (double st : steps) {
    std::vector<double> fs, ts;
    long count[4] = {0, 0, 0, 0};
    for (size_t i : c.runs) {
      const Run& r = runs[i];
      if (r.opt.step != st || !r.started) continue;
      ++count[static_cast<int>(r.result.status)];
      if (r.result.ok() && std::isfinite(r.result.objective)) {
        fs.push_back(r.result.objective);
        ts.push_back(r.result.time_s);
      }
    }
    char b[96];
    if (with_interrupted)
      std::snprintf(b, sizeof b, "%s%s:%ld/%ld/%ld/%ld", row.by_step.empty() ? "" : " ",
                    c.reference ? "-" : text(st).c_str(), count[0], count[1], count[2], count[3]);
    else
      std::snprintf(b, sizeof b, "%s%s:%ld/%ld/%ld", row.by_step.empty() ? "" : " ",
                    c.reference ? "-" : text(st).c_str(), count[0], count[1], count[2]);
    row.by_step += b;
    if (fs.empty()) continue;
    const double med = median(fs);
    if (std::isnan(row.best_f) || med < row.best_f) {
      row.best_f = med, row.best_step = st, row.time = median(ts);
      row.spread = *std::max_element(fs.begin(), fs.end()) - *std::min_element(fs.begin(), fs.end());
    }
  }
  return row;
}

}  // namespace

int cmd_compare(int argc, const char* const* argv) {
  SolverArgs sa;
  ProblemOptions pb;
  std::string input, out, config, solvers_arg, steps_arg, lambdas_arg, batches_arg, rhos_arg, optimizers_arg;
  int jobs = 0, seeds = 1;
  bool force = false, quiet = false, no_plots = false;
  std::string all;
  // The default grid: every solver but the Prospect comparator (DRO only; --solvers prospect).
  std::string names;
  for (const auto& nv : kSolverNames) {
    names += std::string(names.empty() ? "" : ",") + nv.name;
    if (nv.value != SolverKind::Prospect) all += std::string(all.empty() ? "" : ",") + nv.name;
  }
  po::options_description desc(
      "usage: lsekit compare INPUT.h5 --out COMPARE.h5 [options]\n\n"
      "Runs every solver in --solvers with every step size in --step-sizes and --seeds seeds,\n"
      "and optionally every value of --lambdas, --batches, --optimizers and (softplus only)\n"
      "--rhos (each list replaces its one-value option; the other solver options are shared),\n"
      "in parallel across runs. `full` without --optimizer is the L-BFGS reference: one run\n"
      "per lambda. The stochastic runs take plain minibatch steps (--variance-reduction none)\n"
      "unless --variance-reduction is given. Writes every run under /runs/<id> (its attributes\n"
      "give its lambda, batch, optimizer, rho and f_star) and a summary table under /summary, and prints per\n"
      "configuration the best final exact objective (median over seeds), its gap to F* (from\n"
      "`full`, per lambda), time and per step size how many runs converged, exhausted their\n"
      "budget or diverged. Ctrl-C stops the runs in progress, writes the finished and interrupted\n"
      "ones with their status and exits 130.\n\noptions");
  desc.add_options()("help,h", "show this help")
      ("input", po::value(&input), "input file (positional)")
      ("out,o", po::value(&out), "compare file to write (required)")
      ("force", po::bool_switch(&force), "overwrite --out if it exists")
      ("solvers", po::value(&solvers_arg)->default_value(all), "comma-separated solver names")
      ("step-sizes", po::value(&steps_arg)->default_value(""), "comma-separated step sizes (default: --step)")
      ("seeds", po::value(&seeds)->default_value(1), "seeds per configuration (--seed, --seed+1, ...)")
      ("lambdas", po::value(&lambdas_arg), "comma-separated DRO temperatures (instead of --lambda)")
      ("batches", po::value(&batches_arg), "comma-separated minibatch sizes (instead of --batch)")
      ("optimizers", po::value(&optimizers_arg), "comma-separated step rules for the stochastic solvers "
       "(instead of --optimizer)")
      ("rhos", po::value(&rhos_arg), "comma-separated softplus rho values, 0 = adaptive (instead of --rho)")
      ("jobs", po::value(&jobs)->default_value(0), "runs in parallel (0 = all cores)")
      ("quiet,q", po::bool_switch(&quiet), "no progress line")
      ("no-plots", po::bool_switch(&no_plots), "do not draw plots (see lsekit plot)")
      ("config", po::value(&config), "read further options from FILE");
  add_problem_options(desc, pb);
  add_solver_options(desc, sa);
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  parse(argc, argv, desc, pos, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (input.empty()) throw InputError("an input file is required (lsekit compare INPUT.h5 --out FILE)");
  SolverOptions base = finish(sa, vm);
  // A compare grid (step sizes, step rules, schedules) studies the plain minibatch estimators:
  // its runs use --variance-reduction none unless the command line asks for SVRG or auto.
  if (!given(vm, "variance-reduction")) base.variance_reduction = VarianceReduction::None;
  check_output(out, force);
  if (seeds < 1) throw InputError("--seeds must be >= 1");
  for (const auto& [one, list] : {std::pair{"lambda", "lambdas"}, std::pair{"batch", "batches"},
                                  std::pair{"optimizer", "optimizers"}, std::pair{"rho", "rhos"}})
    if (given(vm, one) && given(vm, list))
      throw InputError(std::string("--") + one + " and --" + list + " both given: the list replaces --" + one +
                       "; give one of them");
  std::vector<SolverKind> kinds;
  for (const auto& s : split(solvers_arg)) {
    auto k = parse_name(kSolverNames, s);
    if (!k) throw InputError("--solvers: unknown solver '" + s + "' (choose from " + names + ")");
    kinds.push_back(*k);
  }
  if (kinds.empty()) throw InputError("--solvers is empty");
  auto positive = [](double v) { return v > 0.0 && std::isfinite(v); };
  // Grid axes; an axis not given is the value of its one-value option.
  const std::vector<double> steps = given(vm, "step-sizes")
      ? parse_numbers<double>(steps_arg, "step-sizes", positive, "finite and > 0")
      : std::vector<double>{base.step};
  const std::vector<double> lambdas = given(vm, "lambdas")
      ? parse_numbers<double>(lambdas_arg, "lambdas", positive, "finite and > 0")
      : std::vector<double>{pb.lambda};
  const std::vector<long> batches = given(vm, "batches")
      ? parse_numbers<long>(batches_arg, "batches", [](long b) { return b >= 1; }, ">= 1")
      : std::vector<long>{base.batch};
  const std::vector<double> rhos = given(vm, "rhos")
      ? parse_numbers<double>(rhos_arg, "rhos", [](double r) { return r >= 0.0 && r < 1.0; },
                              "in [0, 1); 0 = adaptive")
      : std::vector<double>{base.rho};
  std::vector<OptimizerKind> optimizers;  // empty: each solver's --optimizer or default
  if (given(vm, "optimizers")) {
    for (const auto& s : split(optimizers_arg)) {
      auto o = parse_name(kOptimizerNames, s);
      if (!o) throw InputError("--optimizers: unknown step rule '" + s + "' (choose from " +
                               names_joined(kOptimizerNames, ", ") + ")");
      optimizers.push_back(*o);
    }
    if (optimizers.empty()) throw InputError("--optimizers is empty");
  }
  {
    // Options that no run of the grid uses are refused (one table, tools/solver_cli.cpp).
    const ApplyContext problem = problem_context(input);
    std::vector<ApplyContext> ctxs;
    for (SolverKind k : kinds) {
      const bool reference = k == SolverKind::Full && !sa.optimizer_given;
      const OptimizerKind own = sa.optimizer_given ? base.optimizer : SolverOptions::defaults_for(k).optimizer;
      for (OptimizerKind ok : reference || optimizers.empty() ? std::vector{own} : optimizers) {
        ApplyContext c = problem;
        c.solver = k;
        c.optimizer = ok;
        SolverOptions o = base;
        o.solver = k;
        o.optimizer = ok;
        if (k == SolverKind::Prospect && !given(vm, "variance-reduction")) o.variance_reduction = VarianceReduction::Auto;
        c.variance_reduction = variance_reduction_on(o, c.ot);
        c.table_vr = table_variance_reduction(o, c.ot);
        ctxs.push_back(c);
      }
    }
    check_applicable(vm, ctxs, input);
    if (given(vm, "step-sizes") &&
        std::none_of(ctxs.begin(), ctxs.end(), [](const ApplyContext& c) {
          return !c.variance_reduction && c.optimizer != OptimizerKind::Lbfgs && c.optimizer != OptimizerKind::Sinkhorn;
        }))
      throw InputError("--step-sizes does not apply to " + input +
                       ": every run of the grid uses SVRG (which derives its own step from the data) or "
                       "L-BFGS/Sinkhorn; pass --variance-reduction none for a step-size study");
    const bool softplus = std::find(kinds.begin(), kinds.end(), SolverKind::Softplus) != kinds.end();
    if (given(vm, "rhos") && !softplus)
      throw InputError("--rhos does not apply: no run uses --solver softplus (rho is its relaxation parameter)");
  }
  // The plots go next to --out: refuse now, not after the runs, if they cannot be written.
  const std::string plot_dir = out.substr(0, out.size() - (out.size() > 3 && out.substr(out.size() - 3) == ".h5" ? 3 : 0)) + "_plots";
  if (!no_plots && plotting_available()) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(plot_dir, ec) && !fs::is_empty(plot_dir, ec) && !force)
      throw InputError("plot directory " + plot_dir + " exists and is not empty; pass --force to replace its "
                       "plots or --no-plots");
    check_writable(fs::exists(plot_dir, ec) ? plot_dir + "/objective.png" : plot_dir);
  }
  const Varying vary{lambdas.size() > 1, optimizers.size() > 1, batches.size() > 1, rhos.size() > 1};
  const int nthreads = set_threads(jobs);
  // One task per lambda (the temperature is part of the problem); the file is read for each.
  std::vector<AnyTask> tasks;
  for (double lambda : lambdas) {
    ProblemOptions q = pb;
    q.lambda = lambda;
    tasks.push_back(load_task(input, q));
    if (given(vm, "lambdas") && std::holds_alternative<OtTask>(tasks.back()))
      throw InputError(input + ": --lambdas applies to DRO problems; entropic OT's temperature is --epsilon");
  }
  install_signal_handlers();

  return std::visit(
      [&](const auto& first) {
        using T = std::decay_t<decltype(first)>;
        using P = std::decay_t<decltype(first.problem())>;
        std::vector<const T*> task;  // every task holds the same kind of problem
        for (const AnyTask& a : tasks) task.push_back(&std::get<T>(a));
        const std::string tname = first.temperature_name();

        std::vector<Config> configs;
        std::vector<Run> runs;
        for (size_t t = 0; t < task.size(); ++t) {
          const auto& p = task[t]->problem();
          for (SolverKind k : kinds) {
            // full without --optimizer is the L-BFGS reference: no step, batch, optimizer or
            // seed axes (its batch is only validated, never used).
            const bool reference = k == SolverKind::Full && !sa.optimizer_given;
            const OptimizerKind own = sa.optimizer_given ? base.optimizer : SolverOptions::defaults_for(k).optimizer;
            for (OptimizerKind ok : reference || optimizers.empty() ? std::vector{own} : optimizers)
              for (long b : reference ? std::vector{batches.front()} : batches)
                for (double rho : k == SolverKind::Softplus ? rhos : std::vector{base.rho}) {
                  configs.push_back({t, reference, k, ok, b, rho, {}});
                  for (double st : reference ? std::vector{base.step} : steps)
                    for (int sd = 0; sd < (reference ? 1 : seeds); ++sd) {
                      Run r;
                      r.task = t;
                      r.config = configs.size() - 1;
                      r.opt = base;
                      r.opt.solver = k;
                      r.opt.optimizer = ok;
                      r.opt.batch = b;
                      r.opt.rho = rho;
                      r.opt.step = st;
                      r.opt.seed = base.seed + static_cast<std::uint64_t>(sd);
                      // Prospect is variance-reduced by construction: the grid's implicit
                      // `none` (for the plain estimators) does not apply to it.
                      if (k == SolverKind::Prospect && !given(vm, "variance-reduction"))
                        r.opt.variance_reduction = VarianceReduction::Auto;
                      if (std::string why = r.opt.check(p.num_items(), p.num_groups(), P::kBatchOverGroups);
                          !why.empty())
                        throw InputError(input + ": " + why + " (" + T::kName + ")");
                      configs.back().runs.push_back(runs.size());
                      runs.push_back(std::move(r));
                    }
                }
          }
        }

        // A configuration's name: the solver and the values of the extra axes that vary.
        auto label = [&](const Config& c, bool with_lambda) {
          std::string s = name_of(kSolverNames, c.solver);
          if (vary.optimizer && !c.reference) s += std::string(" ") + name_of(kOptimizerNames, c.optimizer);
          if (vary.batch && !c.reference) s += " B=" + std::to_string(c.batch);
          if (vary.rho && c.solver == SolverKind::Softplus) s += c.rho > 0.0 ? " rho=" + text(c.rho) : " rho=adaptive";
          if (with_lambda && vary.lambda) s += " " + tname + "=" + text(lambdas[c.task]);
          return s;
        };

        const auto t0 = std::chrono::steady_clock::now();
        // Between run completions, a line about every 5 s with the runs in progress (steps done),
        // so that long runs never leave the terminal silent.
        std::vector<std::atomic<long>> run_step(runs.size()), run_total(runs.size());
        std::vector<std::atomic<char>> running(runs.size());
        std::atomic<double> last_line{0.0};
        auto heartbeat = [&](long done_runs) {
          const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          double prev = last_line.load();
          if (wall - prev < 5.0 || !last_line.compare_exchange_strong(prev, wall)) return;
          std::string s;
          for (size_t j = 0; j < runs.size(); ++j) {
            if (!running[j].load()) continue;
            char b[80];
            const long st = run_step[j].load(), tot = run_total[j].load();
            if (tot > 0) std::snprintf(b, sizeof b, "  %04zu %.0f%%", j, 100.0 * static_cast<double>(st) / static_cast<double>(tot));
            else std::snprintf(b, sizeof b, "  %04zu iteration %ld", j, st);
            s += b;
          }
#pragma omp critical(compare_progress)
          std::fprintf(stderr, "[%ld/%ld done, %.0fs] running:%s\n", done_runs, static_cast<long>(runs.size()), wall,
                       s.c_str());
        };
        long done = 0;
        const long total = static_cast<long>(runs.size());
        // Each run is single-threaded (nested OpenMP is off), so results do not depend
        // on how many runs execute at once.
#pragma omp parallel for schedule(dynamic, 1)
        for (long i = 0; i < total; ++i) {
          Run& r = runs[i];
          const T& tk = *task[r.task];
          if (g_interrupted.load()) continue;  // Ctrl-C: start no further run
          r.started = true;
          try {
            Recorder rec(tk, false);
            running[i].store(1);
            if (!quiet)
              rec.progress_sink = [&, i](long step, long total_steps) {
                run_step[i].store(step);
                run_total[i].store(total_steps);
                long d;
#pragma omp atomic read
                d = done;
                heartbeat(d);
              };
            r.result = solve(tk.problem(), r.opt, &rec);
            running[i].store(0);
            r.rows = rec.rows();
            Metrics fm = evaluate_task(tk, r.result.theta);
            r.metrics.assign(fm.begin() + 1, fm.end());
          } catch (const std::exception& e) {
            r.error = e.what();
          }
#pragma omp critical(compare_progress)
          {
            running[i].store(0);
            ++done;
            if (!quiet) {
              const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
              std::fprintf(stderr, "[%ld/%ld] %-16s step %-8g seed %-3llu %-16s F = %-14.10g ETA %.0fs\n", done,
                           total, label(configs[r.config], true).c_str(), r.opt.step,
                           static_cast<unsigned long long>(r.opt.seed), status_name(r.result.status),
                           r.result.objective, wall * static_cast<double>(total - done) / static_cast<double>(done));
            }
          }
        }
        for (const Run& r : runs)
          if (!r.error.empty()) throw std::runtime_error(r.error);
        const bool interrupted = g_interrupted.load();
        long written = 0;
        for (const Run& r : runs) written += r.started ? 1 : 0;

        // F* per lambda: the best objective among the usable full runs, if any.
        std::vector<double> fstar(task.size(), std::nan(""));
        for (const Run& r : runs)
          if (r.started && r.opt.solver == SolverKind::Full && std::isfinite(usable_objective(r.result)))
            fstar[r.task] = std::isnan(fstar[r.task]) ? r.result.objective : std::min(fstar[r.task], r.result.objective);

        H5Doc doc;
        doc.set_attr("/", "format", std::string("lsekit-result"));
        doc.set_attr("/", "format_version", std::int64_t{1});
        doc.set_attr("/", "version", std::string(LSEKIT_VERSION));
        doc.set_attr("/", "kind", std::string("compare"));
        doc.set_attr("/", "command_line", command_line(argc + 1, argv - 1));
        doc.set_attr("/", "created", now_iso8601());
        doc.set_attr("/", "problem", std::string(T::kName));
        doc.set_attr("/", "input_path", input);
        // With several lambdas there is no single lambda or F*: each run carries its own.
        std::string lambda_list;
        for (double l : lambdas) lambda_list += (lambda_list.empty() ? "" : ",") + text(l);
        if (vary.lambda) {
          doc.set_attr("/", "lambdas", lambda_list);
        } else {
          doc.set_attr("/", tname, first.problem().temperature());
          if (!std::isnan(fstar[0])) doc.set_attr("/", "f_star", fstar[0]);
        }
        doc.set_attr("/", "l2", pb.l2);
        doc.set_attr("/", "init", pb.init);
        doc.set_attr("/", "threads", static_cast<std::int64_t>(nthreads));
        doc.set_attr("/", "solver_names", all);
        // /summary: one row per written run, one column per field, string columns as strings,
        // so pandas reads it in one line (README: "compare files").
        std::vector<std::string> s_run, s_solver, s_status, s_optimizer, s_schedule, s_vr, s_sampling;
        std::vector<std::int64_t> s_seed, s_steps, s_batch, s_atoms;
        std::vector<double> s_step, s_obj, s_gap, s_time, s_temp, s_rho, s_rho_final, s_fstar, s_passes,
            s_eval_passes, s_epochs, s_crit, s_grad;
        std::vector<std::string> metric_names;  // the final metrics, in first-seen order
        for (const Run& r : runs)
          for (const auto& [k, v] : r.metrics)
            if (std::find(metric_names.begin(), metric_names.end(), k) == metric_names.end()) metric_names.push_back(k);
        std::vector<std::vector<double>> s_metric(metric_names.size());
        for (size_t i = 0; i < runs.size(); ++i) {
          const Run& r = runs[i];
          if (!r.started) continue;
          const auto& p = task[r.task]->problem();
          char id[24];
          std::snprintf(id, sizeof id, "%04zu", i);
          const std::string prefix = std::string("/runs/") + id;
          RunInfo info{command_line(argc + 1, argv - 1), input, T::kName, tname, p.temperature(), pb.l2, 1, pb.init};
          add_run(doc, prefix, *task[r.task], r.opt, r.result, r.rows, r.metrics, info);
          if (!std::isnan(fstar[r.task])) doc.set_attr(prefix, "f_star", fstar[r.task]);
          s_run.push_back(id);
          s_solver.push_back(name_of(kSolverNames, r.opt.solver));
          s_status.push_back(status_name(r.result.status));
          s_optimizer.push_back(name_of(kOptimizerNames, r.opt.optimizer));
          s_schedule.push_back(name_of(kScheduleNames, r.opt.schedule));
          s_vr.push_back(r.opt.solver == SolverKind::Full ? "none"
                         : name_of(kVarianceReductionNames, r.opt.resolved(P::kBatchOverGroups).variance_reduction));
          s_sampling.push_back(name_of(kSamplingNames, r.opt.sampling));
          s_seed.push_back(static_cast<std::int64_t>(r.opt.seed));
          s_steps.push_back(r.result.steps);
          s_batch.push_back(r.opt.batch);
          s_atoms.push_back(r.opt.atoms);
          // The L-BFGS reference takes no step size (nor batch, optimizer rule or seed axis).
          s_step.push_back(configs[r.config].reference ? std::nan("") : r.opt.step);
          s_obj.push_back(r.result.objective);
          s_gap.push_back(r.result.objective - fstar[r.task]);
          s_time.push_back(r.result.time_s);
          s_temp.push_back(p.temperature());
          s_rho.push_back(r.opt.rho);
          s_rho_final.push_back(r.result.rho);
          s_fstar.push_back(fstar[r.task]);
          // Work in passes over the data: the solver's count where it reports one, else epochs.
          s_passes.push_back(r.result.passes > 0.0 ? r.result.passes : r.result.epochs);
          s_eval_passes.push_back(r.result.eval_passes);
          s_epochs.push_back(r.result.epochs);
          s_crit.push_back(r.result.criterion);
          s_grad.push_back(r.result.grad_norm);
          for (size_t j = 0; j < metric_names.size(); ++j) {
            double v = std::nan("");
            for (const auto& [k, x] : r.metrics)
              if (k == metric_names[j]) v = x;
            s_metric[j].push_back(v);
          }
        }
        const std::uint64_t n = s_run.size();
        doc.set_strings("/summary/run", s_run);
        doc.set_strings("/summary/solver", s_solver);
        doc.set_strings("/summary/status", s_status);
        doc.set_strings("/summary/optimizer", s_optimizer);
        doc.set_strings("/summary/schedule", s_schedule);
        doc.set_strings("/summary/variance_reduction", s_vr);
        doc.set_strings("/summary/sampling", s_sampling);
        doc.set("/summary/seed", Array{{n}, s_seed});
        doc.set("/summary/step_size", Array::vector(s_step));
        doc.set("/summary/batch", Array{{n}, s_batch});
        if (std::is_same_v<T, OtTask>) doc.set("/summary/atoms", Array{{n}, s_atoms});
        doc.set("/summary/" + tname, Array::vector(s_temp));
        doc.set("/summary/rho", Array::vector(s_rho));
        doc.set("/summary/rho_final", Array::vector(s_rho_final));
        doc.set("/summary/final_objective", Array::vector(s_obj));
        doc.set("/summary/f_star", Array::vector(s_fstar));
        doc.set("/summary/gap", Array::vector(s_gap));
        doc.set("/summary/passes", Array::vector(s_passes));
        doc.set("/summary/eval_passes", Array::vector(s_eval_passes));
        doc.set("/summary/epochs", Array::vector(s_epochs));
        doc.set("/summary/steps", Array{{n}, s_steps});
        doc.set("/summary/time_s", Array::vector(s_time));
        doc.set("/summary/criterion", Array::vector(s_crit));
        doc.set("/summary/grad_norm", Array::vector(s_grad));
        for (size_t j = 0; j < metric_names.size(); ++j)
          if (!doc.datasets.count("/summary/" + metric_names[j]) && !doc.strings.count("/summary/" + metric_names[j]))
            doc.set("/summary/" + metric_names[j], Array::vector(s_metric[j]));
        doc.set_attr("/summary", "columns",
                     std::string("one row per run: run is the id under /runs; gap = final_objective - f_star "
                                 "(NaN without a usable full run); rho is the --rho option (0 = adaptive, "
                                 "softplus only), rho_final the rho in force at the end; passes = gradient "
                                 "work / n; the remaining columns are the run's final metrics"));
        doc.set_attr("/summary", "pandas",
                     std::string("pd.DataFrame({k: (v.asstr()[()] if v.dtype.kind == 'O' else v[()]) "
                                 "for k, v in h5py.File(path)['summary'].items()})"));
        if (interrupted) {
          doc.set_attr("/", "status", std::string("interrupted"));
          doc.set_attr("/", "message", "interrupted: " + std::to_string(written) + " of " + std::to_string(total) +
                                           " runs written (finished or interrupted), the others never started");
        }
        write_output(out, doc);

        // Printed summary: one table per lambda, one row per configuration.
        std::printf("\n%s: %s, ", input.c_str(), T::kName);
        if (vary.lambda) std::printf("%s in {%s}", tname.c_str(), lambda_list.c_str());
        else std::printf("%s = %g", tname.c_str(), first.problem().temperature());
        if (!std::is_same_v<T, OtTask>) std::printf(", l2 = %g", pb.l2);
        std::printf(", %ld runs", total);
        if (interrupted) std::printf(" (interrupted: %ld written, %ld never started)", written, total - written);
        std::printf("\n");
        long count[4] = {0, 0, 0, 0};
        for (const Run& r : runs)
          if (r.started) ++count[static_cast<int>(r.result.status)];
        const bool with_int = count[3] > 0;
        size_t width = 16;
        for (const Config& c : configs) width = std::max(width, label(c, false).size() + 1);
        for (size_t t = 0; t < task.size(); ++t) {
          if (vary.lambda) std::printf("\n%s = %g:", tname.c_str(), lambdas[t]);
          if (!std::isnan(fstar[t])) std::printf("%sF* (full, L-BFGS) = %.12g\n", vary.lambda ? " " : "", fstar[t]);
          else if (vary.lambda) std::printf("\n");
          std::printf("\n%-*s %-10s %-16s %-11s %-11s %-9s %s\n", static_cast<int>(width), "solver", "best step",
                      "median F", "F - F*", "spread", "time s",
                      with_int ? "runs per step (step:converged/budget-exhausted/diverged/interrupted)"
                               : "runs per step (step:converged/budget-exhausted/diverged)");
          for (const Config& c : configs) {
            if (c.task != t) continue;
            const Row row = summarize(runs, c, with_int);
            if (row.by_step.empty()) continue;  // never started
            std::printf("%-*s %-10s %-16s %-11s %-11s %-9s %s\n", static_cast<int>(width), label(c, false).c_str(),
                        c.reference ? "-" : num(row.best_step, "%g").c_str(), num(row.best_f, "%.10g").c_str(),
                        num(row.best_f - fstar[t], "%.3g").c_str(), num(row.spread, "%.3g").c_str(),
                        num(row.time, "%.3g").c_str(), row.by_step.c_str());
          }
        }
        std::printf("\nruns: %ld converged, %ld budget-exhausted, %ld diverged", count[0], count[1], count[2]);
        if (with_int || interrupted) std::printf(", %ld interrupted, %ld not started", count[3], total - written);
        std::printf("\n");
        std::printf("\nwrote %s\n", out.c_str());
        if (interrupted) {
          std::printf("interrupted: no plots (lsekit plot %s draws them)\n", out.c_str());
          return 130;
        }
        if (!no_plots) {
          if (plotting_available()) {
            std::printf("plots:\n");
            if (run_plot_script(out, "", true) != 0) std::fprintf(stderr, "lsekit compare: plotting failed\n");
          } else {
            std::printf("(no plots: install python3-matplotlib and python3-h5py, then lsekit plot %s)\n",
                        out.c_str());
          }
        }
        return static_cast<int>(kExitOk);
      },
      tasks.front());
}

}  // namespace lsekit::cli
