// Running a task: what `lsekit solve` and the Python module do between loading a task and
// writing its lsekit-result file, in one place, so both give the same result, bit for bit.
//
//   check_options      SolverOptions::check() against the task's problem (InputError text
//                      "<input>: <reason> (<problem>)", as the command line prints it)
//   TraceRecorder      an Observer that records the task's trace metrics at every trace row
//                      and forwards every call to an optional next observer
//   result_document    the lsekit-result document (SPEC section 4) of a finished run
//   run_task           all of the above around solve() and evaluate_task()
//
// Nothing here prints, reads or writes files, or touches signals: the caller attaches its
// own observer (progress line, SIGINT flag, Python callback) as `next`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "data/h5doc.hpp"
#include "data/result_file.hpp"
#include "solvers/instances.hpp"
#include "tasks/tasks.hpp"

namespace lsekit {

/// lsekit's version ("0.1.0"), as written in result files.
const char* version();

/// Throws InputError "<input>: <reason> (<problem>)" when `opt` does not suit the task's problem.
template <class Task>
void check_options(const Task& task, const SolverOptions& opt, const std::string& input) {
  const auto& p = task.problem();
  using P = std::decay_t<decltype(p)>;
  if (std::string why = opt.check(p.num_items(), p.num_groups(), P::kBatchOverGroups); !why.empty())
    throw InputError(input + ": " + why + " (" + task.kName + ")");
}

/// Records (step, task.trace_metrics(theta)) at each trace row; forwards to `next`.
/// The task must outlive the recorder.
template <class Task>
class TraceRecorder : public Observer {
 public:
  explicit TraceRecorder(const Task& task, Observer* next = nullptr) : task_(task), next_(next) {}

  Action on_trace(const TracePoint& row, const Vec& theta, long total_steps) override {
    rows_.emplace_back(row.step, task_.trace_metrics(theta));
    return next_ ? next_->on_trace(row, theta, total_steps) : Action::Continue;
  }
  bool interrupted() override { return next_ && next_->interrupted(); }
  void on_checkpoint(const SolverState& state) override {
    if (next_) next_->on_checkpoint(state);
  }
  const std::vector<TraceMetrics>& rows() const { return rows_; }
  void restore_rows(std::vector<TraceMetrics> rows) { rows_ = std::move(rows); }

 private:
  const Task& task_;
  Observer* next_;
  std::vector<TraceMetrics> rows_;
};

/// Root attributes of every result file: format, format_version, version.
H5Doc new_result_document();

/// The lsekit-result document of one run. `metrics` is what evaluate_task() returned
/// (its leading "objective" entry is the Result's own and is not repeated).
template <class Task>
H5Doc result_document(const Task& task, const SolverOptions& opt, const Result& r,
                      const std::vector<TraceMetrics>& rows, const Metrics& metrics,
                      const RunInfo& info) {
  H5Doc doc = new_result_document();
  const auto first = metrics.empty() || metrics.front().first != "objective" ? metrics.begin()
                                                                             : metrics.begin() + 1;
  add_run(doc, "", task, opt, r, rows, Metrics(first, metrics.end()), info);
  // Provenance: how the input's arrays were converted when read (float32 -> float64, b
  // renormalized, ...), one line each; absent when nothing was converted.
  if (!task.data().notes.empty()) {
    std::string notes;
    for (const auto& n : task.data().notes) notes += (notes.empty() ? "" : "\n") + n;
    doc.set_attr("/", "input_conversions", notes);
  }
  return doc;
}

/// Everything a run produces.
struct TaskRun {
  Result result;
  Metrics metrics;                   // evaluate_task() at the returned iterate
  std::vector<TraceMetrics> rows;    // the task's metrics at each trace row
  H5Doc doc;                         // the lsekit-result document
};

/// Checks the options (InputError naming `info.input_path`), solves, evaluates and builds
/// the result document. `next` (optional) sees every trace row and is polled for interruption.
template <class Task>
TaskRun run_task(const Task& task, const SolverOptions& opt, const RunInfo& info,
                 Observer* next = nullptr) {
  check_options(task, opt, info.input_path);
  TraceRecorder<Task> rec(task, next);
  TaskRun run;
  run.result = solve(task.problem(), opt, &rec);
  run.metrics = evaluate_task(task, run.result.theta);
  run.rows = rec.rows();
  run.doc = result_document(task, opt, run.result, run.rows, run.metrics, info);
  return run;
}

}  // namespace lsekit
