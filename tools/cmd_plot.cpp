// lsekit plot COMPARE.h5: PNG and SVG plots of a compare file, drawn by matplotlib
// (tools/plot/lsekit_plot.py reads the HDF5 file with h5py).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "tools/commands.hpp"
#include "tools/solver_cli.hpp"

namespace lsekit::cli {

namespace {
constexpr const char* kPython = "/usr/bin/python3";

// The installed script next to the installed binary, else the source tree's.
std::string plot_script() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path() / LSEKIT_PLOT_SCRIPT_FROM_BIN;
    if (std::filesystem::exists(installed, ec)) return installed.lexically_normal().string();
  }
  return LSEKIT_PLOT_SCRIPT;
}
}  // namespace

bool plotting_available() {
  if (!std::filesystem::exists(kPython) || !std::filesystem::exists(plot_script())) return false;
  const int rc = std::system("/usr/bin/python3 -c 'import h5py, matplotlib' >/dev/null 2>&1");
  return rc == 0;
}

int run_plot_script(const std::string& file, const std::string& out_dir, bool force) {
  const std::string script = plot_script();
  std::vector<std::string> args{kPython, script, file};
  if (!out_dir.empty()) args.insert(args.end(), {"--out-dir", out_dir});
  if (force) args.push_back("--force");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) throw IoError("cannot start the plotting process");
  if (pid == 0) {
    execv(kPython, argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return kExitIo;
  const int rc = WEXITSTATUS(status);
  if (rc == 127) throw IoError(std::string("cannot run ") + kPython + " " + script);
  return rc;
}

int cmd_plot(int argc, const char* const* argv) {
  std::string file, out_dir, config;
  bool force = false;
  po::options_description desc(
      "usage: lsekit plot FILE.h5 [--out-dir DIR] [--force]\n\n"
      "Draws, as PNG and SVG, for a compare file (or a single solve result): F - F* (or F) against\n"
      "passes over the data and against solver time on log axes, per solver (median over seeds,\n"
      "min-max band), full/L-BFGS/Sinkhorn on the same passes axis; the final F - F* against the step\n"
      "size when there are two or more; classification: test accuracy and worst-class test accuracy\n"
      "against passes; OT: marginal error against passes. Refuses to replace existing plots\n"
      "without --force. Needs python3-matplotlib and python3-h5py.\n"
      "Exit codes: 0 ok, 2 not an lsekit result, 3 I/O error (e.g. an unwritable --out-dir).\n\noptions");
  desc.add_options()("help,h", "show this help")("file", po::value(&file), "compare or result file (positional)")
      ("out-dir", po::value(&out_dir), "directory for the images (default: FILE without .h5 + _plots)")
      ("force", po::bool_switch(&force), "replace existing plot files")
      ("config", po::value(&config), "read further options from FILE (key = value lines)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  parse(argc, argv, desc, pos, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (file.empty()) throw InputError("usage: lsekit plot FILE.h5");
  if (!std::filesystem::exists(file)) throw IoError(file + ": no such file");
  // Prove the images can be written before drawing anything.
  namespace fs = std::filesystem;
  const std::string dir = !out_dir.empty() ? out_dir
      : file.substr(0, file.size() - (file.size() > 3 && file.substr(file.size() - 3) == ".h5" ? 3 : 0)) + "_plots";
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw IoError("cannot write plots to " + dir + ": not a directory");
  check_writable(fs::exists(dir, ec) ? (fs::path(dir) / "objective.png").string() : dir);
  if (!plotting_available())
    throw IoError("plotting needs /usr/bin/python3 with h5py and matplotlib "
                  "(apt-get install python3-h5py python3-matplotlib)");
  return run_plot_script(file, out_dir, force);
}

}  // namespace lsekit::cli
