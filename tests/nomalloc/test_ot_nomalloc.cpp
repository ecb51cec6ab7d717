// The stochastic step loop allocates nothing on entropic OT either: gathers of sampled source
// samples and atoms go to the workspace, and the GEMM of problems/semidiscrete_ot.hpp is issued
// in panels small enough for Eigen's stack buffers and never split across threads (Eigen's
// threaded GEMM allocates). Built with EIGEN_RUNTIME_NO_MALLOC and LSEKIT_TEST_NO_MALLOC, so
// any Eigen heap allocation inside the loop aborts the binary (see test_step_loop_nomalloc.cpp).
#undef NDEBUG  // before any include: Eigen's no-malloc check is an eigen_assert

#include <catch2/catch.hpp>
#include <cmath>

#include "core/rng.hpp"
#include "nomalloc_support.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "solvers/solve.hpp"

using namespace lsekit;
using lsekit::test::MallocGuardProbe;

TEST_CASE("the OT step loop never allocates (all atoms and sampled atoms, d = 2 and 64)",
          "[nomalloc][ot]") {
  for (Index d : {2, 64}) {
    Rng rng(3);
    const Index n = 200, m = 300;  // at d = 64 a 32 x 300 score block needs many GEMM panels
    MatRM x(n, d), y(m, d);
    for (Index i = 0; i < n * d; ++i) x.data()[i] = rng.normal() / std::sqrt(double(d));
    for (Index i = 0; i < m * d; ++i) y.data()[i] = rng.normal() / std::sqrt(double(d));
    Vec b(m);
    for (Index j = 0; j < m; ++j) b(j) = 0.5 + rng.uniform();
    const SemiDiscreteOt p(x, y, b, 0.1);
    for (SolverKind kind :
         {SolverKind::BiasedSoftmax, SolverKind::VariationalLog, SolverKind::Softplus}) {
      for (long atoms : {0L, 16L}) {
        for (long batch : {1L, 32L}) {
          SolverOptions o = SolverOptions::plain(kind);
          o.atoms = atoms;
          o.batch = batch;
          o.step = 1e-3;
          o.average = batch == 32;
          o.steps = 300;
          o.eval_points = 3;
          REQUIRE(o.check(m, n, true).empty());
          MallocGuardProbe probe;
          const Result r = solve(p, o, &probe);
          INFO(r.brief_report() << ", d " << d << ", atoms " << atoms << ", batch " << batch);
          // 300 noisy steps may end above the start: then diverged, with the best row returned.
          CHECK((r.ok() || r.status == Status::Diverged));
          CHECK(r.steps == 300);
          CHECK(probe.polls > 0);
          CHECK(probe.allowed == 0);
        }
      }
    }
  }
  CHECK(Eigen::internal::is_malloc_allowed());
}
