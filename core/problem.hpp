// The lsekit problem concept (SPEC section 1).
//
// Every problem minimizes
//
//   F(theta) = R(theta) + A(theta)
//            + sum_k p_k * lambda * log E_{xi ~ nu_k} exp( l_k(xi; theta) / lambda )
//
// with p_k = 1 / num_groups() (uniform over groups) and nu_k the same item
// distribution for every group: uniform over num_items() items, or the
// probabilities item_prob() when the problem has them (OT: the atom weights b).
//
// A problem is thin. It only
//  * computes scores S(i, g) = l_{groups[g]}(items[i]; theta) for a product
//    minibatch (items x groups), and
//  * adds sum_{i,g} W(i, g) grad l_{groups[g]}(items[i]; theta) into a gradient
//    buffer, reusing what scores() left in the workspace,
//  * evaluates R + A and adds their gradient.
// It never knows which estimator turned scores into weights, and it never builds
// per-sample gradient matrices. Workspaces are allocated by make_workspace()
// (setup) so that scores()/add_gradient() never allocate; each thread uses its
// own workspace, so const methods are thread-safe.
#pragma once

#include <concepts>

#include "core/types.hpp"

namespace lsekit {

template <class P>
concept LseProblem = requires(const P& p, typename P::Workspace& ws, ConstVecRef theta,
                              IndexSet set, MatRef s, ConstMatRef w, VecRef grad) {
  typename P::Workspace;
  { p.dim() } -> std::convertible_to<Index>;         // size of theta
  { p.num_groups() } -> std::convertible_to<Index>;  // K
  { p.num_items() } -> std::convertible_to<Index>;   // items per group
  { p.temperature() } -> std::convertible_to<double>;  // lambda (or epsilon)
  { p.item_prob() } -> std::convertible_to<const Vec*>;  // nullptr = uniform
  { p.make_workspace(Index{}, Index{}) } -> std::same_as<typename P::Workspace>;
  p.scores(theta, set, set, ws, s);
  p.add_gradient(theta, set, set, ws, w, grad);
  // R(theta) + A(theta); adds its gradient into grad when grad is non-null.
  { p.regularizer(theta, static_cast<Vec*>(nullptr)) } -> std::convertible_to<double>;
  { p.initial_point() } -> std::convertible_to<Vec>;
  { P::kBatchOverGroups } -> std::convertible_to<bool>;  // OT: minibatches of groups
};

// Problems whose per-item loss depends on theta only through a short vector z_i in R^D
// (a GLM: regression D = 1, the residual; classification D = K, the logits), so that
//
//   grad l_i(theta) = a_i (x) x~_i,   a_i = dl_i/dz_i in R^D,   x~_i = (x_i, 1),
//
// laid out in theta exactly as add_gradient() lays out its gradient. Variance-reduced
// solvers (SVRG with stored snapshot derivatives, SAGA, Prospect) keep a D x n table of
// such derivatives (never n x dim) and rebuild any combination of per-item gradients with
// one product:
//  * derivative_dim() = D;
//  * item_derivatives(items, ws, a): a(:, i) = dl/dz at items[i], for the theta and items
//    of the preceding scores() call on `ws` (a is D x items.size());
//  * add_item_gradient(items, ws, c, grad): grad += sum_i c(:, i) (x) x~_{items[i]}
//    (c is D x items.size()); `ws` must hold a preceding scores() call on the same items
//    (it reuses the rows gathered there; theta plays no part). Allocation-free.
// For a single group (DRO), sum_i W(i,0) grad l_i = add_item_gradient with c(:, i) = W(i,0) a_i.
template <class P>
concept ItemDerivativeProblem =
    LseProblem<P> && requires(const P& p, typename P::Workspace& ws, IndexSet set, MatRef a,
                              ConstMatRef c, VecRef grad) {
      { p.derivative_dim() } -> std::convertible_to<Index>;
      p.item_derivatives(set, ws, a);
      p.add_item_gradient(set, ws, c, grad);
    };

/// Semi-dual problems (entropic OT): S(j, k) = theta_j - c_kj, so grad_theta l_k(xi_j) = e_j and
/// both log-domain Sinkhorn (solvers/sinkhorn.hpp) and the exact Hessian of the evaluator apply.
template <class P>
concept SemiDualProblem = LseProblem<P> && requires {
  requires P::kSemiDual;
};

}  // namespace lsekit
