// The stochastic step loop on DRO classification allocates nothing, with 1 and 2 OpenMP
// threads (Eigen parallelizes large products with OpenMP and then allocates per call; the
// problem keeps its products on the calling thread).
//
// Built into lsekit_nomalloc_tests (EIGEN_RUNTIME_NO_MALLOC, LSEKIT_TEST_NO_MALLOC): any Eigen
// heap allocation inside the guarded step loop fails eigen_assert and aborts the binary.
#undef NDEBUG  // before any include: Eigen's no-malloc check is an eigen_assert

#include <catch2/catch.hpp>

#include "core/rng.hpp"
#include "nomalloc_support.hpp"
#include "problems/dro_classification.hpp"
#include "solvers/solve.hpp"

using namespace lsekit;
using lsekit::test::Threads;

TEST_CASE("the step loop never allocates on DRO classification (1 and 2 threads)",
          "[nomalloc][classification]") {
  // p = 300 and K = 7 with batches up to 300 exercise several feature panels, two item
  // panels (kItemBlock = 256, re-gathered in add_gradient) and products large enough for
  // Eigen to parallelize them if it were allowed to.
  const Index n = 400, p = 300, k = 7;
  Rng rng(3);
  MatRM x(n, p);
  IVec y(n);
  for (Index i = 0; i < n; ++i) {
    y(i) = static_cast<std::int64_t>(rng.below(k));
    for (Index j = 0; j < p; ++j) x(i, j) = 0.1 * rng.normal() + (j % k == y(i) ? 0.3 : 0.0);
  }
  const DroClassification pr(x, y, k, 1.0, 1e-3);
  long runs = 0;
  for (int threads : {1, 2}) {
    Threads tc(threads);
    for (SolverKind kind : {SolverKind::BiasedSoftmax, SolverKind::VariationalLog,
                            SolverKind::Softplus, SolverKind::SumExp, SolverKind::Erm}) {
      for (long batch : {1L, 10L, 100L, 300L, n}) {
        SolverOptions o = SolverOptions::plain(kind);
        o.batch = batch;
        o.step = 1e-3;
        o.steps = 80;
        o.eval_points = 3;
        o.sampling = batch == 10 ? SamplingKind::Replacement : SamplingKind::Permutation;
        REQUIRE(o.check(n, 1, false).empty());
        const Result r = solve(pr, o);
        INFO(r.brief_report() << ", batch " << batch << ", threads " << threads);
        CHECK(r.steps == 80);
        CHECK(r.ok());
        ++runs;
      }
    }
  }
  CHECK(runs == 2 * 5 * 5);
  CHECK(Eigen::internal::is_malloc_allowed());
}
