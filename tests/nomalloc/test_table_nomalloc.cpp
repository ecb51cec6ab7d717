// The step loops of SAGA (--variance-reduction saga) and Prospect (--solver prospect) allocate
// nothing, on DRO regression and classification, with batches that repeat samples and with
// 1 and 2 OpenMP threads.
//
// Built into lsekit_nomalloc_tests (EIGEN_RUNTIME_NO_MALLOC, LSEKIT_TEST_NO_MALLOC): any Eigen
// heap allocation inside the guarded step loop fails eigen_assert and aborts the binary; the
// probe checks that the loop was guarded when the observer was polled (every 64 steps).
#undef NDEBUG  // before any include: Eigen's no-malloc check is an eigen_assert

#include <catch2/catch.hpp>

#include "core/rng.hpp"
#include "nomalloc_support.hpp"
#include "problems/dro_classification.hpp"
#include "problems/dro_regression.hpp"
#include "solvers/solve.hpp"

using namespace lsekit;
using lsekit::test::MallocGuardProbe;
using lsekit::test::Threads;

namespace {

template <class P>
void run_all(const P& pr, long& runs) {
  for (int threads : {1, 2}) {
    Threads tc(threads);
    // (sumexp takes the same path as variational-log with alpha = 0; its weights e^{l/lambda}
    // overflow on these data.)
    for (SolverKind kind : {SolverKind::Prospect, SolverKind::VariationalLog, SolverKind::Softplus,
                            SolverKind::Erm}) {
      for (long batch : {1L, 7L, 300L}) {
        SolverOptions o = SolverOptions::defaults_for(kind);
        if (kind != SolverKind::Prospect) o.variance_reduction = VarianceReduction::Saga;
        o.batch = batch;
        o.steps = 200;
        o.tol = 0.0;
        o.checkpoint_every = 50;  // the state is copied at epoch boundaries, outside the loop
        REQUIRE(o.check(pr.num_items(), 1, false).empty());
        MallocGuardProbe probe;
        const Result r = solve(pr, o, &probe);
        INFO(r.brief_report() << "; " << r.message << "; batch " << batch << ", threads " << threads);
        CHECK(r.steps >= 200);
        CHECK(r.ok());
        CHECK(probe.polls > 0);
        CHECK(probe.allowed == 0);
        ++runs;
      }
    }
  }
}

}  // namespace

TEST_CASE("SAGA and Prospect step loops never allocate (regression, classification)",
          "[nomalloc][saga][prospect]") {
  Rng rng(9);
  const Index n = 300;
  MatRM xr(n, 5);
  Vec yr(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < 5; ++j) xr(i, j) = rng.normal();
    yr(i) = xr(i, 0) - 0.5 * xr(i, 3) + 0.3 * rng.student_t(3.0);
  }
  const DroRegression reg(std::move(xr), std::move(yr), 1.0, 1e-3);
  // p = 300, K = 7: several feature panels in the classification products.
  const Index p = 300, k = 7;
  MatRM x(n, p);
  IVec y(n);
  for (Index i = 0; i < n; ++i) {
    y(i) = static_cast<std::int64_t>(rng.below(k));
    for (Index j = 0; j < p; ++j) x(i, j) = 0.1 * rng.normal() + (j % k == y(i) ? 0.3 : 0.0);
  }
  const DroClassification cls(x, y, k, 1.0, 1e-3);
  long runs = 0;
  run_all(reg, runs);
  run_all(cls, runs);
  CHECK(runs == 2 * 2 * 4 * 3);
  CHECK(Eigen::internal::is_malloc_allowed());
}
