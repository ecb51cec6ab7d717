// DroClassification's member functions (the math and the panel scheme are stated in
// dro_classification.hpp). Out of line, so that the Eigen products are compiled once, not in
// every file including the header.
#include "problems/dro_classification.hpp"

#include <Eigen/Cholesky>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace lsekit {

DroClassification::DroClassification(const MatRM& x, const IVec& labels, Index num_classes,
                                     double lambda, double l2)
    : x_(x.data()),
      y_(labels.data()),
      n_(x.rows()),
      p_(x.cols()),
      k_(num_classes),
      lambda_(lambda),
      l2_(l2) {
  if (n_ != labels.size())
    throw std::invalid_argument("DRO classification: X has " + std::to_string(n_) +
                                " rows but there are " + std::to_string(labels.size()) + " labels");
  if (n_ == 0) throw std::invalid_argument("DRO classification: no training samples");
  if (p_ == 0) throw std::invalid_argument("DRO classification: no features");
  if (k_ < 2)
    throw std::invalid_argument("DRO classification: need at least 2 classes, got " +
                                std::to_string(k_));
  for (Index i = 0; i < n_; ++i)
    if (y_[i] < 0 || y_[i] >= k_)
      throw std::invalid_argument("DRO classification: label " + std::to_string(y_[i]) +
                                  " at row " + std::to_string(i) + " is outside 0.." +
                                  std::to_string(k_ - 1));
  xnorm2_ = Eigen::Map<const MatRM>(x_, n_, p_).rowwise().squaredNorm();
  if (!(lambda_ > 0.0) || !std::isfinite(lambda_))
    throw std::invalid_argument("DRO classification: lambda must be finite and > 0");
  if (!(l2_ >= 0.0) || !std::isfinite(l2_))
    throw std::invalid_argument("DRO classification: l2 must be finite and >= 0");
  kb_ = std::min<Index>(k_, kPanelArea / kItemBlock);
}

DroClassification::Workspace DroClassification::make_workspace(Index /*max_groups*/,
                                                               Index max_items) const {
  Workspace ws;
  ws.xb.resize(std::min(max_items, kItemBlock), p_);
  ws.pr.resize(max_items, k_);
  ws.g.resize(max_items, k_);
  return ws;
}

void DroClassification::scores(ConstVecRef theta, IndexSet /*groups*/, IndexSet items,
                               Workspace& ws, MatRef s) const {
  const Index m = items.size(), p = p_;
  const Eigen::Map<const MatRM> w = weights(theta);
  const SerialEigenProducts serial;
  for (Index i0 = 0; i0 < m; i0 += kItemBlock) {
    const Index in = std::min(kItemBlock, m - i0);
    const Eigen::Map<const MatRM> xb = rows(items, i0, in, ws);
    auto z = ws.pr.middleRows(i0, in);
    for (Index k0 = 0; k0 < k_; k0 += kb_) {
      const Index kn = std::min(kb_, k_ - k0), pw = panel_width(in, kn);
      for (Index j0 = 0; j0 < p; j0 += pw) {
        const Index jn = std::min(pw, p - j0);
        auto zb = z.middleCols(k0, kn);
        if (j0 == 0)
          zb.noalias() = xb.middleCols(j0, jn) * w.block(k0, j0, kn, jn).transpose();
        else
          zb.noalias() += xb.middleCols(j0, jn) * w.block(k0, j0, kn, jn).transpose();
      }
    }
  }
  const auto c = theta.tail(k_);
  for (Index i = 0; i < m; ++i) {
    double* zi = ws.pr.row(i).data();
    for (Index k = 0; k < k_; ++k) zi[k] += c(k);
    s(i, 0) = log_softmax_row(zi, y_[items[i]]);
  }
}

void DroClassification::add_gradient(ConstVecRef /*theta*/, IndexSet /*groups*/, IndexSet items,
                                     Workspace& ws, ConstMatRef w, VecRef grad) const {
  const Index m = items.size();
  for (Index i = 0; i < m; ++i) {
    const double wi = w(i, 0);
    const double* pi = ws.pr.row(i).data();
    double* gi = ws.g.row(i).data();
    const auto yi = static_cast<Index>(y_[items[i]]);
    double others = 0.0;
    for (Index k = 0; k < k_; ++k) {
      gi[k] = wi * pi[k];
      if (k != yi) others += pi[k];
    }
    gi[yi] = -wi * others;
  }
  add_g_product(items, ws, grad);
}

void DroClassification::item_derivatives(IndexSet items, Workspace& ws, MatRef a) const {
  const Index m = items.size();
  for (Index i = 0; i < m; ++i) {
    const double* pi = ws.pr.row(i).data();
    const auto yi = static_cast<Index>(y_[items[i]]);
    double others = 0.0;
    for (Index k = 0; k < k_; ++k) {
      a(k, i) = pi[k];
      if (k != yi) others += pi[k];
    }
    a(yi, i) = -others;
  }
}

void DroClassification::add_item_gradient(IndexSet items, Workspace& ws, ConstMatRef c,
                                          VecRef grad) const {
  ws.g.topRows(items.size()) = c.transpose();
  add_g_product(items, ws, grad);
}

void DroClassification::add_g_product(IndexSet items, Workspace& ws, VecRef grad) const {
  const Index m = items.size(), p = p_;
  Eigen::Map<MatRM> gw(grad.data(), k_, p);
  const SerialEigenProducts serial;
  for (Index i0 = 0; i0 < m; i0 += kItemBlock) {
    const Index in = std::min(kItemBlock, m - i0);
    // One block of at most kItemBlock items was gathered by scores() and is still in ws.xb.
    const Eigen::Map<const MatRM> xb = (!items.contiguous() && m <= kItemBlock)
                                           ? Eigen::Map<const MatRM>(ws.xb.data(), in, p)
                                           : rows(items, i0, in, ws);
    const auto gb = ws.g.middleRows(i0, in);
    for (Index k0 = 0; k0 < k_; k0 += kb_) {
      const Index kn = std::min(kb_, k_ - k0), pw = panel_width(in, kn);
      for (Index j0 = 0; j0 < p; j0 += pw) {
        const Index jn = std::min(pw, p - j0);
        gw.block(k0, j0, kn, jn).noalias() +=
            gb.middleCols(k0, kn).transpose() * xb.middleCols(j0, jn);
      }
    }
  }
  auto gc = grad.tail(k_);
  for (Index i = 0; i < m; ++i) gc += ws.g.row(i).transpose();
}

double DroClassification::regularizer(ConstVecRef theta, Vec* grad) const {
  if (l2_ == 0.0) return 0.0;
  const Index kp = k_ * p_;
  if (grad) grad->head(kp) += l2_ * theta.head(kp);
  return 0.5 * l2_ * theta.head(kp).squaredNorm();
}

double DroClassification::log_softmax_row(double* zi, std::int64_t label) const {
  Index am = 0;
  double mx = zi[0];
  for (Index k = 1; k < k_; ++k)
    if (zi[k] > mx) mx = zi[k], am = k;
  const double zy = zi[label];
  double rest = 0.0;
  for (Index k = 0; k < k_; ++k) {
    const double e = std::exp(zi[k] - mx);  // NaN or +inf logits give NaN: F is non-finite
    zi[k] = e;
    if (k != am) rest += e;
  }
  const double inv = 1.0 / (1.0 + rest);
  for (Index k = 0; k < k_; ++k) zi[k] *= inv;
  return std::log1p(rest) + (mx - zy);
}

double DroClassification::gap_bound(ConstVecRef theta, double f, ConstVecRef /*grad*/, double target,
                                     double* passes) const {
  const Index n = n_, p = p_, kc = k_, kp = k_ * p_;
  if (!(l2_ > 0.0) || !std::isfinite(f) || !theta.allFinite()) return std::nan("");
  if (passes) *passes += 2.0;  // the plain bound's two passes, counted also when it ends NaN
  const Eigen::Map<const MatRM> x(x_, n, p);
  const Eigen::Map<const MatRM> w = weights(theta);
  const Vec c = intercepts(theta);
  const Index nblocks = (n + kItemBlock - 1) / kItemBlock;
  // Z = X D^T (n x K) and A^T X (K x p) over row blocks in parallel, the latter reduced in
  // block order (independent of the thread count).
  auto each_block = [&](const auto& body) {
#pragma omp parallel
    {
      const SerialEigenProducts serial;
#pragma omp for schedule(static)
      for (Index bi = 0; bi < nblocks; ++bi) body(bi, bi * kItemBlock, std::min(kItemBlock, n - bi * kItemBlock));
    }
  };
  auto x_times = [&](const auto& d, MatRM& z) {
    each_block([&](Index, Index i0, Index in) {
      z.middleRows(i0, in).noalias() = x.middleRows(i0, in) * d.transpose();
    });
  };
  Mat parts(kc * nblocks, p);
  auto xt_times = [&](const MatRM& a, Mat& out) {
    each_block([&](Index bi, Index i0, Index in) {
      parts.middleRows(bi * kc, kc).noalias() = a.middleRows(i0, in).transpose() * x.middleRows(i0, in);
    });
    out.setZero(kc, p);
    for (Index bi = 0; bi < nblocks; ++bi) out += parts.middleRows(bi * kc, kc);
  };
  // Pass 1: logits without intercepts Z0 = X W^T and the losses at theta.
  MatRM z0(n, kc);
  x_times(w, z0);
  Vec loss(n);
  {
    Eigen::RowVectorXd zi(kc);
    for (Index i = 0; i < n; ++i) {
      zi = z0.row(i) + c.transpose();
      loss(i) = log_softmax_row(zi.data(), y_[i]);
    }
  }
  if (!loss.allFinite()) return std::nan("");
  // Tilted weights p_i = softmax(l / lambda)_i (exactly normalized).
  const double lmax = loss.maxCoeff();
  Vec pw = ((loss.array() - lmax) / lambda_).exp();
  pw /= pw.sum();
  const double primal = pw.dot(loss) + regularizer(theta, nullptr);
  Vec ybar = Vec::Zero(kc);
  for (Index i = 0; i < n; ++i) ybar(y_[i]) += pw(i);
  // The weighted problem's c-block at fixed W (logits zb = X W^T): phi(c') = sum_i p_i
  // LSE(zb_i + c') - <ybar, c'>, gradient qbar - ybar, Hessian Hcc = sum_i p_i (diag q_i -
  // q_i q_i^T); damped Newton from cc. Leaves q_i = softmax(zb_i + cc) and Hcc at the final cc.
  MatRM q(n, kc);
  Mat hcc(kc, kc);
  auto softmax_rows = [&](const MatRM& zb, const Vec& cc, Vec& qbar) {  // returns phi
    double phi = 0.0;
    qbar.setZero();
    for (Index i = 0; i < n; ++i) {
      auto qi = q.row(i);
      qi = zb.row(i) + cc.transpose();
      const double mx = qi.maxCoeff();
      qi.array() = (qi.array() - mx).exp();
      const double z = qi.sum();
      qi /= z;
      phi += pw(i) * (mx + std::log(z));
      qbar += pw(i) * qi.transpose();
    }
    return phi - ybar.dot(cc);
  };
  auto c_hessian = [&]() {
    hcc.setZero();
    for (Index i = 0; i < n; ++i) {
      const Vec qi = q.row(i).transpose();
      hcc.diagonal() += pw(i) * qi;
      hcc.selfadjointView<Eigen::Lower>().rankUpdate(qi, -pw(i));
    }
    hcc = hcc.selfadjointView<Eigen::Lower>();
    hcc.diagonal().array() += 1e-12 * std::max(hcc.trace(), 1e-300);  // e^T Hcc = 0: regularize
  };
  Vec qbar(kc), trial(kc), qbar_t(kc);
  auto newton_c = [&](const MatRM& zb, Vec& cc) {
    double phi = softmax_rows(zb, cc, qbar);
    for (int it = 0; it < 50; ++it) {
      const Vec gr = qbar - ybar;
      if (gr.lpNorm<Eigen::Infinity>() <= 1e-15) break;
      c_hessian();
      const Vec step = -hcc.ldlt().solve(gr);
      if (!step.allFinite()) break;
      double t = 1.0, phi_t = phi;
      bool moved = false;
      for (int ls = 0; ls < 40; ++ls, t *= 0.5) {
        trial = cc + t * step;
        phi_t = softmax_rows(zb, trial, qbar_t);
        if (phi_t <= phi + 1e-4 * t * gr.dot(step)) {
          moved = true;
          break;
        }
      }
      if (!moved) break;
      cc = trial;
      phi = phi_t;
      qbar = qbar_t;
    }
    softmax_rows(zb, cc, qbar);  // q at the final c'
  };
  // The dual at the current q: column fix (mix every row toward r with the smallest t making
  // sum_i p_i q_i = ybar), entropies, V = sum_i p_i (q_i - e_{y_i}) x_i^T; returns primal - D(q).
  MatRM gq(n, kc);
  Mat v;
  auto dual_gap = [&]() {
    double t = 0.0;
    for (Index k = 0; k < kc; ++k)
      if (qbar(k) > ybar(k)) t = std::max(t, (qbar(k) - ybar(k)) / qbar(k));
    t = std::min(t, 1.0);
    Vec r = Vec::Zero(kc);
    if (t > 0.0) r = ((ybar - (1.0 - t) * qbar) / t).cwiseMax(0.0);
    double ent = 0.0;
    for (Index i = 0; i < n; ++i) {
      double h = 0.0;
      for (Index k = 0; k < kc; ++k) {
        const double qk = (1.0 - t) * q(i, k) + t * r(k);
        if (qk > 0.0) h -= qk * std::log(qk);
        gq(i, k) = pw(i) * qk;
      }
      gq(i, y_[i]) -= pw(i);
      ent += pw(i) * h;
    }
    xt_times(gq, v);
    const double dual = ent - v.squaredNorm() / (2.0 * l2_);
    const double gap = primal - dual;
    if (!std::isfinite(gap)) return std::nan("");
    return std::max(gap, 0.0) + 1e-12 * (std::abs(primal) + std::abs(dual));
  };
  Vec cc = c;
  newton_c(z0, cc);
  const double plain = dual_gap();
  if (std::isnan(plain) || (target > 0.0 && (plain <= target || plain > kRefineWithin * target)))
    return plain;
  // Krylov refinement of the dual point (see the header): G = V + mu W, the weighted problem's
  // gradient in W at (W, c'); its Hessian in W with c re-optimized (Schur complement of Hcc),
  //   H D = X^T A + mu D,  A_i = p_i (q_i o u_i - q_i <q_i, u_i>),  u_i = D x_i + dc,
  //   dc = -Hcc^{-1} sum_i p_i (q_i o (D x_i) - q_i <q_i, D x_i>);
  // an orthonormal basis V of K_k(H, G) (full reorthogonalization) and the step s = V y
  // minimizing the quadratic model of the bound, y^T T y / 2 - <V^T G, y> + |G - H V y|^2 / (2 mu)
  // (T = V^T H V); the dual point is then q at W - s with its own exact c'. Rigor does not
  // depend on the model: D(q) is a lower bound for any feasible q.
  Vec gvec(kp);
  Eigen::Map<MatRM>(gvec.data(), kc, p) = v + l2_ * w;
  const double gnorm = gvec.norm();
  if (!(gnorm > 0.0) || !std::isfinite(gnorm)) return plain;
  c_hessian();
  const Eigen::LDLT<Mat> hcc_ldlt(hcc);
  Mat basis(kp, kKrylovSteps), hbasis(kp, kKrylovSteps), dcs(kc, kKrylovSteps), hd;
  std::vector<MatRM> zd(static_cast<size_t>(kKrylovSteps), MatRM(n, kc));
  MatRM a(n, kc);
  Index m = 0;
  basis.col(0) = gvec / gnorm;
  for (Index j = 0; j < kKrylovSteps; ++j) {
    const Eigen::Map<const MatRM> dj(basis.col(j).data(), kc, p);
    MatRM& zj = zd[static_cast<size_t>(j)];
    x_times(dj, zj);
    auto curvature_rows = [&](const Vec& shift) {
      for (Index i = 0; i < n; ++i) {
        const auto qi = q.row(i);
        const Eigen::RowVectorXd u = zj.row(i) + shift.transpose();
        a.row(i) = pw(i) * (qi.cwiseProduct(u) - qi * qi.dot(u));
      }
    };
    curvature_rows(Vec::Zero(kc));
    const Vec dc = -hcc_ldlt.solve(a.colwise().sum().transpose());
    dcs.col(j) = dc;
    curvature_rows(dc);
    xt_times(a, hd);
    hd += l2_ * dj;
    Eigen::Map<MatRM>(hbasis.col(j).data(), kc, p) = hd;
    m = j + 1;
    if (passes) *passes += 1.0;
    if (m == kKrylovSteps) break;
    Vec next = hbasis.col(j);
    for (int pass = 0; pass < 2; ++pass) next -= basis.leftCols(m) * (basis.leftCols(m).transpose() * next);
    const double nn = next.norm();
    if (!(nn > 1e-12 * hbasis.col(j).norm())) break;  // invariant subspace: H^{-1} G is in V
    basis.col(m) = next / nn;
  }
  const auto vb = basis.leftCols(m), hv = hbasis.leftCols(m);
  Mat tt = vb.transpose() * hv;
  tt = (0.5 * (tt + tt.transpose())).eval();
  const Mat lhs = tt + hv.transpose() * hv / l2_;
  const Vec rhs = vb.transpose() * gvec + hv.transpose() * gvec / l2_;
  const Vec y = lhs.ldlt().solve(rhs);
  if (!y.allFinite()) return plain;
  MatRM z1 = z0;
  Vec c1 = cc;
  for (Index j = 0; j < m; ++j) {
    z1 -= y(j) * zd[static_cast<size_t>(j)];
    c1 -= y(j) * dcs.col(j);
  }
  newton_c(z1, c1);
  const double refined = dual_gap();
  if (passes) *passes += 1.0;
  return std::isnan(refined) ? plain : std::min(plain, refined);
}

Index DroClassification::panel_width(Index in, Index kn) const {
  Index pw = std::max<Index>(1, kPanelArea / std::max(in, kn));
  if (pw >= p_) return p_;
  return pw >= 8 ? pw - pw % 8 : pw;
}

Eigen::Map<const MatRM> DroClassification::rows(IndexSet items, Index i0, Index in,
                                                Workspace& ws) const {
  const Index p = p_;
  if (items.contiguous()) return {x_ + (items.start + i0) * p, in, p};
  for (Index i = 0; i < in; ++i)
    ws.xb.row(i) = Eigen::Map<const Eigen::RowVectorXd>(x_ + items[i0 + i] * p, p);
  return {ws.xb.data(), in, p};
}
}  // namespace lsekit
