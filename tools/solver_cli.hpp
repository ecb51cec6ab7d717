// Binding of SolverOptions / ProblemOptions to Boost.Program_options.
// Defaults and help texts come from the option structs and their name tables,
// so `lsekit solve --help` always shows the values the library uses.
//
// The library names options by their fields in backquotes (`rho`, `batch=64`; see
// solvers/options.hpp); kFieldFlags is the one table from field to flag, and cli_wording()
// applies it to every library text the command line prints (errors, run messages, the
// summary line, help lists). Files keep the library's wording.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "data/h5doc.hpp"

#include "solvers/options.hpp"
#include "tasks/task.hpp"

namespace lsekit::cli {

namespace po = boost::program_options;

/// Text of a default value as a user would write it (1e-2, not 0.01000000000000000021).
std::string text(double v);

/// An option field (SolverOptions, ProblemOptions, the importers' options, solve()'s resume)
/// and the command-line flag that sets it.
struct FieldFlag {
  const char* field;
  const char* flag;
};
/// Every field the library names in a message, with its flag: the one mapping.
extern const std::vector<FieldFlag> kFieldFlags;

/// A library text in the command line's words: each backquoted field becomes its flag,
/// `rho` -> --rho, `batch=64` -> --batch 64, `solver=full` -> --solver full. Text that is not
/// a backquoted field of kFieldFlags is left as it is.
std::string cli_wording(const std::string& library_text);

/// String-valued options converted to enums by finish().
struct SolverArgs {
  SolverOptions opt;
  std::string solver, optimizer, schedule, sampling, variance_reduction;
  bool optimizer_given = false;
};

/// Adds the solver flags (SPEC section 5) bound to `a`.
void add_solver_options(po::options_description& d, SolverArgs& a);
/// Adds --lambda, --epsilon, --l2, --init bound to `p`.
void add_problem_options(po::options_description& d, ProblemOptions& p);
/// Converts names to enums, applies per-solver defaults the user did not override
/// (full -> lbfgs), and returns the validated options. Throws InputError naming the option.
SolverOptions finish(SolverArgs& a, const po::variables_map& vm);

/// Parses argv (and --config FILE when given) into vm; throws po::error on bad usage.
/// `positional` names the positional options in order.
void parse(int argc, const char* const* argv, const po::options_description& visible,
           const po::positional_options_description& positional, po::variables_map& vm);

/// The message of a Boost.Program_options error (use instead of what(): Boost's what() never
/// returns when an option's text contains a placeholder such as "%value%").
std::string error_message(const po::error& e);

/// Sets the OpenMP thread count (0 = all cores); returns the count in force.
int set_threads(int threads);

/// The full command line, for result files.
std::string command_line(int argc, const char* const* argv);

/// Refuses to overwrite `out` unless `force`, and proves before any work that `out` can be
/// written: its directory exists and a probe file can be created (and removed) in it, and an
/// existing `out` is writable. Throws InputError (exists, no --force) or IoError
/// ("cannot write /path/x.h5: permission denied") naming `out`, never a temporary name.
void check_output(const std::string& out, bool force, const char* option = "--out");

/// The same proof for a file that a run writes later (a checkpoint): directory writable,
/// an existing file writable; never refuses to replace it.
void check_writable(const std::string& path);

/// Writes `doc` to `out` atomically; any failure becomes IoError("cannot write OUT: reason")
/// with no temporary file name and no HDF5 error stack.
void write_output(const std::string& out, const H5Doc& doc);
/// Runs `write` (which writes `out`), turning any IoError into that same plain message.
void write_plainly(const std::string& out, const std::function<void()>& write);

/// What the options apply to: the problem kind and one solver configuration.
struct ApplyContext {
  bool ot = false;            // entropic OT (lsekit-ot) rather than a DRO dataset
  bool regression = false;    // DRO regression (--init ls)
  SolverKind solver = SolverKind::Softplus;
  OptimizerKind optimizer = OptimizerKind::Adam;
  bool variance_reduction = false;  // the run uses SVRG (own data-derived step)
  bool table_vr = false;            // ... SAGA or Prospect (their fixed step: --vr-step)
};
/// The problem kind of INPUT from its root `format`/`task` attributes (no data read).
ApplyContext problem_context(const std::string& input);
/// True when `o` runs variance-reduced steps; the solvers' uses_variance_reduction() once
/// it exists (solvers/options.hpp), until then svrg when asked for explicitly.
bool variance_reduction_on(const SolverOptions& o, bool batch_over_groups);
/// True when `o` runs SAGA or Prospect (a table of per-sample derivatives).
bool table_variance_reduction(const SolverOptions& o, bool batch_over_groups);
/// Throws InputError (exit 2) for the first option given explicitly (not defaulted) that has
/// no effect on any of `runs` (one table: option field -> predicate -> reason, in the
/// library's wording: the caller prints it through cli_wording). `input` names the file.
void check_applicable(const po::variables_map& vm, const std::vector<ApplyContext>& runs,
                      const std::string& input);
/// The same check for the option fields (e.g. "clip", "rho_kappa") in `given`: the Python
/// module applies it to its keyword arguments. The message names fields (library wording).
void check_applicable(const std::set<std::string>& given, const std::vector<ApplyContext>& runs,
                      const std::string& input);

}  // namespace lsekit::cli
