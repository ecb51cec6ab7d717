// The compiled instances of solve() and ExactEvaluator for SemiDiscreteOt (see instances.hpp).
#include "solvers/instances.hpp"

namespace lsekit {
LSEKIT_SOLVER_INSTANCES(, SemiDiscreteOt)
}  // namespace lsekit
