// Observers the command line attaches to a run: progress line, trace history with
// problem metrics, SIGINT/SIGTERM. (Result files are built by data/result_file.hpp.)
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
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

/// Records each trace row with the task's trace metrics; prints a progress line to stderr
/// at most once per second: at trace rows and, between rows, from the cheap on_progress()
/// poll (so lines keep coming whatever --eval-points is). Stochastic runs show step, epoch,
/// the last exact F, time and an ETA; full-batch runs (L-BFGS, Sinkhorn: no step budget)
/// show the iteration, F and the distance to their stopping tolerance.
template <class Task>
class Recorder : public Observer {
 public:
  Recorder(const Task& task, bool progress, std::string label = "")
      : task_(task), progress_(progress), label_(std::move(label)),
        start_(std::chrono::steady_clock::now()) {}

  /// The tolerances the run stops at, shown beside the full-batch solvers' progress.
  void set_tolerances(double tol, double gtol) { tol_ = tol, gtol_ = gtol; }
  /// The run's budget in epochs (stochastic runs), to show the epoch between trace rows.
  void set_budget_epochs(double epochs) { budget_epochs_ = epochs; }
  /// Resuming at `step`: the ETA counts only the steps done since (at this session's pace).
  void resume_from(const SolverState& st) {
    start_step_ = st.step;
    if (!st.trace.empty()) last_ = st.trace.back(), have_row_ = true;
  }

  Action on_trace(const TracePoint& row, const Vec& theta, long total_steps) override {
    rows_.emplace_back(row.step, task_.trace_metrics(theta));
    last_ = row;
    have_row_ = true;
    if (progress_sink) progress_sink(row.step, total_steps);
    if (progress_) {
      const bool last = total_steps > 0 && row.step >= total_steps;
      print(row.step, total_steps, last && printed_);
    }
    return Action::Continue;
  }
  void on_progress(long step, long total_steps) override {
    if (progress_ && have_row_) print(step, total_steps, false);
    if (progress_sink) progress_sink(step, total_steps);
  }
  bool interrupted() override { return g_interrupted.load(); }
  void on_checkpoint(const SolverState& state) override {
    if (checkpoint_sink) checkpoint_sink(state, rows_);
  }
  const std::vector<TraceMetrics>& rows() const { return rows_; }
  /// Resuming: the rows recorded before the checkpoint.
  void restore_rows(std::vector<TraceMetrics> rows) { rows_ = std::move(rows); }
  /// Receives every progress poll and trace row (steps done, total; total 0 for full-batch
  /// solvers), e.g. for a compare's combined progress line.
  std::function<void(long, long)> progress_sink;
  /// Receives each checkpoint with the rows recorded so far (e.g. writes a checkpoint file).
  std::function<void(const SolverState&, const std::vector<TraceMetrics>&)> checkpoint_sink;

 private:
  void print(long step, long total_steps, bool force) {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (!(wall - last_print_ >= 1.0 || force)) return;
    last_print_ = wall;
    printed_ = true;
    if (total_steps > 0) {
      const long done = step - start_step_;
      double eta = 0.0;
      if (done > 0) eta = wall * static_cast<double>(total_steps - step) / static_cast<double>(done);
      const double epoch = budget_epochs_ > 0.0 ? budget_epochs_ * static_cast<double>(step) / static_cast<double>(total_steps)
                           : last_.step > 0 ? last_.epoch * static_cast<double>(step) / static_cast<double>(last_.step)
                                            : last_.epoch;
      std::fprintf(stderr, "%s step %ld/%ld  epoch %.2f  F = %.10g (step %ld)  time %.1fs  ETA %.1fs\n",
                   label_.c_str(), step, total_steps, epoch, last_.objective, last_.step, wall, eta);
    } else {
      // Full-batch solvers: progress is the distance to their tolerance, not a step budget.
      std::string crit;
      char b[160];
      if (std::isfinite(last_.criterion) && last_.criterion > 0.0) {
        std::snprintf(b, sizeof b, "  criterion %.3g (tol %g)", last_.criterion, tol_);
        crit += b;
      }
      std::snprintf(b, sizeof b, "  |grad F| = %.3g (gtol %g)", last_.grad_norm, gtol_);
      crit += b;
      std::fprintf(stderr, "%s iteration %ld  F = %.12g%s  time %.1fs\n", label_.c_str(), step,
                   last_.objective, crit.c_str(), wall);
    }
  }

  const Task& task_;
  bool progress_;
  std::string label_;
  std::chrono::steady_clock::time_point start_;
  double last_print_ = 0.0;
  bool printed_ = false;
  double tol_ = 0.0, gtol_ = 0.0;
  long start_step_ = 0;
  double budget_epochs_ = 0.0;
  TracePoint last_;
  bool have_row_ = false;
  std::vector<TraceMetrics> rows_;
};

}  // namespace lsekit::cli
