// What a solver run returns and how it talks to the outside: Status, TracePoint,
// Observer (progress, history, interruption, checkpoints), SolverState (everything a
// stochastic run needs to continue bit for bit) with kStateFields (its fields by name),
// Result with brief_report().
// The library never prints; the command line attaches observers.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/rng.hpp"
#include "core/types.hpp"

namespace lsekit {

/// How a run ended (SPEC section 6):
///  Converged       the stopping criterion was measured <= tol at the returned iterate;
///  BudgetExhausted epochs/steps/time ran out first (the message states the last criterion);
///  Diverged        a non-finite value, or the exact F rose above its start or drifted upward:
///                  the best finite iterate seen at a trace row is returned;
///  Interrupted     SIGINT/SIGTERM or an observer asked to stop.
enum class Status { Converged, BudgetExhausted, Diverged, Interrupted };

inline const char* status_name(Status s) {
  switch (s) {
    case Status::Converged: return "converged";
    case Status::BudgetExhausted: return "budget-exhausted";
    case Status::Diverged: return "diverged";
    case Status::Interrupted: return "interrupted";
  }
  return "?";
}

/// Optimality measured at one iterate by a full exact pass (solvers/measure.hpp).
///  objective   exact F(theta)
///  grad_norm   exact |grad F(theta)|_2
///  gap_bound   certified upper bound on F(theta) - F* (NaN where no certificate exists)
///  marginal_error  entropic OT: |grad F|_1 = |b - (1/n) sum_i chi(x_i)|_1; NaN otherwise
///  criterion   gap_bound / max(1, |F|) when certified, else grad_norm / max(1, |F|)
struct Measure {
  double objective = std::nan("");
  double grad_norm = std::nan("");
  double gap_bound = std::nan("");
  double marginal_error = std::nan("");
  double kappa = 0.0;
  double criterion = std::nan("");
  bool certified = false;
};

/// One row of the trace: the exact objective F of the reported iterate (the
/// Polyak average when averaging is active) beside the solver's own estimate.
struct TracePoint {
  long step = 0;
  double epoch = 0.0;
  double time_s = 0.0;      // solver time, diagnostic evaluations excluded
  double objective = 0.0;   // exact F
  double estimate = 0.0;    // running mean of the surrogate estimates since the last row
  double kappa = 0.0;       // exact mean kappa at this iterate
  double rho = 0.0;         // softplus rho in force (0 for other solvers)
  double grad_norm = 0.0;   // exact |grad F|_2
  double gap_bound = 0.0;   // certified bound on F - F* (NaN where none exists)
  double marginal_error = 0.0;  // OT: |grad F|_1 (NaN otherwise)
  double criterion = 0.0;   // the stopping criterion (see Measure)
  double passes = 0.0;      // algorithm work so far, in per-sample gradient evaluations / n
  double step_size = 0.0;   // the step size in force (variance-reduced solvers: after safeguards)
};

/// The trace's floating-point columns, in file order: the one list the result writer and the
/// checkpoint files use (/trace/<name>; /trace/step is written apart as integers).
struct TraceColumn {
  const char* name;
  double TracePoint::*field;
};
inline constexpr TraceColumn kTraceColumns[] = {
    {"epoch", &TracePoint::epoch},         {"passes", &TracePoint::passes},
    {"time_s", &TracePoint::time_s},       {"objective", &TracePoint::objective},
    {"estimate", &TracePoint::estimate},   {"grad_norm", &TracePoint::grad_norm},
    {"gap_bound", &TracePoint::gap_bound}, {"criterion", &TracePoint::criterion},
    {"marginal_error", &TracePoint::marginal_error},
    {"kappa", &TracePoint::kappa},         {"rho", &TracePoint::rho},
    {"step_size", &TracePoint::step_size}};

/// The complete state of a stochastic run between two steps (run_stochastic keeps its loop
/// state in one of these): restoring it and running on gives bitwise the same iterates,
/// shifts, trace and result as a run that was never stopped (the RNG stream, the epoch
/// permutations and their cursors, the step-rule moments, the adaptive-rho block moments and
/// the running estimate all included). Only the wall-clock times differ. kStateFields below
/// lists every field by name.
struct SolverState {
  long step = 0;            // steps taken
  long total_steps = 0;     // of the whole run (a consistency check on resume)
  long next_eval_row = 1;   // the next trace row to evaluate
  long est_count = 0;       // surrogate estimates summed since the last trace row
  double est_sum = 0.0;
  double solver_time = 0.0;
  double rho = 0.0;         // softplus rho in force
  double log_mom1 = 0.0, log_mom2 = 0.0, mom_count = 0.0;  // adaptive-rho block moments
  double passes = 0.0, eval_passes = 0.0, eval_time_s = 0.0;  // work accounting
  double f_best = 0.0;      // lowest exact F seen at a trace row (its iterate: theta_best)
  long up_rows = 0;         // consecutive trace rows whose F rose (upward drift)
  long group_cursor = 0, item_cursor = 0;    // positions in the epoch permutations
  Vec theta, theta_prev, theta_avg, theta_good, theta_best, m1, m2;
  Vec alpha, alpha_m, alpha_v, alpha_t;      // shifts and their step-rule state (if any)
  std::vector<char> alpha_init;              // shift initialized from a first minibatch
  std::vector<Index> group_perm, item_perm;  // epoch permutations (empty: not used)
  Rng rng;                                   // the run's random stream
  std::vector<TracePoint> trace;             // the rows recorded so far
};

/// What the length of a SolverState field must be for the run that resumes it.
enum class StateExtent {
  One,          // a scalar
  Dim,          // the parameter dimension
  Shifts,       // one per group with a shift solver; empty otherwise
  Permutation,  // a sampler's epoch permutation (checked by the sampler, values included)
  Rows,         // one per trace row recorded (at least one)
  Stream,       // the random stream
};
/// A member of SolverState, by type.
using StateMember =
    std::variant<long SolverState::*, double SolverState::*, Vec SolverState::*,
                 std::vector<char> SolverState::*, std::vector<Index> SolverState::*,
                 Rng SolverState::*, std::vector<TracePoint> SolverState::*>;
struct StateField {
  const char* name;
  StateMember member;
  StateExtent extent;
};
/// Every field of SolverState by name: the one list that checkpoint files write and read
/// (data/checkpoint.cpp) and that run_stochastic checks a resumed state's lengths against.
inline constexpr StateField kStateFields[] = {
    {"step", &SolverState::step, StateExtent::One},
    {"total_steps", &SolverState::total_steps, StateExtent::One},
    {"next_eval_row", &SolverState::next_eval_row, StateExtent::One},
    {"est_count", &SolverState::est_count, StateExtent::One},
    {"est_sum", &SolverState::est_sum, StateExtent::One},
    {"solver_time", &SolverState::solver_time, StateExtent::One},
    {"rho", &SolverState::rho, StateExtent::One},
    {"log_mom1", &SolverState::log_mom1, StateExtent::One},
    {"log_mom2", &SolverState::log_mom2, StateExtent::One},
    {"mom_count", &SolverState::mom_count, StateExtent::One},
    {"passes", &SolverState::passes, StateExtent::One},
    {"eval_passes", &SolverState::eval_passes, StateExtent::One},
    {"eval_time_s", &SolverState::eval_time_s, StateExtent::One},
    {"f_best", &SolverState::f_best, StateExtent::One},
    {"up_rows", &SolverState::up_rows, StateExtent::One},
    {"group_cursor", &SolverState::group_cursor, StateExtent::One},
    {"item_cursor", &SolverState::item_cursor, StateExtent::One},
    {"theta", &SolverState::theta, StateExtent::Dim},
    {"theta_prev", &SolverState::theta_prev, StateExtent::Dim},
    {"theta_avg", &SolverState::theta_avg, StateExtent::Dim},
    {"theta_good", &SolverState::theta_good, StateExtent::Dim},
    {"theta_best", &SolverState::theta_best, StateExtent::Dim},
    {"m1", &SolverState::m1, StateExtent::Dim},
    {"m2", &SolverState::m2, StateExtent::Dim},
    {"alpha", &SolverState::alpha, StateExtent::Shifts},
    {"alpha_m", &SolverState::alpha_m, StateExtent::Shifts},
    {"alpha_v", &SolverState::alpha_v, StateExtent::Shifts},
    {"alpha_t", &SolverState::alpha_t, StateExtent::Shifts},
    {"alpha_init", &SolverState::alpha_init, StateExtent::Shifts},
    {"group_perm", &SolverState::group_perm, StateExtent::Permutation},
    {"item_perm", &SolverState::item_perm, StateExtent::Permutation},
    {"rng", &SolverState::rng, StateExtent::Stream},
    {"trace", &SolverState::trace, StateExtent::Rows},
};

/// The length of field `f` in `st`: its size for vectors, 1 for a scalar or the stream.
inline long state_field_length(const SolverState& st, const StateField& f) {
  return std::visit(
      [&](auto m) -> long {
        using T = std::remove_cvref_t<decltype(st.*m)>;
        if constexpr (std::is_same_v<T, long> || std::is_same_v<T, double> || std::is_same_v<T, Rng>)
          return 1;
        else
          return static_cast<long>((st.*m).size());
      },
      f.member);
}

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
  /// Called at the same place as interrupted() (every 64 steps of a stochastic run) with the
  /// steps done and the total (cheap: no evaluation), so a progress display can show the run
  /// moving between trace rows.
  virtual void on_progress(long /*step*/, long /*total_steps*/) {}
  /// Called every SolverOptions::checkpoint_every steps, and when the run is interrupted,
  /// with the state to pass back as `resume` (stochastic solvers only; time excluded).
  virtual void on_checkpoint(const SolverState& /*state*/) {}
};

struct Result {
  Status status = Status::BudgetExhausted;
  std::string message;
  std::string solver;
  long steps = 0;
  double epochs = 0.0;
  double time_s = 0.0;
  double objective = 0.0;  // exact F at theta
  double estimate = 0.0;
  double kappa = 0.0;      // exact mean kappa at theta
  double rho = 0.0;        // final softplus rho (0 for others)
  double grad_norm = 0.0;  // exact |grad F|_2 at theta
  double gap_bound = std::nan("");       // certified bound on F(theta) - F* (NaN: none)
  double marginal_error = std::nan("");  // OT: |grad F|_1 at theta
  double criterion = std::nan("");       // the stopping criterion at theta (see Measure)
  bool certified = false;                // criterion is a certified relative gap
  double tol = 0.0;                      // the tolerance the run aimed at
  double passes = 0.0;       // work of the algorithm: per-sample gradient evaluations / n
  double eval_passes = 0.0;  // diagnostic-only exact evaluations (trace rows), apart
  double eval_time_s = 0.0;  // their time, apart from time_s
  long fail_step = -1;     // step at which a non-finite value appeared
  Vec theta;
  Vec alpha;               // shifts (empty for shift-free solvers)
  std::vector<TracePoint> trace;

  /// Converged, or the budget ran out without a failure (the answer is usable but its
  /// quality is only what `criterion` says).
  bool ok() const { return status == Status::Converged || status == Status::BudgetExhausted; }

  /// "relative gap <= 3.1e-03 (certified)" or "relative |grad F| = 2.0e-05".
  std::string criterion_text() const {
    char b[96];
    if (certified)
      std::snprintf(b, sizeof b, "relative gap <= %.2e (certified)", criterion);
    else
      std::snprintf(b, sizeof b, "relative |grad F| = %.2e (no certificate)", criterion);
    return b;
  }

  /// One line: status, criterion, work (passes) and time, F, kappa, rho.
  std::string brief_report() const {
    char buf[640];
    std::snprintf(buf, sizeof buf,
                  "%s: %s, %s; %.1f passes in %.3f s (+%.1f diagnostic passes, %.3f s); "
                  "F = %.12g, |grad F| = %.3g, kappa = %.3g%s",
                  solver.c_str(), status_name(status), criterion_text().c_str(), passes, time_s,
                  eval_passes, eval_time_s, objective, grad_norm, kappa,
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
