// libFuzzer target over the --config path of `lsekit solve` (issue 6): every input is written
// to a temporary config file and parsed with lsekit::cli::parse against the solve options
// (the shared problem and solver options plus the flags cmd_solve adds; keep in step with
// tools/cmd_solve.cpp), then converted and validated as cmd_solve does (finish,
// SolverOptions::check). Only boost::program_options::error, InputError and IoError may come
// out (exit 2 / 3 of the command line); anything else is a finding. Run by bench/fuzz.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/errors.hpp"
#include "tools/solver_cli.hpp"

namespace po = boost::program_options;
using namespace lsekit;

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("LSEKIT_FUZZ_TMPDIR");
    if (!dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/lsekit-fuzz-" + std::to_string(getpid()) + ".ini";
  }();
  return path;
}

void parse_solve_config(const std::string& config_path) {
  cli::SolverArgs sa;
  ProblemOptions pb;
  std::string input, out, config;
  int threads = 0;
  bool force = false, quiet = false;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("input", po::value(&input), "input file")(
      "out,o", po::value(&out), "result file")("force", po::bool_switch(&force), "overwrite")(
      "threads", po::value(&threads)->default_value(0), "threads")(
      "quiet,q", po::bool_switch(&quiet), "quiet")("config", po::value(&config), "config file");
  cli::add_problem_options(desc, pb);
  cli::add_solver_options(desc, sa);
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  const char* argv[] = {"solve", "--config", config_path.c_str()};
  cli::parse(3, argv, desc, pos, vm);
  const SolverOptions opt = cli::finish(sa, vm);
  (void)opt.check(1000, 1, false);    // DRO: items = samples, one group
  (void)opt.check(1000, 1000, true);  // OT: batches over source samples
  (void)cli::set_threads(threads);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  if (std::fclose(f) != 0) std::abort();
  try {
    parse_solve_config(path);
  } catch (const po::error&) {
  } catch (const InputError&) {
  } catch (const IoError&) {
  }
  return 0;
}
