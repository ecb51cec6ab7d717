// lsekit solve / lsekit eval.
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "solvers/instances.hpp"
#include "data/checkpoint.hpp"
#include "tools/commands.hpp"
#include "tools/run_record.hpp"
#include "tools/solver_cli.hpp"
#include "tasks/run.hpp"
#include "tasks/tasks.hpp"

namespace lsekit::cli {

namespace {

int exit_code_for(const Result& r) {
  if (r.status == Status::Diverged) return kExitNumerical;
  if (r.status == Status::Interrupted) return 130;
  return kExitOk;
}

/// A token as the shell reads it back unchanged.
std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                        "_-+=.,/:@%") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// The command line of this run with --resume CHECKPOINT in place of any earlier --resume:
/// the command that continues it, exactly as to be typed.
std::string resume_command(int argc, const char* const* argv, const std::string& checkpoint) {
  std::string s = shell_quote(argv[-1]);  // the program as it was invoked
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--resume") {
      ++i;
      continue;
    }
    if (a.rfind("--resume=", 0) == 0) continue;
    s += " " + shell_quote(a);
  }
  return s + " --resume " + shell_quote(checkpoint);
}

}  // namespace

int cmd_solve(int argc, const char* const* argv) {
  SolverArgs sa;
  ProblemOptions pb;
  std::string input, out, config, checkpoint, resume;
  long checkpoint_every = 0;
  int threads = 0;
  bool force = false, quiet = false;
  po::options_description desc(
      "usage: lsekit solve INPUT.h5 --out RESULT.h5 [options]\n\n"
      "Solves the problem in INPUT.h5 (lsekit-dataset: DRO regression or classification;\n"
      "lsekit-ot: entropic semi-discrete OT) with one solver and writes an lsekit-result file.\n"
      "Exit codes: 0 success, 1 diverged (last finite iterate kept), 2 invalid input, 3 I/O error,\n"
      "130 interrupted (result written with status interrupted).\n"
      "A long run can be made restartable: --checkpoint-every N saves its whole state every N\n"
      "steps (and on SIGINT/SIGTERM); after a crash or kill, the same command with --resume FILE\n"
      "continues it and ends bitwise identical to a run that was never stopped.\n\noptions");
  desc.add_options()("help,h", "show this help")
      ("input", po::value(&input), "input file (positional)")
      ("out,o", po::value(&out), "result file to write (required)")
      ("force", po::bool_switch(&force), "overwrite --out if it exists")
      ("threads", po::value(&threads)->default_value(0), "OpenMP threads (0 = all cores)")
      ("quiet,q", po::bool_switch(&quiet), "no progress line")
      ("config", po::value(&config), "read further options from FILE (key = value lines)")
      ("checkpoint-every", po::value(&checkpoint_every)->default_value(0),
       "stochastic solvers: save the run's state every N steps (variance-reduced runs: at the "
       "first epoch boundary after every N steps; 0 = never)")
      ("checkpoint", po::value(&checkpoint),
       "checkpoint file to write (default: OUT.checkpoint.h5)")
      ("resume", po::value(&resume),
       "continue the run saved in this checkpoint (same input and options)");
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
  if (input.empty()) throw InputError("an input file is required (lsekit solve INPUT.h5 --out RESULT.h5)");
  SolverOptions opt = finish(sa, vm);
  opt.checkpoint_every = checkpoint_every;
  {
    ApplyContext ctx = problem_context(input);
    ctx.solver = opt.solver;
    ctx.optimizer = opt.optimizer;
    ctx.variance_reduction = variance_reduction_on(opt, ctx.ot);
    ctx.table_vr = table_variance_reduction(opt, ctx.ot);
    check_applicable(vm, {ctx}, input);
  }
  // --resume continues the run that writes --out: replacing its --out is the point.
  check_output(out, force || !resume.empty());
  if (checkpoint_every > 0 && checkpoint.empty()) checkpoint = out + ".checkpoint.h5";
  if (checkpoint_every > 0) check_writable(checkpoint);
  if (!checkpoint.empty() && checkpoint_every <= 0)
    throw InputError("--checkpoint needs --checkpoint-every N (N > 0)");
  if (checkpoint_every > 0 && checkpoint != resume && std::filesystem::exists(checkpoint) && !force)
    throw InputError("--checkpoint " + checkpoint + " exists (an earlier run's?); pass --resume " +
                     checkpoint + " to continue that run or --force to start over");
  const int nthreads = set_threads(threads);
  const AnyTask any = load_task(input, pb);
  install_signal_handlers();

  return std::visit(
      [&](const auto& task) {
        const auto& p = task.problem();
        using P = std::decay_t<decltype(p)>;
        check_options(task, opt, input);
        opt = opt.resolved(P::kBatchOverGroups);  // the result records concrete values
        Recorder rec(task, !quiet);
        rec.set_tolerances(opt.tol, opt.gtol);
        {
          const long pool = P::kBatchOverGroups ? p.num_groups() : p.num_items();
          rec.set_budget_epochs(opt.steps > 0 ? static_cast<double>(opt.steps) * static_cast<double>(opt.batch) /
                                                    static_cast<double>(pool)
                                              : opt.epochs);
        }
        RunInfo info{command_line(argc + 1, argv - 1), input, task.kName, task.temperature_name(),
                     p.temperature(), pb.l2, nthreads, pb.init};
        const std::string fingerprint =
            run_fingerprint(opt, info, p.dim(), p.num_groups(), p.num_items());
        Checkpoint saved;
        if (!resume.empty()) {
          saved = read_checkpoint(resume);
          check_fingerprint(resume, saved.fingerprint, fingerprint);
          rec.restore_rows(saved.rows);
          rec.resume_from(saved.state);
        }
        if (checkpoint_every > 0) {
          rec.checkpoint_sink = [&](const SolverState& st, const std::vector<TraceMetrics>& rows) {
            try {
              write_checkpoint(checkpoint, Checkpoint{fingerprint, st, rows});
            } catch (const IoError& e) {  // a failed checkpoint must not end a long run
              std::fprintf(stderr, "lsekit solve: warning: checkpoint not written: %s\n",
                           cli_wording(e.what()).c_str());
            }
          };
        }
        Result r;
        try {
          r = solve(p, opt, &rec, nullptr, resume.empty() ? nullptr : &saved.state);
        } catch (const InputError& e) {
          if (resume.empty()) throw;
          throw InputError(resume + ": " + e.what() + " (" + task.kName + ")");
        }
        Metrics fm = evaluate_task(task, r.theta);
        H5Doc doc = result_document(task, opt, r, rec.rows(), fm, info);
        if (!resume.empty()) doc.set_attr("/", "resumed_from", resume);
        write_output(out, doc);
        // The file keeps the library's wording (options by field); the terminal shows flags.
        std::printf("%s\n", cli_wording(r.brief_report()).c_str());
        if (!r.message.empty()) std::printf("  %s\n", cli_wording(r.message).c_str());
        if (checkpoint_every > 0) {
          std::error_code ec;
          if (r.status == Status::Interrupted)
            std::printf("  checkpoint %s; continue with:\n    %s\n", checkpoint.c_str(),
                        resume_command(argc, argv, checkpoint).c_str());
          else  // the run reached its end: the result holds everything
            std::filesystem::remove(checkpoint, ec);
        }
        for (const auto& [k, v] : fm) std::printf("  %-24s %.10g\n", k.c_str(), v);
        std::printf("wrote %s\n", out.c_str());
        return exit_code_for(r);
      },
      any);
}

/// The /runs/<id> of a compare file named by `run` ("7", "0007"); lists the valid ids otherwise.
std::string run_id(const H5Doc& doc, const std::string& path, const std::string& run) {
  std::vector<std::string> ids;
  for (const auto& [obj, attrs] : doc.attrs)
    if (obj.rfind("/runs/", 0) == 0 && obj.find('/', 6) == std::string::npos) ids.push_back(obj.substr(6));
  std::string want = run;
  if (!run.empty() && run.find_first_not_of("0123456789") == std::string::npos) {
    const unsigned long long k = std::strtoull(run.c_str(), nullptr, 10);
    char b[32];
    std::snprintf(b, sizeof b, "%04llu", k);
    want = b;
  }
  for (const auto& id : ids)
    if (id == want || id == run) return id;
  std::string list;
  if (ids.empty()) {
    list = "it has no /runs (not a compare file; omit --run)";
  } else {
    list = "valid ids: " + ids.front() + (ids.size() > 1 ? " .. " + ids.back() : "") + " (" +
           std::to_string(ids.size()) + " runs; 7 and 0007 both work)";
  }
  throw InputError(path + ": no run '" + run + "' under /runs; " + list);
}

int cmd_eval(int argc, const char* const* argv) {
  std::string result_path, input, run;
  ProblemOptions pb;
  int threads = 0;
  po::options_description desc(
      "usage: lsekit eval RESULT.h5 INPUT.h5 [options]\n\n"
      "Recomputes the exact objective and the metrics of the solution in RESULT.h5 on the\n"
      "dataset or OT instance INPUT.h5. lambda/epsilon and l2 are taken from the result unless given.\n\n"
      "options");
  desc.add_options()("help,h", "show this help")
      ("result", po::value(&result_path), "result file (positional)")
      ("input", po::value(&input), "dataset or instance (positional)")
      ("run", po::value(&run), "compare files: the run id under /runs")
      ("threads", po::value(&threads)->default_value(0), "OpenMP threads (0 = all cores)")
      ("config", po::value<std::string>(), "read further options from FILE (key = value lines)");
  add_problem_options(desc, pb);
  po::positional_options_description pos;
  pos.add("result", 1).add("input", 1);
  po::variables_map vm;
  parse(argc, argv, desc, pos, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (result_path.empty() || input.empty())
    throw InputError("usage: lsekit eval RESULT.h5 INPUT.h5");
  set_threads(threads);
  const H5Doc doc = read_h5doc(result_path);
  auto root = doc.attrs.find("/");
  auto fmt = root == doc.attrs.end() ? nullptr : &root->second;
  if (!fmt || !fmt->count("format") || !std::holds_alternative<std::string>(fmt->at("format")) ||
      std::get<std::string>(fmt->at("format")) != "lsekit-result")
    throw InputError(result_path + ": not an lsekit-result file (root attribute format)");
  const std::string prefix = run.empty() ? "" : "/runs/" + run_id(doc, result_path, run);
  const auto& attrs = doc.attrs.count(prefix.empty() ? "/" : prefix) ? doc.attrs.at(prefix.empty() ? "/" : prefix)
                                                                      : throw InputError(result_path + ": no run " + prefix);
  // The result's problem must be the input's: its lambda or l2 means nothing to another one.
  ApplyContext ctx = problem_context(input);
  check_applicable(vm, {ctx}, input);
  if (attrs.count("problem") && std::holds_alternative<std::string>(attrs.at("problem"))) {
    const std::string rp = std::get<std::string>(attrs.at("problem"));
    if ((rp == "entropic-ot") != ctx.ot)
      throw InputError(result_path + (prefix.empty() ? "" : " " + prefix) + " is a " + rp + " result, but " + input +
                       " is " + (ctx.ot ? "an entropic OT instance (lsekit-ot)" : "a DRO dataset (lsekit-dataset)") +
                       ": evaluate it on the kind of input it was solved on");
  }
  auto num = [&](const char* k, double& dst) {
    if (vm[k].defaulted() && attrs.count(k) && std::holds_alternative<double>(attrs.at(k))) {
      dst = std::get<double>(attrs.at(k));
      // Name the result file: the value comes from it, not from the command line.
      if (!std::isfinite(dst) || dst < 0.0 || (dst == 0.0 && std::string(k) != "l2"))
        throw InputError(result_path + ": " + (prefix.empty() ? "/" : prefix) + ": attribute '" + k +
                         "' is " + std::to_string(dst) + ", not a valid " + k + " (lsekit result)");
    }
  };
  if (!ctx.ot) {
    num("lambda", pb.lambda);
    num("l2", pb.l2);
  } else {
    num("epsilon", pb.epsilon);
  }
  const AnyTask any = load_task(input, pb);
  return std::visit(
      [&](const auto& task) {
        const Vec theta = task.read_solution(doc, prefix, result_path);
        const Metrics m = evaluate_task(task, theta);
        std::printf("%s on %s (%s, %s = %g, l2 = %g)\n", result_path.c_str(), input.c_str(),
                    task.kName, task.temperature_name().c_str(), task.problem().temperature(), pb.l2);
        for (const auto& [k, v] : m) std::printf("  %-24s %.12g\n", k.c_str(), v);
        return kExitOk;
      },
      any);
}

}  // namespace lsekit::cli
