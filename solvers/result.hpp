// What a solver run returns and how it talks to the outside: Status, TracePoint,
// Observer (progress, history, interruption), Result with brief_report().
// The library never prints; the command line attaches observers.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

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
