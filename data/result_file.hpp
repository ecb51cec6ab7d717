// lsekit-result documents (SPEC section 4): the provenance of a run, the attributes that
// record every hyperparameter under its option name, the /trace columns and the /metrics
// attributes. Used by `lsekit solve`, `lsekit compare`, the checkpoint files and the Python
// module alike, so every result file has the same layout.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/h5doc.hpp"
#include "solvers/options.hpp"
#include "solvers/result.hpp"

namespace lsekit {

/// Problem metrics recorded at a trace row, keyed by its step.
using TraceMetrics = std::pair<long, Metrics>;

/// Provenance of a run.
struct RunInfo {
  std::string command_line;
  std::string input_path;
  std::string problem;           // task name
  std::string temperature_name;  // "lambda" | "epsilon"
  double temperature = 0.0;
  double l2 = 0.0;
  int threads = 1;
  std::string init = "zero";     // the solvers' start point (--init)
};

std::string now_iso8601();

/// Writes the attributes of a run (every hyperparameter under its option name)
/// on `object` ("/" for a solve file, "/runs/<id>" in a compare file).
void add_run_attributes(H5Doc& doc, const std::string& object, const SolverOptions& o,
                        const Result& r, const RunInfo& info);

/// Writes /trace/* columns (incl. the task's trace metrics) and /metrics attributes
/// under `prefix` ("" or "/runs/<id>").
void add_trace_and_metrics(H5Doc& doc, const std::string& prefix, const Result& r,
                           const std::vector<TraceMetrics>& trace_rows, const Metrics& final_metrics);

/// The whole result of one run: attributes, solution, shifts, trace, metrics.
template <class Task>
void add_run(H5Doc& doc, const std::string& prefix, const Task& task, const SolverOptions& o,
             const Result& r, const std::vector<TraceMetrics>& trace_rows, const Metrics& final_metrics,
             const RunInfo& info) {
  add_run_attributes(doc, prefix.empty() ? "/" : prefix, o, r, info);
  task.write_solution(doc, prefix, r.theta);
  if (r.alpha.size() > 0) doc.set(prefix + "/solution/alpha", Array::vector(r.alpha));
  add_trace_and_metrics(doc, prefix, r, trace_rows, final_metrics);
}

}  // namespace lsekit
