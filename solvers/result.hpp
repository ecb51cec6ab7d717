// What a solver run returns and how it talks to the outside: Status, TracePoint,
// Observer (progress, history, interruption, checkpoints), SolverState (everything a
// stochastic run needs to continue bit for bit), Result with brief_report().
// The library never prints; the command line attaches observers.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/types.hpp"

namespace lsekit {

enum class Status { Completed, Converged, Diverged, Interrupted, LineSearchFailed };

inline const char* status_name(Status s) {
  switch (s) {
    case Status::Completed: return "completed";
    case Status::Converged: return "converged";
    case Status::Diverged: return "diverged";
    case Status::Interrupted: return "interrupted";
    case Status::LineSearchFailed: return "line-search-failed";
  }
  return "?";
}

/// One row of the trace: the exact objective F of the reported iterate (the
/// Polyak average when averaging is active) beside the solver's own estimate.
struct TracePoint {
  long step = 0;
  double epoch = 0.0;
  double time_s = 0.0;      // solver time, exact evaluations excluded
  double objective = 0.0;   // exact F
  double estimate = 0.0;    // running mean of the surrogate estimates since the last row
  double kappa = 0.0;       // exact mean kappa at this iterate
  double rho = 0.0;         // softplus rho in force (0 for other solvers)
  double grad_norm = 0.0;   // full-batch solvers: |grad F|; stochastic: 0
};

/// The complete state of a stochastic run between two steps (run_stochastic): restoring
/// it and running on gives bitwise the same iterates, shifts, trace and result as a run
/// that was never stopped (the RNG stream, the epoch permutations and their cursors,
/// the step-rule moments, the adaptive-rho block moments and the running estimate all
/// included). Only the wall-clock times differ.
struct SolverState {
  long step = 0;            // steps taken
  long total_steps = 0;     // of the whole run (a consistency check on resume)
  long next_eval_row = 1;   // the next trace row to evaluate
  long est_count = 0;       // surrogate estimates summed since the last trace row
  double est_sum = 0.0;
  double solver_time = 0.0;
  double rho = 0.0;         // softplus rho in force
  double log_mom1 = 0.0, log_mom2 = 0.0, mom_count = 0.0;  // adaptive-rho block moments
  Vec theta, theta_prev, theta_avg, theta_good, m1, m2;
  Vec alpha, alpha_m, alpha_v, alpha_t;  // shifts and their step-rule state (if any)
  std::vector<char> alpha_init;         // shift initialized from a first minibatch
  Rng::State rng;
  std::vector<Index> group_perm, item_perm;  // epoch permutations (empty: not used)
  Index group_cursor = 0, item_cursor = 0;
  std::vector<TracePoint> trace;             // the rows recorded so far
};

enum class Action { Continue, Terminate };

class Observer {
 public:
  virtual ~Observer() = default;
  /// Called at every trace row with the iterate it describes; Terminate stops the
  /// run with status Interrupted. total_steps is 0 when unknown (L-BFGS).
  virtual Action on_trace(const TracePoint& /*row*/, const Vec& /*theta*/, long /*total_steps*/) {
    return Action::Continue;
  }
  /// Polled every few steps (cheap): true stops the run with status Interrupted.
  virtual bool interrupted() { return false; }
  /// Called every SolverOptions::checkpoint_every steps, and when the run is interrupted,
  /// with the state to pass back as `resume` (stochastic solvers only; time excluded).
  virtual void on_checkpoint(const SolverState& /*state*/) {}
};

struct Result {
  Status status = Status::Completed;
  std::string message;
  std::string solver;
  long steps = 0;
  double epochs = 0.0;
  double time_s = 0.0;
  double objective = 0.0;  // exact F at theta
  double estimate = 0.0;
  double kappa = 0.0;      // exact mean kappa at theta
  double rho = 0.0;        // final softplus rho (0 for others)
  double grad_norm = 0.0;  // |grad F| at theta (full-batch solvers)
  long fail_step = -1;     // step at which a non-finite value appeared
  Vec theta;
  Vec alpha;               // shifts (empty for shift-free solvers)
  std::vector<TracePoint> trace;

  bool ok() const { return status == Status::Completed || status == Status::Converged; }

  std::string brief_report() const {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s: %s after %ld steps (%.2f epochs, %.3f s), F = %.12g, kappa = %.3g%s",
                  solver.c_str(), status_name(status), steps, epochs, time_s, objective, kappa,
                  rho > 0.0 ? (", rho = " + fmt_g(rho)).c_str() : "");
    return buf;
  }

 private:
  static std::string fmt_g(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3g", v);
    return b;
  }
};

}  // namespace lsekit
