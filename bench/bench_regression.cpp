// Benchmark: DRO regression step throughput and exact-evaluation scaling.
//   1. steps/second of every stochastic solver at batch 1, 10, 100 on the
//      20640 x 8 synthetic regression instance (lsekit gen regression defaults);
//   2. exact evaluation (value + gradient) time on n = 1e6, p = 32 with 1 and 2
//      OpenMP threads, and the speed-up.
// usage: bench_regression [--quick]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/exact_evaluator.hpp"
#include "data/generators.hpp"
#include "problems/dro_regression.hpp"
#include "solvers/instances.hpp"

using namespace lsekit;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  RegressionGenOptions g;
  const Dataset d = generate_regression(g);
  DroRegression prob(d.train.x, d.train.y, 1.0, 1e-3);
  omp_set_num_threads(1);
  std::printf("# DRO regression %ld x %ld, lambda = 1, Adam, 1 thread\n",
              static_cast<long>(d.train.x.rows()), static_cast<long>(d.train.x.cols()));
  std::printf("%-16s %8s %14s %12s\n", "solver", "batch", "steps/s", "ns/sample");
  for (SolverKind k : {SolverKind::BiasedSoftmax, SolverKind::VariationalLog, SolverKind::Softplus,
                       SolverKind::SumExp, SolverKind::Erm}) {
    for (long b : {1L, 10L, 100L}) {
      SolverOptions o = SolverOptions::plain(k);
      o.batch = b;
      o.step = 1e-3;
      o.steps = quick ? 20000 : 200000;
      o.eval_points = 2;
      const Result r = solve(prob, o);
      const double sps = static_cast<double>(r.steps) / r.time_s;
      std::printf("%-16s %8ld %14.0f %12.1f\n", r.solver.c_str(), b, sps, 1e9 / (sps * b));
    }
  }

  const long n = quick ? 200000 : 1000000, p = 32;
  Rng rng(5);
  MatRM x(n, p);
  Vec y(n);
  for (long i = 0; i < n; ++i) {
    double acc = 0.0;
    for (long j = 0; j < p; ++j) acc += (x(i, j) = rng.normal()) * 0.1;
    y(i) = acc + 0.5 * rng.student_t(3);
  }
  DroRegression big(std::move(x), std::move(y), 1.0, 0.0);
  Vec theta = Vec::Constant(p + 1, 0.05), grad;
  std::printf("\n# exact value+gradient, n = %ld, p = %ld\n%-8s %12s %10s\n", n, p, "threads", "ms/eval", "speed-up");
  double t1 = 0.0;
  double f_ref = 0.0;
  for (int t : {1, 2}) {
    omp_set_num_threads(t);
    ExactEvaluator ev(big);
    f_ref = ev.value_and_gradient(theta, grad);  // warm-up (allocates scratch)
    const int reps = quick ? 5 : 20;
    const auto t0 = Clock::now();
    double f = 0.0;
    for (int r = 0; r < reps; ++r) f = ev.value_and_gradient(theta, grad);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / reps;
    if (t == 1) t1 = ms;
    std::printf("%-8d %12.2f %10.2f   (F = %.15g%s)\n", t, ms, t1 / ms, f, f == f_ref ? "" : " MISMATCH");
  }
  return 0;
}
