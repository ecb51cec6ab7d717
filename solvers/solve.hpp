// solve(): runs the solver named in SolverOptions on any LseProblem.
// The switch below is the single place where a solver name becomes a type;
// inside, every loop is a template instantiation (no virtual calls).
//
// `full` is the exact reference: L-BFGS on the exact F (lbfgs.hpp) down to
// |grad F| <= gtol, or, with --optimizer sgd|nesterov|adam, full-batch gradient
// steps with that rule (one step = one epoch), to show what exact gradients buy.
// For entropic OT (SemiDualProblem), `full` with --optimizer sinkhorn runs log-domain
// Sinkhorn (sinkhorn.hpp) down to a marginal error <= gtol instead.
#pragma once

#include <chrono>
#include <cstdio>
#include <limits>
#include <string>

#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "solvers/estimators.hpp"
#include "solvers/lbfgs.hpp"
#include "solvers/measure.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "solvers/saga.hpp"
#include "solvers/sinkhorn.hpp"
#include "solvers/step_rules.hpp"
#include "solvers/stochastic_solver.hpp"
#include "solvers/svrg.hpp"

namespace lsekit {

inline std::string fmt_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}


template <LseProblem P>
Result run_full(const P& problem, const SolverOptions& o, Observer* observer = nullptr,
                const Vec* theta0 = nullptr) {
  using Clock = std::chrono::steady_clock;
  ExactEvaluator<P> ev(problem);
  Result res;
  res.solver = "full";
  res.tol = o.tol;
  Vec theta = theta0 ? *theta0 : problem.initial_point();
  Vec grad(problem.dim()), cert_grad(problem.dim());
  EvalInfo info;
  double passes = 0.0;
  Measure cur;  // the latest measure (criterion) of the current iterate
  CertificateGate gate{o.tol, certificate_cost(problem)};
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  // Measures the criterion at x (value f and gradient norm known); the certificate when due.
  auto assess = [&](long it, const Vec& x, double f, double gnorm) {
    cur = Measure{};
    cur.objective = f;
    cur.grad_norm = gnorm;
    cur.kappa = info.kappa_mean;
    if constexpr (CertifiedProblem<P>) {
      if (gate.due(passes, f, gnorm)) {
        const double before = passes;
        cur = measure(problem, ev, x, cert_grad, &passes, true, nullptr, nullptr, nullptr, nullptr,
                      gate.target(f));
        gate.mark(passes, gnorm, cur.gap_bound, passes - before - 1.0, f);  // less F and grad F
      }
      // The certificates so far bound this point too (CertificateGate::inherited).
      cur.gap_bound = gate.lowered(cur.gap_bound, f);
    }
    if constexpr (P::kBatchOverGroups) {
      if (!std::isfinite(cur.marginal_error)) cur.marginal_error = std::nan("");
    }
    cur.certified = std::isfinite(cur.gap_bound);
    cur.criterion = criterion_of(cur.objective, cur.grad_norm, cur.gap_bound);
  };
  auto push = [&](long step, double f, double gnorm) {  // theta: the current iterate
    TracePoint tp;
    tp.step = step;
    tp.epoch = static_cast<double>(step);
    tp.time_s = elapsed();
    fill_row(tp, cur);
    tp.objective = f;
    tp.estimate = f;
    tp.grad_norm = gnorm;
    tp.passes = passes;
    res.trace.push_back(tp);
    return !observer || observer->on_trace(tp, theta, 0) == Action::Continue;
  };
  bool interrupted = false, converged = false;
  double f0 = 0.0;

  if (o.optimizer == OptimizerKind::Lbfgs) {
    LbfgsParam par;
    par.m = o.lbfgs_memory;
    par.gtol = o.gtol;
    par.max_iter = o.max_iter;
    auto f = [&](const Vec& x, Vec& g) {
      passes += 1.0;
      return ev.value_and_gradient(x, g, &info);
    };
    {
      f0 = ev.value_and_gradient(theta, grad, &info);
      passes += 1.0;
      assess(0, theta, f0, grad.norm());
      push(0, f0, grad.norm());
      converged = o.tol > 0.0 && cur.criterion <= o.tol;
    }
    const LbfgsReport rep = converged ? LbfgsReport{LbfgsStatus::Converged, 0, 1, f0, grad.norm()}
                                      : lbfgs_minimize(f, theta, par, [&](long it, const Vec& x, double fx, double gn) {
      assess(it, x, fx, gn);
      if (!push(it, fx, gn) || (observer && observer->interrupted())) {
        interrupted = true;
        return false;
      }
      if (o.tol > 0.0 && cur.criterion <= o.tol) {
        converged = true;
        return false;
      }
      if (o.time_limit > 0.0 && elapsed() >= o.time_limit) {
        res.message = "time limit reached";
        return false;
      }
      return true;
    });
    res.steps = rep.iterations;
    res.epochs = static_cast<double>(rep.evaluations);
    switch (rep.status) {
      case LbfgsStatus::Converged:
        if (o.tol == 0.0) converged = true;  // tol = 0: |grad F| <= gtol is the criterion
        break;
      case LbfgsStatus::MaxIter:
        if (interrupted) res.status = Status::Interrupted;
        else if (res.message.empty() && !converged) res.message = "reached `max_iter`";
        break;
      case LbfgsStatus::LineSearchFailed:
        res.message = "line search made no progress at |grad F| = " + fmt_g(rep.grad_norm) +
                      " (rounding floor of F); the iterate is the best found";
        break;
      case LbfgsStatus::NonFinite:
        res.status = Status::Diverged;
        res.message = "non-finite objective or gradient at the start point";
        break;
    }
  } else {
    const long steps = o.steps > 0 ? o.steps : std::max(1L, static_cast<long>(std::ceil(o.epochs)));
    const StepRule rule(o);
    Vec m1 = Vec::Zero(theta.size()), m2 = Vec::Zero(theta.size()), prev = theta;
    double f = ev.value_and_gradient(theta, grad, &info);
    passes += 1.0;
    f0 = f;
    assess(0, theta, f, grad.norm());
    push(0, f, grad.norm());
    long step = 0;
    for (; step < steps && !(o.tol > 0.0 && cur.criterion <= o.tol); ++step) {
      const double eta = o.step * schedule_factor(o.schedule, static_cast<double>(step),
                                                  o.decay_k0 > 0.0 ? o.decay_k0 : 1.0);
      prev = theta;
      rule.apply(theta, grad, m1, m2, eta, static_cast<double>(step + 1));
      f = ev.value_and_gradient(theta, grad, &info);
      passes += 1.0;
      if (!std::isfinite(f) || !grad.allFinite() || !theta.allFinite()) {
        theta = prev;
        f = ev.value_and_gradient(theta, grad, &info);
        res.status = Status::Diverged;
        res.fail_step = step;
        res.message = "non-finite objective or gradient at step " + std::to_string(step) +
                      "; kept the last finite iterate; reduce `step`";
        break;
      }
      assess(step + 1, theta, f, grad.norm());
      if (!push(step + 1, f, grad.norm()) || (observer && observer->interrupted())) {
        ++step;
        res.status = Status::Interrupted;
        res.message = "interrupted";
        break;
      }
      if (o.time_limit > 0.0 && elapsed() >= o.time_limit) {
        ++step;
        res.message = "time limit reached";
        break;
      }
    }
    res.steps = step;
    res.epochs = static_cast<double>(step);
  }
  res.time_s = elapsed();
  res.passes = passes;
  res.theta = theta;
  // The returned iterate's measure (certificate included): a diagnostic pass, apart.
  {
    const auto t1 = Clock::now();
    double work = 0.0;
    const Measure fin = measure(problem, ev, theta, cert_grad, &work);
    res.eval_passes = work;
    res.eval_time_s = std::chrono::duration<double>(Clock::now() - t1).count();
    fill_result(res, fin);
  }
  res.estimate = res.objective;
  if (converged && res.status != Status::Diverged && res.status != Status::Interrupted &&
      o.tol == 0.0) {
    res.status = Status::Converged;
    res.message = "|grad F| = " + fmt_g(res.grad_norm) + " <= gtol (`tol=0`)";
    return res;
  }
  finish_status(res, o, f0, o.optimizer == OptimizerKind::Lbfgs ? "`max_iter`" : "`epochs`");
  return res;
}

template <LseProblem P>
Result solve(const P& problem, const SolverOptions& options, Observer* observer = nullptr,
             const Vec* theta0 = nullptr, const SolverState* resume = nullptr) {
  // SAGA and Prospect asked for where they cannot run: refused, never run as something else.
  if (options.solver != SolverKind::Full && (options.variance_reduction == VarianceReduction::Saga ||
                                             options.solver == SolverKind::Prospect)) {
    const std::string why = options.check(problem.num_items(), problem.num_groups(), P::kBatchOverGroups);
    if (!why.empty()) throw InputError(why);
  }
  // SVRG likewise (biased-softmax on DRO, OT with sampled atoms): refused, never run plain.
  if (const std::string why = options.svrg_refusal(P::kBatchOverGroups); !why.empty()) throw InputError(why);
  SolverOptions o = options.resolved(P::kBatchOverGroups);
  // `auto` on a DRO-type problem without per-item derivatives (no SAGA table): SVRG.
  if constexpr (!ItemDerivativeProblem<P>)
    if (options.variance_reduction == VarianceReduction::Auto &&
        o.variance_reduction == VarianceReduction::Saga && o.solver != SolverKind::Prospect)
      o.variance_reduction = VarianceReduction::Svrg;
  if (o.variance_reduced(P::kBatchOverGroups)) {
    if (o.variance_reduction == VarianceReduction::Saga) return solve_table(problem, o, observer, theta0, resume);
    switch (o.solver) {
      case SolverKind::BiasedSoftmax: return run_svrg(problem, BiasedSoftmax{}, o, observer, theta0, resume);
      case SolverKind::VariationalLog: return run_svrg(problem, VariationalLog{}, o, observer, theta0, resume);
      case SolverKind::Softplus: return run_svrg(problem, Softplus{}, o, observer, theta0, resume);
      case SolverKind::SumExp: return run_svrg(problem, SumExp{}, o, observer, theta0, resume);
      case SolverKind::Erm: return run_svrg(problem, Erm{}, o, observer, theta0, resume);
      case SolverKind::Prospect:
      case SolverKind::Full: break;
    }
  }
  switch (o.solver) {
    case SolverKind::BiasedSoftmax: return run_stochastic(problem, BiasedSoftmax{}, o, observer, theta0, resume);
    case SolverKind::VariationalLog: return run_stochastic(problem, VariationalLog{}, o, observer, theta0, resume);
    case SolverKind::Softplus: return run_stochastic(problem, Softplus{}, o, observer, theta0, resume);
    case SolverKind::SumExp: return run_stochastic(problem, SumExp{}, o, observer, theta0, resume);
    case SolverKind::Erm: return run_stochastic(problem, Erm{}, o, observer, theta0, resume);
    case SolverKind::Prospect:
      throw InputError("`solver=prospect` carries its own variance reduction; use `variance_reduction=auto`");
    case SolverKind::Full:
      if (resume) throw InputError("`resume` continues stochastic runs, not `solver=full`");
      if (o.optimizer == OptimizerKind::Sinkhorn) {
        if constexpr (SemiDualProblem<P>) return run_sinkhorn(problem, o, observer, theta0);
        else throw InputError("`optimizer=sinkhorn` solves entropic OT only, not this problem");
      }
      return run_full(problem, o, observer, theta0);
  }
  return {};
}

}  // namespace lsekit
