// Scaffolding shared by the allocation tests (lsekit_nomalloc_tests, built with
// EIGEN_RUNTIME_NO_MALLOC and LSEKIT_TEST_NO_MALLOC): the stochastic step loops forbid Eigen heap
// allocation around themselves (LSEKIT_NO_MALLOC), and any Eigen allocation there fails
// eigen_assert and aborts the test binary.
//  * Threads: sets the OpenMP thread count while in scope (Eigen parallelizes large products
//    with OpenMP and then allocates per call; 1 and 2 threads are both tested).
//  * MallocGuardProbe: an observer polled inside the step loop (every 64 steps) that counts the
//    polls where allocation was allowed, so a test fails if a loop ever stops guarding itself.
//
// Eigen's check is an assertion, so NDEBUG (set by Release builds) must not disable it: every
// test file undefines it before anything is included (`#undef NDEBUG` on its first line).
#pragma once

#ifdef NDEBUG
#error "#undef NDEBUG before any include: Eigen's no-malloc check is an eigen_assert"
#endif
#ifndef EIGEN_RUNTIME_NO_MALLOC
#error "the allocation tests must be compiled with EIGEN_RUNTIME_NO_MALLOC"
#endif
#ifndef LSEKIT_TEST_NO_MALLOC
#error "the allocation tests must be compiled with LSEKIT_TEST_NO_MALLOC"
#endif
#ifdef EIGEN_NO_DEBUG
#error "EIGEN_NO_DEBUG disables eigen_assert and with it the no-malloc check"
#endif

#include <omp.h>

#include "solvers/result.hpp"

namespace lsekit::test {

/// `t` OpenMP threads while in scope; the previous count is restored on exit.
struct Threads {
  int saved = omp_get_max_threads();
  explicit Threads(int t) { omp_set_num_threads(t); }
  ~Threads() { omp_set_num_threads(saved); }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;
};

/// Polled by the step loop (interrupted(), every 64 steps): `polls` counts the polls and
/// `allowed` those where Eigen heap allocation was allowed (must stay 0). Never interrupts.
struct MallocGuardProbe : Observer {
  long polls = 0, allowed = 0;
  bool interrupted() override {
    ++polls;
    if (Eigen::internal::is_malloc_allowed()) ++allowed;
    return false;
  }
};

}  // namespace lsekit::test
