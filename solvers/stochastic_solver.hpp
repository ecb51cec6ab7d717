// The stochastic solver loop of lsekit: one template for every problem and
// every estimator (SPEC section 3).
//
// Each step draws a product minibatch (items x groups):
//  * DRO (one group): `batch` items, by epoch permutation or with replacement;
//  * OT (kBatchOverGroups): `batch` groups (source samples) and either all items
//    (atoms == 0; q = nu, Genevay et al. 2016 semi-dual SGD when batch = 1) or
//    `atoms` items drawn i.i.d. from nu with an alias table (q = 1/atoms).
// The problem scores the batch, the estimator turns each group's scores into
// weights w (see estimators.hpp), and the problem accumulates
//   g = (1/G) sum_g sum_i q_i w_{i,g} grad l + grad(R + A)
// so the step direction is an estimate of grad F (exact for biased-softmax with
// the whole group in the batch). Shifts alpha_k (variational-log, softplus) are
// initialized lazily from the first minibatch logsumexp of their group and
// stepped with the same rule on d/dalpha_k = 1 - sum_i q_i w_i (lazily: only the
// groups in the batch move, with their own step counters).
//
// The loop never names an estimator: what an estimator adapts while the run goes (softplus's
// adaptive rho) lives in the estimator's own hooks (estimators.hpp: start, observe, end_block,
// param, save/restore), so adding an estimator touches estimators.hpp only.
//
// Safety: a non-finite score, weight, gradient or iterate stops the run with
// status Diverged and the last finite iterate. Exact F is evaluated (time
// excluded) at eval_points rows. The step loop allocates nothing: every buffer
// is sized in setup (tested with EIGEN_RUNTIME_NO_MALLOC).
//
// Checkpoints: the loop keeps its state (iterates, moments, shifts, RNG, epoch permutations,
// counters, trace) in one SolverState. With checkpoint_every = N > 0 the observer receives
// it every N steps and when the run is interrupted (outside the timed, allocation-free
// region); passing it back as `resume` (checked against the run field by field through
// kStateFields, then assigned) continues the run so that it ends bitwise identical to an
// uninterrupted one.
#pragma once

#include <chrono>
#include <cmath>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "core/alias_table.hpp"
#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "core/numerics.hpp"
#include "core/rng.hpp"
#include "solvers/estimators.hpp"
#include "solvers/measure.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "solvers/step_rules.hpp"

#ifdef LSEKIT_TEST_NO_MALLOC
#define LSEKIT_NO_MALLOC(on) Eigen::internal::set_is_malloc_allowed(!(on))
#else
#define LSEKIT_NO_MALLOC(on) ((void)0)
#endif

namespace lsekit {

namespace detail {

/// Draws indices from [0, n): epoch permutations (wrapping across epochs, so
/// every index is seen once per n draws) or i.i.d. uniform / from an alias table.
/// The permutation in use and the position in it live in `perm` and `cursor` (the run's
/// SolverState), so that a checkpoint holds them.
class IndexSampler {
 public:
  IndexSampler(Index n, SamplingKind kind, const Vec* prob, std::vector<Index>& perm, long& cursor)
      : n_(n), kind_(kind), perm_(&perm), cursor_(&cursor) {
    if (prob) {
      alias_ = AliasTable(*prob);
      kind_ = SamplingKind::Replacement;
      use_alias_ = true;
    }
    perm.clear();
    cursor = 0;
    if (kind_ == SamplingKind::Permutation) {
      perm.resize(n);
      std::iota(perm.begin(), perm.end(), Index{0});
      cursor = n;  // shuffle on first draw
    }
  }
  void draw(Rng& rng, Index* out, Index count) {
    if (kind_ == SamplingKind::Replacement) {
      for (Index i = 0; i < count; ++i)
        out[i] = use_alias_ ? alias_.sample(rng) : static_cast<Index>(rng.below(n_));
      return;
    }
    std::vector<Index>& perm = *perm_;
    long& cursor = *cursor_;
    for (Index i = 0; i < count; ++i) {
      if (cursor == n_) {
        rng.shuffle(perm.data(), n_);
        cursor = 0;
      }
      out[i] = perm[cursor++];
    }
  }
  /// Whether `perm` and `cursor` (a checkpoint's) can be this sampler's state.
  bool fits(const std::vector<Index>& perm, long cursor) const {
    const size_t want = kind_ == SamplingKind::Permutation ? static_cast<size_t>(n_) : 0;
    if (perm.size() != want || cursor < 0 || cursor > static_cast<long>(perm.size())) return false;
    for (Index v : perm)
      if (v < 0 || v >= n_) return false;
    return true;
  }

 private:
  Index n_;
  SamplingKind kind_;
  bool use_alias_ = false;
  AliasTable alias_;
  std::vector<Index>* perm_;
  long* cursor_;
};


}  // namespace detail

/// Consecutive trace rows of rising F that count as upward drift (with a 1 % total rise).
inline constexpr long kDriftRows = 8;

template <LseProblem P, class Est>
Result run_stochastic(const P& problem, Est est, const SolverOptions& options,
                      Observer* observer = nullptr, const Vec* theta0 = nullptr,
                      const SolverState* resume = nullptr) {
  SolverOptions o = options.resolved(P::kBatchOverGroups);  // batch, epochs: no `auto` left
  if (options.batch == 0) o.batch = 32;
  if (options.epochs == 0.0) o.epochs = 10.0;
  using Clock = std::chrono::steady_clock;
  constexpr bool kShift = Est::kHasShift;

  const Index d = problem.dim(), k_groups = problem.num_groups(), m_items = problem.num_items();
  const double lambda = problem.temperature();
  const Vec* nu = problem.item_prob();
  const bool over_groups = P::kBatchOverGroups;
  const Index gb = over_groups ? o.batch : 1;
  const bool all_items = over_groups ? (o.atoms == 0 || (o.atoms >= m_items && !nu))
                                     : (o.batch == m_items && o.sampling == SamplingKind::Permutation && !nu);
  const Index mb = over_groups ? (all_items ? m_items : o.atoms) : o.batch;
  const double pool = static_cast<double>(over_groups ? k_groups : m_items);
  const long total_steps =
      o.steps > 0 ? o.steps : std::max(1L, std::lround(std::ceil(o.epochs * pool / static_cast<double>(over_groups ? gb : mb))));
  const double per_step_epochs = static_cast<double>(over_groups ? gb : mb) / pool;
  const double k0 = o.decay_k0 > 0.0 ? o.decay_k0 : pool / static_cast<double>(over_groups ? gb : mb);
  long avg_start = o.average ? static_cast<long>(o.average_from * static_cast<double>(total_steps)) : total_steps + 1;

  // ---- setup: every buffer the loop touches --------------------------------
  // The loop's state lives in `st` (the names below are its fields): a checkpoint hands `st`
  // over, a resume assigns it.
  SolverState st;
  st.total_steps = total_steps;
  Rng& rng = st.rng;
  rng = Rng(o.seed);
  detail::IndexSampler group_sampler(k_groups, o.sampling, nullptr, st.group_perm, st.group_cursor);
  detail::IndexSampler item_sampler(m_items, o.sampling, nu, st.item_perm, st.item_cursor);
  std::vector<Index> group_idx(gb), item_idx(mb);
  auto ws = problem.make_workspace(gb, mb);
  Mat s(mb, gb), w(mb, gb);
  Vec q(mb);
  if (all_items && nu) q = *nu;
  else q.setConstant(1.0 / static_cast<double>(mb));
  const Vec logq = q.array().log();
  Vec &theta = st.theta, &theta_prev = st.theta_prev, &theta_avg = st.theta_avg;
  Vec &theta_good = st.theta_good, &theta_best = st.theta_best, &m1 = st.m1, &m2 = st.m2;
  theta = theta0 ? *theta0 : problem.initial_point();
  theta_prev = theta;
  m1 = Vec::Zero(d);
  m2 = Vec::Zero(d);
  theta_avg = theta;
  theta_good = theta;
  theta_best = theta;
  Vec grad(d), eval_grad(d);
  Vec &alpha = st.alpha, &alpha_m = st.alpha_m, &alpha_v = st.alpha_v, &alpha_t = st.alpha_t;
  std::vector<char>& alpha_init = st.alpha_init;
  Vec dalpha(gb), a_buf(gb), am_buf(gb), av_buf(gb), a_prev(gb);
  if constexpr (kShift) {
    alpha = Vec::Zero(k_groups);
    alpha_m = Vec::Zero(k_groups);
    alpha_v = Vec::Zero(k_groups);
    alpha_t = Vec::Zero(k_groups);
    alpha_init.assign(k_groups, 0);
  }
  est.start(o);
  // Adaptive rho: block means of the minibatch moments, restarted every block so
  // that moments of early, far-from-optimal iterates never linger.
  // One block = one epoch of steps (at least 20), aligned with the epoch permutation, so a
  // block sees every sample once: shorter blocks underestimate kappa on heavy tails.
  const long mom_block = std::max(std::lround(k0), 20L);
  const StepRule rule(o);
  ExactEvaluator<P> evaluator(problem);

  Result res;
  res.solver = Est::kName;
  res.tol = o.tol;
  double &solver_time = st.solver_time, &est_sum = st.est_sum;
  // Work: per-sample gradient evaluations / n. A trace row's exact pass is a stopping check
  // (counted in passes and time) when tol > 0, a diagnostic (eval_passes) when tol = 0.
  double &passes = st.passes, &eval_passes = st.eval_passes, &eval_time = st.eval_time_s;
  const double per_step_passes =
      per_step_epochs * (over_groups && !all_items ? static_cast<double>(mb) / static_cast<double>(m_items) : 1.0);
  double& f_best = st.f_best;
  f_best = num::kInf;
  long& up_rows = st.up_rows;
  Measure last;
  long &est_count = st.est_count, &next_eval_row = st.next_eval_row;
  next_eval_row = 0;
  std::vector<TracePoint>& trace = st.trace;  // moved into the result at the end
  // Trace rows at evenly spaced steps; never more rows than steps + 1, so that every row
  // after the first lies at a step > 0 (and the blow-up check runs).
  const long eval_points = std::min<long>(o.eval_points, total_steps + 1);
  auto eval_step = [&](long row) {
    return static_cast<long>(std::llround(static_cast<double>(row) * static_cast<double>(total_steps) /
                                          static_cast<double>(eval_points - 1)));
  };
  // Records a trace row at `step`; returns false if the observer asks to stop.
  auto record = [&](long step) {
    const Vec& out = step > avg_start ? theta_avg : theta;
    TracePoint tp;
    tp.step = step;
    tp.epoch = static_cast<double>(step) * per_step_epochs;
    {
      const auto t0 = Clock::now();
      double work = 0.0;
      last = measure(problem, evaluator, out, eval_grad, &work);
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      if (o.tol > 0.0) passes += work, solver_time += dt;
      else eval_passes += work, eval_time += dt;
    }
    fill_row(tp, last);
    tp.passes = passes;
    tp.time_s = solver_time;
    tp.step_size = o.step * schedule_factor(o.schedule, static_cast<double>(step), k0);
    tp.estimate = est_count ? est_sum / static_cast<double>(est_count) : std::nan("");
    tp.rho = est.param();
    est_sum = 0.0;
    est_count = 0;
    trace.push_back(tp);
    return !observer || observer->on_trace(tp, out, total_steps) == Action::Continue;
  };

  auto fail = [&](long step, const char* what) {
    res.status = Status::Diverged;
    res.fail_step = step;
    std::string advice = "reduce `step` (now " + std::to_string(o.step) + ")";
    advice += Est::kAdvice;
    res.message = std::string(what) + " at step " + std::to_string(step) +
                  " (epoch " + std::to_string(static_cast<double>(step) * per_step_epochs) +
                  "); kept the last finite iterate; " + advice;
  };

  long step_good = -1;
  long& step = st.step;
  // A checkpoint: the state between two steps, with the estimator's own part.
  auto save_state = [&]() {
    est.save(st);
    observer->on_checkpoint(st);
  };
  // A resume: the state is checked against this run (every field's shape against the state
  // set up above, by kStateFields; the permutations by their samplers), then assigned.
  auto restore_state = [&](const SolverState& from) {
    auto bad = [](const std::string& why) {
      throw InputError("the checkpoint does not belong to this run: " + why);
    };
    if (const std::string why = state_mismatch(from, st); !why.empty()) bad(why);
    if (from.total_steps != total_steps) bad("it was written for a run of " + std::to_string(from.total_steps) + " steps, this one has " + std::to_string(total_steps));
    if (from.step < 0 || from.step > total_steps || from.trace.empty() || from.next_eval_row < 1)
      bad("its step counters are inconsistent");
    if (!group_sampler.fits(from.group_perm, from.group_cursor) ||
        !item_sampler.fits(from.item_perm, from.item_cursor))
      bad("its sampling permutations do not fit the data");
    st = from;
    est.restore(st);
  };
  const bool checkpoints = observer && o.checkpoint_every > 0;
  bool stop = false;
  if (resume) {
    restore_state(*resume);
  } else {
    stop = !record(0);
    if (stop) res.status = Status::Interrupted;
    next_eval_row = 1;
    f_best = trace.front().objective;
    if (!stop && o.tol > 0.0 && last.criterion <= o.tol) {
      res.status = Status::Converged;
      stop = true;
    }
  }
  auto t_start = Clock::now();
  LSEKIT_NO_MALLOC(true);
  while (!stop && step < total_steps) {
    // ---- sample ----
    if (over_groups) group_sampler.draw(rng, group_idx.data(), gb);
    else group_idx[0] = 0;
    if (!all_items) item_sampler.draw(rng, item_idx.data(), mb);
    const IndexSet groups = over_groups ? IndexSet::list(group_idx.data(), gb) : IndexSet::range(0, 1);
    const IndexSet items = all_items ? IndexSet::range(0, mb) : IndexSet::list(item_idx.data(), mb);

    // ---- scores -> weights ----
    problem.scores(theta, groups, items, ws, s);
    double est_step = 0.0;
    bool finite = s.allFinite();
    for (Index g = 0; g < gb && finite; ++g) {
      const Index kg = groups[g];
      auto sg = s.col(g);
      double a = 0.0;
      if constexpr (kShift) {
        if (!alpha_init[kg]) {
          alpha(kg) = lambda * num::logsumexp((sg.array() / lambda).matrix(), q);
          alpha_init[kg] = 1;
        }
        a = alpha(kg);
      }
      est.observe(sg, q, lambda, over_groups);
      const GroupStep gs = est.weights(sg, q, lambda, a, w.col(g));
      est_step += gs.estimate;
      if constexpr (kShift) dalpha(g) = gs.dalpha;
      w.col(g).array() *= q.array() / static_cast<double>(gb);
      finite = std::isfinite(gs.estimate) && std::isfinite(gs.dalpha);
    }
    if (finite) finite = w.allFinite();
    if (!finite) {
      theta = theta_prev;  // the last iterate whose minibatch scores were finite
      fail(step, "non-finite score or weight");
      break;
    }

    // ---- gradient ----
    grad.setZero();
    problem.add_gradient(theta, groups, items, ws, w, grad);
    const double reg = problem.regularizer(theta, &grad);
    est_sum += est_step / static_cast<double>(gb) + reg;
    ++est_count;
    if (!grad.allFinite()) {
      fail(step, "non-finite gradient");
      break;
    }
    if (o.clip > 0.0) {
      double n2 = grad.squaredNorm();
      if constexpr (kShift) n2 += dalpha.squaredNorm();
      if (n2 > o.clip * o.clip) {
        const double f = o.clip / std::sqrt(n2);
        grad *= f;
        if constexpr (kShift) dalpha *= f;
      }
    }

    // ---- step ----
    const double eta = o.step * schedule_factor(o.schedule, static_cast<double>(step), k0);
    theta_prev = theta;
    rule.apply(theta, grad, m1, m2, eta, static_cast<double>(step + 1));
    bool ok = theta.allFinite();
    if constexpr (kShift) {
      for (Index g = 0; g < gb; ++g) {
        const Index kg = groups[g];
        a_prev(g) = alpha(kg);
        a_buf(g) = alpha(kg);
        am_buf(g) = alpha_m(kg);
        av_buf(g) = alpha_v(kg);
        alpha_t(kg) += 1.0;
        // One group at a time: its own step count for Adam's bias correction.
        auto ag = a_buf.segment(g, 1);
        rule.apply(ag, dalpha.segment(g, 1), am_buf.segment(g, 1), av_buf.segment(g, 1), eta,
                   alpha_t(kg));
        alpha(kg) = a_buf(g);
        alpha_m(kg) = am_buf(g);
        alpha_v(kg) = av_buf(g);
      }
      ok = ok && a_buf.allFinite();
    }
    if (!ok) {
      theta = theta_prev;
      if constexpr (kShift)
        for (Index g = 0; g < gb; ++g) alpha(groups[g]) = a_prev(g);
      fail(step, "non-finite iterate");
      break;
    }
    if ((step + 1) % mom_block == 0) est.end_block(o);
    ++step;
    passes += per_step_passes;
    if (step > avg_start) theta_avg += (theta - theta_avg) / static_cast<double>(step - avg_start);
    else theta_avg = theta;

    if (observer && (step & 63) == 0) observer->on_progress(step, total_steps);
    if (observer && (step & 63) == 0 && observer->interrupted()) {
      res.status = Status::Interrupted;
      res.message = "interrupted at step " + std::to_string(step);
      stop = true;
    }
    const bool row_due = step == eval_step(next_eval_row);
    if (checkpoints && stop && !row_due && step < total_steps) {
      // Interrupted between trace rows: save the state before the extra row below, which an
      // uninterrupted run would not record.
      LSEKIT_NO_MALLOC(false);
      save_state();
    }
    if (row_due || stop) {
      LSEKIT_NO_MALLOC(false);
      solver_time += std::chrono::duration<double>(Clock::now() - t_start).count();
      if (!record(step) && !stop) {
        res.status = Status::Interrupted;
        res.message = "stopped by observer at step " + std::to_string(step);
        stop = true;
      }
      // Divergence: F is non-finite, rose above its starting value, or drifted upward over
      // kDriftRows consecutive rows by more than 1 % of its scale. Return the best row's iterate.
      const size_t nrow = trace.size();
      const double f_row = trace.back().objective, f0 = trace.front().objective;
      up_rows = (nrow >= 2 && f_row > trace[nrow - 2].objective) ? up_rows + 1 : 0;
      const char* why = nullptr;
      if (!std::isfinite(f_row)) why = "non-finite exact objective";
      // Above the start: at once when by 10 % of its scale, at the end of the budget by any
      // amount (the best row's iterate is returned: a run never ends worse than it began).
      else if (Est::kFollowsF && (f_row > f0 + 0.1 * (1.0 + std::abs(f0)) ||
                                  (step >= total_steps && f_row > f0 + 1e-12 * (1.0 + std::abs(f0)))))
        why = "exact objective above its starting value";
      else if (Est::kFollowsF && up_rows >= kDriftRows &&
               f_row - trace[nrow - 1 - kDriftRows].objective > 1e-2 * (1.0 + std::abs(f_row)))
        why = "exact objective drifting upward";
      if (why) {
        theta = theta_best;
        step_good = step;
        fail(step, why);
        trace.pop_back();
        break;
      }
      theta_good = step > avg_start ? theta_avg : theta;
      if (f_row < f_best) {
        f_best = f_row;
        theta_best = theta_good;
      }
      if (o.tol > 0.0 && last.criterion <= o.tol && res.status != Status::Interrupted) {
        res.status = Status::Converged;
        stop = true;
      }
      if (o.time_limit > 0.0 && solver_time >= o.time_limit && !stop) {
        res.message = "time limit reached";
        stop = true;
      }
      while (next_eval_row < eval_points && eval_step(next_eval_row) <= step) ++next_eval_row;
      t_start = Clock::now();
      LSEKIT_NO_MALLOC(true);
    }
    if (checkpoints && step < total_steps &&
        ((!stop && step % o.checkpoint_every == 0) || (stop && row_due))) {
      LSEKIT_NO_MALLOC(false);
      solver_time += std::chrono::duration<double>(Clock::now() - t_start).count();
      save_state();
      t_start = Clock::now();
      LSEKIT_NO_MALLOC(true);
    }
  }
  LSEKIT_NO_MALLOC(false);
  if (res.status == Status::Diverged && step_good < 0) {
    // Non-finite value inside the step loop: theta is the last finite iterate. Keep it if its
    // exact objective is no worse than the best row's, else return the best row's iterate.
    const double f_last = evaluator.value(theta);
    eval_passes += 1.0;
    if (!std::isfinite(f_last) || f_last > f_best) {
      theta = theta_best;
      step_good = trace.back().step;
    }
  }
  if (step_good >= 0) avg_start = total_steps + 1;  // theta holds the healthy iterate itself
  if (res.status == Status::Diverged || trace.back().step != step) {
    solver_time += std::chrono::duration<double>(Clock::now() - t_start).count();
    record(step);
  }

  res.steps = step;
  res.epochs = static_cast<double>(step) * per_step_epochs;
  res.time_s = solver_time;
  res.passes = passes;
  res.eval_passes = eval_passes;
  res.eval_time_s = eval_time;
  res.theta = step > avg_start ? theta_avg : theta;
  res.trace = std::move(trace);
  fill_result(res, last);
  res.estimate = res.trace.back().estimate;
  finish_status(res, o, Est::kFollowsF ? res.trace.front().objective : num::kInf, "`epochs`");
  if constexpr (kShift) res.alpha = alpha;
  res.rho = est.param();
  return res;
}

}  // namespace lsekit
