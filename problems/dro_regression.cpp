// DroRegression's member functions (the math is stated in dro_regression.hpp). Out of line,
// so that the Eigen products are compiled once, not in every file including the header.
#include "problems/dro_regression.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace lsekit {

DroRegression::DroRegression(MatRM x, Vec y, double lambda, double l2)
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

DroRegression::Workspace DroRegression::make_workspace(Index /*max_groups*/,
                                                       Index max_items) const {
  Workspace ws;
  ws.xb.resize(max_items, x_.cols());
  ws.r.resize(max_items);
  ws.t.resize(max_items);
  return ws;
}

void DroRegression::scores(ConstVecRef theta, IndexSet /*groups*/, IndexSet items, Workspace& ws,
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

void DroRegression::add_gradient(ConstVecRef /*theta*/, IndexSet /*groups*/, IndexSet items,
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

double DroRegression::regularizer(ConstVecRef theta, Vec* grad) const {
  if (l2_ == 0.0) return 0.0;
  const Index p = x_.cols();
  if (grad) grad->head(p) += l2_ * theta.head(p);
  return 0.5 * l2_ * theta.head(p).squaredNorm();
}

void DroRegression::set_initial_point(Vec theta) {
  if (theta.size() != dim())
    throw std::invalid_argument("DRO regression: initial point has " +
                                std::to_string(theta.size()) + " entries, expected " +
                                std::to_string(dim()));
  start_ = std::move(theta);
}

Vec DroRegression::predict(ConstVecRef theta, const MatRM& x) const {
  const Index p = x_.cols();
  Vec out = x * theta.head(p);
  out.array() += theta(p);
  return out;
}

Vec DroRegression::least_squares() const {
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

}  // namespace lsekit
