// Tasks: a problem together with the data it was built from (the layer between the
// solvers and the command line / Python module). A task knows how to build its LseProblem, compute its metrics, write
// and read its solution; `AnyTask` is the one std::variant over them (the only
// runtime dispatch on problem kind, at the command-line boundary).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/h5doc.hpp"

namespace lsekit {

/// Problem parameters that come from the command line (not from the file).
struct ProblemOptions {
  double lambda = 1.0;   // DRO temperature (--lambda)
  double epsilon = 0.0;  // OT temperature override (--epsilon); 0 = the instance's
  double l2 = 0.0;       // L2 regularization mu (--l2)
  std::string init = "zero";  // solvers' start (--init): "zero" | "ls" (least squares, DRO regression)
};

}  // namespace lsekit
