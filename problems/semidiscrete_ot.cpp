// SemiDiscreteOt's member functions (the math and the GEMM panels are stated in
// semidiscrete_ot.hpp). Out of line, so that the Eigen products are compiled once, not in
// every file including the header.
#include "problems/semidiscrete_ot.hpp"

#include <Eigen/Cholesky>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/exact_evaluator.hpp"

namespace lsekit {
SemiDiscreteOt::SemiDiscreteOt(const MatRM& x, const MatRM& y, const Vec& b, double epsilon)
    : x_(&x), y_(&y), eps_(epsilon) {
  auto fail = [](const std::string& m) { throw std::invalid_argument("entropic OT: " + m); };
  if (x.rows() < 1 || x.cols() < 1) fail("no source samples");
  if (y.rows() < 1) fail("no target atoms");
  if (y.cols() != x.cols())
    fail("atoms have dimension " + std::to_string(y.cols()) + " but source samples " +
         std::to_string(x.cols()));
  if (b.size() != y.rows())
    fail("b has " + std::to_string(b.size()) + " entries but there are " +
         std::to_string(y.rows()) + " atoms");
  if (!(eps_ > 0.0) || !std::isfinite(eps_)) fail("epsilon must be finite and > 0");
  if (!b.allFinite() || (b.array() < 0.0).any()) fail("b must be finite and >= 0");
  const double total = b.sum();
  if (!(total > 0.0)) fail("b must have a positive sum");
  b_ = b / total;
  xnorm_ = x.rowwise().squaredNorm();
  ynorm_ = y.rowwise().squaredNorm();
}

SemiDiscreteOt::Workspace SemiDiscreteOt::make_workspace(Index max_groups, Index max_items) const {
  const Index d = x_->cols();
  Workspace ws;
  ws.xb.resize(max_groups, d);
  ws.yb.resize(max_items, d);
  ws.xn.resize(max_groups);
  ws.gy.resize(max_items);
  ws.t.resize(max_items);
  return ws;
}

void SemiDiscreteOt::scores(ConstVecRef g, IndexSet groups, IndexSet items, Workspace& ws,
                            MatRef s) const {
  const Index gn = groups.size(), in = items.size();
  auto xn = ws.xn.head(gn);
  auto gy = ws.gy.head(in);
  if (groups.contiguous()) {
    xn = xnorm_.segment(groups.start, gn);
  } else {
    for (Index k = 0; k < gn; ++k) {
      ws.xb.row(k) = x_->row(groups[k]);
      xn(k) = xnorm_(groups[k]);
    }
  }
  if (items.contiguous()) {
    gy = g.segment(items.start, in) - ynorm_.segment(items.start, in);
  } else {
    for (Index j = 0; j < in; ++j) {
      ws.yb.row(j) = y_->row(items[j]);
      gy(j) = g(items[j]) - ynorm_(items[j]);
    }
  }
  // s = 2 Y X^T on views (contiguous) or gathered rows: one GEMM, issued in panels bounded
  // by kPanel and kPanelWork (stack-only packing buffers, never split across threads).
  auto gemm = [&](const auto& yv, const auto& xv) {
    const Index d = x_->cols();
    // Groups per panel: at most as many as leave room for 32 item rows within kPanelWork.
    const Index kstep = std::max<Index>(1, std::min(kPanel / d, kPanelWork / (32 * d)));
    for (Index k0 = 0; k0 < gn; k0 += kstep) {
      const Index kn = std::min(kstep, gn - k0);
      const Index jstep = std::max<Index>(1, std::min(kPanel / d, kPanelWork / (kn * d)));
      for (Index j0 = 0; j0 < in; j0 += jstep) {
        const Index jn = std::min(jstep, in - j0);
        s.block(j0, k0, jn, kn).noalias() =
            2.0 * yv.middleRows(j0, jn) * xv.middleRows(k0, kn).transpose();
      }
    }
  };
  const bool yc = items.contiguous(), xc = groups.contiguous();
  if (yc && xc)
    gemm(y_->middleRows(items.start, in), x_->middleRows(groups.start, gn));
  else if (yc)
    gemm(y_->middleRows(items.start, in), ws.xb.topRows(gn));
  else if (xc)
    gemm(ws.yb.topRows(in), x_->middleRows(groups.start, gn));
  else
    gemm(ws.yb.topRows(in), ws.xb.topRows(gn));
  for (Index k = 0; k < gn; ++k) s.col(k).array() += gy.array() - xn(k);
}

void SemiDiscreteOt::add_gradient(ConstVecRef /*g*/, IndexSet groups, IndexSet items, Workspace& ws,
                                  ConstMatRef w, VecRef grad) const {
  const Index gn = groups.size(), in = items.size();
  auto t = ws.t.head(in);
  t = w.col(0);
  for (Index k = 1; k < gn; ++k) t += w.col(k);
  if (items.contiguous()) {
    grad.segment(items.start, in) += t;
  } else {
    for (Index j = 0; j < in; ++j) grad(items[j]) += t(j);
  }
}

double SemiDiscreteOt::regularizer(ConstVecRef g, Vec* grad) const {
  if (grad) *grad -= b_;
  return -b_.dot(g);
}

void SemiDiscreteOt::plan_outputs(ConstVecRef g, const Vec& lse, Vec* cost, Vec* kl, MatRM* bary,
                                  IVec* assign) const {
  const Index n = num_groups(), m = num_items(), d = space_dim();
  if (lse.size() != n) throw std::invalid_argument("entropic OT: plan_outputs: lse size");
  if (cost) cost->resize(n);
  if (kl) kl->resize(n);
  if (bary) bary->resize(n, d);
  if (assign) assign->resize(n);
  const Index block = std::max<Index>(1, (Index{1} << 16) / m);
  const Index nblocks = (n + block - 1) / block;
  const Vec logb = b_.array().log();
#pragma omp parallel
  {
    Workspace ws = make_workspace(block, m);
    Mat s(m, block), chi(m, block);
    Vec r(m);
#pragma omp for schedule(dynamic, 1)
    for (Index bi = 0; bi < nblocks; ++bi) {
      const Index i0 = bi * block, gn = std::min(block, n - i0);
      auto sb = s.leftCols(gn);
      auto cb = chi.leftCols(gn);
      scores(g, IndexSet::range(i0, gn), IndexSet::range(0, m), ws, sb);
      for (Index k = 0; k < gn; ++k) {
        const Index i = i0 + k;
        // log(chi_j / b_j) = (S_j - L_i) / eps; chi_j = b_j e^{that}.
        r.array() = (sb.col(k).array() - lse(i)) / eps_;
        cb.col(k).array() = b_.array() * r.array().exp();
        if (cost) cost->coeffRef(i) = (cb.col(k).array() * (g.array() - sb.col(k).array())).sum();
        if (kl) kl->coeffRef(i) = (cb.col(k).array() * r.array()).sum();
        if (assign) {
          Index best = 0;
          double bv = -std::numeric_limits<double>::infinity();
          for (Index j = 0; j < m; ++j) {
            const double v = r(j) + logb(j);
            if (v > bv) bv = v, best = j;
          }
          assign->coeffRef(i) = best;
        }
      }
      if (bary) bary->middleRows(i0, gn).noalias() = cb.transpose() * (*y_);
    }
  }
}

double SemiDiscreteOt::rounding_bound(ConstVecRef g, double f, ConstVecRef grad) const {
  const Index n = num_groups(), m = num_items();
  if (!std::isfinite(f) || !grad.allFinite()) return std::nan("");
  const double nd = static_cast<double>(n);
  // Column factors s_j = min(1, b_j / bt_j), bt = (1/n) sum_i chi(x_i) = grad + b. The column
  // sums of pi' are s_j bt_j, so the column deficits e_c and their total delta (= |e_r|_1, the
  // total row deficit) follow from grad alone, and one pass over the samples gives each row's
  // deficit and its value in P(pi'') together.
  Vec colf(m), ec(m);
  for (Index j = 0; j < m; ++j) {
    const double bt = grad(j) + b_(j);
    colf(j) = (b_(j) > 0.0 && bt > b_(j)) ? b_(j) / bt : 1.0;
    ec(j) = std::max(b_(j) - colf(j) * bt, 0.0);
  }
  const double delta = ec.sum();
  const Index block = std::max<Index>(1, (Index{1} << 16) / m);
  const Index nblocks = (n + block - 1) / block;
  Vec rowval(n);
  // With u_ij = n pi''_ij / b_j: pi''_ij = b_j u_ij / n, c_ij = g_j - S_ij, KL term
  // eps pi''_ij log u_ij; n pi'_ij / b_j = exp((S_ij - L_i) / eps) s_j.
#pragma omp parallel
  {
    Workspace ws = make_workspace(block, m);
    Mat sc(m, block);
    Vec u(m);
#pragma omp for schedule(dynamic, 1)
    for (Index bi = 0; bi < nblocks; ++bi) {
      const Index i0 = bi * block, gn = std::min(block, n - i0);
      auto sb = sc.leftCols(gn);
      scores(g, IndexSet::range(i0, gn), IndexSet::range(0, m), ws, sb);
      for (Index k = 0; k < gn; ++k) {
        const Index i = i0 + k;
        const double mx = sb.col(k).maxCoeff();
        u.array() = ((sb.col(k).array() - mx) / eps_).exp();
        const double lse = mx + eps_ * std::log(b_.dot(u));
        u.array() = ((sb.col(k).array() - lse) / eps_).exp() * colf.array();
        const double er = std::max(1.0 - b_.dot(u), 0.0) / nd;  // row deficit of pi'
        if (delta > 0.0)
          for (Index j = 0; j < m; ++j)
            if (b_(j) > 0.0) u(j) += nd * er * ec(j) / (delta * b_(j));
        double acc = 0.0;
        for (Index j = 0; j < m; ++j) {
          if (!(u(j) > 0.0) || b_(j) == 0.0) continue;
          const double c = g(j) - sb(j, k);
          acc += b_(j) * u(j) * (c + eps_ * std::log(u(j)));
        }
        rowval(i) = acc / nd;
      }
    }
  }
  const double primal = rowval.sum();
  if (!std::isfinite(primal)) return std::nan("");
  return std::max(primal + f, 0.0) + 1e-13 * (std::abs(primal) + std::abs(f));
}

double SemiDiscreteOt::gap_bound(ConstVecRef g, double f, ConstVecRef grad, const Mat* hessian) const {
  const Index m = num_items();
  if (m > kDenseAtoms || !std::isfinite(f) || !grad.allFinite()) return rounding_bound(g, f, grad);
  // The base bound B(g) is taken only where the refinement fails (it is never the smaller one
  // near the optimum, where certificates matter).
  const auto base = [&] { return rounding_bound(g, f, grad); };
  // Newton-refined bound: F(g) - F(g') + B(g'), g' = g - (H + delta I)^{-1} grad F(g). H 1 = 0
  // and grad F is orthogonal to 1, so the small ridge delta only fixes the gauge.
  ExactEvaluator<SemiDiscreteOt> ev(*this);
  Mat h;
  Vec grad1;
  if (hessian) {
    h = *hessian;
  } else {
    ev.evaluate_with_hessian(g, grad1, nullptr, nullptr, h);
  }
  h.diagonal().array() += 1e-12 * std::max(h.diagonal().maxCoeff(), 1e-300);
  const Vec g1 = g - h.ldlt().solve(grad);
  if (!g1.allFinite()) return base();
  const double f1 = ev.value_and_gradient(g1, grad1);
  if (!std::isfinite(f1)) return base();
  const double b1 = rounding_bound(g1, f1, grad1);
  if (!std::isfinite(b1)) return base();
  return std::max(f - f1, 0.0) + b1 + 1e-13 * (std::abs(f) + std::abs(f1));
}
}  // namespace lsekit
