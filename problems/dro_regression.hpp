// KL-DRO regression = tilted least squares (SPEC section 2.1).
//
//   theta = (w, b) in R^{p+1},  l_i(theta) = (w.x_i + b - y_i)^2,
//   F(theta) = lambda log( (1/n) sum_i exp(l_i / lambda) ) + (mu/2) |w|^2.
//
// One group (k = 0) whose items are the n training samples, uniform nu.
// lambda -> infinity recovers least squares, lambda -> 0 the worst-case loss.
// Reference: Li, Beirami, Sanjabi, Smith, "Tilted Empirical Risk Minimization",
// ICLR 2021; KL-DRO duality, e.g. Gladin, Kroshnin, Zhu, Dvurechensky (2025).
//
// Shapes: X is n x p row-major (one sample per row), y has n entries.
// The intercept is never regularized. Scores and gradients are one GEMV each
// over a block view (contiguous items) or over gathered rows (sampled items);
// nothing allocates after make_workspace(). Const methods are thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/problem.hpp"

namespace lsekit {

class DroRegression {
 public:
  static constexpr bool kBatchOverGroups = false;
  double certificate_passes() const { return 1.0; }  // gap_bound(): one pass over X

  struct Workspace {
    MatRM xb;  // gathered rows (max_items x p)
    Vec r;     // residuals of the last scores() call
    Vec t;     // scratch: 2 r_i W_i
  };

  DroRegression(MatRM x, Vec y, double lambda, double l2 = 0.0);

  Index dim() const { return x_.cols() + 1; }
  Index num_features() const { return x_.cols(); }
  Index num_groups() const { return 1; }
  Index num_items() const { return x_.rows(); }
  double temperature() const { return lambda_; }
  double l2() const { return l2_; }
  const Vec* item_prob() const { return nullptr; }
  const MatRM& x() const { return x_; }
  const Vec& y() const { return y_; }

  Workspace make_workspace(Index /*max_groups*/, Index max_items) const;

  /// S(i, 0) = (w.x_{items[i]} + b - y_{items[i]})^2; S is items.size() x 1.
  void scores(ConstVecRef theta, IndexSet /*groups*/, IndexSet items, Workspace& ws,
              MatRef s) const;

  /// grad += sum_i W(i,0) * 2 r_i (x_i, 1).
  void add_gradient(ConstVecRef /*theta*/, IndexSet /*groups*/, IndexSet items,
                    Workspace& ws, ConstMatRef w, VecRef grad) const;

  /// Per-item derivatives (ItemDerivativeProblem, core/problem.hpp): l_i depends on theta
  /// through the residual z_i = r_i = w.x_i + b - y_i alone, so D = 1 and
  ///   grad l_i = a_i (x_i, 1),  a_i = dl_i/dr_i = 2 r_i.
  Index derivative_dim() const { return 1; }

  /// a(0, i) = 2 r_i for the residuals of the preceding scores() call (a is 1 x items.size()).
  void item_derivatives(IndexSet items, Workspace& ws, MatRef a) const;

  /// grad += sum_i c(0, i) (x_{items[i]}, 1): one GEMV over the rows the preceding scores()
  /// call on the same items viewed or gathered (c is 1 x items.size()).
  void add_item_gradient(IndexSet items, Workspace& ws, ConstMatRef c, VecRef grad) const;

  /// (mu/2) |w|^2, intercept excluded.
  double regularizer(ConstVecRef theta, Vec* grad) const;

  /// The start of every solver: 0 unless set_initial_point() chose another.
  Vec initial_point() const { return start_.size() ? start_ : Vec::Zero(dim()); }
  void set_initial_point(Vec theta);

  /// Ordinary least squares on the training data, (w, b) = argmin sum_i (w.x_i + b - y_i)^2
  /// (lambda and mu play no part): b = mean(y) - mean(x).w with w from the normal equations
  /// of the centred data (centring keeps them well conditioned), the minimum-norm w when
  /// they are singular. Streams X in row blocks, so memory is O(p^2), not a copy of X.
  Vec least_squares() const;

  /// Certified bound on F(theta) - F* by weak duality (SPEC section 6). With the tilted
  /// weights p = softmax(l(theta)/lambda) (the maximizer of the KL-DRO inner problem),
  ///   F(theta) - F* <= [sum_i p_i l_i(theta) + R(theta)] - min_t [sum_i p_i l_i(t) + R(t)],
  /// (the KL terms cancel), the inner minimum a p-weighted ridge regression solved in closed
  /// form: centred weighted normal equations (C + (mu/2) I) w = c through an eigendecomposition
  /// (pseudo-inverse when C is singular and mu = 0), min = s_yy - sum_k (v_k.c)^2 / l_k.
  /// `f` = F(theta); `grad` is unused. O(n p^2 + p^3); a rounding allowance of
  /// 1e-13 (s_yy + |primal|) keeps the bound valid in floating point.
  double gap_bound(ConstVecRef theta, double f, ConstVecRef grad) const;

  /// Curvature bound of the tilted per-sample term at score l_i (variance-reduced solvers'
  /// importance sampling, Gladin et al. / SVRG): for e^{l/lambda} with l = r^2,
  ///   |d^2/dtheta^2| <= (h + a^2/lambda) |x~_i|^2,  h = 2, a = dl/dr = 2r (a^2 = 4 l),
  /// x~_i = (x_i, 1); the solver multiplies by the tilted weight.
  double item_smoothness(Index i, double score) const {
    return (2.0 + 4.0 * score / lambda_) * (xnorm2_(i) + 1.0);
  }
  /// The loss's own curvature, without the tilt term: 2 |x~_i|^2.
  double loss_smoothness(Index i) const { return 2.0 * (xnorm2_(i) + 1.0); }

  /// Predictions w.x + b for rows of `x`.
  Vec predict(ConstVecRef theta, const MatRM& x) const;

 private:
  MatRM x_;
  Vec y_;
  double lambda_;
  double l2_;
  Vec start_;  // empty: start at 0
  Vec xnorm2_;  // |x_i|^2
};

static_assert(LseProblem<DroRegression>);
static_assert(ItemDerivativeProblem<DroRegression>);

}  // namespace lsekit
