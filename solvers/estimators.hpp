// Stochastic gradient estimators of lsekit (SPEC section 3): the only thing that
// differs between solvers is how a group's minibatch scores become weights.
//
// For one group k, a minibatch of items with scores s_i = l_k(xi_i; theta) and
// probabilities q_i (1/|B| for sampled items; nu_i when the batch is the whole
// group), an estimator returns weights w_i such that the step direction is
//   sum_i q_i w_i grad l_i,
// the derivative of its surrogate in the shift alpha (when it has one), and an
// estimate of its surrogate value. Weights are written into `w` (same size as s).
//
//  BiasedSoftmax   surrogate  lambda log sum_B q e^{s/lambda}       (tilted averaging,
//                  w_i = e^{s_i/lambda} / sum_B q e^{s/lambda}       Li et al. 2023);
//                  biased for grad F unless B is the whole group.
//  VariationalLog  surrogate  alpha - lambda + lambda E e^{(s-alpha)/lambda}
//                  w_i = e^{(s_i - alpha)/lambda} (unbounded),  d/dalpha = 1 - E w.
//                  Unbiased; at alpha = F the surrogate equals F exactly.
//  Softplus(rho)   surrogate  alpha - lambda + (lambda/rho) E softplus((s-alpha)/lambda + log rho)
//                  w_i = 1 / (rho + e^{(alpha - s_i)/lambda}) <= 1/rho,  d/dalpha = 1 - E w.
//                  Unbiased for the relaxation F_rho <= F <= F_rho + O(lambda rho kappa)
//                  (Gladin, Kroshnin, Zhu, Dvurechensky 2025); -> VariationalLog as rho -> 0.
//  SumExp          surrogate  lambda E e^{s/lambda} ("stripped" form), w_i = e^{s_i/lambda}.
//                  Same minimizer as F for one group; overflows unless steps are tiny.
//  Erm             surrogate  E s, w_i = 1 (the lambda -> infinity limit).
//
// All are stateless value types; none allocates; thread-safe.
#pragma once

#include <algorithm>
#include <cmath>

#include "core/numerics.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"

namespace lsekit {

/// The hooks every estimator offers the stochastic loop (solvers/stochastic_solver.hpp), so
/// that the loop never names an estimator: a parameter the estimator adapts while the run goes
/// (softplus's rho) with its state, and the advice a divergence message gives. The defaults
/// adapt nothing.
struct FixedEstimator {
  /// Appended to "reduce `step`" in a divergence message (options named by field, in backquotes).
  static constexpr const char* kAdvice = "";
  /// Whether the estimator's surrogate decreases with F (then an F above its start means the
  /// run went wrong); erm minimizes the mean loss, along which the DRO objective may rise.
  static constexpr bool kFollowsF = true;
  /// Called once before the first step with the run's options.
  void start(const SolverOptions&) {}
  /// Sees the scores of one group's minibatch before they become weights.
  template <class S, class Q>
  void observe(const S&, const Q&, double /*lambda*/, bool /*batch_over_groups*/) {}
  /// Called at the end of every block of steps (one epoch, at least 20 steps).
  void end_block(const SolverOptions&) {}
  /// The adapted parameter, reported in the trace (`rho`); 0 when there is none.
  double param() const { return 0.0; }
  void save(SolverState&) const {}
  void restore(const SolverState&) {}
};

/// What an estimator reports for one group's minibatch.
struct GroupStep {
  double estimate = 0.0;  // surrogate value estimate
  double dalpha = 0.0;    // derivative of the surrogate in alpha (0 without a shift)
  double mean_w = 0.0;    // sum_i q_i w_i
  double mean_w2 = 0.0;   // sum_i q_i w_i^2 (for the kappa estimate)
};

struct BiasedSoftmax : FixedEstimator {
  static constexpr bool kHasShift = false;
  static constexpr const char* kName = "biased-softmax";
  template <class S, class Q, class W>
  GroupStep weights(const S& s, const Q& q, double lambda, double /*alpha*/, W&& w) const {
    const double mx = s.maxCoeff();
    w = ((s.array() - mx) / lambda).exp().matrix();
    const double z = (q.array() * w.array()).sum();
    w /= z;
    GroupStep r;
    r.estimate = mx + lambda * std::log(z);
    r.mean_w = 1.0;
    r.mean_w2 = (q.array() * w.array().square()).sum();
    return r;
  }
};

struct VariationalLog : FixedEstimator {
  static constexpr bool kHasShift = true;
  static constexpr const char* kName = "variational-log";
  static constexpr const char* kAdvice = " or use `solver=softplus`, whose weights are bounded by 1/rho";
  template <class S, class Q, class W>
  GroupStep weights(const S& s, const Q& q, double lambda, double alpha, W&& w) const {
    w = ((s.array() - alpha) / lambda).exp().matrix();
    GroupStep r;
    r.mean_w = (q.array() * w.array()).sum();
    r.mean_w2 = (q.array() * w.array().square()).sum();
    r.estimate = alpha - lambda + lambda * r.mean_w;
    r.dalpha = 1.0 - r.mean_w;
    return r;
  }
};

/// Adaptive rho (rho = 0 in the options): kappa = E u^2 / (E u)^2 with u = exp(s/lambda) is
/// estimated from running (log-domain) block means of the minibatch moments, and
/// rho = clamp(target / kappa_hat, rho_min, rho_max) keeps the relaxation bias
/// F - F_rho ~ lambda rho kappa / 2 near lambda * target / 2.
struct Softplus {
  static constexpr bool kFollowsF = true;
  static constexpr bool kHasShift = true;
  static constexpr const char* kName = "softplus";
  static constexpr const char* kAdvice = " or raise `rho`";
  double rho = 1e-3;
  bool adaptive = false;
  double log_mom1 = -num::kInf, log_mom2 = -num::kInf, mom_count = 0.0;

  void start(const SolverOptions& o) {
    adaptive = o.rho == 0.0;
    rho = adaptive ? o.rho_max : o.rho;
  }
  template <class S, class Q>
  void observe(const S& sg, const Q& q, double lambda, bool over_groups) {
    if (!adaptive) return;
    // log sum q u and log sum q u^2 with u = exp(s/lambda), overflow-free.
    const double mx = sg.maxCoeff();
    const auto e = ((sg.array() - mx) / lambda).exp();
    const double s1 = (q.array() * e).sum(), s2 = (q.array() * e.square()).sum();
    // Absolute log-moments (no reference point), so rows from different steps mix consistently.
    // Many groups (OT): each group's moments relative to its own minibatch LSE (so the
    // block estimates mean_k kappa_k), since the groups' scales e^{L_k/lambda} differ by
    // orders of magnitude and their shifts alpha_k are only updated when visited.
    const double ref = over_groups ? mx + lambda * std::log(s1) : 0.0;
    const double l1 = (mx - ref) / lambda + std::log(s1);
    const double l2 = 2.0 * (mx - ref) / lambda + std::log(s2);
    log_mom1 = num::log_add_exp(log_mom1, l1);
    log_mom2 = num::log_add_exp(log_mom2, l2);
    mom_count += 1.0;
  }
  void end_block(const SolverOptions& o) {
    if (!adaptive) return;
    // kappa_hat = mean(E_B u^2) / mean(E_B u)^2 over the block (>= 1 by Jensen).
    const double lc = std::log(mom_count);
    const double kappa_hat = std::max(1.0, std::exp((log_mom2 - lc) - 2.0 * (log_mom1 - lc)));
    if (std::isfinite(kappa_hat)) rho = std::clamp(o.rho_kappa / kappa_hat, o.rho_min, o.rho_max);
    log_mom1 = log_mom2 = -num::kInf;
    mom_count = 0.0;
  }
  double param() const { return rho; }
  void save(SolverState& st) const {
    st.rho = rho;
    st.log_mom1 = log_mom1;
    st.log_mom2 = log_mom2;
    st.mom_count = mom_count;
  }
  void restore(const SolverState& st) {
    rho = st.rho;
    log_mom1 = st.log_mom1;
    log_mom2 = st.log_mom2;
    mom_count = st.mom_count;
  }
  template <class S, class Q, class W>
  GroupStep weights(const S& s, const Q& q, double lambda, double alpha, W&& w) const {
    // z_i = (s_i - alpha)/lambda + log rho;  w_i = sigmoid(z_i)/rho <= 1/rho.
    // One exp per item: e_i = e^{-|z_i|} in (0,1] (never overflows), kept in w, gives both
    //   softplus(z) = max(z,0) + log1p(e)  and  sigmoid(z) = z >= 0 ? 1/(1+e) : e/(1+e).
    // log1p(e) = log(u) e / (u - 1), u = 1 + e (Goldberg's trick: a few ulps, vectorized;
    // = e where u rounds to 1), so softplus keeps relative precision where it is ~e^z, which
    // matters because the sum is multiplied by lambda/rho.
    const double lr = std::log(rho);
    const auto z = (s.array() - alpha) / lambda + lr;
    w = (-z.abs()).exp().matrix();
    const auto e = w.array();
    const auto u = 1.0 + e;
    const auto l1p = (u == 1.0).select(e, u.log() * e / (u - 1.0));
    const double est = (q.array() * (z.max(0.0) + l1p)).sum();
    w = ((z >= 0.0).select(1.0, e) / (u * rho)).matrix();
    GroupStep r;
    r.mean_w = (q.array() * w.array()).sum();
    r.mean_w2 = (q.array() * w.array().square()).sum();
    r.estimate = alpha - lambda + (lambda / rho) * est;
    r.dalpha = 1.0 - r.mean_w;
    return r;
  }
};

struct SumExp : FixedEstimator {
  static constexpr bool kHasShift = false;
  static constexpr const char* kName = "sumexp";
  static constexpr const char* kAdvice = " or use `solver=softplus`, whose weights are bounded by 1/rho";
  template <class S, class Q, class W>
  GroupStep weights(const S& s, const Q& q, double lambda, double /*alpha*/, W&& w) const {
    w = (s.array() / lambda).exp().matrix();
    GroupStep r;
    r.mean_w = (q.array() * w.array()).sum();
    r.mean_w2 = (q.array() * w.array().square()).sum();
    r.estimate = lambda * r.mean_w;
    return r;
  }
};

struct Erm : FixedEstimator {
  static constexpr bool kFollowsF = false;
  static constexpr bool kHasShift = false;
  static constexpr const char* kName = "erm";
  template <class S, class Q, class W>
  GroupStep weights(const S& s, const Q& q, double /*lambda*/, double /*alpha*/, W&& w) const {
    w.setOnes();
    GroupStep r;
    r.mean_w = r.mean_w2 = 1.0;
    r.estimate = (q.array() * s.array()).sum();
    return r;
  }
};

/// Exact values of the one-group surrogates at fixed scores (used by tests and
/// reports). F = lambda log sum q e^{s/lambda};
/// F_rho = min_alpha [alpha + (lambda/rho) sum q softplus((s - alpha)/lambda + log rho)] - lambda.
struct Relaxation {
  double value = 0.0;  // F_rho
  double alpha = 0.0;  // its minimizing shift
};

/// F_rho and alpha* by safeguarded Newton on phi(alpha) = 1 - sum q w(alpha) (increasing
/// in alpha, phi(F) >= 0). Converges to machine precision; allocation-free.
template <class S, class Q>
Relaxation softplus_relaxation(const S& s, const Q& q, double lambda, double rho) {
  const double f = lambda * num::logsumexp((s.array() / lambda).matrix(), q);
  const double lr = std::log(rho);
  auto phi = [&](double a, double* dphi) {
    double sw = 0.0, sd = 0.0;
    for (Index i = 0; i < s.size(); ++i) {
      const double wi = num::sigmoid((s[i] - a) / lambda + lr) / rho;
      sw += q[i] * wi;
      sd += q[i] * wi * (1.0 - rho * wi);
    }
    if (dphi) *dphi = sd / lambda;
    return 1.0 - sw;
  };
  double hi = f, lo = f - lambda;
  // Bracket expansion, bounded: at a huge |f| the gap f - lo can round to 0.
  for (int k = 0; k < 2000 && phi(lo, nullptr) > 0.0; ++k)
    lo -= std::max(2.0 * (hi - lo), lambda * (1.0 + std::abs(lo)) * 1e-3);
  if (!(phi(lo, nullptr) <= 0.0)) return {std::nan(""), std::nan("")};
  double a = 0.5 * (lo + hi);
  for (int it = 0; it < 200; ++it) {
    double d = 0.0;
    const double v = phi(a, &d);
    if (v > 0.0) hi = a; else lo = a;
    double next = (d > 0.0) ? a - v / d : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::abs(next - a) <= 1e-15 * (1.0 + std::abs(a)) || hi - lo <= 1e-15 * (1.0 + std::abs(a))) {
      a = next;
      break;
    }
    a = next;
  }
  double acc = 0.0;
  for (Index i = 0; i < s.size(); ++i) acc += q[i] * num::softplus((s[i] - a) / lambda + lr);
  return {a + (lambda / rho) * acc - lambda, a};
}

}  // namespace lsekit
