// AnyTask: the one variant over every problem the command line can solve, and
// the loader that picks the task from an input file's `format`/`task` attributes.
#pragma once

#include <string>
#include <variant>

#include "solvers/instances.hpp"
#include "tasks/classification.hpp"
#include "tasks/ot.hpp"
#include "tasks/regression.hpp"

namespace lsekit {

using AnyTask = std::variant<RegressionTask, OtTask, ClassificationTask>;

/// Throws InputError "<path>: `lambda` must be ... (<pname>)" for an invalid lambda or l2.
void check_dro_options(const std::string& path, const ProblemOptions& po, const char* pname);

/// Reads `path` and builds its task. Throws InputError/IoError naming the file.
AnyTask load_task(const std::string& path, const ProblemOptions& po);

/// Exact F, kappa (mean and max over groups) and the task's metrics at theta.
template <class Task>
Metrics evaluate_task(const Task& task, const Vec& theta) {
  ExactEvaluator ev(task.problem());
  EvalInfo info;
  const double f = ev.value(theta, &info);
  Metrics m{{"objective", f}, {"kappa", info.kappa_mean}, {"kappa_max", info.kappa_max}};
  for (auto& kv : task.metrics(theta)) m.push_back(std::move(kv));
  return m;
}

}  // namespace lsekit
