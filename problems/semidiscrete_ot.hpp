// Entropic semi-discrete optimal transport, semi-dual form (SPEC section 2.3).
//
// Source mu: n samples x_i in R^d (uniform weights 1/n). Target nu = sum_j b_j delta_{y_j}
// with m atoms, b_j >= 0, sum_j b_j = 1. Cost c(x, y) = |x - y|^2 (no 1/2). Temperature
// epsilon > 0. Parameters theta = g in R^m (the potential on the atoms). The objective is
//
//   F(g) = (1/n) sum_i epsilon log sum_j b_j exp((g_j - c(x_i, y_j)) / epsilon) - sum_j b_j g_j
//
// i.e. an LseProblem with one group per source sample i (num_groups = n, p_k = 1/n), the m
// atoms as items with the item distribution b (item_prob()), scores
//
//   S(j, i) = l_i(y_j; g) = g_j - c(x_i, y_j),   grad_g l_i(y_j; g) = e_j,
//
// and the linear term A(g) = -<b, g> (regularizer(), gradient -b). Hence
//   grad F(g) = (1/n) sum_i chi(x_i) - b,  chi_j(x) = b_j exp((f(x) + g_j - c(x, y_j)) / eps),
//   f(x) = -eps log sum_j b_j exp((g_j - c(x, y_j)) / eps)   (the c-transform = -L_i),
// so |grad F|_1 is the marginal error |b - (1/n) sum_i chi(x_i)|_1. F(g + t 1) = F(g).
// H(g) = -F(g) is the semi-dual value; its maximum is OT_eps(mu_n, nu) with the
// KL(pi | mu_n x nu) regularizer, attained by the plan pi_ij = chi_j(x_i) / n.
// F itself is only ever computed by the one exact evaluator (core/exact_evaluator.hpp);
// with `kSemiDual` the log-domain Sinkhorn of solvers/sinkhorn.hpp applies as well.
//
// References: Genevay, Cuturi, Peyre, Bach, "Stochastic Optimization for Large-scale Optimal
// Transport", NeurIPS 2016 (semi-dual SGD: one source sample, all atoms per step);
// Gladin, Kroshnin, Zhu, Dvurechensky, "Improved Stochastic Optimization of LogSumExp" (2025)
// (the softplus estimator and per-group shifts used on this problem).
//
// Computation: costs are formed blockwise as c_ij = |x_i|^2 + |y_j|^2 - 2 y_j.x_i with the
// squared norms precomputed, so a score block (items x groups) is ONE GEMM
// 2 Y_items X_groups^T plus two broadcasts. Contiguous index sets use row-block views of
// X and Y; index lists (sampled source samples / atoms) are gathered into the workspace.
// The GEMM is issued in panels of at most kPanel entries per operand and kPanelWork
// multiply-adds (e.g. 48 atoms x 32 samples at d = 64; all 1000 atoms at d = 2), which keeps
// Eigen's packing buffers on the stack and the product single-threaded (Eigen would split a
// larger product across OpenMP threads, allocating and changing its blocking).
//
// Shapes and ownership: x is n x d and y is m x d, row-major, one point per row. They are
// NOT copied: the problem keeps pointers to them, so both must outlive the problem and
// must not be resized or moved (a task keeps them in a std::shared_ptr; see
// tasks/ot.hpp). b is copied (m doubles) and renormalized to sum to 1 exactly, so
// that F(g + t) = F(g) holds in floating point; the squared norms (n + m doubles) are
// owned. The constructor checks sizes and b, not the finiteness of x and y (the readers
// in data/ot_instance.hpp do that).
// Allocation: scores()/add_gradient() never allocate (for d <= kPanel): buffers come from
// make_workspace() and GEMM panels are small enough for Eigen's stack buffers.
// Thread-safety: const methods are thread-safe given one Workspace per thread.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/problem.hpp"

namespace lsekit {

class SemiDiscreteOt {
 public:
  static constexpr bool kBatchOverGroups = true;  // minibatches of source samples
  static constexpr bool kSemiDual = true;         // S(j, i) = theta_j - c_ij (Sinkhorn applies)
  /// Largest number of atoms for which the dense m x m Hessian is formed (by the exact
  /// evaluator, see core/exact_evaluator.hpp; for the Newton-refined certificate and the
  /// preconditioned variance-reduced solver): 8 MiB per copy.
  static constexpr Index kDenseAtoms = 1024;
  /// Largest operand panel (entries) of one GEMM call: 128 KiB, Eigen's stack-allocation limit.
  static constexpr Index kPanel = Index{1} << 14;
  /// Largest multiply-adds of one GEMM call: below Eigen's threshold for splitting a product
  /// across OpenMP threads (which allocates and would make results depend on the thread count).
  static constexpr Index kPanelWork = 99999;

  struct Workspace {
    MatRM xb;  // gathered source samples (max_groups x d)
    MatRM yb;  // gathered atoms (max_items x d)
    Vec xn;    // |x_i|^2 of the groups (max_groups)
    Vec gy;    // g_j - |y_j|^2 of the items (max_items)
    Vec t;     // row sums of the weights (max_items)
  };

  /// x: n x d source samples, y: m x d atoms (both referenced, not copied: they must
  /// outlive the problem), b: m weights >= 0 with a positive sum (copied, normalized),
  /// epsilon > 0. Throws std::invalid_argument on inconsistent sizes or values.
  SemiDiscreteOt(const MatRM& x, const MatRM& y, const Vec& b, double epsilon);
  // The point clouds are referenced: refuse temporaries, which would dangle.
  SemiDiscreteOt(MatRM&&, const MatRM&, const Vec&, double) = delete;
  SemiDiscreteOt(const MatRM&, MatRM&&, const Vec&, double) = delete;
  SemiDiscreteOt(MatRM&&, MatRM&&, const Vec&, double) = delete;

  Index dim() const { return y_->rows(); }
  Index num_groups() const { return x_->rows(); }
  Index num_items() const { return y_->rows(); }
  Index space_dim() const { return x_->cols(); }
  double temperature() const { return eps_; }
  double epsilon() const { return eps_; }
  const Vec* item_prob() const { return &b_; }
  const MatRM& x() const { return *x_; }
  const MatRM& y() const { return *y_; }
  const Vec& b() const { return b_; }

  Workspace make_workspace(Index max_groups, Index max_items) const;

  /// S(j, k) = g_{items[j]} - c(x_{groups[k]}, y_{items[j]}); S is items.size() x groups.size().
  void scores(ConstVecRef g, IndexSet groups, IndexSet items, Workspace& ws, MatRef s) const;

  /// grad_{items[j]} += sum_k W(j, k) (row sums; repeated items accumulate).
  void add_gradient(ConstVecRef /*g*/, IndexSet groups, IndexSet items, Workspace& ws,
                    ConstMatRef w, VecRef grad) const;

  /// A(g) = -<b, g>; adds -b to grad.
  double regularizer(ConstVecRef g, Vec* grad) const;

  Vec initial_point() const { return Vec::Zero(dim()); }

  /// g shifted so that sum_j b_j g_j = 0 (F is unchanged).
  Vec normalized(ConstVecRef g) const { return g.array() - b_.dot(g); }

  /// Per-source-sample summaries of the conditional plan chi(x_i) at g, given
  /// lse_i = L_i = -f(x_i) from ExactEvaluator::group_values (F is never recomputed here):
  ///   cost(i)   = sum_j chi_j(x_i) c(x_i, y_j)
  ///   kl(i)     = sum_j chi_j(x_i) log(chi_j(x_i) / b_j)        (KL(chi(x_i) | b))
  ///   bary(i,:) = sum_j chi_j(x_i) y_j                          (barycentric map T(x_i))
  ///   assign(i) = argmax_j chi_j(x_i)   (smallest j on ties; atoms with b_j = 0 never win)
  /// Null outputs are skipped. Blocks of whole samples run in parallel under OpenMP; every
  /// output row depends only on its own sample, so results are independent of the thread
  /// count. Allocates per-thread scratch of one block (about 2^16 entries).
  void plan_outputs(ConstVecRef g, const Vec& lse, Vec* cost, Vec* kl, MatRM* bary,
                    IVec* assign) const;

  /// Certified bound on F(g) - F* (SPEC section 6). The base bound is the primal-dual gap of
  /// the plan implied by g, rounded onto Pi(a, b) (Altschuler, Weed, Rigollet, NeurIPS 2017,
  /// Alg. 2):
  ///   pi_ij = (1/n) chi_j(x_i) has rows 1/n and columns bt = grad F + b;
  ///   pi'   = pi diag(min(1, b_j / bt_j))              (rows stay <= 1/n),
  ///   pi''  = pi' + e_r e_c^T / |e_r|_1,  e_r = 1/n - pi' 1,  e_c = b - pi'^T 1,
  /// so pi'' is in Pi(a, b) and P(pi'') = <pi'', c> + eps KL(pi'' | a x b) >= OT_eps = -F*:
  ///   F(g) - F* <= B(g) = P(pi''(g)) + F(g).
  /// B is first order in the marginal error |grad F|_1, far above the true gap (second order)
  /// near the optimum. For m <= kDenseAtoms the bound is therefore taken at a better point:
  /// for any g', F(g) - F* = [F(g) - F(g')] + [F(g') - F*] <= F(g) - F(g') + B(g'), and g' is
  /// one Newton step g - (H + delta I)^{-1} grad F (Kitagawa, Merigot, Thibert 2019 use the
  /// same Newton step to solve the problem), where B(g') is second order in the marginal error
  /// at g; B(g) itself only where the refinement fails.
  /// `f` = F(g), `grad` = grad F(g) (from the exact evaluator); `hessian` = H(g) if the caller
  /// has it (ExactEvaluator::evaluate_with_hessian, the same pass as F), else it is formed.
  /// Passes over the n x m costs: certificate_passes(). B is one pass: the column deficits of
  /// pi' follow from grad F, each row's deficit and value from that row. Rows in parallel, sums
  /// in row order (independent of the thread count). A rounding allowance of 1e-13 (|P| + |F|)
  /// per bound keeps it valid in floating point.
  double gap_bound(ConstVecRef g, double f, ConstVecRef grad, const Mat* hessian = nullptr) const;
  /// Passes over the costs that gap_bound() makes: 1 for B(g); with the Newton step (m <=
  /// kDenseAtoms) F and grad F at g' and B(g'), plus the Hessian unless it is given.
  double certificate_passes(bool with_hessian = false) const {
    return num_items() <= kDenseAtoms ? (with_hessian ? 2.0 : 3.0) : 1.0;
  }

 private:
  double rounding_bound(ConstVecRef g, double f, ConstVecRef grad) const;  // B(g)

  const MatRM* x_;
  const MatRM* y_;
  double eps_;
  Vec b_;
  Vec xnorm_, ynorm_;
};

static_assert(LseProblem<SemiDiscreteOt>);

}  // namespace lsekit
