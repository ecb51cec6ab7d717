// lsekit-dataset files (SPEC section 4): reading with full validation, writing.
//
// Layout (HDF5, row-major "one sample per row" as h5py sees it):
//   root attributes  format = "lsekit-dataset", format_version = 1,
//                    task = "regression" | "classification", num_classes (classification)
//   /train/X (n, p) float64      /train/y (n) float64 (regression) | int64 (classification)
//   optional /test/X, /test/y, /train/y_clean, /train/group, /test/group (int64)
//   optional names and provenance (docs/formats.md): /meta/feature_names (p strings),
//   /meta/class_names (K strings), variable-length UTF-8 (h5py: .asstr()[()]); root
//   attributes generator | importer, source, seed, param_<option> (Dataset::provenance).
// The reader accepts what common tools write and converts it: X and regression y of any
// float (<= 8 bytes) or integer type are read as float64; labels, y_clean and groups of any
// integer type, or floats holding integers, as int64. Each conversion is listed in
// Dataset::notes ("/train/X: float32 converted to float64") for the caller's provenance.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "data/h5doc.hpp"

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
  // Names stored under /meta (empty = none): one per column of X, one per class.
  std::vector<std::string> feature_names;
  std::vector<std::string> class_names;
  // How the data was made, written as root attributes: "generator" (lsekit gen: "regression",
  // "classification") or "importer" ("csv", "fashion-mnist"), "source" (the input file),
  // "seed", and one "param_<option>" per generator/importer option (e.g. param_n = 1000,
  // param_outlier_fraction = 0.01, param_label = "price"). Other keys are refused.
  std::map<std::string, AttrValue> provenance;
  // Read only: what the reader converted ("/train/X: float32 converted to float64"), in
  // reading order; empty when every array was stored in its canonical dtype.
  std::vector<std::string> notes;
};

/// The `seed` provenance attribute: an int64, or its decimal string above 2^63 - 1.
inline AttrValue seed_attr(std::uint64_t seed) {
  if (seed <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(seed);
  return std::to_string(seed);
}

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
