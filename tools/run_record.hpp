// Observers the command line attaches to a run (progress line, trace history
// with problem metrics, SIGINT/SIGTERM) and the builder of lsekit-result
// documents (SPEC section 4).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>

#include "data/h5doc.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "tools/task.hpp"

namespace lsekit::cli {

/// Problem metrics recorded at a trace row, keyed by its step.
using TraceMetrics = std::pair<long, Metrics>;

/// Set by the SIGINT/SIGTERM handler installed by install_signal_handlers().
extern std::atomic<bool> g_interrupted;
void install_signal_handlers();

/// Records each trace row with the task's trace metrics; prints a progress line
/// to stderr at most once per second (step, epoch, exact objective, time, ETA).
template <class Task>
class Recorder : public Observer {
 public:
  Recorder(const Task& task, bool progress, std::string label = "")
      : task_(task), progress_(progress), label_(std::move(label)),
        start_(std::chrono::steady_clock::now()) {}

  Action on_trace(const TracePoint& row, const Vec& theta, long total_steps) override {
    rows_.emplace_back(row.step, task_.trace_metrics(theta));
    if (progress_) {
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const bool last = total_steps > 0 && row.step >= total_steps;
      if (wall - last_print_ >= 1.0 || (last && printed_)) {
        last_print_ = wall;
        printed_ = true;
        double eta = 0.0;
        if (total_steps > 0 && row.step > 0)
          eta = wall * static_cast<double>(total_steps - row.step) / static_cast<double>(row.step);
        std::fprintf(stderr, "%s step %ld  epoch %.2f  F = %.10g  time %.1fs  ETA %.1fs\n",
                     label_.c_str(), row.step, row.epoch, row.objective, wall, eta);
      }
    }
    return Action::Continue;
  }
  bool interrupted() override { return g_interrupted.load(); }
  void on_checkpoint(const SolverState& state) override {
    if (checkpoint_sink) checkpoint_sink(state, rows_);
  }
  const std::vector<TraceMetrics>& rows() const { return rows_; }
  /// Resuming: the rows recorded before the checkpoint.
  void restore_rows(std::vector<TraceMetrics> rows) { rows_ = std::move(rows); }
  /// Receives each checkpoint with the rows recorded so far (e.g. writes a checkpoint file).
  std::function<void(const SolverState&, const std::vector<TraceMetrics>&)> checkpoint_sink;

 private:
  const Task& task_;
  bool progress_;
  std::string label_;
  std::chrono::steady_clock::time_point start_;
  double last_print_ = 0.0;
  bool printed_ = false;
  std::vector<TraceMetrics> rows_;
};

/// Provenance of a run.
struct RunInfo {
  std::string command_line;
  std::string input_path;
  std::string problem;           // task name
  std::string temperature_name;  // "lambda" | "epsilon"
  double temperature = 0.0;
  double l2 = 0.0;
  int threads = 1;
  std::string init = "zero";     // the solvers' start point (--init)
};

std::string now_iso8601();

/// Writes the attributes of a run (every hyperparameter under its option name)
/// on `object` ("/" for a solve file, "/runs/<id>" in a compare file).
void add_run_attributes(H5Doc& doc, const std::string& object, const SolverOptions& o,
                        const Result& r, const RunInfo& info);

/// Writes /trace/* columns (incl. the task's trace metrics) and /metrics attributes
/// under `prefix` ("" or "/runs/<id>").
void add_trace_and_metrics(H5Doc& doc, const std::string& prefix, const Result& r,
                           const std::vector<TraceMetrics>& trace_rows, const Metrics& final_metrics);

/// The whole result of one run: attributes, solution, shifts, trace, metrics.
template <class Task>
void add_run(H5Doc& doc, const std::string& prefix, const Task& task, const SolverOptions& o,
             const Result& r, const std::vector<TraceMetrics>& trace_rows, const Metrics& final_metrics,
             const RunInfo& info) {
  add_run_attributes(doc, prefix.empty() ? "/" : prefix, o, r, info);
  task.write_solution(doc, prefix, r.theta);
  if (r.alpha.size() > 0) doc.set(prefix + "/solution/alpha", Array::vector(r.alpha));
  add_trace_and_metrics(doc, prefix, r, trace_rows, final_metrics);
}

}  // namespace lsekit::cli
