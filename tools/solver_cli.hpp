// Binding of SolverOptions / ProblemOptions to Boost.Program_options.
// Defaults and help texts come from the option structs and their name tables,
// so `lsekit solve --help` always shows the values the library uses.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "solvers/options.hpp"
#include "tasks/task.hpp"

namespace lsekit::cli {

namespace po = boost::program_options;

/// Text of a default value as a user would write it (1e-2, not 0.01000000000000000021).
std::string text(double v);

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

/// Refuses to overwrite `out` unless `force`; checks its directory exists.
void check_output(const std::string& out, bool force);

}  // namespace lsekit::cli
