// Checkpoints of `lsekit solve --checkpoint-every N` / `--resume FILE`.
//
// A checkpoint is an HDF5 file (root attribute format = "lsekit-checkpoint",
// format_version = 5) holding one SolverState (solvers/result.hpp) and the problem metrics
// recorded at each trace row. Its root attribute `loop` names the loop that wrote it
// (0 plain stochastic, 1 SVRG, 2 SAGA, 3 Prospect), and only that loop's fields are stored:
// for the plain loop the iterate, the averaged and last healthy iterates, the step-rule
// moments, the shifts with their moments and step counts, the RNG state, the epoch
// permutations with their cursors, the adaptive-rho block moments and the trace so far; for
// the variance-reduced loops (saved at epoch boundaries) the snapshot with its exact gradient,
// the anchor, the stored per-item derivative table (/state/table, one item per row), the loss
// table and running sum (Prospect), the sampling distribution, the preconditioner (SVRG on
// OT), the shifts, the safeguarded step, the certificate gate, the RNG state, the counters and
// the trace. The state is written and read field by field through kStateFields (scalars as
// root attributes, vectors and matrices under /state, the trace under /trace), never by a list
// of its own. Version 2 files (plain loop only, no `loop`) are still read. A file is written
// atomically (temporary file + rename), so a run killed at any instant leaves the previous
// checkpoint or the new one, never a partial file.
//
// A checkpoint belongs to one run: its `fingerprint` attribute lists the input,
// the problem and every solver option that shapes the iterates. `--resume` with
// other options or another input is refused with the first difference named.
#pragma once

#include <string>
#include <vector>

#include "solvers/options.hpp"
#include "solvers/result.hpp"
#include "data/result_file.hpp"

namespace lsekit {

struct Checkpoint {
  std::string fingerprint;
  SolverState state;
  std::vector<TraceMetrics> rows;  // problem metrics per trace row (Recorder::rows)
};

/// The options and input that must match for a checkpoint to be resumed: one
/// "key = value" line each (the solver options under their option names, as in
/// result files, minus provenance and outcome).
std::string run_fingerprint(const SolverOptions& o, const RunInfo& info, Index dim,
                            Index num_groups, Index num_items);

/// Writes `c` to `path` atomically (replacing an older checkpoint). Throws IoError.
void write_checkpoint(const std::string& path, const Checkpoint& c);

/// Reads and validates a checkpoint. Throws IoError (unreadable) or InputError
/// (not a checkpoint, missing or malformed field), naming the file.
Checkpoint read_checkpoint(const std::string& path);

/// Throws InputError naming `path` and the first line that differs unless the two
/// fingerprints are equal.
void check_fingerprint(const std::string& path, const std::string& saved,
                       const std::string& current);

}  // namespace lsekit
