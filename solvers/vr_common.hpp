// Parts shared by lsekit's variance-reduced solvers (SVRG in solvers/svrg.hpp, SAGA and
// Prospect in solvers/saga.hpp):
//  * inherit(): a measure's bound from the certificates before it (free: they bound any later
//    F, CertificateGate::inherited);
//  * measure_epoch(): the exact measure of an epoch's iterate, with the certificate when the
//    gate of solvers/measure.hpp says it is due (certify_due(), the gate and certificate alone);
//  * extrapolation_factor(): SAGA's and Prospect's epoch extrapolation, Aitken's factor from
//    two decreases;
//  * certify_final(): the returned iterate's certificate when its epoch skipped it;
//  * importance_sampling(): q_i = 0.2/N + 0.8 L_i / sum L from per-sample curvature bounds
//    L_i, the coefficients 1/(N q_i) and the step's curvature scale max_i L_i / (N q_i);
//  * softplus_rho_for_tol(): rho such that softplus's relaxation bias lambda rho kappa / 2
//    stays two orders below the tolerance;
//  * Followed: the one objective a run follows -- F, softplus's relaxation F_rho at an explicit
//    rho, or the sumexp / erm surrogate -- which its safeguard compares between epochs, by
//    which a fixed-step run keeps its best iterate, and which its message names;
//  * StepSafeguard: the multiple s of the data-derived step, halved when an epoch is rejected
//    (its followed objective rose or a value stopped being finite) and raised by 10% when
//    accepted (doubled when a quadratic model predicted the accepted epoch's decrease);
//  * add_stored_difference(): the stored-derivative part of a step (SVRG's stored path, SAGA,
//    Prospect), sum_b (w_b a_b(theta) - D_b) (x) x~_b / (N q_b |B|);
//  * trace_row() / row_measure(): a trace row from a measure and back;
//  * EpochCheckpoints, save_gate() / load_gate(): checkpoints at epoch boundaries (the state in
//    one SolverState, solvers/result.hpp).
// Nothing here allocates after construction except importance_sampling()'s alias table and
// the checkpoints' copy of the state (outside the step loops).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "core/alias_table.hpp"
#include "core/exact_evaluator.hpp"
#include "core/numerics.hpp"
#include "solvers/estimators.hpp"
#include "solvers/measure.hpp"
#include "solvers/result.hpp"

namespace lsekit::vr {

/// A measure's bound lowered to what the gate's certificates give at its F (free, rigorous:
/// CertificateGate::inherited), its criterion set from it (NaN while uncertified); `row`, when
/// given, is the trace row recorded from the measure and is refreshed with it.
inline void inherit(const CertificateGate& gate, Measure& ms, TracePoint* row = nullptr) {
  ms.gap_bound = gate.lowered(ms.gap_bound, ms.objective);
  ms.certified = std::isfinite(ms.gap_bound);
  ms.criterion = ms.certified ? criterion_of(ms.objective, ms.grad_norm, ms.gap_bound) : std::nan("");
  if (row) fill_row(*row, ms);
}

/// The certificate of a measured iterate (F, grad F = `grad` there) when the gate says it is
/// due, its passes added to `passes`; then the bound the earlier certificates give (inherit()).
template <LseProblem P>
void certify_due(const P& problem, ConstVecRef theta, Measure& ms, ConstVecRef grad, double& passes,
                 CertificateGate& gate, const Mat* hessian = nullptr) {
  if (!std::isfinite(ms.objective)) return;
  if constexpr (CertifiedProblem<P>) {
    if (gate.due(passes, ms.objective, ms.grad_norm)) {
      const double before = passes;
      ms.gap_bound = certificate(problem, theta, ms.objective, grad, hessian, passes, gate.target(ms.objective));
      gate.mark(passes, ms.grad_norm, ms.gap_bound, passes - before, ms.objective);
    }
    inherit(gate, ms);
  }
}

/// The extrapolation factor of an accepted epoch (SAGA, Prospect; Aitken's delta-squared on the slowest
/// mode, the one-step case of Scieur, d'Aspremont, Bach, "Regularized Nonlinear Acceleration",
/// NeurIPS 2016, applied to a stochastic method's epochs as in "Nonlinear Acceleration of
/// Stochastic Algorithms", NeurIPS 2017): a linearly converging run's F - F* shrinks by
/// q = drop / drop_prev per epoch (the ratio of its last two exact decreases), its iterate's
/// error by about sqrt(q), so theta* ~ theta + beta (theta - theta_prev) with
/// beta = sqrt(q) / (1 - sqrt(q)), at most kMaxExtrapolation. 0 (none) when q is not in (0, 1).
inline constexpr double kMaxExtrapolation = 3.0;
inline double extrapolation_factor(double drop, double drop_prev) {
  if (!(drop > 0.0) || !(drop_prev > 0.0) || !(drop < drop_prev)) return 0.0;
  const double r = std::sqrt(drop / drop_prev);
  return std::min(kMaxExtrapolation, r / (1.0 - r));
}

/// The exact measure at theta (F, grad F into `grad`, the group LSEs and item scores when asked;
/// a semi-dual problem's Hessian and curvatures when asked, see measure()) and, when the gate
/// says so, the certificate; every pass is added to `passes`. Its bound is the lower of its own
/// certificate and the one the earlier certificates give (inherit()). The criterion is NaN at
/// a measure of a certified problem before any certificate.
template <LseProblem P>
Measure measure_epoch(const P& problem, ExactEvaluator<P>& ev, ConstVecRef theta, Vec& grad,
                      double& passes, CertificateGate& gate, Vec* group_lse = nullptr,
                      Vec* item_scores = nullptr, Mat* hessian = nullptr, Vec* curvature = nullptr) {
  Measure ms = measure(problem, ev, theta, grad, &passes, false, group_lse, item_scores, hessian,
                       curvature);
  certify_due(problem, theta, ms, grad, passes, gate, hessian);
  return ms;
}

/// The certificate of the returned iterate when its measure skipped it (`grad` = grad F there;
/// `hessian`: H there if known, else null).
template <LseProblem P>
void certify_final(const P& problem, ConstVecRef theta, Measure& m, ConstVecRef grad, double& passes,
                   const Mat* hessian = nullptr) {
  if constexpr (CertifiedProblem<P>) {
    if (!m.certified && std::isfinite(m.objective)) {
      m.gap_bound = certificate(problem, theta, m.objective, grad, hessian, passes);
      m.certified = std::isfinite(m.gap_bound);
      m.criterion = criterion_of(m.objective, m.grad_norm, m.gap_bound);
    }
  }
}

/// Importance sampling over N terms with curvature bounds lhat (>= 0): qprob = 0.2/N +
/// 0.8 lhat/sum, coef = 1/(N qprob), alias table of qprob. Returns max_i lhat_i coef_i, the
/// curvature of the sampled direction (the step is s / that), or NaN when sum lhat is not a
/// positive finite number (nothing is changed then).
inline double importance_sampling(const Vec& lhat, Vec& qprob, Vec& coef, AliasTable& alias) {
  const double total = lhat.sum(), n = static_cast<double>(lhat.size());
  if (!(total > 0.0) || !std::isfinite(total)) return std::nan("");
  qprob = 0.2 / n + 0.8 * lhat.array() / total;
  coef = 1.0 / (n * qprob.array());
  alias = AliasTable(qprob);
  return (lhat.array() * coef.array()).maxCoeff();
}

/// Softplus rho that keeps the relaxation bias lambda rho kappa / 2 two orders below the
/// tolerance at an iterate with exact F = f and kappa.
inline double softplus_rho_for_tol(double tol, double f, double lambda, double kappa, double rho_max) {
  const double target = 0.02 * std::max(tol, 1e-12) * std::max(1.0, std::abs(f));
  return std::clamp(target / (lambda * std::max(kappa, 1.0)), 1e-300, rho_max);
}

/// The objective a variance-reduced run follows: the one its steps descend, hence the one its
/// safeguard may compare between epochs (an epoch is rejected when it rose) and by which a
/// fixed-step run keeps its best iterate. The stopping criterion stays F's (SPEC section 6).
///   F        variational-log, Prospect, softplus with the adaptive rho (its relaxation bias
///            is kept two orders below tol, softplus_rho_for_tol), biased-softmax with every
///            atom (OT; SVRG runs every shift estimator on OT that way);
///   Relaxed  softplus with an explicit rho >= 1e-12 (DRO): F_rho + R, where
///            F_rho = min_a [a + (lambda/rho) E softplus((l - a)/lambda + log rho)] - lambda;
///            its minimizer theta_rho* is not F's (F - F_rho ~ lambda rho kappa / 2), and F
///            rises near it, so comparing F there would reject every epoch;
///   SumExp   sumexp: sum_k p_k lambda E_k e^{l/lambda} + A + R = sum_k p_k lambda e^{L_k/lambda}
///            + A + R;
///   Erm      erm: sum_k p_k E_k l + A + R.
/// Each value comes from the pass that measures F (its group LSEs L_k and item scores), plus
/// R + A at the iterate; erm on OT (no item scores kept) from the mean the surrogate's own
/// anchor pass adds up (SVRG). No value costs a pass of its own.
struct Followed {
  enum Kind { F, Relaxed, SumExp, Erm };
  Kind kind = F;
  double rho = 0.0;  // Relaxed: the rho of F_rho

  /// The objective a run of estimator E (the one that steps: SVRG runs the shift estimators on
  /// OT as biased-softmax) with options o follows.
  template <class E>
  static Followed of(const SolverOptions& o) {
    Followed f;
    if constexpr (std::is_same_v<E, ::lsekit::Softplus>) {
      if (o.rho >= 1e-12) f.kind = Relaxed, f.rho = o.rho;  // below: F_rho = F to rounding
    } else if constexpr (std::is_same_v<E, ::lsekit::SumExp>) {
      f.kind = SumExp;
    } else if constexpr (std::is_same_v<E, ::lsekit::Erm>) {
      f.kind = Erm;
    }
    return f;
  }
  bool is_f() const { return kind == F; }

  /// Its value at an iterate whose exact measure gave F = f, the group LSEs `lse` and (one
  /// group, DRO) the item scores `scores` (else nullptr; then erm's value is `mean_loss`, the
  /// mean of the scores over groups and items computed elsewhere). reg() = R + A there.
  template <class Reg>
  double value(double f, const Vec& lse, const Vec* scores, double mean_loss, double lambda,
               Reg&& reg) const {
    if (kind == F || !std::isfinite(f)) return f;
    double v = std::nan("");
    switch (kind) {
      case Relaxed:
        if (scores)
          v = softplus_relaxation(*scores, Vec::Constant(scores->size(), 1.0 / static_cast<double>(scores->size())),
                                  lambda, rho).value;
        break;
      case SumExp: v = lambda * (lse.array() / lambda).exp().mean(); break;
      case Erm: v = scores ? scores->mean() : mean_loss; break;
      case F: break;
    }
    return v + reg();
  }

  /// Whether an epoch that moved the followed value from `before` to `after` is accepted: F
  /// must not rise at all (as it always did); another followed value may rise by its rounding,
  /// 1e-12 relative (F_rho comes out of a Newton solve and sums weighted by lambda/rho), so that
  /// a run at its optimum, which cannot stop on F's criterion, is not rejected epoch after
  /// epoch by rounding with its step halving away.
  bool accepts(double after, double before) const {
    if (kind == F) return after <= before;
    return after <= before + 1e-12 * std::max(1.0, std::abs(before));
  }

  /// "F", "F_rho", ... : what the safeguard compares (for messages).
  const char* symbol() const {
    switch (kind) {
      case Relaxed: return "F_rho";
      case SumExp: return "sumexp's objective";
      case Erm: return "erm's objective";
      case F: break;
    }
    return "F";
  }

  /// What the run followed and why F's criterion need not reach the tolerance, with what to do
  /// about it (fields in backquotes), for a run that ended with F = f, kappa at the returned
  /// iterate; "" when it followed F.
  std::string note(double lambda, double kappa, double f, double tol) const {
    switch (kind) {
      case Relaxed: {
        const double bias = 0.5 * lambda * rho * kappa;
        std::string s = "the run follows softplus's relaxation F_rho at `rho=" + sci(rho) +
                        "` (its safeguard compares F_rho), whose minimizer is not F's: relaxation "
                        "bias lambda rho kappa / 2 = " + sci(bias) + " (kappa = " + sci(kappa) + ")";
        if (tol > 0.0 && bias > tol * std::max(1.0, std::abs(f)))
          s += ", above the tolerance, so F's criterion cannot reach it there: lower `rho` or leave "
               "it automatic (`rho=0`)";
        return s;
      }
      case SumExp:
        return "the run follows sumexp's own objective lambda mean e^{l/lambda} + R (its safeguard "
               "compares that), whose minimizer is F's only for one group without an L2 term; "
               "`solver=softplus` or `solver=variational-log` minimize F";
      case Erm:
        return "the run follows erm's objective, the mean loss + R (its safeguard compares that), "
               "whose minimizer is not F's (the lambda -> infinity limit), so F's criterion need not "
               "reach the tolerance; `solver=softplus` or `solver=variational-log` minimize F";
      case F: break;
    }
    return {};
  }
};

/// The advice of a variance-reduced run's budget-exhausted message: raise the budget, or, for
/// a run that does not follow F, what it followed and why (Followed::note).
inline std::string budget_advice(const Followed& fo, double lambda, double kappa, double f, double tol) {
  const std::string n = fo.note(lambda, kappa, f, tol);
  if (n.empty()) return "raise `epochs` (passes)";
  if (fo.kind == Followed::Relaxed && n.find("cannot reach") == std::string::npos)
    return "raise `epochs` (passes); " + n;
  return n;
}

/// The multiple of the data-derived step: starts at `initial`, x0.5 per rejected epoch, x1.1
/// per accepted one, x2 when a quadratic model predicted that epoch's decrease (`agreed`).
/// With a fixed step (`fixed` > 0) it stays 1 and the step is `fixed`.
struct StepSafeguard {
  double scale = 1.0;
  long rejected = 0;
  void accept(bool agreed = false) { scale *= agreed ? 2.0 : 1.1; }
  void reject() {
    scale *= 0.5;
    ++rejected;
  }
  void save(SolverState& st) const { st.step_scale = scale, st.rejected = rejected; }
  void restore(const SolverState& st) { scale = st.step_scale, rejected = st.rejected; }
  /// "; 2 of 31 epochs rejected by the safeguard (step halved)", or "".
  std::string note(long epochs) const {
    if (rejected == 0) return {};
    return "; " + std::to_string(rejected) + " of " + std::to_string(epochs) +
           " epochs rejected by the safeguard (step halved)";
  }
};

/// A trace row of a variance-reduced solver: the measure of its current iterate, and as
/// `estimate` the exact value of the objective it follows (F itself for most runs).
/// `followed`: the value of the objective the run follows there (Followed), its `estimate`.
inline TracePoint trace_row(const Measure& m, double followed, long steps, double passes, double time_s,
                            double step_size, double rho) {
  TracePoint tp;
  tp.step = steps;
  tp.epoch = passes;
  fill_row(tp, m);
  tp.passes = passes;
  tp.time_s = time_s;
  tp.estimate = followed;
  tp.step_size = step_size;
  tp.rho = rho;
  return tp;
}

/// The measure a trace row was made from (trace_row, fill_row): a variance-reduced run's
/// current measure is its last row's, so a resumed run takes it from there.
inline Measure row_measure(const TracePoint& tp) {
  Measure m;
  m.objective = tp.objective;
  m.kappa = tp.kappa;
  m.grad_norm = tp.grad_norm;
  m.gap_bound = tp.gap_bound;
  m.marginal_error = tp.marginal_error;
  m.criterion = tp.criterion;
  m.certified = std::isfinite(tp.gap_bound);  // as measure() and measure_epoch() set it
  return m;
}

/// The certificate gate's state into / from a SolverState.
inline void save_gate(const CertificateGate& g, SolverState& st) {
  st.gate_bound = g.last_bound, st.gate_grad = g.last_grad, st.gate_work = g.last_work;
  st.gate_f = g.f_last, st.gate_drop = g.drop_last, st.gate_checks = g.checks;
  st.gate_prev_bound = g.prev_bound, st.gate_prev_work = g.prev_work, st.gate_last_cost = g.last_cost;
  st.gate_offset = g.offset;
  st.gate_cert_f = g.last_fc, st.gate_prev_cert_f = g.prev_fc, st.gate_prev_cost = g.prev_cost;
}
inline void load_gate(CertificateGate& g, const SolverState& st) {
  g.last_bound = st.gate_bound, g.last_grad = st.gate_grad, g.last_work = st.gate_work;
  g.f_last = st.gate_f, g.drop_last = st.gate_drop, g.checks = st.gate_checks;
  g.prev_bound = st.gate_prev_bound, g.prev_work = st.gate_prev_work, g.last_cost = st.gate_last_cost;
  g.offset = st.gate_offset;
  g.last_fc = st.gate_cert_f, g.prev_fc = st.gate_prev_cert_f, g.prev_cost = st.gate_prev_cost;
}

/// The stored-derivative part of a variance-reduced step on the one group of a DRO problem
/// (SVRG's stored path, SAGA, Prospect): for the drawn items i_b of `itm` at theta,
///   v += sum_b (coef_{i_b} / |B|) (w_b a_b(theta) - table(:, i_b)) (x) x~_{i_b}
/// with s the scores at theta (|B| x 1), a_b = dl/dz at theta (D x |B|, into `a`), the weights
/// w written by weigh(s.col(0), w) and the scaled differences into `diff` (may be `a` itself).
/// Returns false, v untouched, when a difference is not finite. Allocates nothing.
template <ItemDerivativeProblem P, class Ws, class W, class Weigh>
bool add_stored_difference(const P& problem, ConstVecRef theta, const IndexSet& itm, Ws& ws, Mat& s,
                           W&& w, Mat& a, Mat& diff, const Mat& table, const Vec& coef, Vec& v,
                           Weigh&& weigh) {
  const Index nb = itm.size();
  const double inv_b = 1.0 / static_cast<double>(nb);
  problem.scores(theta, IndexSet::range(0, 1), itm, ws, s);
  weigh(s.col(0), w);
  problem.item_derivatives(itm, ws, a);
  for (Index b = 0; b < nb; ++b) {
    const Index i = itm[b];
    diff.col(b) = (coef(i) * inv_b) * (w(b) * a.col(b) - table.col(i));
  }
  if (!diff.allFinite()) return false;
  problem.add_item_gradient(itm, ws, diff, v);
  return true;
}

/// Which way transfer() copies: from the run's variables into a SolverState or back.
struct ToState {};
struct FromState {};
/// Copies each pair (variable, SolverState field) of `pairs` one way (Dir): a loop lists its
/// state once, as such pairs, for both its checkpoints and its resume.
template <class Dir>
void transfer(Dir) {}
template <class Dir, class A, class B, class... Rest>
void transfer(Dir dir, A& var, B& field, Rest&... rest) {
  if constexpr (std::is_same_v<Dir, ToState>) field = var;
  else if constexpr (std::is_same_v<A, bool>) var = field != 0;
  else var = field;
  transfer(dir, rest...);
}

/// Checkpoints of a variance-reduced run (Observer::on_checkpoint), taken at epoch boundaries,
/// where the state is consistent: at the first boundary after every `every` steps, and, when
/// an epoch is interrupted, the state at its start. While checkpoints are on, the run fills
/// `state` at every boundary (one copy of its state per epoch, outside the step loop); with
/// no observer or every = 0 nothing is filled or called.
class EpochCheckpoints {
 public:
  EpochCheckpoints(Observer* observer, long every, long step)
      : observer_(every > 0 ? observer : nullptr), every_(every > 0 ? every : 1),
        next_((step / every_ + 1) * every_) {}
  /// Whether the run must fill `state` at its boundaries.
  bool on() const { return observer_ != nullptr; }
  /// The run's complete state at the last boundary.
  SolverState state;
  /// At an epoch boundary, `state` just filled: hands it out when due; it stays the start of
  /// the epoch that begins now.
  void at_boundary() {
    if (!observer_) return;
    have_ = true;
    if (state.step >= next_) {
      observer_->on_checkpoint(state);
      next_ = (state.step / every_ + 1) * every_;
    }
  }
  /// The run stops: hands out `state` (the start of an interrupted epoch, or a boundary filled
  /// just now).
  void hand_out() {
    if (observer_ && have_) observer_->on_checkpoint(state);
  }
  /// `state` was filled just now outside at_boundary() (a run that stops at a trace row).
  void filled() { have_ = observer_ != nullptr; }

 private:
  Observer* observer_;
  long every_, next_;
  bool have_ = false;
};
}  // namespace lsekit::vr
