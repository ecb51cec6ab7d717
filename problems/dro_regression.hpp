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

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "problems/problem.hpp"

namespace lsekit {

class DroRegression {
 public:
  static constexpr bool kBatchOverGroups = false;

  struct Workspace {
    MatRM xb;  // gathered rows (max_items x p)
    Vec r;     // residuals of the last scores() call
    Vec t;     // scratch: 2 r_i W_i
  };

  DroRegression(MatRM x, Vec y, double lambda, double l2 = 0.0)
      : x_(std::move(x)), y_(std::move(y)), lambda_(lambda), l2_(l2) {
    if (x_.rows() != y_.size())
      throw std::invalid_argument("DRO regression: X has " + std::to_string(x_.rows()) +
                                  " rows but y has " + std::to_string(y_.size()) + " entries");
    if (x_.rows() == 0) throw std::invalid_argument("DRO regression: no training samples");
    if (!(lambda_ > 0.0) || !std::isfinite(lambda_))
      throw std::invalid_argument("DRO regression: lambda must be finite and > 0");
    if (!(l2_ >= 0.0) || !std::isfinite(l2_))
      throw std::invalid_argument("DRO regression: l2 must be finite and >= 0");
  }

  Index dim() const { return x_.cols() + 1; }
  Index num_features() const { return x_.cols(); }
  Index num_groups() const { return 1; }
  Index num_items() const { return x_.rows(); }
  double temperature() const { return lambda_; }
  double l2() const { return l2_; }
  const Vec* item_prob() const { return nullptr; }
  const MatRM& x() const { return x_; }
  const Vec& y() const { return y_; }

  Workspace make_workspace(Index /*max_groups*/, Index max_items) const {
    Workspace ws;
    ws.xb.resize(max_items, x_.cols());
    ws.r.resize(max_items);
    ws.t.resize(max_items);
    return ws;
  }

  /// S(i, 0) = (w.x_{items[i]} + b - y_{items[i]})^2; S is items.size() x 1.
  void scores(ConstVecRef theta, IndexSet /*groups*/, IndexSet items, Workspace& ws,
              MatRef s) const {
    const Index m = items.size();
    const Index p = x_.cols();
    auto r = ws.r.head(m);
    if (items.contiguous()) {
      r.noalias() = x_.middleRows(items.start, m) * theta.head(p);
      r.array() += theta(p) - y_.segment(items.start, m).array();
    } else {
      for (Index i = 0; i < m; ++i) {
        ws.xb.row(i) = x_.row(items[i]);
        ws.t(i) = y_(items[i]);
      }
      r.noalias() = ws.xb.topRows(m) * theta.head(p);
      r.array() += theta(p) - ws.t.head(m).array();
    }
    s.col(0) = r.array().square();
  }

  /// grad += sum_i W(i,0) * 2 r_i (x_i, 1).
  void add_gradient(ConstVecRef /*theta*/, IndexSet /*groups*/, IndexSet items,
                    Workspace& ws, ConstMatRef w, VecRef grad) const {
    const Index m = items.size();
    const Index p = x_.cols();
    auto t = ws.t.head(m);
    t = 2.0 * ws.r.head(m).cwiseProduct(w.col(0));
    if (items.contiguous())
      grad.head(p).noalias() += x_.middleRows(items.start, m).transpose() * t;
    else
      grad.head(p).noalias() += ws.xb.topRows(m).transpose() * t;
    grad(p) += t.sum();
  }

  /// (mu/2) |w|^2, intercept excluded.
  double regularizer(ConstVecRef theta, Vec* grad) const {
    if (l2_ == 0.0) return 0.0;
    const Index p = x_.cols();
    if (grad) grad->head(p) += l2_ * theta.head(p);
    return 0.5 * l2_ * theta.head(p).squaredNorm();
  }

  /// The start of every solver: 0 unless set_initial_point() chose another.
  Vec initial_point() const { return start_.size() ? start_ : Vec::Zero(dim()); }
  void set_initial_point(Vec theta) {
    if (theta.size() != dim())
      throw std::invalid_argument("DRO regression: initial point has " + std::to_string(theta.size()) +
                                  " entries, expected " + std::to_string(dim()));
    start_ = std::move(theta);
  }

  /// Ordinary least squares on the training data, (w, b) = argmin sum_i (w.x_i + b - y_i)^2
  /// (lambda and mu play no part): b = mean(y) - mean(x).w with w from the normal equations
  /// of the centred data (centring keeps them well conditioned), the minimum-norm w when
  /// they are singular. Streams X in row blocks, so memory is O(p^2), not a copy of X.
  Vec least_squares() const {
    const Index n = x_.rows(), p = x_.cols();
    const Eigen::RowVectorXd x_mean = x_.colwise().mean();
    const double y_mean = y_.mean();
    Mat gram = Mat::Zero(p, p);
    Vec xty = Vec::Zero(p);
    constexpr Index kBlock = 4096;
    MatRM xc(std::min(kBlock, n), p);
    for (Index r0 = 0; r0 < n; r0 += kBlock) {
      const Index m = std::min(kBlock, n - r0);
      xc.topRows(m) = x_.middleRows(r0, m).rowwise() - x_mean;
      gram.noalias() += xc.topRows(m).transpose() * xc.topRows(m);
      xty.noalias() += xc.topRows(m).transpose() * (y_.segment(r0, m).array() - y_mean).matrix();
    }
    Vec theta(p + 1);
    theta.head(p) = gram.completeOrthogonalDecomposition().solve(xty);
    theta(p) = y_mean - x_mean.dot(theta.head(p));
    return theta;
  }

  /// Predictions w.x + b for rows of `x`.
  Vec predict(ConstVecRef theta, const MatRM& x) const {
    const Index p = x_.cols();
    Vec out = x * theta.head(p);
    out.array() += theta(p);
    return out;
  }

 private:
  MatRM x_;
  Vec y_;
  double lambda_;
  double l2_;
  Vec start_;  // empty: start at 0
};

static_assert(LseProblem<DroRegression>);

}  // namespace lsekit
