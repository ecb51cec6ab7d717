// Table-based variance reduction for one-group KL-DRO (regression, classification):
//  * SAGA on the shift objective (--variance-reduction saga; Defazio, Bach, Lacoste-Julien,
//    NeurIPS 2014), beside SVRG (solvers/svrg.hpp);
//  * Prospect (--solver prospect; Mehta, Roulet, Pillutla, Harchaoui, "Distributionally
//    Robust Optimization with Bias and Variance Reduction", ICLR 2024) for the KL penalty.
//
// Both keep, for the n training samples, a table of per-sample derivatives D_j in R^K (the
// problem's ItemDerivativeProblem interface: l_j depends on theta through z_j in R^K and
// grad l_j = a_j (x) x~_j; regression K = 1, classification K = classes), so the table holds
// n K numbers, never n x dim, plus the table mean g = (1/n) sum_j D_j (x) x~_j in R^dim.
// A step draws i (SAGA: by importance, q_i; Prospect: uniformly, as in the paper) and moves
//   theta <- theta - eta v,   v = g + grad R(theta) + (w_i a_i(theta) - D_i) (x) x~_i / (n q_i),
// then stores D_i <- w_i a_i(theta) and updates g. The weight w_i is where the two differ:
//  * SAGA: the estimator's weight at the current loss with the shift fixed between epochs,
//    w_i = e^{(l_i(theta) - alpha)/lambda} (variational-log), 1/(rho + e^{(alpha - l_i)/lambda})
//    (softplus), e^{l_i/lambda} (sumexp) or 1 (erm): SAGA on the finite sum of those terms.
//    At every accepted epoch alpha moves to its exact optimum at the new iterate (as SVRG's
//    snapshot: lambda log mean e^{l/lambda}, softplus its own optimum). Variational-log's
//    weights then scale by one factor e^{(alpha_old - alpha_new)/lambda}, applied to the
//    whole table and g, so the table stays exact; softplus's entries stay as stored until
//    their sample is drawn again (SAGA stays unbiased with any table; the shift moves less
//    and less as the iterate converges).
//  * Prospect: the KL-penalized weights over the LOSS TABLE l (the last loss seen of every
//    sample), q = argmax_{q in simplex} <q, l> - lambda KL(q || 1/n) = softmax(l/lambda),
//    so n q_i = e^{(l_i - A)/lambda} with A = lambda log mean e^{l/lambda} of the table,
//    at the table's value of l_i before it is replaced by l_i(theta) (the paper's order).
//    The paper recomputes the weights over the whole table at every step; for the KL penalty
//    the sum S = sum_j e^{(l_j - c)/lambda} is all that changes, by two terms, so it is kept
//    incrementally and recomputed exactly (O(n)) every n updates, whenever the removed term
//    was more than half of S (cancellation) and whenever a loss exceeds the reference c by
//    30 lambda (overflow): the weights are the exact ones of the table up to rounding.
//    Prospect's v is then unbiased for the gradient of sum_i q_i l_i + R at the table's q,
//    its bias vanishing as the table converges (linear convergence to the exact optimum).
// Tables start with one pass at theta0 (counted in passes; every D_j at theta0).
//
// Epochs, measures, step (the lsekit protocol, as SVRG): every 4n/|B| steps the iterate is
// measured exactly (solvers/measure.hpp: F, grad F, the certificate on the schedule of
// vr_common.hpp); the run stops when the criterion is <= tol. SAGA keeps no snapshot, so the
// epoch only paces the measures: one costs a pass, 20% of the work at 4n samples (33% at SVRG's
// 2n), and the stop comes at most 4 passes late. Measured (before the extrapolation below):
// Fashion-MNIST subset (sampling seeds 1-3) 311-342 passes to `converged` with softplus against
// 369-382 at 2n, 347-375 with variational-log against 349-376; held-out DRO instances (seeds
// 4-6, both estimators) classification 902 passes in all against 1048, regression 907 against
// 822 (all far within their targets; the 2n figures with a since-dropped step ceiling). The
// step is
// eta = s / max_i L_i/(n q_i) with L_i = w_i c_i the weighted per-sample curvature bound
// (problem.item_smoothness, c_i) at the measured iterate -- for Prospect w_i = n q_i of the
// measured losses, q uniform and c_i the loss's own curvature (loss_smoothness, no tilt term:
// the table's weights are fixed within a step, so the tilt term a^2/lambda, which bounds
// the curvature of the weights' dependence on theta, does not enter; with it the step was
// ~60x too small where the weights are concentrated) -- and s = 1/3 to start (SAGA's 1/(3L)), adapted by the
// safeguard: an epoch whose followed objective rose above the last accepted one's (or in which
// a value stopped being finite) is rejected -- the objective the steps descend (vr::Followed):
// F, or softplus's relaxation F_rho at an explicit rho, or sumexp's / erm's own surrogate,
// each exact from the measure's pass (item scores and LSE, plus R): theta returns to the last accepted iterate, the tables
// are rebuilt there (one pass) and s halves; an accepted epoch raises s by 10%. The
// returned iterate is always the last accepted one (the lowest followed value measured). With
// SolverOptions::vr_step > 0 the step is that constant instead (the paper tunes it on a
// grid): no epoch is rejected, the run stops as diverged when F is non-finite or the followed
// objective rises above its start V0 + blowup (1 + |V0|), and the iterate returned is the one
// with the lowest followed value measured (F_rho's, not F's, for softplus at an explicit rho).
// Epoch extrapolation (SAGA and Prospect with the safeguarded step; SolverOptions::extrapolate,
// `--extrapolate off` for the methods as published): once an epoch is accepted, the point
// theta + beta (theta - theta_prev) is measured too (a pass), beta from the ratio q of the last
// two exact decreases of the followed objective (Aitken's delta-squared on the slowest mode,
// vr::extrapolation_factor; Scieur, d'Aspremont, Bach, "Nonlinear Acceleration of Stochastic
// Algorithms", NeurIPS 2017, extrapolate SAGA's epochs the same way with more iterates), and the
// epoch ends there when its followed value is lower; the tables stay as the steps left them
// (SAGA is unbiased with any table; Prospect's loss table catches up as its samples are drawn,
// as it does along its steps). The passes are set by the conditioning (mu = 1e-3 on the
// Fashion-MNIST subset), and at a linear rate the epochs' displacements line up with the
// slowest directions, which extrapolation crosses at once: Fashion-MNIST subset, sampling seeds
// 1-3, 228-238 passes to `converged` (both estimators) against 298-336 without; held-out DRO
// instances (seeds 4-6, both estimators) 1852 passes in all against 1809; Prospect on
// heavy-tailed regression (20640 x 8, lambda = 1, seeds 1-3) 1e-6 at 880 / 360 / 236 passes
// against never (3.9e-5 after 1000) / 413 / 248. The certificate (a costly one on
// classification) waits for the iterate the epoch ends at, so a rejected epoch computes none.
// Work: the table pass, every measure (and certificate) and one per-sample gradient per
// sampled item per step count in passes. The inner loop allocates nothing; it runs on the
// calling thread (the measures use the exact evaluator, whose result does not depend on the
// thread count), so a run is a function of the seed alone.
// Checkpoints (SolverOptions::checkpoint_every, `resume`): as SVRG's, at epoch boundaries, the
// whole state in one SolverState (state_io below): the last accepted iterate with its measure
// (the last trace row) and exact gradient, the derivative table D and its mean g, Prospect's
// loss table with S and its reference, the shift, the sampling distribution, the safeguarded
// step, the certificate gate, the best measured iterate (fixed step), the RNG and the counters.
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "core/alias_table.hpp"
#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "core/rng.hpp"
#include "solvers/estimators.hpp"
#include "solvers/measure.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "solvers/svrg.hpp"  // SmoothnessProblem, LSEKIT_NO_MALLOC
#include "solvers/vr_common.hpp"

namespace lsekit {

enum class TableRule { Saga, Prospect };

template <class P>
concept TableProblem = ItemDerivativeProblem<P> && SmoothnessProblem<P> && !P::kBatchOverGroups;

template <TableProblem P, class Est, TableRule kRule>
Result run_table(const P& problem, Est est, const SolverOptions& o, Observer* observer = nullptr,
                 const Vec* theta0 = nullptr, const SolverState* resume = nullptr) {
  using Clock = std::chrono::steady_clock;
  constexpr bool kProspect = kRule == TableRule::Prospect;
  constexpr bool kShift = !kProspect && Est::kHasShift;
  constexpr bool kSoftplus = !kProspect && std::is_same_v<Est, Softplus>;
  constexpr bool kRescale = !kProspect && std::is_same_v<Est, VariationalLog>;
  const Index d = problem.dim(), n = problem.num_items(), kd = problem.derivative_dim();
  const double lambda = problem.temperature(), nd = static_cast<double>(n);
  const Index bsz = std::clamp<Index>(o.batch > 0 ? o.batch : 1, 1, n);
  const long inner = std::max<long>(1, 4 * n / bsz);  // an epoch: 4n samples (see the header)
  const double budget_passes = o.epochs > 0.0 ? o.epochs : 1000.0;
  const long budget_steps = o.steps > 0 ? o.steps : -1;
  const bool fixed_step = o.vr_step > 0.0;
  const IndexSet group0 = IndexSet::range(0, 1);

  // ---- setup (every allocation of the run) ----------------------------------
  Rng rng(o.seed);
  ExactEvaluator<P> ev(problem);
  Vec theta = theta0 ? *theta0 : problem.initial_point();
  Vec snap = theta, g_meas(d), g_snap(d), v(d), gbar(d);
  Vec lse, scores, lse_t, scores_t;
  Mat dtab(kd, n);  // D_j
  Vec ltab(n);      // Prospect: the loss table
  Vec dold(kd);
  Vec qprob = Vec::Constant(n, 1.0 / nd), coef = Vec::Ones(n);
  AliasTable alias;
  double alpha = 0.0;  // SAGA: the shift of the weights
  double lref = 0.0, ssum = 1.0;  // Prospect: S = sum_j e^{(l_j - lref)/lambda}
  long since_exact = 0;
  const Index blk = std::min<Index>(n, 256);
  auto wsb = problem.make_workspace(1, blk);
  Mat sb(blk, 1), wb(blk, 1), ab(kd, blk);
  const Vec qb = Vec::Constant(blk, 1.0 / static_cast<double>(blk));
  std::vector<Index> idx(bsz);
  auto ws = problem.make_workspace(1, bsz);
  Mat s(bsz, 1), anew(kd, bsz), cdir(kd, bsz), cupd(kd, bsz);
  const Vec qs = Vec::Constant(bsz, 1.0 / static_cast<double>(bsz));
  Vec wu(bsz);
  if constexpr (kSoftplus) est.rho = o.rho > 0.0 ? o.rho : o.rho_max;

  Result res;
  res.solver = kProspect ? "prospect" : Est::kName;
  res.tol = o.tol;
  double passes = 0.0, solver_time = 0.0, step_base = 1.0;
  long steps_done = 0, epochs_done = 0;
  vr::StepSafeguard guard;
  guard.scale = o.svrg_initial_scale / 3.0;
  CertificateGate cert{o.tol, certificate_cost(problem)};
  auto elapsed_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };

  // Prospect: S and its reference from the whole table.
  auto table_lse = [&]() {
    lref = ltab.maxCoeff();
    ssum = ((ltab.array() - lref) / lambda).exp().sum();
    since_exact = 0;
  };
  auto prospect_update = [&](Index i, double lnew) {
    const double lold = ltab(i);
    ltab(i) = lnew;
    if (!(lnew - lref <= 30.0 * lambda) || ++since_exact >= n) return table_lse();
    const double eold = std::exp((lold - lref) / lambda), enew = std::exp((lnew - lref) / lambda);
    const double snew = ssum - eold + enew;
    if (eold > 0.5 * ssum || !(snew > 0.0) || !std::isfinite(snew)) return table_lse();
    ssum = snew;
  };
  // The shift (SAGA) and the sampling and step scale from an exact measure's scores/LSE.
  auto set_shift = [&](const Measure& ms, const Vec& lse_m, const Vec& scores_m) {
    if constexpr (kSoftplus) {
      if (o.rho == 0.0)
        est.rho = vr::softplus_rho_for_tol(o.tol, ms.objective, lambda, ms.kappa, o.rho_max);
    }
    if constexpr (kShift) {
      double a = lse_m(0);
      if constexpr (kSoftplus) {
        if (est.rho >= 1e-12) {
          const double b = softplus_relaxation(scores_m, Vec::Constant(n, 1.0 / nd), lambda, est.rho).alpha;
          if (std::isfinite(b)) a = b;
        }
      }
      return a;
    }
    return 0.0;
  };
  auto set_sampling = [&](const Vec& lse_m, const Vec& scores_m) {
    Vec wt(n), lhat(n);
    if constexpr (kProspect) wt = ((scores_m.array() - lse_m(0)) / lambda).exp();
    else est.weights(scores_m, Vec::Constant(n, 1.0 / nd), lambda, alpha, wt);
    // Prospect's weights are the table's, fixed within a step: the curvature of a step's term
    // n q_i l_i is that of the loss alone (loss_smoothness: no tilt term); the
    // weights' own dependence on theta acts through the table, at the pace of its updates.
    for (Index i = 0; i < n; ++i)
      lhat(i) = wt(i) * (kProspect ? problem.loss_smoothness(i) : problem.item_smoothness(i, scores_m(i)));
    double lmax = std::nan("");
    if constexpr (kProspect) {
      const double mx = lhat.maxCoeff();
      if (mx > 0.0 && std::isfinite(mx)) lmax = mx;
    } else {
      lmax = vr::importance_sampling(lhat, qprob, coef, alias);
    }
    if (!std::isfinite(lmax)) return false;
    step_base = 1.0 / lmax;
    return true;
  };
  // Tables at theta: D_j = w_j a_j with the weights of the measure whose LSE is `shift0`
  // (Prospect: n q_j = e^{(l_j - L(theta))/lambda}; SAGA: the estimator at alpha), g, and the
  // loss table. One pass.
  auto init_table = [&](const Vec& at, double shift0) {
    gbar.setZero();
    for (Index i0 = 0; i0 < n; i0 += blk) {
      const Index in = std::min(blk, n - i0);
      const IndexSet items = IndexSet::range(i0, in);
      auto sv = sb.topRows(in);
      auto wv = wb.topRows(in);
      auto av = ab.leftCols(in);
      problem.scores(at, group0, items, wsb, sv);
      problem.item_derivatives(items, wsb, av);
      if constexpr (kProspect) wv = ((sv.array() - shift0) / lambda).exp().matrix();
      else est.weights(sv.col(0), qb.head(in), lambda, alpha, wv.col(0));
      ltab.segment(i0, in) = sv.col(0);
      for (Index j = 0; j < in; ++j) {
        dtab.col(i0 + j) = wv(j, 0) * av.col(j);
        av.col(j) = dtab.col(i0 + j) / nd;
      }
      problem.add_item_gradient(items, wsb, av, gbar);
    }
    passes += 1.0;
    if constexpr (kProspect) table_lse();
    return dtab.allFinite() && gbar.allFinite();
  };

  // The objective the run follows (vr_common.hpp) and its value at the last accepted iterate
  // and at the best one; a trace row's `estimate` is its value there (resume reads them back).
  const vr::Followed follow = kProspect ? vr::Followed{} : vr::Followed::of<Est>(o);
  double fol = std::nan(""), fol_best = std::nan("");
  auto followed_at = [&](const Measure& ms, const Vec& lse_m, const Vec& scores_m, const Vec& at) {
    return follow.value(ms.objective, lse_m, &scores_m, 0.0, lambda,
                        [&] { return problem.regularizer(at, nullptr); });
  };
  long extrapolated = 0;  // accepted epochs that ended at their extrapolated point
  Vec theta_x(d), g_x(d), lse_x, scores_x;
  // Fixed step: the best measured iterate (with the safeguard it is always `snap`), its row.
  Measure best;
  Vec theta_best, g_best;
  long best_row = 0;
  // The run's state at an epoch boundary (SolverState, solvers/result.hpp), each variable beside
  // its field; the estimator (softplus rho), the safeguard and the certificate gate save their
  // own, the alias table is rebuilt from qprob, the measures are the trace's rows.
  auto state_io = [&](auto dir, auto& x) {
    vr::transfer(dir, snap, x.theta, g_snap, x.grad, gbar, x.anchor, lse, x.lse, dtab, x.table, ltab,
                 x.loss_table, qprob, x.qprob, coef, x.coef, lref, x.lref, ssum, x.ssum, since_exact,
                 x.since_exact, step_base, x.step_base, steps_done, x.step, epochs_done, x.epochs, passes,
                 x.passes, solver_time, x.solver_time, theta_best, x.theta_best, g_best, x.grad_best,
                 best_row, x.best_row, extrapolated, x.extrapolated, rng, x.rng, res.trace, x.trace);
  };
  auto save_state = [&](SolverState& x) {
    x.loop = static_cast<long>(kProspect ? StateLoop::Prospect : StateLoop::Saga);
    state_io(vr::ToState{}, x);
    x.alpha = Vec::Constant(kShift ? 1 : 0, alpha);
    est.save(x);
    guard.save(x);
    vr::save_gate(cert, x);
  };
  vr::EpochCheckpoints checkpoints(observer, o.checkpoint_every, resume ? resume->step : 0);

  Measure cur;
  bool stop = false;
  if (resume) {  // checked against this run's own state (shapes, loop), then assigned
    SolverState fresh;
    lse = Vec::Zero(problem.num_groups());
    theta_best = g_best = Vec::Zero(d);
    save_state(fresh);
    std::string why = state_mismatch(*resume, fresh);
    if (why.empty() && (resume->trace.empty() || resume->step < 0 || resume->best_row < 0 ||
                        resume->best_row >= static_cast<long>(resume->trace.size()) ||
                        !resume->qprob.allFinite() || !(resume->qprob.array() > 0.0).all()))
      why = "its counters or sampling distribution are inconsistent";
    if (!why.empty()) throw InputError("the checkpoint does not belong to this run: " + why);
    state_io(vr::FromState{}, *resume);
    if constexpr (kShift) alpha = resume->alpha(0);
    est.restore(*resume);
    guard.restore(*resume);
    vr::load_gate(cert, *resume);
    if constexpr (!kProspect) alias = AliasTable(qprob);
    theta = snap;
    cur = vr::row_measure(res.trace.back());
    best = vr::row_measure(res.trace[static_cast<size_t>(best_row)]);
    fol = res.trace.back().estimate;
    fol_best = res.trace[static_cast<size_t>(best_row)].estimate;
  } else if (cur = vr::measure_epoch(problem, ev, snap, g_snap, passes, cert, &lse, &scores);
             !std::isfinite(cur.objective) || !std::isfinite(fol = followed_at(cur, lse, scores, snap))) {
    res.status = Status::Diverged;
    res.message = std::isfinite(cur.objective) ? std::string("the followed objective (") + follow.symbol() +
                                                     ") is not finite at the start point"
                                               : "the exact objective is not finite at the start point";
    stop = true;
  } else {
    alpha = set_shift(cur, lse, scores);
    if (!set_sampling(lse, scores) || !init_table(snap, kProspect ? lse(0) : alpha)) {
      res.status = Status::Diverged;
      res.message = "non-finite per-sample weights or derivatives at the start point";
      stop = true;
    }
  }
  const double f0 = resume ? res.trace.front().objective : cur.objective;
  const double fol0 = resume ? res.trace.front().estimate : fol;
  if (!resume) best = cur, theta_best = snap, g_best = g_snap, fol_best = fol;
  auto rho_now = [&]() {
    if constexpr (kSoftplus) return est.rho;
    return 0.0;
  };
  auto record = [&](const Measure& m, double v) {
    const TracePoint tp = vr::trace_row(m, v, steps_done, passes, solver_time,
                                        fixed_step ? o.vr_step : guard.scale * step_base, rho_now());
    res.trace.push_back(tp);
    return !observer || observer->on_trace(tp, theta, 0) == Action::Continue;
  };
  if (!resume && !stop && !record(cur, fol)) {
    res.status = Status::Interrupted;
    stop = true;
  }

  while (!stop) {
    if (o.tol > 0.0 && cur.criterion <= o.tol) {
      res.status = Status::Converged;
      best = cur, theta_best = snap, g_best = g_snap, fol_best = fol;  // the iterate that met the tolerance
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
    const double eta = fixed_step ? o.vr_step : guard.scale * step_base;
    bool finite = true;
    LSEKIT_NO_MALLOC(true);
    for (long t = 0; t < inner; ++t) {
      for (Index b = 0; b < bsz; ++b)
        idx[b] = kProspect ? static_cast<Index>(rng.below(static_cast<std::uint64_t>(n))) : alias.sample(rng);
      const IndexSet itm = IndexSet::list(idx.data(), bsz);
      auto weigh = [&](const auto& sc, Vec& wt) {
        if constexpr (kProspect) {
          const double scale_w = nd / ssum;
          for (Index b = 0; b < bsz; ++b) wt(b) = std::exp((ltab(idx[b]) - lref) / lambda) * scale_w;
        } else {
          est.weights(sc, qs, lambda, alpha, wt);
        }
      };
      v = gbar;
      problem.regularizer(theta, &v);
      if (!vr::add_stored_difference(problem, theta, itm, ws, s, wu, anew, cdir, dtab, coef, v, weigh)) {
        finite = false;
        break;
      }
      theta.noalias() -= eta * v;
      // Tables: in draw order, so that a sample drawn twice ends with its last entry and g
      // with exactly the table's mean.
      for (Index b = 0; b < bsz; ++b) {
        const Index i = idx[b];
        dold = dtab.col(i);
        dtab.col(i) = wu(b) * anew.col(b);
        cupd.col(b) = (dtab.col(i) - dold) / nd;
        if constexpr (kProspect) prospect_update(i, s(b, 0));
      }
      problem.add_item_gradient(itm, ws, cupd, gbar);
      ++steps_done;
      passes += static_cast<double>(bsz) / nd;
      if ((steps_done & 63) == 0 && observer && observer->interrupted()) {
        res.status = Status::Interrupted;
        stop = true;
        break;
      }
      if (budget_steps >= 0 && steps_done >= budget_steps) break;
    }
    LSEKIT_NO_MALLOC(false);
    if (stop) {
      solver_time += elapsed_since(t0);
      checkpoints.hand_out();  // the start of this epoch
      break;
    }
    finite = finite && theta.allFinite() && gbar.allFinite();
    ++epochs_done;
    // The epoch's iterate, measured; with the safeguard its certificate waits for the iterate
    // the epoch ends at (none for a rejected epoch).
    Measure trial;
    if (finite) {
      trial = measure(problem, ev, theta, g_meas, &passes, false, &lse_t, &scores_t);
      if (fixed_step) vr::certify_due(problem, theta, trial, g_meas, passes, cert);
    }
    finite = finite && std::isfinite(trial.objective);
    double fol_trial = finite ? followed_at(trial, lse_t, scores_t, theta) : std::nan("");
    finite = finite && !std::isnan(fol_trial);
    if (fixed_step) {
      if (!finite || fol_trial > fol0 + o.blowup * (1.0 + std::abs(fol0))) {
        solver_time += elapsed_since(t0);
        res.status = Status::Diverged;
        res.message = std::string(finite ? (follow.is_f() ? std::string("the exact objective")
                                                          : std::string("the followed objective (") +
                                                                follow.symbol() + ")") +
                                               " rose above its start by more than `blowup`"
                                         : std::string("a non-finite value appeared")) +
                      " in epoch " + std::to_string(epochs_done) + " with the fixed step `vr_step=" +
                      sci(o.vr_step) + "`; returned the best measured iterate";
        break;
      }
    } else if (!finite || !follow.accepts(fol_trial, fol)) {
      // Safeguard: back to the last accepted iterate, tables rebuilt there, half the step.
      guard.reject();
      theta = snap;
      const bool rebuilt = init_table(snap, kProspect ? lse(0) : alpha);
      solver_time += elapsed_since(t0);
      if (!rebuilt) {
        res.status = Status::Diverged;
        res.message = "non-finite per-sample weights or derivatives at the last accepted iterate";
        break;
      }
      continue;
    }
    if (!fixed_step) {
      // Extrapolation (vr::extrapolation_factor): the point beta (theta - snap) beyond the
      // epoch's iterate, measured (a pass); the epoch ends there when its followed value is
      // lower. The tables stay as the steps left them (see the header). The previous epoch's
      // decrease is that of the last two trace rows (the accepted iterates, `estimate` their
      // followed values; fol is the last one's).
      const size_t rows = res.trace.size();
      const double drop_prev =
          rows >= 2 ? res.trace[rows - 2].estimate - res.trace[rows - 1].estimate : -1.0;
      const double beta = o.extrapolate ? vr::extrapolation_factor(fol - fol_trial, drop_prev) : 0.0;
      if (beta > 0.0) {
        theta_x = theta + beta * (theta - snap);
        Measure mx = measure(problem, ev, theta_x, g_x, &passes, false, &lse_x, &scores_x);
        const double fol_x =
            std::isfinite(mx.objective) ? followed_at(mx, lse_x, scores_x, theta_x) : std::nan("");
        if (fol_x < fol_trial) {
          std::swap(theta, theta_x);
          std::swap(g_meas, g_x);
          std::swap(lse_t, lse_x);
          std::swap(scores_t, scores_x);
          trial = mx;
          fol_trial = fol_x;
          ++extrapolated;
        }
      }
      vr::certify_due(problem, theta, trial, g_meas, passes, cert);
    }
    // Accepted: the new shift (variational-log: the table rescaled with it), sampling, step.
    const double a_new = set_shift(trial, lse_t, scores_t);
    if constexpr (kRescale) {
      const double r = std::exp((alpha - a_new) / lambda);
      dtab *= r;
      gbar *= r;
    }
    alpha = a_new;
    if (!set_sampling(lse_t, scores_t)) {
      solver_time += elapsed_since(t0);
      res.status = Status::Diverged;
      res.message = "the per-sample curvature bounds are not finite at the measured iterate";
      break;
    }
    std::swap(lse, lse_t);
    std::swap(scores, scores_t);
    cur = trial;
    fol = fol_trial;
    snap = theta;
    std::swap(g_snap, g_meas);
    if (!fixed_step || fol < fol_best)
      best = cur, theta_best = snap, g_best = g_snap, fol_best = fol,
      best_row = static_cast<long>(res.trace.size());
    if (!fixed_step) guard.accept();
    solver_time += elapsed_since(t0);
    if (!record(cur, fol)) {
      res.status = Status::Interrupted;
      if (checkpoints.on()) {  // stopped at a boundary: the state as it is now
        save_state(checkpoints.state);
        checkpoints.filled();
        checkpoints.hand_out();
      }
      break;
    }
  }

  vr::certify_final(problem, theta_best, best, g_best, passes);
  res.steps = steps_done;
  res.epochs = passes;
  res.passes = passes;
  res.time_s = solver_time;
  res.theta = theta_best;
  fill_result(res, best);
  res.estimate = fol_best;
  if constexpr (kShift) res.alpha = Vec::Constant(1, alpha);
  if constexpr (kSoftplus) res.rho = est.rho;
  // A run that follows another objective may end above F's start (erm's least-loss fit).
  finish_status(res, o, follow.is_f() ? f0 : num::kInf, "`epochs` (passes)",
                vr::budget_advice(follow, lambda, res.kappa, res.objective, o.tol));
  if (!follow.is_f() && res.ok() && res.message.find("the run follows") == std::string::npos)
    res.message += "; " + follow.note(lambda, res.kappa, res.objective, o.tol);
  res.message += guard.note(epochs_done);
  if (extrapolated > 0)
    res.message += "; " + std::to_string(extrapolated) + " of " + std::to_string(epochs_done) +
                   " epochs ended at their extrapolated point";
  return res;
}

/// SAGA (--variance-reduction saga) or Prospect (--solver prospect) for the options' solver.
template <LseProblem P>
Result solve_table(const P& problem, const SolverOptions& o, Observer* observer = nullptr,
                   const Vec* theta0 = nullptr, const SolverState* resume = nullptr) {
  if constexpr (TableProblem<P>) {
    switch (o.solver) {
      case SolverKind::Prospect:
        return run_table<P, VariationalLog, TableRule::Prospect>(problem, VariationalLog{}, o, observer, theta0, resume);
      case SolverKind::VariationalLog:
        return run_table<P, VariationalLog, TableRule::Saga>(problem, VariationalLog{}, o, observer, theta0, resume);
      case SolverKind::Softplus:
        return run_table<P, Softplus, TableRule::Saga>(problem, Softplus{}, o, observer, theta0, resume);
      case SolverKind::SumExp:
        return run_table<P, SumExp, TableRule::Saga>(problem, SumExp{}, o, observer, theta0, resume);
      case SolverKind::Erm: return run_table<P, Erm, TableRule::Saga>(problem, Erm{}, o, observer, theta0, resume);
      case SolverKind::BiasedSoftmax:
      case SolverKind::Full: break;
    }
    throw InputError("`variance_reduction=saga` needs an estimator unbiased for a finite sum "
                     "(variational-log, softplus, sumexp or erm)");
  } else {
    throw InputError("`variance_reduction=saga` and `solver=prospect` keep a table of per-sample "
                     "derivatives, which this problem does not provide (entropic OT would need n x m "
                     "entries); use `variance_reduction=svrg`");
  }
}

}  // namespace lsekit
