// What a solver run returns and how it talks to the outside: Status, TracePoint,
// Observer (progress, history, interruption, checkpoints), SolverState (everything a
// stochastic run, plain or variance-reduced, needs to continue bit for bit) with kStateFields
// (its fields by name),
// Result with brief_report().
// The library never prints; the command line attaches observers.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
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

/// The loop a SolverState belongs to (SolverState::loop): the plain stochastic loop
/// (stochastic_solver.hpp), SVRG (svrg.hpp), SAGA or Prospect (saga.hpp).
enum class StateLoop : long { Plain = 0, Svrg = 1, Saga = 2, Prospect = 3 };
inline const char* state_loop_name(long loop) {
  switch (loop) {
    case 0: return "plain stochastic";
    case 1: return "SVRG";
    case 2: return "SAGA";
    case 3: return "Prospect";
  }
  return "unknown";
}

/// The complete state of a stochastic run at a point where it can stop and continue:
/// restoring it and running on gives bitwise the same iterates, shifts, trace and result as a
/// run that was never stopped. Only the wall-clock times differ. kStateFields below lists every
/// field by name, with the loops that use it (a field a loop does not use stays empty / 0).
///  * The plain loop (run_stochastic keeps its loop state in one of these) is saved between
///    two steps: the RNG stream, the epoch permutations and their cursors, the step-rule
///    moments, the adaptive-rho block moments and the running estimate all included.
///  * The variance-reduced loops (run_svrg, run_table) are saved at epoch boundaries: the
///    snapshot (last accepted iterate) with its exact gradient and trace row, the anchor
///    (SVRG: the full gradient at the snapshot; SAGA, Prospect: the table mean), the stored
///    per-item table (D x n: derivative_dim() per item), Prospect's loss table and its running
///    sum, the importance-sampling distribution (the alias table is rebuilt from it bitwise),
///    the preconditioner (SVRG on entropic OT), the shifts, the safeguarded step, the
///    certificate gate and the counters.
struct SolverState {
  long loop = 0;            // which loop wrote it (StateLoop)
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
  // Variance-reduced loops (theta is the snapshot / last accepted iterate, trace.back() its
  // measure; theta_best the best measured iterate of a fixed-step table run).
  long epochs = 0, rejected = 0;             // epochs run, rejected by the safeguard
  double step_scale = 1.0, step_base = 1.0;  // step = step_scale * step_base
  long table_stale = 1;                      // SVRG: the table must be rebuilt at the snapshot
  long best_row = 0;                         // table runs: the trace row of theta_best
  double lref = 0.0, ssum = 1.0;             // Prospect: S = sum_j e^{(l_j - lref)/lambda}
  long since_exact = 0;                      // Prospect: updates of S since its exact sum
  double gate_bound = 0.0, gate_grad = 0.0, gate_work = 0.0;  // the certificate gate
  double gate_f = 0.0, gate_drop = 0.0;
  long gate_checks = 0;
  double gate_prev_bound = HUGE_VAL, gate_prev_work = 0.0, gate_last_cost = NAN;
  double gate_offset = HUGE_VAL;  // min over certificates of (bound - F there)
  double gate_cert_f = NAN, gate_prev_cert_f = NAN, gate_prev_cost = NAN;  // F at the last two, cost
  long extrapolated = 0;          // table runs: epochs that ended at their extrapolated point
  Vec grad, grad_best;                       // exact grad F at theta, at theta_best
  Vec anchor;                                // SVRG: grad at the snapshot; table: the mean
  Vec lse;                                   // table runs: the groups' LSE at theta
  Vec qprob, coef;                           // sampling q_i over the pool, 1/(N q_i)
  Vec loss_table;                            // table runs: the last loss of every item
  Mat table;                                 // stored per-item derivatives (D x n)
  Mat precond;                               // SVRG on entropic OT: (H~ + delta I)^{-1}
  Mat hessian;                               // and H~ itself (the certificate reuses it)
};

/// What the shape of a SolverState field must be for the run that resumes it.
enum class StateExtent {
  One,          // a scalar
  Dim,          // the parameter dimension
  Shifts,       // one per group with a shift solver; empty otherwise
  Permutation,  // a sampler's epoch permutation (checked by the sampler, values included)
  Rows,         // one per trace row recorded (at least one)
  Stream,       // the random stream
  Groups,       // one per group
  Pool,         // one per sampled term of a variance-reduced run (item or source sample)
  Table,        // derivative_dim x items (stored per-item derivatives); empty if not stored
  Square,       // dim x dim (a preconditioner or Hessian); empty if none
};
/// A member of SolverState, by type.
using StateMember =
    std::variant<long SolverState::*, double SolverState::*, Vec SolverState::*, Mat SolverState::*,
                 std::vector<char> SolverState::*, std::vector<Index> SolverState::*,
                 Rng SolverState::*, std::vector<TracePoint> SolverState::*>;
/// The loops that use a field, as a bit mask of 1 << StateLoop.
inline constexpr unsigned kPlainLoop = 1u, kSvrgLoop = 2u, kTableLoops = 4u | 8u;
inline constexpr unsigned kVrLoops = kSvrgLoop | kTableLoops, kAllLoops = kPlainLoop | kVrLoops;
struct StateField {
  const char* name;
  StateMember member;
  StateExtent extent;
  unsigned loops;  // the loops whose state holds it (others leave it empty / at its default)
};
/// Every field of SolverState by name: the one list that checkpoint files write and read
/// (data/checkpoint.cpp) and that a resumed state's shapes are checked by (state_mismatch).
inline constexpr StateField kStateFields[] = {
    {"loop", &SolverState::loop, StateExtent::One, kAllLoops},
    {"step", &SolverState::step, StateExtent::One, kAllLoops},
    {"total_steps", &SolverState::total_steps, StateExtent::One, kPlainLoop},
    {"next_eval_row", &SolverState::next_eval_row, StateExtent::One, kPlainLoop},
    {"est_count", &SolverState::est_count, StateExtent::One, kPlainLoop},
    {"est_sum", &SolverState::est_sum, StateExtent::One, kPlainLoop},
    {"solver_time", &SolverState::solver_time, StateExtent::One, kAllLoops},
    {"rho", &SolverState::rho, StateExtent::One, kAllLoops},
    {"log_mom1", &SolverState::log_mom1, StateExtent::One, kAllLoops},
    {"log_mom2", &SolverState::log_mom2, StateExtent::One, kAllLoops},
    {"mom_count", &SolverState::mom_count, StateExtent::One, kAllLoops},
    {"passes", &SolverState::passes, StateExtent::One, kAllLoops},
    {"eval_passes", &SolverState::eval_passes, StateExtent::One, kPlainLoop},
    {"eval_time_s", &SolverState::eval_time_s, StateExtent::One, kPlainLoop},
    {"f_best", &SolverState::f_best, StateExtent::One, kPlainLoop},
    {"up_rows", &SolverState::up_rows, StateExtent::One, kPlainLoop},
    {"group_cursor", &SolverState::group_cursor, StateExtent::One, kPlainLoop},
    {"item_cursor", &SolverState::item_cursor, StateExtent::One, kPlainLoop},
    {"theta", &SolverState::theta, StateExtent::Dim, kAllLoops},
    {"theta_prev", &SolverState::theta_prev, StateExtent::Dim, kPlainLoop},
    {"theta_avg", &SolverState::theta_avg, StateExtent::Dim, kPlainLoop},
    {"theta_good", &SolverState::theta_good, StateExtent::Dim, kPlainLoop},
    {"theta_best", &SolverState::theta_best, StateExtent::Dim, kPlainLoop | kTableLoops},
    {"m1", &SolverState::m1, StateExtent::Dim, kPlainLoop},
    {"m2", &SolverState::m2, StateExtent::Dim, kPlainLoop},
    {"alpha", &SolverState::alpha, StateExtent::Shifts, kAllLoops},
    {"alpha_m", &SolverState::alpha_m, StateExtent::Shifts, kPlainLoop},
    {"alpha_v", &SolverState::alpha_v, StateExtent::Shifts, kPlainLoop},
    {"alpha_t", &SolverState::alpha_t, StateExtent::Shifts, kPlainLoop},
    {"alpha_init", &SolverState::alpha_init, StateExtent::Shifts, kPlainLoop},
    {"group_perm", &SolverState::group_perm, StateExtent::Permutation, kPlainLoop},
    {"item_perm", &SolverState::item_perm, StateExtent::Permutation, kPlainLoop},
    {"rng", &SolverState::rng, StateExtent::Stream, kAllLoops},
    {"trace", &SolverState::trace, StateExtent::Rows, kAllLoops},
    {"epochs", &SolverState::epochs, StateExtent::One, kVrLoops},
    {"rejected", &SolverState::rejected, StateExtent::One, kVrLoops},
    {"step_scale", &SolverState::step_scale, StateExtent::One, kVrLoops},
    {"step_base", &SolverState::step_base, StateExtent::One, kVrLoops},
    {"table_stale", &SolverState::table_stale, StateExtent::One, kSvrgLoop},
    {"best_row", &SolverState::best_row, StateExtent::One, kTableLoops},
    {"lref", &SolverState::lref, StateExtent::One, kTableLoops},
    {"ssum", &SolverState::ssum, StateExtent::One, kTableLoops},
    {"since_exact", &SolverState::since_exact, StateExtent::One, kTableLoops},
    {"gate_bound", &SolverState::gate_bound, StateExtent::One, kVrLoops},
    {"gate_grad", &SolverState::gate_grad, StateExtent::One, kVrLoops},
    {"gate_work", &SolverState::gate_work, StateExtent::One, kVrLoops},
    {"gate_f", &SolverState::gate_f, StateExtent::One, kVrLoops},
    {"gate_drop", &SolverState::gate_drop, StateExtent::One, kVrLoops},
    {"gate_checks", &SolverState::gate_checks, StateExtent::One, kVrLoops},
    {"gate_prev_bound", &SolverState::gate_prev_bound, StateExtent::One, kVrLoops},
    {"gate_prev_work", &SolverState::gate_prev_work, StateExtent::One, kVrLoops},
    {"gate_last_cost", &SolverState::gate_last_cost, StateExtent::One, kVrLoops},
    {"gate_offset", &SolverState::gate_offset, StateExtent::One, kVrLoops},
    {"gate_cert_f", &SolverState::gate_cert_f, StateExtent::One, kVrLoops},
    {"gate_prev_cert_f", &SolverState::gate_prev_cert_f, StateExtent::One, kVrLoops},
    {"gate_prev_cost", &SolverState::gate_prev_cost, StateExtent::One, kVrLoops},
    {"extrapolated", &SolverState::extrapolated, StateExtent::One, kTableLoops},
    {"grad", &SolverState::grad, StateExtent::Dim, kVrLoops},
    {"grad_best", &SolverState::grad_best, StateExtent::Dim, kTableLoops},
    {"anchor", &SolverState::anchor, StateExtent::Dim, kVrLoops},
    {"lse", &SolverState::lse, StateExtent::Groups, kTableLoops},
    {"qprob", &SolverState::qprob, StateExtent::Pool, kVrLoops},
    {"coef", &SolverState::coef, StateExtent::Pool, kVrLoops},
    {"loss_table", &SolverState::loss_table, StateExtent::Pool, kTableLoops},
    {"table", &SolverState::table, StateExtent::Table, kVrLoops},
    {"precond", &SolverState::precond, StateExtent::Square, kSvrgLoop},
    {"hessian", &SolverState::hessian, StateExtent::Square, kSvrgLoop},
};

/// Whether the loop `loop` (a StateLoop value) keeps field `f`.
inline bool state_field_used(const StateField& f, long loop) {
  return loop >= 0 && loop < 4 && ((f.loops >> loop) & 1u) != 0;
}

/// The shape of field `f` in `st`: {rows, cols} of a matrix, {size, 1} of a vector, {1, 1} of
/// a scalar or the stream.
inline std::pair<long, long> state_field_shape(const SolverState& st, const StateField& f) {
  return std::visit(
      [&](auto m) -> std::pair<long, long> {
        using T = std::remove_cvref_t<decltype(st.*m)>;
        if constexpr (std::is_same_v<T, long> || std::is_same_v<T, double> || std::is_same_v<T, Rng>)
          return {1, 1};
        else if constexpr (std::is_same_v<T, Mat>)
          return {static_cast<long>((st.*m).rows()), static_cast<long>((st.*m).cols())};
        else
          return {static_cast<long>((st.*m).size()), 1};
      },
      f.member);
}

/// The length of field `f` in `st`: its number of values (1 for a scalar or the stream).
inline long state_field_length(const SolverState& st, const StateField& f) {
  const auto [r, c] = state_field_shape(st, f);
  return r * c;
}

/// Why the state `saved` cannot continue the run whose own freshly set-up state is `fresh`
/// (written by another loop, or a field whose shape differs: other data, problem or
/// estimator), "" when it can. Trace rows and permutation values are the run's to check.
inline std::string state_mismatch(const SolverState& saved, const SolverState& fresh) {
  if (saved.loop != fresh.loop)
    return std::string("it was written by a ") + state_loop_name(saved.loop) + " run, this is a " +
           state_loop_name(fresh.loop) + " run";
  auto text = [](std::pair<long, long> s) {
    return s.second == 1 ? std::to_string(s.first) : std::to_string(s.first) + " x " + std::to_string(s.second);
  };
  for (const StateField& f : kStateFields) {
    if (f.extent == StateExtent::Rows) continue;
    const auto a = state_field_shape(saved, f), b = state_field_shape(fresh, f);
    if (a == b) continue;
    const char* what = "the state";
    switch (f.extent) {
      case StateExtent::Dim: what = "the parameter dimension"; break;
      case StateExtent::Shifts: what = "the number of shifts"; break;
      case StateExtent::Permutation: what = "the sampling permutation"; break;
      case StateExtent::Groups: what = "the number of groups"; break;
      case StateExtent::Pool: what = "the number of sampled terms"; break;
      case StateExtent::Table: what = "the per-item table"; break;
      case StateExtent::Square: what = "the preconditioner or Hessian"; break;
      default: break;
    }
    return std::string(what) + " differs (" + f.name + " has " + text(a) + " values, this run " + text(b) + ")";
  }
  return {};
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
  /// Variance-reduced runs are saved at epoch boundaries: at the first one after every
  /// checkpoint_every steps, and when interrupted, the state at the start of that epoch.
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
