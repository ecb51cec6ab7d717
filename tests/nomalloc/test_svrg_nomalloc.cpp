// SVRG's inner loop allocates nothing on the DRO problems, where it steps with the stored
// snapshot derivatives (item_derivatives + add_item_gradient): every estimator it runs, single
// samples, small batches and batches larger than one product panel, 1 and 2 OpenMP threads.
//
// Built into lsekit_nomalloc_tests (EIGEN_RUNTIME_NO_MALLOC, LSEKIT_TEST_NO_MALLOC): any Eigen
// heap allocation inside the guarded loop fails eigen_assert and aborts the binary.
#undef NDEBUG  // before any include: Eigen's no-malloc check is an eigen_assert

#include <catch2/catch.hpp>

#include "core/rng.hpp"
#include "nomalloc_support.hpp"
#include "problems/dro_classification.hpp"
#include "problems/dro_regression.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "solvers/solve.hpp"

using namespace lsekit;
using lsekit::test::MallocGuardProbe;
using lsekit::test::Threads;

namespace {

template <class P>
long run_all(const P& pr, Index n) {
  long runs = 0;
  for (int threads : {1, 2}) {
    Threads tc(threads);
    for (SolverKind kind : {SolverKind::VariationalLog, SolverKind::Softplus, SolverKind::SumExp,
                            SolverKind::Erm}) {
      for (long batch : {1L, 10L, 300L}) {
        SolverOptions o = SolverOptions::defaults_for(kind);
        o.variance_reduction = VarianceReduction::Svrg;
        o.batch = batch;
        o.tol = 0.0;
        o.steps = 1;  // checked at snapshots: one epoch of 2n/batch steps
        o.checkpoint_every = 1;  // the state is copied at the epoch boundary, outside the loop
        REQUIRE(o.check(n, 1, false).empty());
        MallocGuardProbe probe;
        const Result r = solve(pr, o, &probe);
        INFO(r.brief_report() << "; " << r.message << ", batch " << batch << ", threads "
                              << threads);
        CHECK(r.steps == 2 * n / batch);
        if (2 * n / batch >= 64) CHECK(probe.polls > 0);  // polled every 64 steps
        CHECK(probe.allowed == 0);
        ++runs;
      }
    }
  }
  return runs;
}

}  // namespace

TEST_CASE("SVRG's stored-derivative loop never allocates on DRO regression and classification",
          "[nomalloc][svrg]") {
  const Index n = 400;
  Rng rng(9);
  MatRM x(n, 300);
  Vec yr(n);
  IVec yc(n);
  for (Index i = 0; i < n; ++i) {
    yc(i) = static_cast<std::int64_t>(rng.below(7));
    for (Index j = 0; j < x.cols(); ++j) x(i, j) = 0.1 * rng.normal() + (j % 7 == yc(i) ? 0.3 : 0.0);
    yr(i) = x(i, 0) - x(i, 3) + 0.3 * rng.normal();
  }
  const DroRegression reg(x, yr, 1.0, 1e-3);
  const DroClassification cls(x, yc, 7, 1.0, 1e-3);
  CHECK(run_all(reg, n) == 24);
  CHECK(run_all(cls, n) == 24);
  CHECK(Eigen::internal::is_malloc_allowed());
}

TEST_CASE("SVRG's preconditioned loop never allocates on entropic OT", "[nomalloc][svrg][ot]") {
  const Index n = 300, m = 40, d = 2;
  Rng rng(4);
  MatRM x(n, d), y(m, d);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) x(i, j) = rng.normal();
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < d; ++j) y(i, j) = rng.normal();
  const Vec b = Vec::Constant(m, 1.0 / m);
  const SemiDiscreteOt p(x, y, b, 0.1);
  for (int threads : {1, 2}) {
    Threads tc(threads);
    for (SolverKind kind :
         {SolverKind::BiasedSoftmax, SolverKind::VariationalLog, SolverKind::Softplus}) {
      // batch 1 (n/2 steps per epoch: the guard is polled) and the automatic batch of m source
      // samples (n / (2 m) steps).
      for (long batch : {1L, 0L}) {
        SolverOptions o = SolverOptions::defaults_for(kind);
        o.variance_reduction = VarianceReduction::Svrg;
        o.batch = batch;
        o.tol = 0.0;
        o.steps = 1;
        REQUIRE(o.check(n, m, true).empty());
        MallocGuardProbe probe;
        const Result r = solve(p, o, &probe);
        INFO(r.brief_report() << "; " << r.message << ", threads " << threads << ", batch " << batch);
        CHECK(r.steps == (batch == 1 ? n / 2 : n / (2 * m)));
        if (batch == 1) CHECK(probe.polls > 0);
        CHECK(probe.allowed == 0);
      }
    }
  }
  CHECK(Eigen::internal::is_malloc_allowed());
}
