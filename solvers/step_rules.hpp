// Step rules of lsekit, independent of the estimator (SPEC section 3).
//
//   sgd       x <- x - eta_k g
//   nesterov  v <- mu v + g;  x <- x - eta_k (g + mu v)        (PyTorch convention)
//   adam      m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
//             x <- x - eta_k (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// Schedules  constant eta_k = eta;  inv-sqrt eta_k = eta / sqrt(k + 1);
//            decay eta_k = eta (1 + k/k0)^(-1/2).
// `apply` works on any Eigen expressions of equal size (dense theta blocks or
// gathered shift coordinates), allocates nothing and is thread-safe.
#pragma once

#include <cmath>

#include "solvers/options.hpp"

namespace lsekit {

inline double schedule_factor(ScheduleKind kind, double k, double k0) {
  switch (kind) {
    case ScheduleKind::Constant: return 1.0;
    case ScheduleKind::InvSqrt: return 1.0 / std::sqrt(k + 1.0);
    case ScheduleKind::Decay: return 1.0 / std::sqrt(1.0 + k / k0);
  }
  return 1.0;
}

struct StepRule {
  OptimizerKind kind = OptimizerKind::Sgd;
  double momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;

  explicit StepRule(const SolverOptions& o)
      : kind(o.optimizer), momentum(o.momentum), beta1(o.beta1), beta2(o.beta2), eps(o.adam_eps) {}

  /// One step on x with gradient g; m, v are the rule's state (same size as x);
  /// t >= 1 counts the steps this coordinate block has taken.
  template <class X, class G, class M, class V>
  void apply(X&& x, const G& g, M&& m, V&& v, double eta, double t) const {
    switch (kind) {
      case OptimizerKind::Sgd:
      case OptimizerKind::Lbfgs:
      case OptimizerKind::Sinkhorn:
        x -= eta * g;
        break;
      case OptimizerKind::Nesterov:
        m = momentum * m + g;
        x -= eta * (g + momentum * m);
        break;
      case OptimizerKind::Adam: {
        m = beta1 * m + (1.0 - beta1) * g;
        v.array() = beta2 * v.array() + (1.0 - beta2) * g.array().square();
        const double c1 = 1.0 / (1.0 - std::pow(beta1, t));
        const double c2 = 1.0 / (1.0 - std::pow(beta2, t));
        x.array() -= eta * (c1 * m.array()) / ((c2 * v.array()).sqrt() + eps);
        break;
      }
    }
  }
};

}  // namespace lsekit
