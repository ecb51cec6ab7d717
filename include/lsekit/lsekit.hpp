// lsekit: everything a C++ program needs to solve lsekit's problems from memory or files.
//
//   #include <lsekit/lsekit.hpp>       (CMake: find_package(lsekit), target lsekit::lsekit;
//                                        pkg-config: pkg-config --cflags --libs lsekit)
//
// Problems (problems/): DroRegression, DroClassification, SemiDiscreteOt, built from Eigen
// arrays. Solvers (solvers/): solve(problem, SolverOptions, observer) -> Result, with every
// default in SolverOptions. Tasks (tasks/): a problem with its data, its metrics and its
// lsekit-result document (run_task). Files (data/): lsekit-dataset, lsekit-ot, lsekit-result.
// See examples/cpp/ for a complete program.
#pragma once

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/h5doc.hpp"
#include "data/ot_instance.hpp"
#include "data/result_file.hpp"
#include "problems/dro_classification.hpp"
#include "problems/dro_regression.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "solvers/instances.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "tasks/run.hpp"
#include "tasks/tasks.hpp"
