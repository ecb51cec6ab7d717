// solve() and the exact evaluator for lsekit's own problems (DroRegression,
// DroClassification, SemiDiscreteOt) are compiled once, in lsekit_solvers
// (solvers/instances_*.cpp); a file that includes this header links against those
// instances instead of instantiating every solver loop again. Code that solves its
// own LseProblem includes solvers/solve.hpp and instantiates as usual.
//
// Not for builds that change what Eigen does per file (EIGEN_RUNTIME_NO_MALLOC in
// tests/nomalloc): those include solve.hpp and instantiate their own copies.
#pragma once

#include "core/exact_evaluator.hpp"
#include "problems/dro_classification.hpp"
#include "problems/dro_regression.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "solvers/solve.hpp"

// EXTERN is `extern` (declaration, in this header) or empty (definition, in instances_*.cpp).
#define LSEKIT_SOLVER_INSTANCES(EXTERN, P)                                                  \
  EXTERN template class ExactEvaluator<P>;                                                 \
  EXTERN template Result run_full<P>(const P&, const SolverOptions&, Observer*, const Vec*); \
  EXTERN template Result solve<P>(const P&, const SolverOptions&, Observer*, const Vec*,   \
                                  const SolverState*);

namespace lsekit {
LSEKIT_SOLVER_INSTANCES(extern, DroRegression)
LSEKIT_SOLVER_INSTANCES(extern, DroClassification)
LSEKIT_SOLVER_INSTANCES(extern, SemiDiscreteOt)
}  // namespace lsekit
