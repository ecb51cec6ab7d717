// The subcommands of `lsekit`. Each returns an exit code (SPEC section 5) and
// throws InputError / IoError / boost::program_options::error for bad input,
// which main() turns into exit codes 2 / 3 / 2.
#pragma once

namespace lsekit::cli {

int cmd_gen(int argc, const char* const* argv);
int cmd_solve(int argc, const char* const* argv);
int cmd_eval(int argc, const char* const* argv);
int cmd_info(int argc, const char* const* argv);
int cmd_compare(int argc, const char* const* argv);

}  // namespace lsekit::cli
