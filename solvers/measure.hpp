// Optimality measured at one iterate (SPEC section 6): one exact pass of the one exact
// evaluator for F and grad F, plus the problem's certificate where it has one.
//
//   grad_norm       |grad F(theta)|_2
//   marginal_error  entropic OT: |grad F|_1 = |b - (1/n) sum_i chi(x_i)|_1
//   gap_bound       certified upper bound on F(theta) - F*: DRO regression and classification
//                   by weak duality with the tilted weights (problems/dro_regression.hpp,
//                   problems/dro_classification.hpp; classification needs mu > 0), entropic
//                   OT by the rounded primal-dual gap after a Newton step
//                   (problems/semidiscrete_ot.hpp); NaN where there is none
//   criterion       gap_bound / max(1, |F|) where certified, else grad_norm / max(1, |F|)
//
// passes counts the work in full data passes: 1 for F and grad F plus the certificate's own
// passes (problem.certificate_passes()). Allocates only what the evaluator allocates on first use.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/exact_evaluator.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"

namespace lsekit {

template <class P>
concept CertifiedProblem = requires(const P& p, ConstVecRef theta, double f) {
  { p.gap_bound(theta, f, theta) } -> std::convertible_to<double>;
  { p.certificate_passes() } -> std::convertible_to<double>;
};

/// Problems whose certificate can reuse the Hessian at the point (entropic OT's Newton step).
template <class P>
concept HessianCertifiedProblem = CertifiedProblem<P> && requires(const P& p, ConstVecRef theta,
                                                                  double f, const Mat* h) {
  { p.gap_bound(theta, f, theta, h) } -> std::convertible_to<double>;
  { p.certificate_passes(true) } -> std::convertible_to<double>;
};

/// Problems whose certificate is refined at a cost of its own when a plain bound is near
/// `target` (the absolute gap the caller needs, 0 = always), adding the passes it took.
template <class P>
concept TargetedCertifiedProblem =
    CertifiedProblem<P> && requires(const P& p, ConstVecRef theta, double f, double* passes) {
      { p.gap_bound(theta, f, theta, f, passes) } -> std::convertible_to<double>;
    };

/// The problem's certificate at theta (F = f, grad F = grad; `hessian`: H(theta) when the
/// caller has it, else null; `target`: the absolute gap the caller needs, 0 = as tight as the
/// problem's certificate goes); its passes are added to `passes`. NaN without a certificate.
template <class P>
double certificate(const P& problem, ConstVecRef theta, double f, ConstVecRef grad,
                   const Mat* hessian, double& passes, double target = 0.0) {
  if constexpr (TargetedCertifiedProblem<P>) {
    return problem.gap_bound(theta, f, grad, target, &passes);
  } else if constexpr (HessianCertifiedProblem<P>) {
    passes += problem.certificate_passes(hessian != nullptr);
    return problem.gap_bound(theta, f, grad, hessian);
  } else if constexpr (CertifiedProblem<P>) {
    passes += problem.certificate_passes();
    return problem.gap_bound(theta, f, grad);
  } else {
    return std::nan("");
  }
}

/// The stopping criterion of a measure (relative, see above).
inline double criterion_of(double f, double grad_norm, double gap_bound) {
  const double scale = std::max(1.0, std::abs(f));
  return std::isfinite(gap_bound) ? gap_bound / scale : grad_norm / scale;
}

/// F, grad F (into `grad`), and the optimality measures at theta. `passes` receives the work.
/// group_lse / item_scores: optional further outputs of the same pass (ExactEvaluator::evaluate);
/// hessian / curvature: the Hessian of a semi-dual problem and its per-group curvatures, from
/// the same pass (ExactEvaluator::evaluate_with_hessian), which the certificate then reuses.
template <LseProblem P>
Measure measure(const P& problem, ExactEvaluator<P>& ev, ConstVecRef theta, Vec& grad,
                double* passes = nullptr, bool certify = true, Vec* group_lse = nullptr,
                Vec* item_scores = nullptr, Mat* hessian = nullptr, Vec* curvature = nullptr,
                double target = 0.0) {
  Measure m;
  EvalInfo info;
  if constexpr (SemiDualProblem<P>) {
    if (hessian) m.objective = ev.evaluate_with_hessian(theta, grad, &info, group_lse, *hessian, curvature);
    else m.objective = ev.evaluate(theta, &grad, &info, group_lse, item_scores);
  } else {
    m.objective = ev.evaluate(theta, &grad, &info, group_lse, item_scores);
  }
  m.kappa = info.kappa_mean;
  m.grad_norm = grad.norm();
  double work = 1.0;
  if constexpr (P::kBatchOverGroups) m.marginal_error = grad.template lpNorm<1>();
  if (certify && std::isfinite(m.objective))
    m.gap_bound = certificate(problem, theta, m.objective, grad, hessian, work, target);
  m.certified = std::isfinite(m.gap_bound);
  m.criterion = criterion_of(m.objective, m.grad_norm, m.gap_bound);
  if (passes) *passes += work;
  return m;
}

/// Passes one certificate costs (0 for a problem without one).
template <class P>
double certificate_cost(const P& p) {
  if constexpr (CertifiedProblem<P>) return p.certificate_passes();
  else return 0.0;
}

/// When a solver computes the certificate, which costs `cost` passes of its own. Called once
/// per measured iterate (F = f, |grad F| = gnorm, `work` passes done so far). Never at the start
/// point, nor before `cost` passes of work since the start or the last certificate (so
/// certificates never take more than about half the work; `cost` is the last certificate's
/// own when the caller says, mark(): a refined certificate costs more than a plain one);
/// then at the next check, every 10 `cost` passes, and whenever the certificate may now be
/// below the tolerance by prediction:
///  * once two certificates have decreased, from their rate: the bounds of a linearly
///    converging run fall as the gap does (a constant ratio near the optimum), so the bound
///    now is about B_last (B_last / B_prev)^{(work - w_last) / (w_last - w_prev)}, due when
///    that is 0.8 of the target (a certificate that just misses costs as much as one more);
///  * when the last two certificates were both costly ones (a refined certificate: more than
///    `cost` passes, the same each time), from their ratio to the gap: near the optimum it is
///    about constant (1.5-1.8 for the refined DRO classification bound), B = r (F - F*), so two
///    certificates give r = (B_prev - B_last) / (F_prev - F_last) (at least 1: a bound is never
///    below the gap) and the bound at a later F, exact at every measure, is about
///    B_last - r (F_last - F). The rate above counts the last certificate's own passes, which
///    do not optimize, and lags behind a run that speeds up (on the Fashion-MNIST subset it
///    certified 40-70 passes after the gap was below the tolerance; with this, 33-44);
///  * unless the last certificate cost more than `cost` (a refined one), also by either of:
///    the last bound scaled by the squared decrease of |grad F| since (the certificates are
///    second order near the optimum); the remaining decrease of a linearly converging F: with
///    the last two decreases d1, d2 of F and rho = d2 / d1 < 1, F - F* is about d2 rho / (1 -
///    rho). Both read single iterates, which a stochastic run's noise moves by several times:
///    with a costly certificate they would certify every `cost` passes near the end, while a
///    cheap one is worth trying early when the run speeds up (the rate lags behind then).
/// Never with tol = 0 (fixed budget: the solvers certify the returned iterate only). The
/// certificate itself is rigorous; the gate only decides when it is worth its passes.
struct CertificateGate {
  double tol = 0.0, cost = 1.0;
  double last_bound = num::kInf, last_grad = num::kInf, last_work = 0.0;
  double prev_bound = num::kInf, prev_work = 0.0;
  double last_cost = num::kNaN;  // passes the last certificate took (NaN: `cost`)
  double offset = num::kInf;     // min over the certificates so far of (bound - F there)
  double last_fc = num::kNaN, prev_fc = num::kNaN;  // F at the last two certificates
  double prev_cost = num::kNaN;                      // passes the second-last one took
  double f_last = std::nan(""), drop_last = std::nan("");
  long checks = 0;  // calls that passed the work condition
  bool due(double work, double f, double gnorm) {
    double remaining = num::kInf;  // predicted F - F* from the decreases of F
    if (std::isfinite(f_last) && std::isfinite(f)) {
      const double drop = f_last - f;
      if (drop > 0.0 && drop_last > 0.0 && drop < drop_last) {
        const double rho = drop / drop_last;
        remaining = drop * rho / (1.0 - rho);
      }
      drop_last = drop;
    }
    f_last = f;
    const double since = work - last_work;
    const double spent = std::isnan(last_cost) ? cost : last_cost;
    if (!(tol > 0.0) || since < spent || ++checks == 1) return false;  // never at the start
    if (!std::isfinite(last_bound) || since >= 10.0 * spent) return true;
    const double target = this->target(f);
    if (spent > cost && std::abs(prev_cost - spent) < 0.5 && std::isfinite(prev_bound) &&
        prev_bound > last_bound && prev_fc > last_fc) {
      const double ratio = std::max(1.0, (prev_bound - last_bound) / (prev_fc - last_fc));
      if (last_bound - ratio * (last_fc - f) <= 0.8 * target) return true;
    }
    if (std::isfinite(prev_bound) && last_bound < prev_bound && last_work > prev_work) {
      const double per_pass = std::log(last_bound / prev_bound) / (last_work - prev_work);
      if (last_bound * std::exp(per_pass * since) <= 0.8 * target) return true;
      if (spent > cost) return false;  // a costly certificate waits for the rate
    }
    const double r = gnorm / std::max(last_grad, 1e-300);
    return last_bound * r * r <= target || remaining <= target;
  }
  /// The absolute gap a certificate must reach at F = f.
  double target(double f) const { return tol * std::max(1.0, std::abs(f)); }
  /// What the certificates so far bound at any later point with exact F = f, for free:
  /// F - F* = (F_c - F*) + (f - F_c) <= B_c + f - F_c for each certificate B_c at F_c (F_c is
  /// exact, so a rejected epoch's certificate also bounds the iterate it returned to, whose F
  /// is lower); plus 1e-12 max(1, |f|) for rounding. NaN before any certificate.
  double inherited(double f) const {
    if (!std::isfinite(offset) || !std::isfinite(f)) return num::kNaN;
    return std::max(0.0, f + offset) + 1e-12 * std::max(1.0, std::abs(f));
  }
  /// A point's own bound `own` (NaN: none) lowered to inherited(f) where that is lower.
  double lowered(double own, double f) const {
    const double b = inherited(f);
    return !(own <= b) && std::isfinite(b) ? b : own;
  }
  /// A certificate `bound` at `work` passes (F = f, |grad F| = gnorm) that took `spent` passes.
  void mark(double work, double gnorm, double bound, double spent = num::kNaN, double f = num::kNaN) {
    if (std::isfinite(bound) && std::isfinite(f)) offset = std::min(offset, bound - f);
    prev_cost = last_cost, prev_fc = last_fc, last_fc = f;
    last_cost = spent;
    prev_bound = last_bound, prev_work = last_work;
    last_work = work, last_grad = gnorm;
    last_bound = std::isfinite(bound) ? bound : num::kInf;
  }
};

/// Copies a measure into a trace row.
inline void fill_row(TracePoint& tp, const Measure& m) {
  tp.objective = m.objective;
  tp.kappa = m.kappa;
  tp.grad_norm = m.grad_norm;
  tp.gap_bound = m.gap_bound;
  tp.marginal_error = m.marginal_error;
  tp.criterion = m.criterion;
}

/// Copies the measure of the returned iterate into a result.
inline void fill_result(Result& r, const Measure& m) {
  r.objective = m.objective;
  r.kappa = m.kappa;
  r.grad_norm = m.grad_norm;
  r.gap_bound = m.gap_bound;
  r.marginal_error = m.marginal_error;
  r.criterion = m.criterion;
  r.certified = m.certified;
}

inline std::string sci(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2g", v);
  return b;
}

/// Settles the status of a run that was not stopped by a failure or an interruption, from
/// the measure already in `r` (fill_result): converged when the criterion is <= tol, diverged
/// when F ended non-finite or above its start f0, else budget-exhausted with the criterion
/// and what to do in the message: `advice` when given (a variance-reduced run says what it
/// followed), else raise `budget_option` (the option's field in backquotes: "`epochs`"), and,
/// for a plain stochastic run of an estimator that variance reduction serves, use it.
inline void finish_status(Result& r, const SolverOptions& o, double f0, const char* budget_option,
                          const std::string& advice = {}) {
  if (r.status == Status::Diverged || r.status == Status::Interrupted) {
    if (r.status == Status::Interrupted && r.message.empty()) r.message = "interrupted";
    if (r.message.find("criterion") == std::string::npos)
      r.message += (r.message.empty() ? "" : "; ") + std::string("at the returned iterate: ") +
                   r.criterion_text();
    return;
  }
  if (!std::isfinite(r.objective)) {
    r.status = Status::Diverged;
    r.message = "the exact objective is not finite at the final iterate; reduce the step size";
    return;
  }
  if (r.objective > f0 + 1e-12 * (1.0 + std::abs(f0))) {
    r.status = Status::Diverged;
    r.message = "the run ended above its starting objective (" + sci(r.objective) + " > " +
                sci(f0) + "); reduce the step size";
    return;
  }
  if (o.tol > 0.0 && r.criterion <= o.tol) {
    r.status = Status::Converged;
    r.message = r.criterion_text() + " <= tolerance " + sci(o.tol);
    return;
  }
  r.status = Status::BudgetExhausted;
  const std::string why = r.message.empty() ? "budget exhausted" : r.message;
  // Variance reduction is the advice only where it is not already on and can run.
  const bool plain = o.solver != SolverKind::Full && o.solver != SolverKind::Prospect &&
                     o.solver != SolverKind::BiasedSoftmax &&
                     o.variance_reduction != VarianceReduction::Svrg &&
                     o.variance_reduction != VarianceReduction::Saga;
  const std::string what = !advice.empty() ? advice
                           : std::string("raise ") + budget_option +
                                 (plain ? " or use variance reduction (`variance_reduction=svrg`)" : "");
  r.message = why + ": " + r.criterion_text() +
              (o.tol > 0.0 ? ", tolerance " + sci(o.tol) + ": " + what
                           : " (`tol=0`: the whole budget was run)");
}

}  // namespace lsekit
