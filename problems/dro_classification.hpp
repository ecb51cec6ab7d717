// KL-DRO classification = tilted multinomial logistic regression (SPEC section 2.2).
//
//   theta = (W, c),  W in R^{K x p} stored row-major (theta[k p + j] = W_kj), then c in R^K;
//   z_i = W x_i + c in R^K (the logits),
//   l_i(theta) = -log softmax(z_i)_{y_i} = log sum_k e^{z_ik} - z_{i y_i}   (cross-entropy),
//   F(theta) = lambda log( (1/n) sum_i exp(l_i / lambda) ) + (mu/2) |W|_F^2.
//
// One group (k = 0) whose items are the n training samples, uniform nu. lambda -> infinity
// recovers multinomial logistic regression (ERM), lambda -> 0 the worst-sample loss.
// With mu = 0 the minimum is often not attained, and theta* is never unique (adding one
// vector to every row of W, or one constant to every c_k, changes no loss): use mu > 0 when
// an exact optimum is needed and compare objective values, never raw weights.
// References: Li, Beirami, Sanjabi, Smith, "Tilted Empirical Risk Minimization", ICLR 2021
// (and "On tilted losses in machine learning", JMLR 2023); KL-DRO duality
// sup_{Q: KL(Q||P_n)} E_Q l - lambda KL(Q||P_n) = lambda log E_{P_n} e^{l/lambda}, e.g.
// Gladin, Kroshnin, Zhu, Dvurechensky (2025).
//
// Minibatch computation (B items, gathered rows X_B in R^{B x p}):
//   scores:        Z = X_B W^T + 1 c^T  (B x K, one matrix product), then a max-shifted
//                  log-softmax per row: with m_i = max_k z_ik attained at k = a_i and
//                  r_i = sum_{k != a_i} e^{z_ik - m_i},  l_i = log1p(r_i) + m_i - z_{i y_i}
//                  (exact to rounding also for tiny losses). The probabilities
//                  P_ik = softmax(z_i)_k are cached in the workspace.
//   add_gradient:  G = diag(w) (P - Y) (B x K; Y one-hot, with G_{i y_i} = -w_i sum_{k != y_i}
//                  P_ik so that rows of P - Y sum to zero exactly),
//                  grad_W += G^T X_B (one matrix product),  grad_c += G^T 1.
// Both products run on the calling thread (SerialEigenProducts) and are issued to Eigen in
// panels (items x classes x features) whose pairwise areas stay within
// EIGEN_STACK_ALLOCATION_LIMIT (16384 doubles), so Eigen packs them on the stack and never
// touches the heap. On Fashion-MNIST (p = 784, K = 10) a batch of 10 is a single product each;
// a batch of 100 is 5 feature panels of 160 columns of the same product (same FLOP count,
// 2 B p K for each of scores and gradient; measured within ~10% of one unsplit product).
// L2: R(theta) = (mu/2) |W|_F^2; the intercepts c are never regularized.
//
// Data and lifetime: the problem does NOT copy the training data. It holds views (pointers,
// exposed as Eigen::Map) of X (n x p, row-major, one sample per row) and of the labels (n, int64 in
// 0..K-1) owned by the caller, which must outlive the problem and must not move its
// storage (tasks/classification.hpp keeps them in a std::shared_ptr<const Dataset>).
// Constructing from temporaries is a compile error.
// Allocation: make_workspace(groups, max_items) allocates P and G (max_items x K each) and a
// gather buffer of min(max_items, kItemBlock) rows; scores()/add_gradient() never allocate.
// Thread-safety: const methods are thread-safe; each thread uses its own Workspace.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/problem.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lsekit {

/// Runs Eigen products on the calling thread only while in scope. Eigen parallelizes a large
/// product with OpenMP when omp_get_max_threads() > 1, and that path allocates its packing
/// buffers on the heap at every call; the minibatch products of a step are too small to gain
/// from it, and the exact evaluator already runs one chunk per thread. The guard lowers the
/// calling thread's own OpenMP thread budget (an OpenMP per-task setting, so other threads are
/// unaffected) and restores it; Eigen::setNbThreads would change it process-wide.
class SerialEigenProducts {
 public:
#ifdef _OPENMP
  SerialEigenProducts() : saved_(omp_get_max_threads()) {
    if (saved_ > 1) omp_set_num_threads(1);
  }
  ~SerialEigenProducts() {
    if (saved_ > 1) omp_set_num_threads(saved_);
  }

 private:
  int saved_;
#endif
};

class DroClassification {
 public:
  static constexpr bool kBatchOverGroups = false;
  /// Krylov steps of the certificate's dual refinement (gap_bound()), and how far above its
  /// target a plain bound may be for the refinement to be tried (it gained 10-20x measured).
  static constexpr Index kKrylovSteps = 10;
  static constexpr double kRefineWithin = 100.0;
  /// gap_bound() without the refinement: two passes over X (the refinement reports its own).
  double certificate_passes() const { return 2.0; }
  /// Items per product panel (rows of X_B given to one Eigen product).
  static constexpr Index kItemBlock = 256;
  /// Largest pairwise panel area (in doubles) that Eigen packs on the stack.
  static constexpr Index kPanelArea =
      EIGEN_STACK_ALLOCATION_LIMIT / static_cast<Index>(sizeof(double));

  struct Workspace {
    MatRM xb;  // gathered rows of X (min(max_items, kItemBlock) x p)
    MatRM pr;  // softmax probabilities P of the last scores() call (max_items x K)
    MatRM g;   // diag(w) (P - Y), or c^T of add_item_gradient (max_items x K)
  };

  /// x: n x p features, labels: n class indices in 0..num_classes-1. Both are viewed, not
  /// copied: they must outlive the problem (see the header comment).
  DroClassification(const MatRM& x, const IVec& labels, Index num_classes, double lambda,
                    double l2 = 0.0);
  // The problem only views its data: refuse temporaries, which would dangle.
  DroClassification(MatRM&&, const IVec&, Index, double, double = 0.0) = delete;
  DroClassification(const MatRM&, IVec&&, Index, double, double = 0.0) = delete;
  DroClassification(MatRM&&, IVec&&, Index, double, double = 0.0) = delete;

  Index dim() const { return k_ * p_ + k_; }
  Index num_features() const { return p_; }
  Index num_classes() const { return k_; }
  Index num_groups() const { return 1; }
  Index num_items() const { return n_; }
  double temperature() const { return lambda_; }
  double l2() const { return l2_; }
  const Vec* item_prob() const { return nullptr; }
  Eigen::Map<const MatRM> x() const { return {x_, n_, p_}; }
  Eigen::Map<const IVec> labels() const { return {y_, n_}; }

  /// W (K x p) and c (K) as views into theta.
  Eigen::Map<const MatRM> weights(ConstVecRef theta) const { return {theta.data(), k_, p_}; }
  auto intercepts(ConstVecRef theta) const { return theta.tail(k_); }

  Workspace make_workspace(Index /*max_groups*/, Index max_items) const;

  /// S(i, 0) = -log softmax(W x_{items[i]} + c)_{y_{items[i]}}; S is items.size() x 1.
  /// Leaves softmax(z_i) in ws.pr for add_gradient().
  void scores(ConstVecRef theta, IndexSet /*groups*/, IndexSet items, Workspace& ws,
              MatRef s) const;

  /// grad += sum_i W(i,0) grad l_i: grad_W += G^T X_B, grad_c += G^T 1 with
  /// G = diag(W(:,0)) (P - Y), P from the preceding scores() call on the same items.
  void add_gradient(ConstVecRef /*theta*/, IndexSet /*groups*/, IndexSet items, Workspace& ws,
                    ConstMatRef w, VecRef grad) const;

  /// Per-item derivatives (ItemDerivativeProblem, core/problem.hpp): l_i depends on theta
  /// through the logits z_i = W x_i + c alone, so D = K and
  ///   grad l_i = a_i (x) (x_i, 1) (grad_W += a_i x_i^T, grad_c += a_i),
  ///   a_i = dl_i/dz_i = softmax(z_i) - e_{y_i},
  /// with a_{i y_i} = -sum_{k != y_i} P_ik so that a_i sums to zero exactly (as add_gradient).
  Index derivative_dim() const { return k_; }

  /// a(:, i) = softmax(z_i) - e_{y_i} from the preceding scores() call (a is K x items.size()).
  void item_derivatives(IndexSet items, Workspace& ws, MatRef a) const;

  /// grad_W += C^T X_B, grad_c += C^T 1 with C = c^T (items x K): the same panelled product
  /// as add_gradient, over the rows of the preceding scores() call on the same items.
  void add_item_gradient(IndexSet items, Workspace& ws, ConstMatRef c, VecRef grad) const;

  /// (mu/2) |W|_F^2, intercepts excluded.
  double regularizer(ConstVecRef theta, Vec* grad) const;

  Vec initial_point() const { return Vec::Zero(dim()); }

  /// Certified bound on F(theta) - F* (SPEC section 6), from the Fenchel dual of the weighted
  /// multinomial-logistic problem; needs mu > 0 (NaN otherwise). With the tilted weights
  /// p = softmax(l(theta)/lambda), KL-DRO duality gives (as for regression)
  ///   F(theta) - F* <= [sum_i p_i l_i(theta) + R(theta)] - min_t [sum_i p_i l_i(t) + R(t)],
  /// and for any q_i in the simplex with sum_i p_i (q_i - e_{y_i}) = 0 (the intercepts' dual
  /// constraint), LSE(z) >= <q, z> + H(q) (H the Shannon entropy) gives the lower bound
  ///   min_t [...] >= D(q) = sum_i p_i H(q_i) - |V|_F^2 / (2 mu),  V = sum_i p_i (q_i - e_{y_i}) x_i^T.
  /// q is built from theta: the intercepts c' solving the weighted problem's c-block at fixed W
  /// (damped Newton on K variables over the cached logits X W^T), q_i = softmax(W x_i + c'),
  /// then mixed toward a column fix, q_i <- (1 - t) q_i + t r, with the smallest t that makes
  /// sum_i p_i q_i equal the weighted class frequencies exactly (t = 0 when c' is exact). At the
  /// optimum the bound is 0 (strong duality). With q from W itself the bound near the optimum
  /// is |G|^2 / (2 mu) (G the weighted problem's gradient in W), up to (L/mu) times the gap
  /// when G lies along curvature L >> mu (measured ~20x on Fashion-MNIST at mu = 1e-3). So q is
  /// taken at W' = W - s instead, s a truncated Newton step for the weighted problem: with H
  /// its Hessian in W (c re-optimized: the Schur complement of the c-block), s minimizes the
  /// quadratic model of the resulting bound, [P(W) - P(W')] + |G(W')|^2 / (2 mu) ~
  /// s^T H s / 2 - <G, s> + |G - H s|^2 / (2 mu), over the Krylov space of kKrylovSteps
  /// Hessian-vector products (Lanczos with full reorthogonalization); then c' is re-solved at
  /// W'. The model only chooses q: the bound is rigorous for any q (measured within ~1.5x of
  /// the true gap on Fashion-MNIST near its optimum).
  /// The refinement costs kKrylovSteps + 1 passes; it runs when `target` is 0, or when the plain
  /// bound is above `target` by at most kRefineWithin (a plain bound below it already decides,
  /// one far above it cannot be brought below). The smaller bound is returned.
  /// Passes over X (added to *passes when given): 2 for the plain bound (the logits, V), then
  /// one per Hessian-vector product (its two products) and one for the refined V; W' x_i comes
  /// from the stored X D^T of the basis. Row blocks in parallel, reductions in block order
  /// (independent of the thread count). Rounding allowance 1e-12 (|primal| + |D|).
  double gap_bound(ConstVecRef theta, double f, ConstVecRef grad, double target = 0.0,
                   double* passes = nullptr) const;

  /// Logits Z = X W^T + 1 c^T (rows(x) x K) of any feature matrix (or view) with p columns.
  /// Allocates its result (a metrics helper, not for the step loop).
  template <class Derived>
  MatRM logits(ConstVecRef theta, const Eigen::MatrixBase<Derived>& x) const {
    MatRM z = x * weights(theta).transpose();
    z.rowwise() += theta.tail(k_).transpose();
    return z;
  }

  /// Cross-entropy loss of one row of logits (modified in place into probabilities).
  /// Max-shifted: l = log1p(sum_{k != argmax} e^{z_k - max}) + max - z_label.
  double log_softmax_row(double* zi, std::int64_t label) const;

  /// Curvature of the tilted per-sample term at score l_i = cross-entropy (importance sampling
  /// and step of the variance-reduced solvers): (h + a^2/lambda) |x~_i|^2, x~ = (x, 1), with
  /// a^2 = |softmax - e_y|^2 <= 2 (1 - p_y)^2 and h the norm of the softmax Hessian
  /// diag(p) - p p^T at these scores: u.(diag(p) - p p^T) u = Var_p(u) <= sum_k p_k (u_k - u_y)^2
  /// <= 2 (1 - p_y) |u|^2, and <= 1/2 anywhere, so h = min(1/2, 2 (1 - p_y)), p_y = e^{-l}.
  /// A local bound (well-fitted samples have almost no curvature): the safeguard of the
  /// solvers covers the path between snapshots. On the Fashion-MNIST subset it cut SAGA's
  /// passes to the certified stop from 502 to 465.
  double item_smoothness(Index i, double score) const {
    const double one_minus_py = -std::expm1(-score);
    return (std::min(0.5, 2.0 * one_minus_py) + 2.0 * one_minus_py * one_minus_py / lambda_) *
           (xnorm2_(i) + 1.0);
  }
  /// The loss's own curvature bound anywhere, without the tilt term: |x~_i|^2 / 2.
  double loss_smoothness(Index i) const { return 0.5 * (xnorm2_(i) + 1.0); }

 private:
  Vec xnorm2_;  // |x_i|^2
  // Feature-panel width for `in` items and `kn` classes: in pw <= kPanelArea and
  // kn pw <= kPanelArea (a multiple of 8 when it is split, for aligned panels).
  Index panel_width(Index in, Index kn) const;

  // grad_W += G^T X_B, grad_c += G^T 1 with G = ws.g (items x K), in panels.
  void add_g_product(IndexSet items, Workspace& ws, VecRef grad) const;

  // Rows items[i0 .. i0+in) of X as a dense in x p view: a block of X itself when the
  // items are contiguous, else gathered into ws.xb.
  Eigen::Map<const MatRM> rows(IndexSet items, Index i0, Index in, Workspace& ws) const;

  // The caller's data (viewed, not owned): raw pointers so that the problem is copyable
  // and assignable (assignment rebinds the view).
  const double* x_;
  const std::int64_t* y_;
  Index n_, p_;
  Index k_;
  double lambda_;
  double l2_;
  Index kb_ = 1;  // class block: kItemBlock * kb_ <= kPanelArea
};

static_assert(LseProblem<DroClassification>);
static_assert(ItemDerivativeProblem<DroClassification>);

}  // namespace lsekit
