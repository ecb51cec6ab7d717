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
#include <string>

#include "core/errors.hpp"
#include "core/exact_evaluator.hpp"
#include "solvers/estimators.hpp"
#include "solvers/lbfgs.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "solvers/sinkhorn.hpp"
#include "solvers/step_rules.hpp"
#include "solvers/stochastic_solver.hpp"

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
  Vec theta = theta0 ? *theta0 : problem.initial_point();
  Vec grad(problem.dim());
  EvalInfo info;
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  auto push = [&](long step, double f, double gnorm) {  // theta: the current iterate
    TracePoint tp;
    tp.step = step;
    tp.epoch = static_cast<double>(step);
    tp.time_s = elapsed();
    tp.objective = f;
    tp.estimate = f;
    tp.kappa = info.kappa_mean;
    tp.grad_norm = gnorm;
    res.trace.push_back(tp);
    return !observer || observer->on_trace(tp, theta, 0) == Action::Continue;
  };

  if (o.optimizer == OptimizerKind::Lbfgs) {
    LbfgsParam par;
    par.m = o.lbfgs_memory;
    par.gtol = o.gtol;
    par.max_iter = o.max_iter;
    auto f = [&](const Vec& x, Vec& g) { return ev.value_and_gradient(x, g, &info); };
    {
      const double f0 = ev.value_and_gradient(theta, grad, &info);
      push(0, f0, grad.norm());
    }
    bool interrupted = false;
    const LbfgsReport rep = lbfgs_minimize(f, theta, par, [&](long it, const Vec&, double fx, double gn) {
      if (!push(it, fx, gn) || (observer && observer->interrupted())) {
        interrupted = true;
        return false;
      }
      return true;
    });
    res.steps = rep.iterations;
    res.epochs = static_cast<double>(rep.evaluations);
    res.objective = rep.value;
    res.grad_norm = rep.grad_norm;
    switch (rep.status) {
      case LbfgsStatus::Converged:
        res.status = Status::Converged;
        res.message = "|grad F| = " + fmt_g(rep.grad_norm) + " <= gtol";
        break;
      case LbfgsStatus::MaxIter:
        res.status = interrupted ? Status::Interrupted : Status::BudgetExhausted;
        res.message = interrupted ? "interrupted" : "reached --max-iter before |grad F| <= gtol";
        break;
      case LbfgsStatus::LineSearchFailed:
        res.status = Status::BudgetExhausted;
        res.message = "line search made no progress at |grad F| = " + fmt_g(rep.grad_norm) +
                      " > gtol (rounding floor of F); the iterate is the best found";
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
    push(0, f, grad.norm());
    long step = 0;
    for (; step < steps; ++step) {
      const double eta = o.step * schedule_factor(o.schedule, static_cast<double>(step),
                                                  o.decay_k0 > 0.0 ? o.decay_k0 : 1.0);
      prev = theta;
      rule.apply(theta, grad, m1, m2, eta, static_cast<double>(step + 1));
      f = ev.value_and_gradient(theta, grad, &info);
      if (!std::isfinite(f) || !grad.allFinite() || !theta.allFinite()) {
        theta = prev;
        f = ev.value_and_gradient(theta, grad, &info);
        res.status = Status::Diverged;
        res.fail_step = step;
        res.message = "non-finite objective or gradient at step " + std::to_string(step) +
                      "; kept the last finite iterate; reduce --step";
        break;
      }
      if (!push(step + 1, f, grad.norm()) || (observer && observer->interrupted())) {
        ++step;
        res.status = Status::Interrupted;
        res.message = "interrupted";
        break;
      }
    }
    res.steps = step;
    res.epochs = static_cast<double>(step);
    res.objective = f;
    res.grad_norm = grad.norm();
  }
  res.time_s = elapsed();
  res.theta = theta;
  res.kappa = info.kappa_mean;
  res.estimate = res.objective;
  return res;
}

template <LseProblem P>
Result solve(const P& problem, const SolverOptions& o, Observer* observer = nullptr,
             const Vec* theta0 = nullptr, const SolverState* resume = nullptr) {
  switch (o.solver) {
    case SolverKind::BiasedSoftmax: return run_stochastic(problem, BiasedSoftmax{}, o, observer, theta0, resume);
    case SolverKind::VariationalLog: return run_stochastic(problem, VariationalLog{}, o, observer, theta0, resume);
    case SolverKind::Softplus: return run_stochastic(problem, Softplus{}, o, observer, theta0, resume);
    case SolverKind::SumExp: return run_stochastic(problem, SumExp{}, o, observer, theta0, resume);
    case SolverKind::Erm: return run_stochastic(problem, Erm{}, o, observer, theta0, resume);
    case SolverKind::Full:
      if (resume) throw InputError("--resume continues stochastic runs, not --solver full");
      if (o.optimizer == OptimizerKind::Sinkhorn) {
        if constexpr (SemiDualProblem<P>) return run_sinkhorn(problem, o, observer, theta0);
        else throw InputError("--optimizer sinkhorn solves entropic OT only, not this problem");
      }
      return run_full(problem, o, observer, theta0);
  }
  return {};
}

}  // namespace lsekit
