// lsekit compare: a grid of solvers x step sizes x seeds on one problem, run in
// parallel across runs (each run single-threaded), one HDF5 file with every run
// under /runs/<id> and a summary table, and a printed summary per solver.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/errors.hpp"
#include "solvers/solve.hpp"
#include "tools/commands.hpp"
#include "tools/run_record.hpp"
#include "tools/solver_cli.hpp"
#include "tools/tasks.hpp"

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

struct Run {
  SolverOptions opt;
  Result result;
  std::vector<TraceMetrics> rows;
  Metrics metrics;
  std::string error;
};

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int cmd_compare(int argc, const char* const* argv) {
  SolverArgs sa;
  ProblemOptions pb;
  std::string input, out, config, solvers_arg, steps_arg;
  int jobs = 0, seeds = 1;
  bool force = false, quiet = false, no_plots = false;
  std::string all;
  for (const auto& nv : kSolverNames) all += std::string(all.empty() ? "" : ",") + nv.name;
  po::options_description desc(
      "usage: lsekit compare INPUT.h5 --out COMPARE.h5 [options]\n\n"
      "Runs every solver in --solvers with every step size in --step-sizes and --seeds seeds\n"
      "(the other solver options are shared), in parallel across runs. Writes every run\n"
      "under /runs/<id> and a summary table under /summary, and prints per solver the best\n"
      "final exact objective (median over seeds), its gap to F* (from `full`), time and the\n"
      "step sizes that converged.\n\noptions");
  desc.add_options()("help,h", "show this help")
      ("input", po::value(&input), "input file (positional)")
      ("out,o", po::value(&out), "compare file to write (required)")
      ("force", po::bool_switch(&force), "overwrite --out if it exists")
      ("solvers", po::value(&solvers_arg)->default_value(all), "comma-separated solver names")
      ("step-sizes", po::value(&steps_arg)->default_value(""), "comma-separated step sizes (default: --step)")
      ("seeds", po::value(&seeds)->default_value(1), "seeds per configuration (--seed, --seed+1, ...)")
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
  std::vector<SolverKind> kinds;
  for (const auto& s : split(solvers_arg)) {
    auto k = parse_name(kSolverNames, s);
    if (!k) throw InputError("--solvers: unknown solver '" + s + "' (choose from " + all + ")");
    kinds.push_back(*k);
  }
  std::vector<double> steps;
  for (const auto& s : split(steps_arg)) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end || !(v > 0.0)) throw InputError("--step-sizes: invalid step size '" + s + "'");
    steps.push_back(v);
  }
  if (steps.empty()) steps.push_back(base.step);
  if (kinds.empty()) throw InputError("--solvers is empty");
  const int nthreads = set_threads(jobs);
  const AnyTask any = load_task(input, pb);
  install_signal_handlers();

  return std::visit(
      [&](const auto& task) {
        const auto& p = task.problem();
        using P = std::decay_t<decltype(p)>;
        std::vector<Run> runs;
        for (SolverKind k : kinds) {
          // full with L-BFGS has no step size or seed: one run.
          const bool lbfgs = k == SolverKind::Full && !sa.optimizer_given;
          for (double st : lbfgs ? std::vector<double>{base.step} : steps)
            for (int sd = 0; sd < (lbfgs ? 1 : seeds); ++sd) {
              Run r;
              r.opt = base;
              r.opt.solver = k;
              if (!sa.optimizer_given) r.opt.optimizer = SolverOptions::defaults_for(k).optimizer;
              r.opt.step = st;
              r.opt.seed = base.seed + static_cast<std::uint64_t>(sd);
              if (std::string why = r.opt.check(p.num_items(), p.num_groups(), P::kBatchOverGroups);
                  !why.empty())
                throw InputError(input + ": " + why + " (" + task.kName + ")");
              runs.push_back(std::move(r));
            }
        }
        const auto t0 = std::chrono::steady_clock::now();
        long done = 0;
        const long total = static_cast<long>(runs.size());
        // Each run is single-threaded (nested OpenMP is off), so results do not depend
        // on how many runs execute at once.
#pragma omp parallel for schedule(dynamic, 1)
        for (long i = 0; i < total; ++i) {
          Run& r = runs[i];
          try {
            Recorder rec(task, false);
            r.result = solve(p, r.opt, &rec);
            r.rows = rec.rows();
            Metrics fm = evaluate_task(task, r.result.theta);
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
                           total, name_of(kSolverNames, r.opt.solver), r.opt.step,
                           static_cast<unsigned long long>(r.opt.seed), status_name(r.result.status),
                           r.result.objective, wall * static_cast<double>(total - done) / static_cast<double>(done));
            }
          }
        }
        for (const Run& r : runs)
          if (!r.error.empty()) throw std::runtime_error(r.error);

        // F*: the best objective among converged full runs, if any.
        double fstar = std::nan("");
        for (const Run& r : runs)
          if (r.opt.solver == SolverKind::Full &&
              (r.result.ok() || r.result.status == Status::LineSearchFailed))
            fstar = std::isnan(fstar) ? r.result.objective : std::min(fstar, r.result.objective);

        H5Doc doc;
        doc.set_attr("/", "format", std::string("lsekit-result"));
        doc.set_attr("/", "format_version", std::int64_t{1});
        doc.set_attr("/", "version", std::string(LSEKIT_VERSION));
        doc.set_attr("/", "kind", std::string("compare"));
        doc.set_attr("/", "command_line", command_line(argc + 1, argv - 1));
        doc.set_attr("/", "created", now_iso8601());
        doc.set_attr("/", "problem", std::string(task.kName));
        doc.set_attr("/", "input_path", input);
        doc.set_attr("/", task.temperature_name(), p.temperature());
        doc.set_attr("/", "l2", pb.l2);
        doc.set_attr("/", "threads", static_cast<std::int64_t>(nthreads));
        doc.set_attr("/", "solver_names", all);
        if (!std::isnan(fstar)) doc.set_attr("/", "f_star", fstar);
        std::vector<std::int64_t> s_solver, s_seed, s_status, s_steps;
        std::vector<double> s_step, s_obj, s_time;
        for (size_t i = 0; i < runs.size(); ++i) {
          const Run& r = runs[i];
          char id[16];
          std::snprintf(id, sizeof id, "%04zu", i);
          RunInfo info{command_line(argc + 1, argv - 1), input, task.kName, task.temperature_name(),
                       p.temperature(), pb.l2, 1};
          add_run(doc, std::string("/runs/") + id, task, r.opt, r.result, r.rows, r.metrics, info);
          s_solver.push_back(static_cast<std::int64_t>(r.opt.solver));
          s_seed.push_back(static_cast<std::int64_t>(r.opt.seed));
          s_status.push_back(static_cast<std::int64_t>(r.result.status));
          s_steps.push_back(r.result.steps);
          s_step.push_back(r.opt.step);
          s_obj.push_back(r.result.objective);
          s_time.push_back(r.result.time_s);
        }
        const std::uint64_t n = runs.size();
        doc.set("/summary/solver", Array{{n}, s_solver});
        doc.set("/summary/seed", Array{{n}, s_seed});
        doc.set("/summary/status", Array{{n}, s_status});
        doc.set("/summary/steps", Array{{n}, s_steps});
        doc.set("/summary/step_size", Array::vector(s_step));
        doc.set("/summary/final_objective", Array::vector(s_obj));
        doc.set("/summary/time_s", Array::vector(s_time));
        doc.set_attr("/summary", "solver_codes", all);
        doc.set_attr("/summary", "status_codes",
                     std::string("0 completed, 1 converged, 2 diverged, 3 interrupted, 4 line-search-failed"));
        write_h5doc(out, doc, true);

        // Printed summary: per solver, the step whose median final F is best.
        std::printf("\n%s: %s, %s = %g, l2 = %g, %ld runs\n", input.c_str(), task.kName,
                    task.temperature_name().c_str(), p.temperature(), pb.l2, total);
        if (!std::isnan(fstar)) std::printf("F* (full, L-BFGS) = %.12g\n", fstar);
        std::printf("\n%-16s %-10s %-16s %-11s %-11s %-9s %-9s %s\n", "solver", "best step", "median F",
                    "F - F*", "spread", "time s", "diverged", "converged steps");
        for (SolverKind k : kinds) {
          double best_f = std::nan(""), best_step = 0.0, best_spread = 0.0, best_time = 0.0;
          long diverged = 0;
          double lo = 0.0, hi = 0.0;
          for (double st : steps) {
            std::vector<double> fs, ts;
            bool any_run = false, all_ok = true;
            for (const Run& r : runs) {
              if (r.opt.solver != k || (r.opt.step != st && !(k == SolverKind::Full && !sa.optimizer_given)))
                continue;
              any_run = true;
              if (r.result.status == Status::Diverged) ++diverged, all_ok = false;
              fs.push_back(r.result.ok() || r.result.status == Status::LineSearchFailed ? r.result.objective
                                                                                          : INFINITY);
              ts.push_back(r.result.time_s);
            }
            if (!any_run) continue;
            const double med = median(fs);
            if (all_ok && std::isfinite(med)) {
              lo = lo == 0.0 ? st : std::min(lo, st);
              hi = std::max(hi, st);
            }
            if (std::isnan(best_f) || med < best_f) {
              best_f = med, best_step = st, best_time = median(ts);
              best_spread = *std::max_element(fs.begin(), fs.end()) - *std::min_element(fs.begin(), fs.end());
            }
            if (k == SolverKind::Full && !sa.optimizer_given) break;
          }
          char range[64] = "none";
          if (hi > 0.0) std::snprintf(range, sizeof range, "%g .. %g", lo, hi);
          std::printf("%-16s %-10g %-16.10g %-11.3g %-11.3g %-9.3g %-9ld %s\n", name_of(kSolverNames, k),
                      best_step, best_f, std::isnan(fstar) ? std::nan("") : best_f - fstar, best_spread,
                      best_time, diverged, range);
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
      any);
}

}  // namespace lsekit::cli
