// lsekit-dataset files (SPEC section 4): reading with full validation, writing.
//
// Layout (HDF5, row-major "one sample per row" as h5py sees it):
//   root attributes  format = "lsekit-dataset", format_version = 1,
//                    task = "regression" | "classification", num_classes (classification)
//   /train/X (n, p) float64      /train/y (n) float64 (regression) | int64 (classification)
//   optional /test/X, /test/y, /train/y_clean, /train/group, /test/group (int64)
#pragma once

#include <optional>
#include <string>

#include "core/types.hpp"

namespace lsekit {

enum class Task { Regression, Classification };

struct Split {
  MatRM x;                   // n x p
  Vec y;                     // regression targets, or labels as doubles (classification)
  IVec labels;               // classification labels in 0..K-1 (empty for regression)
  std::optional<IVec> y_clean;  // labels before injected noise (train only)
  std::optional<IVec> group;    // group ids
  Index size() const { return x.rows(); }
};

struct Dataset {
  Task task = Task::Regression;
  long num_classes = 0;  // classification only
  Split train;
  std::optional<Split> test;
  std::string path;  // where it was read from (for messages)
};

/// Reads and validates a dataset file. Throws InputError (exit 2) naming the
/// file and dataset for invalid content, IoError (exit 3) if it cannot be opened.
Dataset read_dataset(const std::string& path);

/// Validates `d` with the reader's rules; `file` names it in messages (InputError).
void validate_dataset(const Dataset& d, const std::string& file);

/// Validates `d` (same rules as the reader) and writes it atomically
/// (temporary name + rename). Throws IoError if the file cannot be written.
void write_dataset(const std::string& path, const Dataset& d);

/// The `format` root attribute of any HDF5 file ("" if absent). Throws IoError.
std::string file_format(const std::string& path);

}  // namespace lsekit
