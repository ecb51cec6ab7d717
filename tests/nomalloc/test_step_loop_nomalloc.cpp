// The stochastic step loop allocates nothing (STYLE: "setup allocates, solve does not").
//
// Built with EIGEN_RUNTIME_NO_MALLOC and LSEKIT_TEST_NO_MALLOC: run_stochastic forbids Eigen
// heap allocation around its step loop (LSEKIT_NO_MALLOC), and any Eigen allocation there
// fails eigen_assert and aborts the test binary. Running every estimator with every step-rule
// option is therefore the test. Eigen's check is an assertion, so NDEBUG (set by Release builds)
// must not disable it: it is undefined before anything is included.
#undef NDEBUG

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "nomalloc_support.hpp"
#include "problems/dro_regression.hpp"
#include "solvers/solve.hpp"

using namespace lsekit;
using lsekit::test::MallocGuardProbe;
using lsekit::test::Threads;

namespace {

DroRegression small_problem(Index n, double l2) {
  Rng rng(5);
  MatRM x(n, 3);
  Vec y(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < 3; ++j) x(i, j) = rng.normal();
    y(i) = x(i, 0) - 0.5 * x(i, 2) + 0.3 * rng.student_t(3.0);
  }
  return DroRegression(std::move(x), std::move(y), 1.0, l2);
}

}  // namespace

TEST_CASE("LSEKIT_NO_MALLOC toggles Eigen's runtime allocation guard", "[nomalloc]") {
  REQUIRE(Eigen::internal::is_malloc_allowed());
  LSEKIT_NO_MALLOC(true);
  const bool inside = Eigen::internal::is_malloc_allowed();
  LSEKIT_NO_MALLOC(false);
  CHECK_FALSE(inside);
  CHECK(Eigen::internal::is_malloc_allowed());
}

TEST_CASE("the stochastic step loop never allocates (every estimator and step rule)",
          "[nomalloc]") {
  // One OpenMP thread: the exact evaluations at trace rows are tiny here (n <= 64, one chunk),
  // and a 2-thread parallel region per row costs more than the whole run on a loaded machine.
  // The evaluator runs outside the guarded region either way.
  Threads serial(1);
  const Index n = 64;
  const DroRegression pr = small_problem(n, 0.1);
  const SolverKind kinds[] = {SolverKind::BiasedSoftmax, SolverKind::VariationalLog,
                              SolverKind::Softplus, SolverKind::SumExp, SolverKind::Erm};
  const OptimizerKind optimizers[] = {OptimizerKind::Sgd, OptimizerKind::Nesterov,
                                      OptimizerKind::Adam};
  long runs = 0;
  for (SolverKind kind : kinds) {
    for (long batch : {1L, 10L, n}) {  // batch n with permutation: the whole-group path
      for (OptimizerKind opt : optimizers) {
        for (int variant = 0; variant < 4; ++variant) {
          SolverOptions o = SolverOptions::plain(kind);
          o.batch = batch;
          o.optimizer = opt;
          // Small enough that the unbounded-weight solvers (sumexp, variational-log) run all
          // 300 steps with plain SGD and Nesterov; divergence is covered separately below.
          o.step = opt == OptimizerKind::Adam ? 1e-3 : 1e-5;
          o.clip = (variant & 1) ? 0.5 : 0.0;
          o.average = (variant & 2) != 0;
          o.rho = (variant == 3) ? 1e-2 : 0.0;  // softplus: fixed and adaptive rho
          o.sampling =
              (variant == 2 && batch != n) ? SamplingKind::Replacement : SamplingKind::Permutation;
          o.schedule = variant == 1 ? ScheduleKind::InvSqrt : ScheduleKind::Decay;
          o.steps = 300;  // > 64 so the probe polls inside the loop; > mom_block for rho updates
          o.eval_points = 5;
          REQUIRE(o.check(n, 1, false).empty());
          MallocGuardProbe probe;
          const Result r = solve(pr, o, &probe);
          INFO(r.brief_report() << ", batch " << batch << ", optimizer "
                                << name_of(kOptimizerNames, opt) << ", variant " << variant);
          CHECK(r.steps == 300);
          CHECK(r.ok());
          CHECK(probe.polls > 0);
          CHECK(probe.allowed == 0);
          ++runs;
        }
      }
    }
  }
  CHECK(runs == 5 * 3 * 3 * 4);
  CHECK(Eigen::internal::is_malloc_allowed());  // restored after the loop
}

TEST_CASE("the step loop stays allocation-free when it stops on divergence", "[nomalloc]") {
  const DroRegression pr = small_problem(32, 0.0);
  SolverOptions o = SolverOptions::plain(SolverKind::SumExp);
  o.optimizer = OptimizerKind::Sgd;
  o.schedule = ScheduleKind::Constant;
  o.batch = 1;
  o.step = 50.0;
  o.epochs = 20;
  const Result r = solve(pr, o);
  CHECK(r.status == Status::Diverged);
  CHECK(Eigen::internal::is_malloc_allowed());
}
