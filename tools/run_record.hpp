// Observers the command line attaches to a run: progress line, trace history with
// problem metrics, SIGINT/SIGTERM. (Result files are built by data/result_file.hpp.)
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>

#include "data/result_file.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"

namespace lsekit::cli {

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

}  // namespace lsekit::cli
