// The compiled instances of solve() and ExactEvaluator for DroClassification (see instances.hpp).
#include "solvers/instances.hpp"

namespace lsekit {
LSEKIT_SOLVER_INSTANCES(, DroClassification)
}  // namespace lsekit
