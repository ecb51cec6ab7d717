// lsekit numerics: the one place for overflow-safe exp/log primitives.
//
// Every function here is exact to rounding for arguments of any magnitude
// (tested at +-1e3, with all-equal inputs and with a single element):
//   softplus(x)     = log(1 + e^x)          = max(x,0) + log1p(e^-|x|)
//   log1p_exp(x)    = softplus(x)
//   sigmoid(x)      = 1 / (1 + e^-x)        (never forms e^{+large})
//   log_sigmoid(x)  = -softplus(-x)
//   logsumexp(s, q) = log sum_i q_i e^{s_i} = m + log sum_i q_i e^{s_i - m}, m = max s
//   softmax(s, q)_i = q_i e^{s_i - lse(s, q)}
// `LseAccumulator` is the streaming (max-shifted) form used by the exact
// evaluator: it absorbs terms one at a time or merges partial sums, always
// keeping sum <= total weight so nothing overflows.
// No function allocates. All are thread-safe (pure).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/types.hpp"

namespace lsekit::num {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline double softplus(double x) {
  return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
}
inline double log1p_exp(double x) { return softplus(x); }

inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
inline double log_sigmoid(double x) { return -softplus(-x); }

/// Streaming log-sum-exp: represents log(sum * e^max). Merging is exact
/// (up to rounding) and independent of magnitudes.
struct LseAccumulator {
  double max = -kInf;
  double sum = 0.0;  // sum of w_i e^{s_i - max}

  /// Add w * e^s.
  void add(double s, double w = 1.0) {
    if (w <= 0.0) return;
    if (s <= max) {
      sum += w * std::exp(s - max);
    } else {
      sum = sum * std::exp(max - s) + w;
      max = s;
    }
  }
  void merge(const LseAccumulator& o) {
    if (o.sum <= 0.0) return;
    if (o.max <= max) {
      sum += o.sum * std::exp(o.max - max);
    } else {
      sum = sum * std::exp(max - o.max) + o.sum;
      max = o.max;
    }
  }
  double value() const { return sum > 0.0 ? max + std::log(sum) : -kInf; }
};

/// log sum_i e^{s_i}. Returns -inf for an empty input.
template <class V>
double logsumexp(const V& s) {
  const Index n = s.size();
  if (n == 0) return -kInf;
  const double m = s.maxCoeff();
  if (!std::isfinite(m)) return m;
  return m + std::log((s.array() - m).exp().sum());
}

/// log sum_i q_i e^{s_i} for weights q_i >= 0.
template <class V, class Q>
double logsumexp(const V& s, const Q& q) {
  const Index n = s.size();
  if (n == 0) return -kInf;
  const double m = s.maxCoeff();
  if (!std::isfinite(m)) return m;
  return m + std::log((q.array() * (s.array() - m).exp()).sum());
}

/// log mean_i e^{s_i}.
template <class V>
double logmeanexp(const V& s) {
  return logsumexp(s) - std::log(static_cast<double>(s.size()));
}

/// out_i = e^{s_i} / sum_j e^{s_j}. `out` may alias `s`.
template <class V, class O>
void softmax(const V& s, O&& out) {
  const double m = s.maxCoeff();
  out = (s.array() - m).exp();
  out /= out.sum();
}

/// log(e^a + e^b) without overflow; -inf is the neutral element.
inline double log_add_exp(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

}  // namespace lsekit::num
