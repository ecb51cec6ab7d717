// Variance-reduced stochastic solver of lsekit: SVRG on the shift objective, with
// importance sampling and a safeguarded step derived from the data (no tuning).
//
// The problem is a finite sum over a pool of N terms: the training samples (DRO, one group)
// or the source samples (entropic OT, all atoms in the batch: the per-sample semi-dual terms
// are then exact; Genevay, Cuturi, Peyre, Bach, NeurIPS 2016). Each epoch
//  1. takes a snapshot th~ and measures it exactly (solvers/measure.hpp: F, grad F, the
//     certificate); it stops when the criterion is <= tol;
//  2. fixes every shift at its snapshot optimum, alpha~_k = L_k(th~) = lambda log E e^{l/lambda}
//     (softplus: its own optimum for DRO, by the bracketed solve of estimators.hpp), so the
//     per-sample terms f_i(theta) with gradient w_i(theta) grad l_i(theta) (the estimator's
//     weights at alpha~) form a finite sum whose anchor gradient at th~ is grad F(th~) for the
//     shift estimators and for biased-softmax with all atoms (sumexp and erm take a pass of
//     their own surrogate; softplus at an explicit rho, which follows F_rho, sums its own
//     gradient grad F_rho(th~) in the stored-table pass);
//  3. draws i ~ q and steps theta <- theta - eta v with the SVRG direction (Johnson & Zhang 2013)
//       v = grad_anchor + (1/|B|) sum_{i in B} [grad f_i(theta) - grad f_i(th~)] / (N q_i)
//           + grad R(theta) - grad R(th~),
//     for m = 2N/|B| inner steps.
//     Stored derivatives (DRO, ItemDerivativeProblem with item-wise weights: the shift
//     estimators, sumexp, erm): grad f_i(theta) = w_i(theta) a_i(theta) (x) x~_i with a_i the
//     D-vector dl_i/dz_i, so a pass at the start of each epoch stores c~_i = w~_i a_i(th~)
//     (D x N doubles, never N x dim) and a step evaluates at theta only:
//       v = grad_anchor + (1/|B|) sum_{i in B} [w_i a_i(theta) - c~_i] (x) x~_i / (N q_i) + ...
//     in one add_item_gradient. OT (a_i is an m-vector) and biased-softmax (minibatch-
//     normalized weights) keep the two evaluations.
// Importance sampling (DRO): q_i = 0.2/N + 0.8 L_i / sum L, L_i = w~_i c_i with c_i the
// problem's per-sample curvature bound (item_smoothness) and w~_i the snapshot weight; the step
// eta = s / max_i (L_i / (N q_i)), so one constant s works for every scaling of the data
// (Gladin et al.'s weights make per-sample smoothness very uneven).
// Entropic OT with m <= kDenseAtoms atoms: a variance-reduced Newton method (SVRN; Derezinski,
// Lacotte, Pilanci, Mahoney 2022). The snapshot's pass also forms the exact Hessian H~ (core/
// exact_evaluator.hpp), and steps use theta <- theta - eta M v with M = (H~ + delta diag(b))^{-1},
// delta = |grad F|_1 / eps (Levenberg-Marquardt: a scaled gradient step far from the optimum,
// where atoms with almost no mass have almost no curvature; a Newton step near it). In M's
// metric the mean per-sample curvature is tr(M H~) = m - 1 (H~ 1 = 0) and sample i's is about
// (m - 1) curv_i / mean(curv), curv_i = 1 - |chi(x_i)|^2; samples are drawn in proportion (same
// rule as DRO). A minibatch of |B| = m samples (the automatic batch) makes the direction's
// curvature about 1 + max_i / |B|, so eta = s / (1 + max_i / |B|), capped at 1: at most a
// Newton step. With a Newton metric the epoch is short, N/(2|B|) steps (one pass of inner
// evaluations, as much as its snapshot pass): a small eps's Hessian changes quickly, and a
// fresh one every two passes gained more than longer epochs on the convergence study.
// The epoch's candidate is not its last inner iterate but the one of least value of the
// snapshot's exact quadratic model q(D) = grad F(th~).D + D.H~ D / 2, D = theta - th~ (O(m^2)
// per step, no data): late in a run the minibatch's noise in directions of little curvature,
// amplified by M, carries the last iterates uphill (the model predicted those increases to
// within 1 %), and each such epoch was rejected. An epoch none of whose iterates is below
// q(0) = 0 is rejected without measuring it. On 16 instances (n 4000, m 200) the worst seed
// went from 35 to 29 passes at eps 0.05 and from 127 to 85 at eps 0.01.
// The step grows as a trust region's radius does: x2 after an accepted epoch whose decrease of F
// the previous snapshot's model predicted to within 25 %, else x1.1 (after a run of rejections
// the step had taken 30-60 passes to recover at x1.1; worst of 26 instances at eps 0.01: 103 -> 91).
// The snapshot's certificate (OT: a Newton step and a rounding bound) reuses H~.
// Larger OT instances: uniform q, batch 1, eta = s eps (1/(2 L_max) of the semi-dual).
// Safeguard: a snapshot whose followed objective (vr::Followed: F, or softplus's F_rho at an
// explicit rho, or the sumexp / erm surrogate, each exact from the snapshot's pass) is higher
// than the previous one's, or an epoch in which a weight or the iterate stopped being finite,
// is rejected: theta returns to the previous snapshot (kept, with its anchor, shifts, sampling
// and preconditioner: no pass) and s halves; each accepted epoch multiplies s by 1.1 (by 2 with
// the preconditioner when the model predicted its decrease, above). The starting s = 1 is
// therefore not a tuning constant. The returned iterate is always an accepted snapshot, whose
// measure (and certificate) is already known; trace rows are the accepted snapshots.
// softplus: rho = 0.02 tol max(1,|F|) / (lambda kappa) at every snapshot (rho given: used as
// is), so its relaxation bias lambda rho kappa / 2 stays two orders below the tolerance.
//
// Work: the snapshot pass (with H~ on OT), the certificate and the table pass (stored path, only
// for accepted snapshots) count in passes; each inner step evaluates |B| per-sample gradients on the stored
// path, else 2 |B| (at theta and at th~). The inner loop allocates nothing.
// Epoch length: SVRG's contraction per epoch depends on the step and on the number of steps m,
// not on what a step costs (Johnson & Zhang's bound 1/(mu eta (1 - 2 L eta) m) + 2 L eta /
// (1 - 2 L eta)), so m = 2N/|B| steps stays: an epoch costs 2 + 2 passes on the stored path
// (inner steps, snapshot measure, table) instead of 4 + 1. The bound's optimal m for that cost
// grows with the condition number, which is not known; on the convergence study longer epochs
// (3N, 4N steps) helped the ill-conditioned instances (Fashion-MNIST, classification at
// lambda 0.2) and hurt the others, so no longer constant is justified.
// Checkpoints (SolverOptions::checkpoint_every, `resume`): the state between epochs -- the
// snapshot with its measure (the last trace row), exact gradient, anchor, shifts, sampling
// distribution, preconditioner and stored table, the safeguarded step, the certificate gate,
// the RNG and the counters -- goes into one SolverState (state_io below) at the first epoch
// boundary after every checkpoint_every steps, and the start of an interrupted epoch when the
// run is interrupted; resuming it ends bitwise identical to the run never stopped.
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <Eigen/Cholesky>

#include "core/alias_table.hpp"
#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "core/rng.hpp"
#include "solvers/estimators.hpp"
#include "solvers/measure.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "solvers/vr_common.hpp"

#ifndef LSEKIT_NO_MALLOC
#ifdef LSEKIT_TEST_NO_MALLOC
#define LSEKIT_NO_MALLOC(on) Eigen::internal::set_is_malloc_allowed(!(on))
#else
#define LSEKIT_NO_MALLOC(on) ((void)0)
#endif
#endif

namespace lsekit {

template <class P>
concept SmoothnessProblem = requires(const P& p, Index i, double s) {
  { p.item_smoothness(i, s) } -> std::convertible_to<double>;
  { p.loss_smoothness(i) } -> std::convertible_to<double>;
};

/// Semi-dual problems small enough for the dense Hessian of the exact evaluator.
template <class P>
concept DenseHessianProblem = SemiDualProblem<P> && requires {
  { P::kDenseAtoms } -> std::convertible_to<Index>;
};

/// Estimators whose weight of an item is a function of that item's score alone (given the
/// shift), not of the minibatch it was drawn in: a snapshot weight can then be stored per item.
template <class E>
inline constexpr bool kItemwiseWeights =
    E::kHasShift || std::is_same_v<E, SumExp> || std::is_same_v<E, Erm>;

template <LseProblem P, class Est>
Result run_svrg(const P& problem, Est est_in, const SolverOptions& options,
                Observer* observer = nullptr, const Vec* theta0 = nullptr,
                const SolverState* resume = nullptr) {
  SolverOptions o = options;  // epochs: no `auto` left; batch 0: chosen below
  if (o.epochs == 0.0) o.epochs = 1000.0;
  using Clock = std::chrono::steady_clock;
  constexpr bool kOverGroups = P::kBatchOverGroups;
  // Entropic OT with every atom in the batch: each source sample's term is exact, so the
  // estimators that follow F (biased-softmax, variational-log, softplus) all step on the exact
  // per-sample semi-dual gradients (Genevay et al. 2016): their shift would only add curvature.
  constexpr bool kExactGroups = kOverGroups && (Est::kHasShift || std::is_same_v<Est, BiasedSoftmax>);
  using E = std::conditional_t<kExactGroups, BiasedSoftmax, Est>;
  E est{};
  if constexpr (std::is_same_v<E, Est>) est = est_in;
  constexpr bool kShift = E::kHasShift;
  constexpr bool kSoftplus = std::is_same_v<E, Softplus>;
  // The anchor grad F(th~) is the surrogate's own gradient when the shifts sit at L_k(th~).
  constexpr bool kExactAnchor = kShift || std::is_same_v<E, BiasedSoftmax>;
  // Stored snapshot derivatives (DRO with GLM losses): one evaluation per sample per step.
  constexpr bool kStored = !kOverGroups && ItemDerivativeProblem<P> && kItemwiseWeights<E>;

  const Index d = problem.dim(), k_groups = problem.num_groups(), m_items = problem.num_items();
  const Index pool = kOverGroups ? k_groups : m_items;
  const double lambda = problem.temperature();
  const double npool = static_cast<double>(pool);
  // Entropic OT with a dense Hessian: steps are preconditioned by the snapshot's Hessian.
  bool precond = false;
  if constexpr (kOverGroups && DenseHessianProblem<P>) precond = problem.dim() <= P::kDenseAtoms;
  // Automatic batch: 1, or with the preconditioner as many source samples as atoms (see the
  // header: the step is then about half a Newton step).
  const long auto_batch = precond ? static_cast<long>(problem.dim()) : 1;
  const Index bsz = std::min<Index>(std::max<long>(o.batch > 0 ? o.batch : auto_batch, 1), pool);
  const Index gb = kOverGroups ? bsz : 1;          // groups per step
  const Index mb = kOverGroups ? m_items : bsz;    // items per step
  // m = 2N/|B| inner steps; N/(2|B|) with the preconditioner (see the header).
  const long inner = std::max<long>(1, precond ? pool / (2 * bsz) : 2 * pool / bsz);
  const double budget_passes = o.epochs > 0.0 ? o.epochs : 1000.0;
  const long budget_steps = o.steps > 0 ? o.steps : -1;

  // ---- setup ---------------------------------------------------------------
  Rng rng(o.seed);
  ExactEvaluator<P> ev(problem);
  Vec theta = theta0 ? *theta0 : problem.initial_point();
  Vec snap = theta, g_anchor(d), g_meas(d), v(d), rg_snap = Vec::Zero(d);
  Vec lse, item_scores, alpha = Vec::Zero(kShift ? k_groups : 0);
  Vec qprob = Vec::Constant(pool, 1.0 / npool), coef = Vec::Ones(pool);  // coef = 1/(N q_i)
  Mat hess, hraw, minv;  // damped Hessian, H(th~) itself (for the certificate), the inverse
  Vec curv, dir = Vec::Zero(d);
  // The epoch's candidate with the preconditioner: the inner iterate of least model value.
  Vec dlt(precond ? d : 0), hdl(precond ? d : 0), theta_best(precond ? d : 0);
  AliasTable alias(qprob);
  std::vector<Index> idx(bsz);
  auto ws = problem.make_workspace(gb, mb);
  auto ws2 = problem.make_workspace(gb, mb);
  Mat s(mb, gb), w(mb, gb), s2(mb, gb), w2(mb, gb);
  Vec q(mb);  // item probabilities inside a group
  if (kOverGroups && problem.item_prob()) q = *problem.item_prob();
  else q.setConstant(1.0 / static_cast<double>(mb));
  if constexpr (kSoftplus) est.rho = o.rho > 0.0 ? o.rho : o.rho_max;
  // Stored path: dtab(:, i) = c~_i = w~_i dl_i/dz_i(th~) (D x N, rebuilt by one pass at the
  // start of every epoch whose snapshot changed), abuf the D x |B| coefficients of a step.
  Index dsz = 0;
  if constexpr (kStored) dsz = problem.derivative_dim();
  Mat dtab(dsz, kStored ? pool : 0), abuf(dsz, kStored ? bsz : 0);
  const Index tblk = kStored ? std::min<Index>(pool, 256) : 1;
  auto ws_tab = problem.make_workspace(1, tblk);
  Mat s_tab(tblk, 1), w_tab(tblk, 1);
  const Vec q_tab = Vec::Constant(tblk, 1.0 / npool);  // unused by item-wise weights
  bool table_stale = true;

  Result res;
  res.solver = Est::kName;
  res.tol = o.tol;
  double passes = 0.0, solver_time = 0.0, step_base = 1.0;
  long steps_done = 0, epochs_done = 0;
  vr::StepSafeguard guard;
  guard.scale = o.svrg_initial_scale;
  Measure cur;
  // The objective the run follows (vr_common.hpp) and its value at the snapshot (the trace's
  // `estimate`, so a resumed run takes it from its last row).
  // (softplus off the stored path keeps grad F(th~) as its anchor, so it follows F.)
  const vr::Followed follow = kSoftplus && !kStored ? vr::Followed{} : vr::Followed::of<E>(o);
  double anchor_mean = std::nan(""), fol = std::nan("");
  auto followed_at = [&](const Measure& ms) {
    return follow.value(ms.objective, lse, kOverGroups ? nullptr : &item_scores, anchor_mean, lambda,
                        [&] { return problem.regularizer(snap, nullptr); });
  };
  auto elapsed_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };

  // The certificate costs passes of its own: computed when due (solvers/measure.hpp).
  CertificateGate gate{o.tol, certificate_cost(problem)};
  // Snapshot at `snap`: measure, shifts, anchor, sampling distribution and step.
  auto snapshot = [&](Measure& ms) {
    ms = vr::measure_epoch(problem, ev, snap, g_meas, passes, gate, &lse,
                           kOverGroups ? nullptr : &item_scores, precond ? &hraw : nullptr,
                           precond ? &curv : nullptr);
    if (!std::isfinite(ms.objective)) return false;
    if constexpr (kSoftplus) {
      if (o.rho == 0.0) {
        est.rho = vr::softplus_rho_for_tol(o.tol, ms.objective, lambda, ms.kappa, o.rho_max);
      }
    }
    if constexpr (kShift) {
      alpha = lse;  // L_k(th~)
      if constexpr (kSoftplus && !kOverGroups) {
        // Its own optimum (bracketed Newton); where rho is so small that it cannot differ from
        // L by more than rounding, or the solve fails, L itself.
        if (est.rho >= 1e-12) {
          const double a = softplus_relaxation(item_scores, Vec::Constant(m_items, 1.0 / m_items),
                                               lambda, est.rho).alpha;
          if (std::isfinite(a)) alpha(0) = a;
        }
      }
    }
    table_stale = true;
    rg_snap.setZero();
    problem.regularizer(snap, &rg_snap);
    if constexpr (kExactAnchor) {
      g_anchor = g_meas;
    } else {  // the surrogate's own full gradient at th~ (one more pass)
      g_anchor.setZero();
      anchor_mean = 0.0;  // the surrogate's mean over the pool (erm on OT: its followed value)
      const Index blk = kOverGroups ? gb : mb;
      for (Index i0 = 0; i0 < pool; i0 += blk) {
        const Index in = std::min(blk, pool - i0);
        const IndexSet grp = kOverGroups ? IndexSet::range(i0, in) : IndexSet::range(0, 1);
        const IndexSet itm = kOverGroups ? IndexSet::range(0, m_items) : IndexSet::range(i0, in);
        auto sb = s.topLeftCorner(kOverGroups ? m_items : in, kOverGroups ? in : 1);
        auto wb = w.topLeftCorner(sb.rows(), sb.cols());
        problem.scores(snap, grp, itm, ws, sb);
        for (Index g = 0; g < sb.cols(); ++g) {
          anchor_mean += est.weights(sb.col(g), q.head(sb.rows()), lambda, 0.0, wb.col(g)).estimate *
                         (kOverGroups ? 1.0 : static_cast<double>(mb)) / npool;
          if constexpr (kOverGroups) wb.col(g).array() *= q.array() / npool;
          else wb.col(g) /= npool;
        }
        problem.add_gradient(snap, grp, itm, ws, wb, g_anchor);
      }
      g_anchor += rg_snap;
      passes += 1.0;
    }
    // Importance sampling and the step's curvature scale.
    double lmax = 1.0;
    if constexpr (!kOverGroups && SmoothnessProblem<P>) {
      Vec lhat(pool);
      Vec wt(pool);
      est.weights(item_scores, Vec::Constant(pool, 1.0 / npool), lambda, kShift ? alpha(0) : 0.0, wt);
      for (Index i = 0; i < pool; ++i) lhat(i) = wt(i) * problem.item_smoothness(i, item_scores(i));
      lmax = vr::importance_sampling(lhat, qprob, coef, alias);
      if (!std::isfinite(lmax)) return false;
    } else if (precond) {
      if constexpr (DenseHessianProblem<P>) {
        // M = (H~ + delta I)^{-1} (H~ 1 = 0; the SVRG direction is orthogonal to 1, delta
        // only fixes the gauge). In the metric of H~ the mean of the per-sample curvatures
        // tr(M H_i) is tr(M H~) = m - 1; each is estimated as (m - 1) curv_i / mean(curv)
        // with curv_i = eps tr(H_i) = 1 - |chi(x_i)|^2, and the sampling follows it.
        // H~ and the curvatures came with the snapshot's measure (the same pass).
        hess = hraw;
        // Levenberg-Marquardt damping by the marginal error: far from the optimum (atoms whose
        // cells hold almost no mass have tiny curvature) the step is a scaled gradient step
        // (H <= diag(nu) / eps), near it a Newton step.
        const double damp = std::max(g_meas.template lpNorm<1>(), 1e-10) / lambda;
        hess.diagonal().array() += damp * problem.b().array() +
                                   1e-10 * std::max(hess.diagonal().maxCoeff(), 1e-300);
        minv = hess.ldlt().solve(Mat::Identity(d, d));
        if (!minv.allFinite()) return false;
        const double cmean = curv.mean();
        if (!std::isfinite(cmean)) return false;
        if (cmean > 0.0) {
          lmax = vr::importance_sampling((static_cast<double>(d - 1) / cmean) * curv, qprob, coef, alias);
          if (!std::isfinite(lmax)) return false;
        } else {  // no sample has curvature (one atom, or every sample deep in its cell)
          qprob.setConstant(1.0 / npool);
          coef.setOnes();
          alias = AliasTable(qprob);
        }
        // A minibatch of |B| samples: the direction's curvature in the metric of H~ is about
        // 1 (the mean) + max_i / |B| (its sampling noise), so eta <= 1: at most a Newton step.
        lmax = 1.0 + std::max(lmax, 1.0) / static_cast<double>(bsz);
      }
    } else {
      lmax = 1.0 / lambda;  // OT: eta = eps (1 / (2 L_max) of the semi-dual)
    }
    step_base = 1.0 / lmax;
    return true;
  };

  // The step; preconditioned, never more than a Newton step (the scale stops growing there).
  auto step_now = [&] { return precond ? std::min(guard.scale * step_base, 1.0) : guard.scale * step_base; };
  // The run's state at an epoch boundary (SolverState, solvers/result.hpp), each variable beside
  // its field; the estimator (softplus rho) and the certificate gate save their own, the alias
  // table is rebuilt from qprob, rg_snap from snap, the current measure is the last row's.
  auto state_io = [&](auto dir, auto& x) {
    vr::transfer(dir, snap, x.theta, g_meas, x.grad, g_anchor, x.anchor, alpha, x.alpha, qprob, x.qprob,
                 coef, x.coef, minv, x.precond, hraw, x.hessian, dtab, x.table, table_stale, x.table_stale, step_base,
                 x.step_base, guard.scale, x.step_scale, steps_done, x.step, epochs_done, x.epochs, guard.rejected,
                 x.rejected, passes, x.passes, solver_time, x.solver_time, rng, x.rng, res.trace, x.trace);
  };
  auto save_state = [&](SolverState& x) {
    x.loop = static_cast<long>(StateLoop::Svrg);
    state_io(vr::ToState{}, x);
    est.save(x);
    vr::save_gate(gate, x);
  };
  vr::EpochCheckpoints checkpoints(observer, o.checkpoint_every, resume ? resume->step : 0);
  auto record = [&]() {
    const TracePoint tp = vr::trace_row(cur, fol, steps_done, passes, solver_time, step_now(), est.param());
    res.trace.push_back(tp);
    return !observer || observer->on_trace(tp, snap, 0) == Action::Continue;
  };

  Measure trial;
  bool stop = false;
  if (resume) {  // checked against this run's own state (shapes, loop), then assigned
    SolverState fresh;
    save_state(fresh);
    fresh.precond.resize(precond ? d : 0, precond ? d : 0);
    fresh.hessian.resize(precond ? d : 0, precond ? d : 0);
    std::string why = state_mismatch(*resume, fresh);
    if (why.empty() && (resume->trace.empty() || resume->step < 0 || !resume->qprob.allFinite() ||
                        !(resume->qprob.array() > 0.0).all()))
      why = "its counters or sampling distribution are inconsistent";
    if (!why.empty()) throw InputError("the checkpoint does not belong to this run: " + why);
    state_io(vr::FromState{}, *resume);
    est.restore(*resume);
    vr::load_gate(gate, *resume);
    alias = AliasTable(qprob);
    rg_snap.setZero();
    problem.regularizer(snap, &rg_snap);
    cur = vr::row_measure(res.trace.back());
    fol = res.trace.back().estimate;
  } else if (!snapshot(cur) || !std::isfinite(fol = followed_at(cur))) {
    res.status = Status::Diverged;
    res.message = std::isfinite(cur.objective) ? std::string("the followed objective (") + follow.symbol() +
                                                     ") is not finite at the start point"
                                               : "the exact objective is not finite at the start point";
    stop = true;
  } else if (!record()) {
    res.status = Status::Interrupted;
    stop = true;
  }
  const double f0 = res.trace.empty() ? cur.objective : res.trace.front().objective;

  while (!stop) {
    if (o.tol > 0.0 && cur.criterion <= o.tol) {
      res.status = Status::Converged;
      break;
    }
    if (passes >= budget_passes || (budget_steps >= 0 && steps_done >= budget_steps)) {
      res.message = "budget exhausted";
      break;
    }
    if (o.time_limit > 0.0 && solver_time >= o.time_limit) {
      res.message = "time limit reached";
      break;
    }
    if (checkpoints.on()) {  // an epoch boundary: the state is consistent here
      save_state(checkpoints.state);
      checkpoints.at_boundary();
    }
    const auto t0 = Clock::now();
    const double eta = step_now();
    theta = snap;
    double qbest = 0.0;  // the snapshot's model q(0)
    if (precond) theta_best = snap;
    bool finite = true;
    if constexpr (kStored) {
      if (table_stale) {  // c~_i = w~_i a_i(th~), one pass over the pool
        // Following F_rho (softplus at an explicit rho, its shift at F_rho's optimum): the
        // anchor is the finite sum's own gradient at th~, grad F_rho(th~) + grad R =
        // (1/N) sum_i c~_i (x) x~_i + grad R, from the same pass (grad F(th~), the snapshot's,
        // would make the steps converge to F's minimizer while the safeguard compares F_rho).
        if (follow.kind == vr::Followed::Relaxed) g_anchor.setZero();
        for (Index i0 = 0; i0 < pool; i0 += tblk) {
          const Index in = std::min(tblk, pool - i0);
          const IndexSet itm = IndexSet::range(i0, in);
          auto sb = s_tab.topRows(in);
          auto wb = w_tab.topRows(in);
          problem.scores(snap, IndexSet::range(0, 1), itm, ws_tab, sb);
          est.weights(sb.col(0), q_tab.head(in), lambda, kShift ? alpha(0) : 0.0, wb.col(0));
          auto tb = dtab.middleCols(i0, in);
          problem.item_derivatives(itm, ws_tab, tb);
          for (Index i = 0; i < in; ++i) tb.col(i) *= wb(i, 0);
          if (follow.kind == vr::Followed::Relaxed) problem.add_item_gradient(itm, ws_tab, tb, g_anchor);
        }
        if (follow.kind == vr::Followed::Relaxed) g_anchor = g_anchor / npool + rg_snap;
        passes += 1.0;
        table_stale = false;
        finite = dtab.allFinite();
      }
    }
    LSEKIT_NO_MALLOC(true);
    for (long t = 0; t < inner && finite; ++t) {
      for (Index b = 0; b < bsz; ++b) idx[b] = alias.sample(rng);
      const IndexSet grp = kOverGroups ? IndexSet::list(idx.data(), gb) : IndexSet::range(0, 1);
      const IndexSet itm = kOverGroups ? IndexSet::range(0, m_items) : IndexSet::list(idx.data(), mb);
      const double inv_b = 1.0 / static_cast<double>(bsz);
      if constexpr (kStored) {
        // v = anchor + (1/|B|) sum_i (w_i a_i(theta) - c~_i) (x) x~_i / (N q_i) + R terms.
        v = g_anchor - rg_snap;
        auto weigh = [&](const auto& sc, auto& wc) { est.weights(sc, q, lambda, kShift ? alpha(0) : 0.0, wc); };
        auto wcol = w.col(0);
        if (!vr::add_stored_difference(problem, theta, itm, ws, s, wcol, abuf, abuf, dtab, coef, v, weigh)) {
          finite = false;
          break;
        }
        problem.regularizer(theta, &v);
        theta.noalias() -= eta * v;
        ++steps_done;
        passes += static_cast<double>(bsz) / npool;
        if ((t & 63) == 63 && observer && observer->interrupted()) {
          res.status = Status::Interrupted;
          stop = true;
          break;
        }
        continue;
      }
      problem.scores(theta, grp, itm, ws, s);
      problem.scores(snap, grp, itm, ws2, s2);
      for (Index g = 0; g < gb; ++g) {
        const double a = kShift ? alpha(grp[g]) : 0.0;
        est.weights(s.col(g), q, lambda, a, w.col(g));
        est.weights(s2.col(g), q, lambda, a, w2.col(g));
      }
      if constexpr (kOverGroups) {
        for (Index g = 0; g < gb; ++g) {
          const double c = coef(grp[g]) * inv_b;
          w.col(g).array() *= q.array() * c;
          w2.col(g).array() *= -q.array() * c;
        }
      } else {
        for (Index i = 0; i < mb; ++i) {
          const double c = coef(itm[i]) * inv_b;
          w(i, 0) *= c;
          w2(i, 0) *= -c;
        }
      }
      if (!w.allFinite() || !w2.allFinite()) {
        finite = false;
        break;
      }
      v = g_anchor - rg_snap;
      problem.add_gradient(theta, grp, itm, ws, w, v);
      problem.add_gradient(snap, grp, itm, ws2, w2, v);
      problem.regularizer(theta, &v);
      if (precond) {
        dir.noalias() = minv * v;
        theta.noalias() -= eta * dir;
        // q(theta - th~) = grad F(th~).D + D.H~ D / 2, exact g and H of the snapshot.
        dlt = theta - snap;
        hdl.noalias() = hraw * dlt;
        const double qv = g_meas.dot(dlt) + 0.5 * dlt.dot(hdl);
        if (qv < qbest) {
          qbest = qv;
          theta_best = theta;
        }
      } else {
        theta.noalias() -= eta * v;
      }
      ++steps_done;
      passes += 2.0 * static_cast<double>(bsz) / npool;
      if ((t & 63) == 63 && observer && observer->interrupted()) {
        res.status = Status::Interrupted;
        stop = true;
        break;
      }
    }
    LSEKIT_NO_MALLOC(false);
    if (stop) {
      solver_time += elapsed_since(t0);
      checkpoints.hand_out();  // the start of this epoch
      break;
    }
    if (precond) {
      if (finite && !(qbest < 0.0)) {  // no inner iterate below the snapshot's model: no pass
        solver_time += elapsed_since(t0);
        ++epochs_done;
        guard.reject();
        continue;
      }
      theta = theta_best;
    }
    finite = finite && theta.allFinite();
    // New snapshot candidate; what the snapshot sets is kept to go back to without a pass.
    // (The stored table is built at the start of an epoch, so it still belongs to it.)
    auto kept = std::make_tuple(snap, g_meas, g_anchor, rg_snap, alpha, qprob, coef, alias,
                                step_base, minv, hraw, lse, item_scores, est, table_stale);
    auto current = [&] {
      return std::tie(snap, g_meas, g_anchor, rg_snap, alpha, qprob, coef, alias, step_base,
                      minv, hraw, lse, item_scores, est, table_stale);
    };
    snap = theta;
    double fol_trial = std::nan("");
    const bool ok = finite && snapshot(trial) && follow.accepts(fol_trial = followed_at(trial), fol);
    solver_time += elapsed_since(t0);
    ++epochs_done;
    if (!ok) {  // safeguard: back to the previous snapshot with half the step
      current() = std::move(kept);
      guard.reject();
      if constexpr (CertifiedProblem<P>)  // a certificate of the rejected candidate bounds it too
        vr::inherit(gate, cur, &res.trace.back());
      continue;
    }
    // With the preconditioner: did the previous snapshot's model predict the decrease (within
    // 25 %, a trust region's test)? Then the step may double instead of growing by 10 %.
    bool agreed = false;
    if (precond) {
      const auto& [snap_old, g_old, h_old] = std::tie(std::get<0>(kept), std::get<1>(kept), std::get<10>(kept));
      dlt = snap - snap_old;
      hdl.noalias() = h_old * dlt;
      const double predicted = -(g_old.dot(dlt) + 0.5 * dlt.dot(hdl));
      agreed = predicted > 0.0 && std::abs((fol - fol_trial) / predicted - 1.0) <= 0.25;
    }
    cur = trial;
    fol = fol_trial;
    guard.accept(agreed);
    if (precond) guard.scale = std::min(guard.scale, 1.0 / step_base);
    if (!record()) {
      res.status = Status::Interrupted;
      if (checkpoints.on()) {  // stopped at a boundary: the state as it is now
        save_state(checkpoints.state);
        checkpoints.filled();
        checkpoints.hand_out();
      }
      break;
    }
  }

  // The returned iterate's certificate (with the snapshot's Hessian when there is one).
  vr::certify_final(problem, snap, cur, g_meas, passes, precond ? &hraw : nullptr);
  res.steps = steps_done;
  res.epochs = passes;
  res.passes = passes;
  res.time_s = solver_time;
  res.theta = snap;
  fill_result(res, cur);
  res.estimate = fol;
  if constexpr (kShift) res.alpha = alpha;
  if constexpr (kSoftplus) res.rho = est.rho;
  // A run that follows another objective may end above F's start (erm's least-loss fit).
  finish_status(res, o, follow.is_f() ? f0 : num::kInf, "`epochs` (passes)",
                vr::budget_advice(follow, lambda, res.kappa, res.objective, o.tol));
  if (!follow.is_f() && res.ok() && res.message.find("the run follows") == std::string::npos)
    res.message += "; " + follow.note(lambda, res.kappa, res.objective, o.tol);
  res.message += guard.note(epochs_done);
  return res;
}

}  // namespace lsekit
