// The one exact evaluator of lsekit (SPEC section 1).
//
// Computes, for any LseProblem,
//   F(theta)    = R + A + sum_k p_k L_k,
//   L_k(theta)  = lambda log sum_i q_i exp(l_k(xi_i; theta) / lambda),
//   grad F      = grad(R + A) + sum_k p_k sum_i pi_{k,i} grad l_k(xi_i; theta),
//   pi_{k,i}    = q_i exp((l_k(xi_i) - L_k) / lambda)   (the tilted weights),
//   kappa_k     = sum_i q_i exp(2 (l_k(xi_i) - L_k) / lambda) = sum_i pi_{k,i}^2 / q_i,
// with p_k = 1/K and q the problem's item distribution (uniform unless item_prob()).
// kappa is the normalized second moment that governs the softplus relaxation
// bias (F - F_rho ~ lambda rho kappa / 2, Gladin et al. 2025).
//
// Numerics: max-shifted streaming logsumexp, double accumulation; never overflows
// for finite scores.
// Parallelism: the work is cut into at most kChunks chunks whose boundaries depend
// only on the problem size (never on the thread count); chunks run in parallel
// under OpenMP and their partial sums are combined in chunk order, so the result
// is bitwise identical for any number of threads.
//  * many groups (K >= kChunks, e.g. OT): a chunk is a range of whole groups,
//    processed in sub-blocks of groups x all items;
//  * few groups (DRO): groups run one after the other, each split into item
//    chunks that stream with a running max and are merged exactly.
// Semi-dual problems (P::kSemiDual: S(j, k) = theta_j - c_kj, e.g. entropic OT) can also get
// the Hessian from the same pass:
//   H = (1/lambda) (diag(nu) - sum_k p_k chi_k chi_k^T),  chi_k = pi_{k,.},  nu = sum_k p_k chi_k,
// (m x m, positive semi-definite, H 1 = 0) and per group eps tr H_k = 1 - |chi_k|^2. The
// chunks are then taken in kHessianParts fixed runs, one partial Hessian per run (rank
// updates of the chunk's weight blocks), summed in run order: thread-count independent, and F
// and grad F are bitwise those of a pass without the Hessian.
// Memory: kChunks gradient buffers of dim() plus one block of scores per thread,
// allocated on first use; later calls do not allocate. Not thread-safe itself
// (owns scratch); use one evaluator per thread.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/numerics.hpp"
#include "core/problem.hpp"

namespace lsekit {

struct EvalInfo {
  double kappa_mean = 0.0;  // mean over groups of kappa_k
  double kappa_max = 0.0;   // max over groups of kappa_k
};

template <LseProblem P>
class ExactEvaluator {
 public:
  static constexpr Index kChunks = 64;

  /// block_budget: the largest score block (items x groups) one thread holds.
  explicit ExactEvaluator(const P& problem, Index block_budget = Index{1} << 16)
      : p_(problem), budget_(std::max<Index>(block_budget, 1)) {
    const Index k = p_.num_groups(), m = p_.num_items();
    by_groups_ = k >= kChunks || SemiDualProblem<P>;  // semi-dual: whole groups (Hessian)
    if (by_groups_) {
      chunks_ = kChunks;
      group_block_ = std::max<Index>(1, budget_ / m);
      item_block_ = m;
    } else {
      chunks_ = std::clamp<Index>((m + 1023) / 1024, 1, kChunks);
      group_block_ = 1;
      item_block_ = std::min(m, budget_);
    }
    if (const Vec* q = p_.item_prob()) q_ = *q;
    else q_ = Vec::Constant(m, 1.0 / static_cast<double>(m));
    items_.resize(m);
    for (Index i = 0; i < m; ++i) items_[i] = i;
  }

  double value(ConstVecRef theta, EvalInfo* info = nullptr) {
    return run(theta, nullptr, info, nullptr);
  }
  /// grad is resized to dim() and overwritten.
  double value_and_gradient(ConstVecRef theta, Vec& grad, EvalInfo* info = nullptr) {
    grad.resize(p_.dim());
    return run(theta, &grad, info, nullptr);
  }
  /// Everything one pass gives: F (returned), grad F (if grad), L_k of every group (if
  /// group_lse), and, for one-group problems, the score of every item (if item_scores).
  double evaluate(ConstVecRef theta, Vec* grad, EvalInfo* info, Vec* group_lse,
                  Vec* item_scores) {
    if (grad) grad->resize(p_.dim());
    if (group_lse) group_lse->resize(p_.num_groups());
    if (item_scores) item_scores->resize(by_groups_ ? 0 : p_.num_items());
    scores_out_ = by_groups_ ? nullptr : item_scores;
    const double f = run(theta, grad, info, group_lse);
    scores_out_ = nullptr;
    return f;
  }
  /// evaluate() plus, for a semi-dual problem, its Hessian (m x m, overwritten) and, if
  /// `curvature`, 1 - |chi_k|^2 of every group, in the same pass. grad is required.
  double evaluate_with_hessian(ConstVecRef theta, Vec& grad, EvalInfo* info, Vec* group_lse,
                               Mat& hessian, Vec* curvature = nullptr)
    requires SemiDualProblem<P>
  {
    grad.resize(p_.dim());
    if (group_lse) group_lse->resize(p_.num_groups());
    if (curvature) curvature->resize(p_.num_groups());
    hess_ = &hessian;
    curv_ = curvature;
    const double f = run(theta, &grad, info, group_lse);
    hess_ = nullptr;
    curv_ = nullptr;
    return f;
  }
  /// L_k for every group (e.g. minus the OT c-transform) plus F.
  double group_values(ConstVecRef theta, Vec& lse, EvalInfo* info = nullptr) {
    lse.resize(p_.num_groups());
    return run(theta, nullptr, info, &lse);
  }

  const P& problem() const { return p_; }

 private:
  struct Chunk {
    double value = 0.0;       // by groups: sum_k p_k L_k over the chunk
    double kappa_sum = 0.0;   // by groups: sum of kappa_k
    double kappa_max = 0.0;
    double max = -num::kInf;  // by items: running max of scores
    double z = 0.0;           // by items: sum q e^{(s - max)/lambda}
    double z2 = 0.0;          // by items: sum q e^{2(s - max)/lambda}
    Vec grad;
  };
  struct Scratch {
    typename P::Workspace ws;
    Mat s, w;
  };

  void prepare(bool need_grad);

  double run(ConstVecRef theta, Vec* grad, EvalInfo* info, Vec* lse);

  // Whole groups [gs, gs+gn) x all items: exact per-group LSE, normalized weights.
  // part >= 0: also the Hessian's rank update into hpart_[part] (semi-dual problems).
  void block(ConstVecRef theta, Index gs, Index gn, Index is, Index in, Scratch& sc, Vec* grad,
             double pk, double lambda, Chunk& ch, Vec* lse, Index part = -1);

  // Items [is, is+in) of group g, streamed into the chunk's running sums.
  void stream(ConstVecRef theta, Index g, Index is, Index in, Scratch& sc, bool need_grad,
              double lambda, Chunk& ch);

  const P& p_;
  Index budget_;
  bool by_groups_ = false;
  Index chunks_ = 1, group_block_ = 1, item_block_ = 1;
  Vec q_;
  std::vector<Index> items_;
  std::vector<Scratch> scratch_;
  std::vector<Chunk> chunk_;
  Vec* scores_out_ = nullptr;  // evaluate(): item scores of a one-group problem
  static constexpr Index kHessianParts = 8;
  Mat* hess_ = nullptr;           // evaluate_with_hessian(): the Hessian to form
  Vec* curv_ = nullptr;           // and the per-group curvatures
  std::vector<Mat> hpart_;        // partial Hessians (lower triangles), one per run of chunks
  Mat hnu_;                       // partial nu, one column per run
};

// ---- out of line, so that files using the compiled instances (solvers/instances.hpp) do
// not instantiate the evaluation loops again.

template <LseProblem P>
void ExactEvaluator<P>::prepare(bool need_grad) {
  const int nt = omp_get_max_threads();
  if (static_cast<int>(scratch_.size()) < nt) {
    scratch_.reserve(nt);
    while (static_cast<int>(scratch_.size()) < nt) {
      Scratch sc{p_.make_workspace(group_block_, item_block_), Mat(item_block_, group_block_),
                 Mat(item_block_, group_block_)};
      scratch_.push_back(std::move(sc));
    }
  }
  if (chunk_.size() != static_cast<size_t>(chunks_)) chunk_.resize(chunks_);
  if (need_grad)
    for (auto& c : chunk_)
      if (c.grad.size() != p_.dim()) c.grad.resize(p_.dim());
}

template <LseProblem P>
double ExactEvaluator<P>::run(ConstVecRef theta, Vec* grad, EvalInfo* info, Vec* lse) {
  prepare(grad != nullptr);
  const double lambda = p_.temperature();
  const Index k = p_.num_groups();
  const double pk = 1.0 / static_cast<double>(k);
  double total = 0.0, kappa_sum = 0.0, kappa_max = 0.0;
  if (grad) grad->setZero();

  if (by_groups_) {
    auto chunk = [&](Index c, Index part) {
      Scratch& sc = scratch_[omp_get_thread_num()];
      Chunk& ch = chunk_[c];
      ch.value = ch.kappa_sum = ch.kappa_max = 0.0;
      if (grad) ch.grad.setZero();
      const Index g0 = c * k / chunks_, g1 = (c + 1) * k / chunks_;
      for (Index gs = g0; gs < g1; gs += group_block_) {
        const Index gn = std::min(group_block_, g1 - gs);
        block(theta, gs, gn, 0, item_block_, sc, grad ? &ch.grad : nullptr, pk, lambda, ch,
              lse, part);
      }
    };
    if (!hess_) {
#pragma omp parallel for schedule(dynamic, 1) if (chunks_ > 1)
      for (Index c = 0; c < chunks_; ++c) chunk(c, -1);
    } else {
      const Index parts = std::min(kHessianParts, chunks_), m = p_.num_items();
      hpart_.resize(parts);
      for (Mat& h : hpart_) h.setZero(m, m);
      hnu_.setZero(m, parts);
#pragma omp parallel for schedule(dynamic, 1) if (parts > 1)
      for (Index r = 0; r < parts; ++r)
        for (Index c = r * chunks_ / parts; c < (r + 1) * chunks_ / parts; ++c) chunk(c, r);
      Mat& h = *hess_;
      h.setZero(m, m);
      Vec nu = Vec::Zero(m);
      for (Index r = 0; r < parts; ++r) {
        h += hpart_[r];
        nu += hnu_.col(r);
      }
      // Rank updates accumulate sum_k (p_k chi_k)(p_k chi_k)^T = p^2 sum_k chi_k chi_k^T.
      h *= -1.0 / pk;
      h.diagonal() += nu;
      h = h.selfadjointView<Eigen::Lower>();
      h /= lambda;
    }
    for (const Chunk& ch : chunk_) {
      total += ch.value;
      kappa_sum += ch.kappa_sum;
      kappa_max = std::max(kappa_max, ch.kappa_max);
    }
    if (grad)
      for (const Chunk& ch : chunk_) *grad += ch.grad;
  } else {
    const Index m = p_.num_items();
    for (Index g = 0; g < k; ++g) {
#pragma omp parallel for schedule(dynamic, 1) if (chunks_ > 1)
      for (Index c = 0; c < chunks_; ++c) {
        Scratch& sc = scratch_[omp_get_thread_num()];
        Chunk& ch = chunk_[c];
        ch.max = -num::kInf;
        ch.z = ch.z2 = 0.0;
        if (grad) ch.grad.setZero();
        const Index i0 = c * m / chunks_, i1 = (c + 1) * m / chunks_;
        for (Index is = i0; is < i1; is += item_block_)
          stream(theta, g, is, std::min(item_block_, i1 - is), sc, grad != nullptr, lambda, ch);
      }
      double mx = -num::kInf;
      bool poisoned = false;
      for (const Chunk& ch : chunk_) {
        if (std::isnan(ch.max) || ch.max == num::kInf) poisoned = true;
        else mx = std::max(mx, ch.max);
      }
      if (poisoned) {  // a score was +inf or NaN: F is not finite
        total = std::nan("");
        if (lse) (*lse)(g) = total;
        continue;
      }
      double z = 0.0, z2 = 0.0;
      for (const Chunk& ch : chunk_) {
        if (ch.z <= 0.0) continue;
        const double f = std::exp((ch.max - mx) / lambda);
        z += f * ch.z;
        z2 += f * f * ch.z2;
      }
      const double lk = mx + lambda * std::log(z);
      const double kap = z2 / (z * z);
      total += pk * lk;
      kappa_sum += kap;
      kappa_max = std::max(kappa_max, kap);
      if (lse) (*lse)(g) = lk;
      if (grad)
        for (const Chunk& ch : chunk_) {
          if (ch.z <= 0.0) continue;
          *grad += (pk * std::exp((ch.max - mx) / lambda) / z) * ch.grad;
        }
    }
  }
  total += p_.regularizer(theta, grad);
  if (info) {
    info->kappa_mean = kappa_sum / static_cast<double>(k);
    info->kappa_max = kappa_max;
  }
  return total;
}

// Whole groups [gs, gs+gn) x all items: exact per-group LSE, normalized weights.
template <LseProblem P>
void ExactEvaluator<P>::block(ConstVecRef theta, Index gs, Index gn, Index is, Index in,
                              Scratch& sc, Vec* grad, double pk, double lambda, Chunk& ch,
                              Vec* lse, Index part) {
  auto s = sc.s.topLeftCorner(in, gn);
  auto w = sc.w.topLeftCorner(in, gn);
  const IndexSet groups = IndexSet::range(gs, gn), items = IndexSet::range(is, in);
  p_.scores(theta, groups, items, sc.ws, s);
  const auto q = q_.segment(is, in).array();
  for (Index g = 0; g < gn; ++g) {
    const double mx = s.col(g).maxCoeff();
    if (!std::isfinite(mx)) {  // +inf or NaN score: F is not finite, report it as such
      ch.value += mx;
      if (lse) (*lse)(gs + g) = mx;
      w.col(g).setZero();
      continue;
    }
    w.col(g).array() = ((s.col(g).array() - mx) / lambda).exp();
    const double z = (q * w.col(g).array()).sum();
    const double lk = mx + lambda * std::log(z);
    w.col(g).array() /= z;  // e^{(s - L)/lambda}
    const double kap = (q * w.col(g).array().square()).sum();
    ch.value += pk * lk;
    ch.kappa_sum += kap;
    ch.kappa_max = std::max(ch.kappa_max, kap);
    if (lse) (*lse)(gs + g) = lk;
    if (grad) w.col(g).array() *= pk * q;
  }
  if (grad) p_.add_gradient(theta, groups, items, sc.ws, w, *grad);
  if constexpr (SemiDualProblem<P>) {
    if (part >= 0) {  // w = p_k chi_k (grad is always asked with the Hessian)
      hpart_[part].template selfadjointView<Eigen::Lower>().rankUpdate(w, 1.0);
      hnu_.col(part) += w.rowwise().sum();
      if (curv_)
        for (Index g = 0; g < gn; ++g) (*curv_)(gs + g) = 1.0 - w.col(g).squaredNorm() / (pk * pk);
    }
  }
}

// Items [is, is+in) of group g, streamed into the chunk's running sums.
template <LseProblem P>
void ExactEvaluator<P>::stream(ConstVecRef theta, Index g, Index is, Index in, Scratch& sc,
                               bool need_grad, double lambda, Chunk& ch) {
  auto s = sc.s.topLeftCorner(in, 1);
  auto w = sc.w.topLeftCorner(in, 1);
  const IndexSet groups = IndexSet::range(g, 1), items = IndexSet::range(is, in);
  p_.scores(theta, groups, items, sc.ws, s);
  if (scores_out_) scores_out_->segment(is, in) = s.col(0);
  const double bmax = s.maxCoeff();
  if (!std::isfinite(bmax)) {  // +inf or NaN score: poison the chunk so F is non-finite
    ch.max = bmax;
    ch.z = 1.0;
    return;
  }
  if (bmax > ch.max) {
    if (ch.z > 0.0) {
      const double f = std::exp((ch.max - bmax) / lambda);
      ch.z *= f;
      ch.z2 *= f * f;
      if (need_grad) ch.grad *= f;
    }
    ch.max = bmax;
  }
  const auto q = q_.segment(is, in).array();
  w.array() = ((s.array() - ch.max) / lambda).exp();
  ch.z2 += (q * w.col(0).array().square()).sum();
  w.col(0).array() *= q;
  ch.z += w.sum();
  if (need_grad) p_.add_gradient(theta, groups, items, sc.ws, w, ch.grad);
}
}  // namespace lsekit
