// The subcommands of `lsekit`. Each returns an exit code (SPEC section 5) and
// throws InputError / IoError / boost::program_options::error for bad input,
// which main() turns into exit codes 2 / 3 / 2.
#pragma once

#include <string>

namespace lsekit::cli {

int cmd_gen(int argc, const char* const* argv);
int cmd_solve(int argc, const char* const* argv);
int cmd_eval(int argc, const char* const* argv);
int cmd_info(int argc, const char* const* argv);
int cmd_compare(int argc, const char* const* argv);
/// `lsekit plot` (tools/cmd_plot.cpp).
int cmd_plot(int argc, const char* const* argv);
/// True when /usr/bin/python3 with h5py and matplotlib can draw plots.
bool plotting_available();
/// Runs tools/plot/lsekit_plot.py on a compare or result file; returns its exit code.
/// Without `force` the script refuses to replace existing plot files.
int run_plot_script(const std::string& file, const std::string& out_dir, bool force);
/// `lsekit import fashion-mnist|csv` (tools/cmd_import.cpp).
int cmd_import(int argc, const char* const* argv);

/// `lsekit gen ot` (tools/cmd_gen_ot.cpp), a row of the kinds table of cmd_gen.
int cmd_gen_ot(int argc, const char* const* argv);
/// `lsekit gen classification` (tools/cmd_gen_classification.cpp), a row of the kinds table.
int cmd_gen_classification(int argc, const char* const* argv);

}  // namespace lsekit::cli
