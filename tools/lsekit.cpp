// lsekit: minimize LogSumExp-type objectives (KL-DRO, entropic semi-discrete OT)
// with interchangeable stochastic solvers. See README.md and docs/.
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "core/errors.hpp"
#include "tools/commands.hpp"
#include "tools/solver_cli.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(int, const char* const*);
  const char* help;
};

constexpr Command kCommands[] = {
    {"gen", lsekit::cli::cmd_gen, "generate a seeded synthetic dataset or OT instance"},
    {"import", lsekit::cli::cmd_import, "import Fashion-MNIST or a CSV file as a dataset"},
    {"solve", lsekit::cli::cmd_solve, "solve one problem with one solver, write a result file"},
    {"compare", lsekit::cli::cmd_compare, "run a grid of solvers x steps x seeds, print a summary"},
    {"plot", lsekit::cli::cmd_plot, "draw PNG/SVG plots of a compare file"},
    {"eval", lsekit::cli::cmd_eval, "recompute the exact objective and metrics of a result"},
    {"info", lsekit::cli::cmd_info, "describe any lsekit HDF5 file"},
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "lsekit %s: stochastic minimization of LogSumExp objectives\n\n"
               "usage: lsekit <command> [options]   (lsekit <command> --help for its options)\n\n"
               "commands:\n",
               LSEKIT_VERSION);
  for (const auto& c : kCommands) std::fprintf(out, "  %-9s %s\n", c.name, c.help);
  std::fprintf(out,
               "\nevery command takes --config FILE (key = value lines, long option names)\n"
               "exit codes: 0 success, 1 numerical failure, 2 usage or invalid input, 3 I/O error,\n"
               "130 interrupted (Ctrl-C; solve and compare write what they have, with its status)\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return lsekit::kExitInput;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return lsekit::kExitOk;
  }
  if (cmd == "--version") {
    std::printf("lsekit %s\n", LSEKIT_VERSION);
    return lsekit::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const lsekit::InputError& e) {
      std::fprintf(stderr, "lsekit %s: error: %s\n", c.name, lsekit::cli::cli_wording(e.what()).c_str());
      return lsekit::kExitInput;
    } catch (const boost::program_options::error& e) {
      std::fprintf(stderr, "lsekit %s: usage error: %s (see lsekit %s --help)\n", c.name,
                   lsekit::cli::error_message(e).c_str(), c.name);
      return lsekit::kExitInput;
    } catch (const lsekit::IoError& e) {
      std::fprintf(stderr, "lsekit %s: I/O error: %s\n", c.name, lsekit::cli::cli_wording(e.what()).c_str());
      return lsekit::kExitIo;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "lsekit %s: error: out of memory\n", c.name);
      return lsekit::kExitInput;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lsekit %s: error: %s\n", c.name, lsekit::cli::cli_wording(e.what()).c_str());
      return lsekit::kExitInput;
    }
  }
  std::fprintf(stderr, "lsekit: unknown command '%s'\n\n", cmd.c_str());
  usage(stderr);
  return lsekit::kExitInput;
}
