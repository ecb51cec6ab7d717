// Log-domain Sinkhorn: the exact reference solver of the empirical entropic semi-discrete
// OT problem (SPEC section 2.3), selected with `--solver full --optimizer sinkhorn`.
//
// For mu_n = (1/n) sum_i delta_{x_i}, nu = sum_j b_j delta_{y_j} and the plan
//   pi_ij = (1/n) b_j exp((f_i + g_j - c_ij) / eps)          (KL(pi | mu_n x nu) convention)
// Sinkhorn alternates the two exact dual maximizations
//   f_i <- -eps log sum_j b_j exp((g_j - c_ij) / eps)      = -L_i(g), the c-transform
//   g_j <- -eps log (1/n) sum_i exp((f_i - c_ij) / eps)    =: -h_j
// (Cuturi 2013; log-domain form e.g. Peyre & Cuturi, Computational Optimal Transport, 2019,
// section 4.4). The f-update IS the semi-dual's inner logsumexp: it comes from the one exact
// evaluator, ExactEvaluator::group_values, which also returns F(g) of problems/
// semidiscrete_ot.hpp for free. After it, the rows of pi sum to 1/n exactly and the column
// sums are b_j exp((g_j + h_j)/eps) = ((1/n) sum_i chi(x_i))_j, so the marginal error
//   err(g) = sum_j |b_j - b_j exp((g_j + h_j)/eps)| = |grad F(g)|_1
// is measured by the same column pass that produces the next g. Each iteration therefore
// costs two passes over the n x m costs and records F(g) and err(g) of the current g; the
// run stops when err(g) <= gtol (status Converged) or after max_iter iterations.
//
// Column pass: the source samples are cut into at most kChunks chunks whose boundaries
// depend only on n; a chunk streams blocks of whole samples (one cost block of at most
// 2^16 entries per thread, from the problem's own GEMM: scores at theta = 0 are -c) into a
// per-atom running (max, sum) of (f_i - c_ij)/eps, and the chunks are merged in chunk
// order. Nothing of size n x m is ever stored, and the result is bitwise identical for any
// number of OpenMP threads.
// Memory: 2 m kChunks doubles for the chunk accumulators plus one cost block per thread.
// Not thread-safe itself (owns scratch).
#pragma once

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "core/exact_evaluator.hpp"
#include "core/numerics.hpp"
#include "solvers/measure.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"

namespace lsekit {

/// The column half of a Sinkhorn iteration: h_j = eps log (1/n) sum_i exp((f_i - c_ij)/eps).
template <SemiDualProblem P>
class SinkhornColumnPass {
 public:
  static constexpr Index kChunks = 64;

  explicit SinkhornColumnPass(const P& problem, Index block_budget = Index{1} << 16)
      : p_(problem), zero_(Vec::Zero(problem.dim())) {
    const Index n = p_.num_groups(), m = p_.num_items();
    chunks_ = std::min<Index>(kChunks, n);
    block_ = std::max<Index>(1, block_budget / m);
    mx_ = Mat::Constant(m, chunks_, -num::kInf);
    sum_ = Mat::Zero(m, chunks_);
  }

  /// h (resized to m) from f (n entries). Non-finite f gives non-finite h.
  void run(const Vec& f, Vec& h) {
    const Index n = p_.num_groups(), m = p_.num_items();
    const double eps = p_.temperature();
    prepare();
#pragma omp parallel for schedule(dynamic, 1)
    for (Index c = 0; c < chunks_; ++c) {
      Scratch& sc = scratch_[omp_get_thread_num()];
      auto mx = mx_.col(c);
      auto sum = sum_.col(c);
      mx.setConstant(-num::kInf);
      sum.setZero();
      const Index i0 = c * n / chunks_, i1 = (c + 1) * n / chunks_;
      for (Index is = i0; is < i1; is += block_) {
        const Index gn = std::min(block_, i1 - is);
        auto s = sc.s.leftCols(gn);
        p_.scores(zero_, IndexSet::range(is, gn), IndexSet::range(0, m), sc.ws, s);  // -c
        for (Index k = 0; k < gn; ++k) s.col(k) = (s.col(k).array() + f(is + k)) / eps;
        sc.bm = s.col(0);
        for (Index k = 1; k < gn; ++k) sc.bm = sc.bm.cwiseMax(s.col(k));
        sc.bm = sc.bm.cwiseMax(mx);  // new running max
        sum.array() *= (mx.array() - sc.bm.array()).exp();
        mx = sc.bm;
        for (Index k = 0; k < gn; ++k) sum.array() += (s.col(k).array() - mx.array()).exp();
      }
    }
    h.resize(m);
    const double logn = std::log(static_cast<double>(n));
    for (Index j = 0; j < m; ++j) {
      num::LseAccumulator acc;  // merged in chunk order
      bool bad = false;
      for (Index c = 0; c < chunks_; ++c) {
        const double mc = mx_(j, c), zc = sum_(j, c);
        if (std::isnan(mc) || std::isnan(zc) || mc == num::kInf)
          bad = true;
        else
          acc.merge({mc, zc});
      }
      h(j) = bad ? std::nan("") : eps * (acc.value() - logn);
    }
  }

 private:
  struct Scratch {
    typename P::Workspace ws;
    Mat s;
    Vec bm;
  };
  void prepare() {
    const int nt = omp_get_max_threads();
    while (static_cast<int>(scratch_.size()) < nt)
      scratch_.push_back(Scratch{p_.make_workspace(block_, p_.num_items()),
                                 Mat(p_.num_items(), block_), Vec(p_.num_items())});
  }

  const P& p_;
  Vec zero_;
  Index chunks_ = 1, block_ = 1;
  Mat mx_, sum_;  // per chunk (column): running max and sum of exp((f_i - c_ij)/eps - max)
  std::vector<Scratch> scratch_;
};

/// Runs log-domain Sinkhorn from theta0 (or the problem's initial point) until the marginal
/// error |grad F|_1 <= o.gtol or o.max_iter iterations. Every trace row carries the exact
/// F(g) (objective, estimate) and the marginal error (grad_norm) of the iterate it reports;
/// time_s excludes the observer. The returned theta is the last g whose F and marginal
/// error were measured (not normalized; F is shift-invariant).
template <SemiDualProblem P>
Result run_sinkhorn(const P& problem, const SolverOptions& o, Observer* observer = nullptr,
                    const Vec* theta0 = nullptr) {
  using Clock = std::chrono::steady_clock;
  auto fmt_err = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return std::string(buf);
  };
  ExactEvaluator<P> ev(problem);
  SinkhornColumnPass<P> cols(problem);
  const Vec& b = *problem.item_prob();
  const double eps = problem.temperature();
  Result res;
  res.solver = "full";
  res.tol = o.tol;
  Vec g = theta0 ? *theta0 : problem.initial_point();
  Vec lse, f, h, grad(problem.dim());
  EvalInfo info;
  double solver_time = 0.0, passes = 0.0, f0 = 0.0;
  double gap = std::nan("");
  CertificateGate gate{o.tol, certificate_cost(problem)};
  bool converged = false;
  long it = 0;
  for (;; ++it) {
    const auto t0 = Clock::now();
    const double fval = ev.group_values(g, lse, &info);
    f = -lse;
    cols.run(f, h);
    // grad F(g) = b e^{(g + h)/eps} - b (column sums of the plan minus b).
    grad = b.array() * ((g.array() + h.array()) / eps).exp() - b.array();
    const double err = grad.template lpNorm<1>();
    passes += 2.0;
    if (it == 0) f0 = fval;
    // Certificate when due (solvers/measure.hpp): the same criterion as every other solver.
    const double gnorm = grad.norm();
    if (std::isfinite(fval) && gate.due(passes, fval, gnorm)) {
      gap = problem.gap_bound(g, fval, grad);
      passes += problem.certificate_passes();
      gate.mark(passes, gnorm, gap, problem.certificate_passes(), fval);
    }
    const double crit = criterion_of(fval, gnorm, gap);
    solver_time += std::chrono::duration<double>(Clock::now() - t0).count();

    TracePoint tp;
    tp.step = it;
    tp.epoch = static_cast<double>(it);
    tp.time_s = solver_time;
    tp.objective = tp.estimate = fval;
    tp.kappa = info.kappa_mean;
    tp.grad_norm = grad.norm();
    tp.marginal_error = err;
    tp.gap_bound = gap;
    tp.criterion = crit;
    tp.passes = passes;
    res.trace.push_back(tp);
    res.objective = res.estimate = fval;
    res.kappa = info.kappa_mean;
    res.grad_norm = grad.norm();
    if (!std::isfinite(fval) || !std::isfinite(err) || !h.allFinite()) {
      res.status = Status::Diverged;
      res.fail_step = it;
      res.message = "non-finite objective or potential at Sinkhorn iteration " +
                    std::to_string(it) + " (check the instance for non-finite points)";
      break;
    }
    const bool stop_obs = observer && observer->on_trace(tp, g, 0) != Action::Continue;
    if (o.tol > 0.0 ? crit <= o.tol : err <= o.gtol) {
      converged = true;
      if (o.tol == 0.0) res.message = "marginal error " + fmt_err(err) + " <= gtol (`tol=0`)";
      break;
    }
    if (o.time_limit > 0.0 && solver_time >= o.time_limit) {
      res.message = "time limit reached";
      break;
    }
    if (stop_obs || (observer && observer->interrupted())) {
      res.status = Status::Interrupted;
      res.message = "interrupted at Sinkhorn iteration " + std::to_string(it);
      break;
    }
    if (it >= o.max_iter) {
      res.message = "reached `max_iter`";
      break;
    }
    g = -h;
  }
  res.steps = it;
  res.epochs = static_cast<double>(it);
  res.time_s = solver_time;
  res.passes = passes;
  res.theta = std::move(g);
  if (res.status == Status::Diverged) return res;
  {  // the returned iterate's measure, certificate included (diagnostic, apart)
    const auto t1 = Clock::now();
    double work = 0.0;
    const Measure fin = measure(problem, ev, res.theta, grad, &work);
    res.eval_passes = work;
    res.eval_time_s = std::chrono::duration<double>(Clock::now() - t1).count();
    fill_result(res, fin);
  }
  if (converged && o.tol == 0.0 && res.status != Status::Interrupted) {
    res.status = Status::Converged;
    return res;
  }
  finish_status(res, o, f0, "`max_iter`");
  return res;
}

}  // namespace lsekit
