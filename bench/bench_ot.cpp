// Benchmark and acceptance study of entropic semi-discrete OT (SPEC section 2.3, issue 4).
//
//  1. acceptance: the `lsekit gen ot` default instance (n = 4000 training samples, m = 200
//     Dirichlet-weighted atoms, d = 2, eps = 0.05, seed 1): Sinkhorn against L-BFGS (F to 1e-8,
//     marginal error at the optimum, bitwise thread independence), then every stochastic
//     solver's final exact F with the settings listed, as a relative gap to F*;
//  2. scale: n = 1e5, m = 1e3, d = 2 and 64: time to reach 1e-3 relative suboptimality for
//     every solver (solver time only: the exact evaluations of the trace rows are excluded;
//     resolution = one trace row), with the reference F* from L-BFGS;
//  3. Sinkhorn time per iteration against n m d (2 threads);
//  4. throughput of the all-atoms solvers on one core, in (sample, atom) cost entries per
//     second (target >= 1e8 for biased-softmax, the Genevay et al. 2016 semi-dual SGD).
// Output: markdown tables on stdout. usage: bench_ot [--quick] [--parts a,s,k,t]
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/exact_evaluator.hpp"
#include "data/ot_generator.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "solvers/instances.hpp"

using namespace lsekit;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  const char* label;
  SolverKind kind;
  OptimizerKind opt;
  ScheduleKind sched;
  double step;
  long batch, atoms;
  double epochs;
  bool average;
  double rho;
};

SolverOptions options_of(const Config& c, long eval_points) {
  SolverOptions o = SolverOptions::plain(c.kind);
  o.optimizer = c.opt;
  o.schedule = c.sched;
  o.step = c.step;
  o.batch = c.batch;
  o.atoms = c.atoms;
  o.epochs = c.epochs;
  o.average = c.average;
  o.rho = c.rho;
  o.eval_points = eval_points;
  return o;
}

std::string settings(const Config& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %s %g, batch %ld, atoms %s, %g epochs%s%s",
                name_of(kOptimizerNames, c.opt), name_of(kScheduleNames, c.sched), c.step, c.batch,
                c.atoms ? std::to_string(c.atoms).c_str() : "all", c.epochs,
                c.average ? ", averaged" : "",
                c.rho > 0 ? (", rho " + std::to_string(c.rho).substr(0, 5)).c_str() : "");
  return buf;
}

OtInstance instance(long n, long m, long d, long n_test = 0, double eps = 0.05) {
  OtGenOptions g;
  g.n = n;
  g.m = m;
  g.d = d;
  g.n_test = n_test;
  g.epsilon = eps;
  return generate_ot(g);
}

double rel_gap(double f, double fstar) { return (f - fstar) / std::abs(fstar); }

/// First trace row within `tol` relative of fstar: its time and epoch (time < 0 if none).
std::pair<double, double> time_to(const Result& r, double fstar, double tol) {
  for (const TracePoint& t : r.trace)
    if (rel_gap(t.objective, fstar) <= tol) return {t.time_s, t.epoch};
  return {-1.0, -1.0};
}

Result full(const SemiDiscreteOt& p, OptimizerKind opt, double gtol, long max_iter = 100000) {
  SolverOptions o = SolverOptions::reference();
  o.optimizer = opt;
  o.gtol = gtol;
  o.max_iter = max_iter;
  return solve(p, o);
}

double marginal_error(const SemiDiscreteOt& p, const Vec& g) {
  Vec grad;
  ExactEvaluator<SemiDiscreteOt>(p).value_and_gradient(g, grad);
  return grad.lpNorm<1>();
}

// ---- 1. acceptance ------------------------------------------------------------------------

void acceptance(bool quick) {
  omp_set_num_threads(2);
  const OtInstance inst = instance(4000, 200, 2, 1000);
  const SemiDiscreteOt p(inst.x, inst.y, inst.b, inst.epsilon);
  std::printf(
      "## 1. Acceptance: n = 4000, m = 200, d = 2, eps = 0.05 (lsekit gen ot defaults)\n\n");
  const Result sk = full(p, OptimizerKind::Sinkhorn, 1e-10);
  const Result lb = full(p, OptimizerKind::Lbfgs, 1e-10);
  omp_set_num_threads(1);
  const Result sk1 = full(p, OptimizerKind::Sinkhorn, 1e-10);
  omp_set_num_threads(2);
  const double fstar = lb.objective;
  std::printf("| exact reference | status | iterations | time s | F | marginal error |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Result* r : {&sk, &lb})
    std::printf("| %s | %s | %ld | %.2f | %.15g | %.2e |\n",
                r == &sk ? "Sinkhorn (gtol 1e-10)" : "L-BFGS (gtol 1e-10)", status_name(r->status),
                r->steps, r->time_s, r->objective, marginal_error(p, r->theta));
  std::printf(
      "\n|F_sinkhorn - F_lbfgs| / |F| = %.2e (target <= 1e-8); "
      "max |g_sinkhorn - g_lbfgs| (normalized) = %.2e; Sinkhorn 1 vs 2 threads: %s\n\n",
      std::abs(sk.objective - lb.objective) / std::abs(lb.objective),
      (p.normalized(sk.theta) - p.normalized(lb.theta)).cwiseAbs().maxCoeff(),
      sk1.theta == sk.theta ? "bitwise identical" : "DIFFERENT");

  const double s = quick ? 0.25 : 1.0;  // epoch scale
  const Config cfgs[] = {
      {"biased-softmax", SolverKind::BiasedSoftmax, OptimizerKind::Adam, ScheduleKind::Decay, 0.01,
       32, 0, 30 * s, true, 0},
      {"biased-softmax (Genevay)", SolverKind::BiasedSoftmax, OptimizerKind::Sgd,
       ScheduleKind::InvSqrt, 5, 1, 0, 30 * s, true, 0},
      {"variational-log", SolverKind::VariationalLog, OptimizerKind::Adam, ScheduleKind::Decay, 0.1,
       32, 0, 200 * s, true, 0},
      {"variational-log", SolverKind::VariationalLog, OptimizerKind::Nesterov,
       ScheduleKind::Constant, 0.02, 32, 0, 200 * s, true, 0},
      {"softplus", SolverKind::Softplus, OptimizerKind::Adam, ScheduleKind::Constant, 0.03, 32, 0,
       200 * s, true, 0},
      {"softplus", SolverKind::Softplus, OptimizerKind::Nesterov, ScheduleKind::Constant, 0.02, 32,
       0, 200 * s, true, 0},
      {"biased-softmax", SolverKind::BiasedSoftmax, OptimizerKind::Nesterov, ScheduleKind::Constant,
       0.02, 32, 64, 200 * s, true, 0},
      {"variational-log", SolverKind::VariationalLog, OptimizerKind::Nesterov,
       ScheduleKind::Constant, 0.02, 32, 64, 200 * s, true, 0},
      {"softplus", SolverKind::Softplus, OptimizerKind::Nesterov, ScheduleKind::Constant, 0.02, 32,
       64, 200 * s, true, 0},
      {"biased-softmax (defaults)", SolverKind::BiasedSoftmax, OptimizerKind::Adam,
       ScheduleKind::Decay, 0.01, 32, 0, 10, false, 0},
      {"variational-log (defaults)", SolverKind::VariationalLog, OptimizerKind::Adam,
       ScheduleKind::Decay, 0.01, 32, 0, 10, false, 0},
      {"softplus (defaults)", SolverKind::Softplus, OptimizerKind::Adam, ScheduleKind::Decay, 0.01,
       32, 0, 10, false, 0},
      {"sumexp (baseline)", SolverKind::SumExp, OptimizerKind::Adam, ScheduleKind::Decay, 0.01, 32,
       0, 10, false, 0},
      {"erm (baseline)", SolverKind::Erm, OptimizerKind::Adam, ScheduleKind::Decay, 0.01, 32, 0, 10,
       false, 0},
  };
  std::printf("F* = %.15g. One thread per run (the step loop is serial).\n\n", fstar);
  std::printf("| solver | settings | final F | relative gap | within 1e-3 | time s |\n");
  std::printf("|---|---|---|---|---|---|\n");
  omp_set_num_threads(1);
  for (const Config& c : cfgs) {
    const Result r = solve(p, options_of(c, 5));
    const double gap = rel_gap(r.objective, fstar);
    std::printf("| %s | %s | %.10g | %.2e | %s | %.2f |\n", c.label, settings(c).c_str(),
                r.objective, gap, gap <= 1e-3 ? "yes" : "no", r.time_s);
    std::fflush(stdout);
  }
  std::printf("\n");
}

// ---- 2. scale ----------------------------------------------------------------------------

void scale(bool quick) {
  const long n = quick ? 20000 : 100000, m = quick ? 300 : 1000;
  for (long d : {2L, 64L}) {
    omp_set_num_threads(2);
    const OtInstance inst = instance(n, m, d);
    const SemiDiscreteOt p(inst.x, inst.y, inst.b, inst.epsilon);
    std::printf(
        "## 2. Time to 1e-3 relative suboptimality: n = %ld, m = %ld, d = %ld, eps = 0.05\n\n", n,
        m, d);
    const Result lb = full(p, OptimizerKind::Lbfgs, 1e-7);
    const double fstar = lb.objective;
    const Result sk = full(p, OptimizerKind::Sinkhorn, 1e-5);
    std::printf(
        "F* = %.15g (L-BFGS, |grad F| = %.1e, %ld iterations, %.1f s); Sinkhorn to "
        "marginal error 1e-5: F = %.15g (rel. diff %.1e), %ld iterations, %.1f s\n\n",
        fstar, lb.grad_norm, lb.steps, lb.time_s, sk.objective,
        std::abs(sk.objective - fstar) / std::abs(fstar), sk.steps, sk.time_s);
    std::printf(
        "| solver | settings | time to 1e-3 (s) | epochs to 1e-3 | final gap | run time s |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const Result* r : {&lb, &sk}) {
      const auto [t, it] = time_to(*r, fstar, 1e-3);
      std::printf("| full (%s, 2 threads) | to gtol | %.2f | %.0f iterations | %.1e | %.1f |\n",
                  r == &lb ? "L-BFGS" : "Sinkhorn", t, it, rel_gap(r->objective, fstar), r->time_s);
    }
    const double s = quick ? 0.5 : 1.0;
    // d = 64 (costs concentrate around 2) starts much closer to F* and converges in a fraction
    // of the epochs: shorter runs there, so that the trace rows resolve the time to 1e-3.
    const double e = s * (d == 64 ? 0.25 : 1.0);
    const Config cfgs[] = {
        {"biased-softmax", SolverKind::BiasedSoftmax, OptimizerKind::Adam, ScheduleKind::Decay,
         0.01, 32, 0, 4 * e, true, 0},
        {"biased-softmax (Genevay)", SolverKind::BiasedSoftmax, OptimizerKind::Sgd,
         ScheduleKind::InvSqrt, 10, 1, 0, 3 * e, true, 0},
        {"variational-log", SolverKind::VariationalLog, OptimizerKind::Nesterov,
         ScheduleKind::Constant, 0.05, 32, 0, 60 * e, false, 0},
        {"softplus", SolverKind::Softplus, OptimizerKind::Nesterov, ScheduleKind::Constant, 0.05,
         32, 0, 30 * e, false, 0},
        {"softplus", SolverKind::Softplus, OptimizerKind::Sgd, ScheduleKind::Constant, 0.2, 32, 16,
         40 * e, true, 0.01},
        {"biased-softmax", SolverKind::BiasedSoftmax, OptimizerKind::Nesterov,
         ScheduleKind::Constant, 0.05, 32, 16, 10 * e, true, 0},
        {"sumexp (baseline)", SolverKind::SumExp, OptimizerKind::Adam, ScheduleKind::Decay, 0.01,
         32, 0, 1, false, 0},
    };
    for (const Config& c : cfgs) {
      const Result r = solve(p, options_of(c, 26));
      const auto [t, ep] = time_to(r, fstar, 1e-3);
      char tt[32], ee[32];
      std::snprintf(tt, sizeof tt, t >= 0 ? "%.2f" : "not reached", t);
      std::snprintf(ee, sizeof ee, ep >= 0 ? "%.2f" : "-", ep);
      std::printf("| %s | %s | %s | %s | %.1e | %.1f |\n", c.label, settings(c).c_str(), tt, ee,
                  rel_gap(r.objective, fstar), r.time_s);
      std::fflush(stdout);
    }
    std::printf("\n");
  }
}

// ---- 3. Sinkhorn per iteration -------------------------------------------------------------

void sinkhorn_grid(bool quick) {
  omp_set_num_threads(2);
  std::printf(
      "## 3. Sinkhorn time per iteration (2 threads; one iteration = c-transform pass + "
      "column pass)\n\n| n | m | d | n m d | ms / iteration | ns / (n m) entry | "
      "ns / (n m d) |\n|---|---|---|---|---|---|---|\n");
  for (long n : {10000L, 100000L}) {
    for (long m : {100L, 1000L}) {
      for (long d : {2L, 16L, 64L}) {
        if (quick && n * m > 1e7) continue;
        const OtInstance inst = instance(n, m, d);
        const SemiDiscreteOt p(inst.x, inst.y, inst.b, inst.epsilon);
        const Result r = full(p, OptimizerKind::Sinkhorn, 1e-300, 5);
        const double per = r.time_s / static_cast<double>(r.steps + 1);
        const double nm = static_cast<double>(n) * static_cast<double>(m);
        std::printf("| %ld | %ld | %ld | %.1e | %.2f | %.2f | %.3f |\n", n, m, d, nm * d, 1e3 * per,
                    1e9 * per / nm, 1e9 * per / (nm * d));
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n");
}

// ---- 4. throughput -------------------------------------------------------------------------

void throughput(bool quick) {
  omp_set_num_threads(1);
  std::printf(
      "## 4. All-atoms throughput on one core ((sample, atom) cost entries per second, "
      "exact evaluations excluded)\n\n| solver | d | batch | steps | time s | entries/s |\n"
      "|---|---|---|---|---|---|\n");
  const long n = quick ? 20000 : 100000, m = 1000;
  for (long d : {2L, 16L, 64L}) {
    const OtInstance inst = instance(n, m, d);
    const SemiDiscreteOt p(inst.x, inst.y, inst.b, inst.epsilon);
    for (SolverKind k :
         {SolverKind::BiasedSoftmax, SolverKind::VariationalLog, SolverKind::Softplus}) {
      for (long batch : {1L, 32L, 256L}) {
        if (k != SolverKind::BiasedSoftmax && batch != 32) continue;
        SolverOptions o = SolverOptions::plain(k);
        o.batch = batch;
        o.step = 1e-3;
        const double entries = (quick ? 5e7 : 3e8) / (d == 64 ? 2.0 : 1.0);
        o.steps = static_cast<long>(entries / static_cast<double>(batch * m));
        o.eval_points = 2;
        const Result r = solve(p, o);
        const double rate =
            static_cast<double>(r.steps) * static_cast<double>(batch * m) / r.time_s;
        std::printf("| %s | %ld | %ld | %ld | %.2f | %.3g |\n", r.solver.c_str(), d, batch, r.steps,
                    r.time_s, rate);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string parts = "a,s,k,t";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--parts") == 0 && i + 1 < argc)
      parts = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_ot [--quick] [--parts a,s,k,t]\n");
      return 2;
    }
  }
  const auto t0 = Clock::now();
  std::printf("# lsekit entropic semi-discrete OT benchmark%s\n\n", quick ? " (--quick)" : "");
  if (parts.find('a') != std::string::npos) acceptance(quick);
  if (parts.find('s') != std::string::npos) scale(quick);
  if (parts.find('k') != std::string::npos) sinkhorn_grid(quick);
  if (parts.find('t') != std::string::npos) throughput(quick);
  std::printf("total wall time %.0f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
  return 0;
}
