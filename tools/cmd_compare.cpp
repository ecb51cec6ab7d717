// lsekit compare: a grid of solvers x step sizes x seeds on one problem, optionally also
// x lambda (--lambdas) x minibatch size (--batches) x step rule (--optimizers) x softplus
// rho (--rhos). Runs execute in parallel, each single-threaded, so no result depends on
// --jobs. One HDF5 file holds every run under /runs/<id> and a summary table; the printed
// summary has one row per configuration (the solver and the extra axes that vary).
#include <omp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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
/// (over seeds) is best, its spread and time, the diverged runs and the range of step sizes
/// at which no seed diverged.
struct Row {
  double best_f = std::nan(""), best_step = 0.0, spread = 0.0, time = 0.0, lo = 0.0, hi = 0.0;
  long diverged = 0;
};

Row summarize(const std::vector<Run>& runs, const Config& c) {
  Row row;
  std::vector<double> steps;
  for (size_t i : c.runs)
    if (std::find(steps.begin(), steps.end(), runs[i].opt.step) == steps.end()) steps.push_back(runs[i].opt.step);
  for (double st : steps) {
    std::vector<double> fs, ts;
    bool all_ok = true;
    for (size_t i : c.runs) {
      const Run& r = runs[i];
      if (r.opt.step != st) continue;
      if (r.result.status == Status::Diverged) ++row.diverged, all_ok = false;
      fs.push_back(usable_objective(r.result));
      ts.push_back(r.result.time_s);
    }
    const double med = median(fs);
    if (all_ok && std::isfinite(med)) {
      row.lo = row.lo == 0.0 ? st : std::min(row.lo, st);
      row.hi = std::max(row.hi, st);
    }
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
  for (const auto& nv : kSolverNames) all += std::string(all.empty() ? "" : ",") + nv.name;
  po::options_description desc(
      "usage: lsekit compare INPUT.h5 --out COMPARE.h5 [options]\n\n"
      "Runs every solver in --solvers with every step size in --step-sizes and --seeds seeds,\n"
      "and optionally every value of --lambdas, --batches, --optimizers and (softplus only)\n"
      "--rhos (each list replaces its one-value option; the other solver options are shared),\n"
      "in parallel across runs. `full` without --optimizer is the L-BFGS reference: one run\n"
      "per lambda. Writes every run under /runs/<id> (its attributes give its lambda, batch,\n"
      "optimizer, rho and f_star) and a summary table under /summary, and prints per\n"
      "configuration the best final exact objective (median over seeds), its gap to F* (from\n"
      "`full`, per lambda), time and the step sizes that converged.\n\noptions");
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
  const SolverOptions base = finish(sa, vm);
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
    if (!k) throw InputError("--solvers: unknown solver '" + s + "' (choose from " + all + ")");
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
        long done = 0;
        const long total = static_cast<long>(runs.size());
        // Each run is single-threaded (nested OpenMP is off), so results do not depend
        // on how many runs execute at once.
#pragma omp parallel for schedule(dynamic, 1)
        for (long i = 0; i < total; ++i) {
          Run& r = runs[i];
          const T& tk = *task[r.task];
          try {
            Recorder rec(tk, false);
            r.result = solve(tk.problem(), r.opt, &rec);
            r.rows = rec.rows();
            Metrics fm = evaluate_task(tk, r.result.theta);
            r.metrics.assign(fm.begin() + 1, fm.end());
          } catch (const std::exception& e) {
            r.error = e.what();
          }
#pragma omp critical
          {
            ++done;
            if (!quiet) {
              const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
              std::fprintf(stderr, "[%ld/%ld] %-16s step %-8g seed %-3llu %-10s F = %-14.10g ETA %.0fs\n", done,
                           total, label(configs[r.config], true).c_str(), r.opt.step,
                           static_cast<unsigned long long>(r.opt.seed), status_name(r.result.status),
                           r.result.objective, wall * static_cast<double>(total - done) / static_cast<double>(done));
            }
          }
        }
        for (const Run& r : runs)
          if (!r.error.empty()) throw std::runtime_error(r.error);

        // F* per lambda: the best objective among the usable full runs, if any.
        std::vector<double> fstar(task.size(), std::nan(""));
        for (const Run& r : runs)
          if (r.opt.solver == SolverKind::Full && std::isfinite(usable_objective(r.result)))
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
        std::vector<std::int64_t> s_solver, s_seed, s_status, s_steps, s_optimizer, s_batch;
        std::vector<double> s_step, s_obj, s_time, s_temp, s_rho, s_fstar;
        for (size_t i = 0; i < runs.size(); ++i) {
          const Run& r = runs[i];
          const auto& p = task[r.task]->problem();
          char id[24];
          std::snprintf(id, sizeof id, "%04zu", i);
          const std::string prefix = std::string("/runs/") + id;
          RunInfo info{command_line(argc + 1, argv - 1), input, T::kName, tname, p.temperature(), pb.l2, 1, pb.init};
          add_run(doc, prefix, *task[r.task], r.opt, r.result, r.rows, r.metrics, info);
          if (!std::isnan(fstar[r.task])) doc.set_attr(prefix, "f_star", fstar[r.task]);
          s_solver.push_back(static_cast<std::int64_t>(r.opt.solver));
          s_seed.push_back(static_cast<std::int64_t>(r.opt.seed));
          s_status.push_back(static_cast<std::int64_t>(r.result.status));
          s_steps.push_back(r.result.steps);
          s_optimizer.push_back(static_cast<std::int64_t>(r.opt.optimizer));
          s_batch.push_back(r.opt.batch);
          s_step.push_back(r.opt.step);
          s_obj.push_back(r.result.objective);
          s_time.push_back(r.result.time_s);
          s_temp.push_back(p.temperature());
          s_rho.push_back(r.opt.rho);
          s_fstar.push_back(fstar[r.task]);
        }
        const std::uint64_t n = runs.size();
        doc.set("/summary/solver", Array{{n}, s_solver});
        doc.set("/summary/seed", Array{{n}, s_seed});
        doc.set("/summary/status", Array{{n}, s_status});
        doc.set("/summary/steps", Array{{n}, s_steps});
        doc.set("/summary/step_size", Array::vector(s_step));
        doc.set("/summary/final_objective", Array::vector(s_obj));
        doc.set("/summary/time_s", Array::vector(s_time));
        doc.set("/summary/" + tname, Array::vector(s_temp));
        doc.set("/summary/optimizer", Array{{n}, s_optimizer});
        doc.set("/summary/batch", Array{{n}, s_batch});
        doc.set("/summary/rho", Array::vector(s_rho));
        doc.set("/summary/f_star", Array::vector(s_fstar));
        doc.set_attr("/summary", "solver_codes", all);
        doc.set_attr("/summary", "optimizer_codes", names_joined(kOptimizerNames, ","));
        doc.set_attr("/summary", "status_codes",
                     std::string("0 converged, 1 budget-exhausted, 2 diverged, 3 interrupted"));
        doc.set_attr("/summary", "rho_meaning",
                     std::string("the --rho option of the run (0 = adaptive); used by softplus only"));
        write_h5doc(out, doc, true);

        // Printed summary: one table per lambda, one row per configuration.
        std::printf("\n%s: %s, ", input.c_str(), T::kName);
        if (vary.lambda) std::printf("%s in {%s}", tname.c_str(), lambda_list.c_str());
        else std::printf("%s = %g", tname.c_str(), first.problem().temperature());
        std::printf(", l2 = %g, %ld runs\n", pb.l2, total);
        size_t width = 16;
        for (const Config& c : configs) width = std::max(width, label(c, false).size() + 1);
        for (size_t t = 0; t < task.size(); ++t) {
          if (vary.lambda) std::printf("\n%s = %g:", tname.c_str(), lambdas[t]);
          if (!std::isnan(fstar[t])) std::printf("%sF* (full, L-BFGS) = %.12g\n", vary.lambda ? " " : "", fstar[t]);
          else if (vary.lambda) std::printf("\n");
          std::printf("\n%-*s %-10s %-16s %-11s %-11s %-9s %-9s %s\n", static_cast<int>(width), "solver",
                      "best step", "median F", "F - F*", "spread", "time s", "diverged", "converged steps");
          for (const Config& c : configs) {
            if (c.task != t) continue;
            const Row row = summarize(runs, c);
            char range[64] = "none";
            if (row.hi > 0.0) std::snprintf(range, sizeof range, "%g .. %g", row.lo, row.hi);
            std::printf("%-*s %-10g %-16.10g %-11.3g %-11.3g %-9.3g %-9ld %s\n", static_cast<int>(width),
                        label(c, false).c_str(), row.best_step, row.best_f, row.best_f - fstar[t], row.spread,
                        row.time, row.diverged, range);
          }
        }
        std::printf("\nwrote %s\n", out.c_str());
        if (!no_plots) {
          if (plotting_available()) {
            std::printf("plots:\n");
            if (run_plot_script(out, "") != 0) std::fprintf(stderr, "lsekit compare: plotting failed\n");
          } else {
            std::printf("(no plots: install python3-matplotlib and python3-h5py, then lsekit plot %s)\n",
                        out.c_str());
          }
        }
        return kExitOk;
      },
      tasks.front());
}

}  // namespace lsekit::cli
