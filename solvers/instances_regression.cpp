// The compiled instances of solve() and ExactEvaluator for DroRegression (see instances.hpp).
#include "solvers/instances.hpp"

namespace lsekit {
LSEKIT_SOLVER_INSTANCES(, DroRegression)
}  // namespace lsekit
