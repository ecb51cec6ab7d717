// lsekit error types and exit codes (SPEC section 5).
//   0 success, 1 numerical failure, 2 usage / invalid input, 3 I/O error.
// Library code throws InputError for invalid data or options and IoError when a
// file cannot be read or written; numerical outcomes are reported through
// Status values, never exceptions. Messages name the file, dataset and problem.
#pragma once

#include <stdexcept>
#include <string>

namespace lsekit {

enum ExitCode : int { kExitOk = 0, kExitNumerical = 1, kExitInput = 2, kExitIo = 3 };

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace lsekit
