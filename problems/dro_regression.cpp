// DroRegression's member functions (the math is stated in dro_regression.hpp). Out of line,
// so that the Eigen products are compiled once, not in every file including the header.
#include "problems/dro_regression.hpp"

#include <Eigen/Eigenvalues>
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
  xnorm2_ = x_.rowwise().squaredNorm();
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

void DroRegression::item_derivatives(IndexSet items, Workspace& ws, MatRef a) const {
  a.row(0) = 2.0 * ws.r.head(items.size()).transpose();
}

void DroRegression::add_item_gradient(IndexSet items, Workspace& ws, ConstMatRef c,
                                      VecRef grad) const {
  const Index m = items.size();
  const Index p = x_.cols();
  auto t = ws.t.head(m);
  t = c.row(0).transpose();
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

double DroRegression::gap_bound(ConstVecRef theta, double f, ConstVecRef /*grad*/) const {
  const Index n = x_.rows(), p = x_.cols();
  if (!std::isfinite(f) || !theta.allFinite()) return std::nan("");
  const double reg = regularizer(theta, nullptr);
  const double lse = f - reg;  // lambda log mean exp(l / lambda)
  // Tilted weights p_i = exp((l_i - L)/lambda) / n and the primal part sum p_i l_i.
  Vec r = x_ * theta.head(p);
  r.array() += theta(p) - y_.array();
  const Vec l = r.array().square();
  Vec pw = ((l.array() - lse) / lambda_).exp() / static_cast<double>(n);
  const double psum = pw.sum();
  if (!(psum > 0.0) || !std::isfinite(psum)) return std::nan("");
  pw /= psum;  // exactly normalized (differs from the exact weights by rounding only)
  const double primal = pw.dot(l) + reg;
  // Weighted ridge: centre with the p-weighted means.
  const Eigen::RowVectorXd xm = pw.transpose() * x_;
  const double ym = pw.dot(y_);
  Mat cov = Mat::Zero(p, p);
  Vec cxy = Vec::Zero(p);
  double syy = 0.0;
  constexpr Index kBlock = 4096;
  MatRM xc(std::min(kBlock, n), p);
  for (Index r0 = 0; r0 < n; r0 += kBlock) {
    const Index m = std::min(kBlock, n - r0);
    xc.topRows(m) = x_.middleRows(r0, m).rowwise() - xm;
    const Vec yc = y_.segment(r0, m).array() - ym;
    const Vec sp = pw.segment(r0, m).array().sqrt();
    const MatRM xs = sp.asDiagonal() * xc.topRows(m);
    cov.noalias() += xs.transpose() * xs;
    cxy.noalias() += xs.transpose() * sp.cwiseProduct(yc);
    syy += pw.segment(r0, m).dot(yc.cwiseAbs2());
  }
  cov.diagonal().array() += 0.5 * l2_;
  Eigen::SelfAdjointEigenSolver<Mat> es(cov);
  const Vec proj = es.eigenvectors().transpose() * cxy;
  const Vec& ev = es.eigenvalues();
  const double cut = 1e-13 * std::max(ev.cwiseAbs().maxCoeff(), 1e-300);
  double fit = 0.0;
  for (Index k = 0; k < p; ++k)
    if (ev(k) > cut) fit += proj(k) * proj(k) / ev(k);
  const double inner_min = std::max(syy - fit, 0.0);
  const double gap = primal - inner_min;
  if (!std::isfinite(gap)) return std::nan("");
  return std::max(gap, 0.0) + 1e-13 * (syy + std::abs(primal)) + 1e-15 * std::abs(f);
}

}  // namespace lsekit
