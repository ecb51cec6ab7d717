// lsekit-ot instance files (SPEC section 4): reading with full validation, writing.
//
// Layout (HDF5, row-major "one point per row" as h5py sees it):
//   root attributes  format = "lsekit-ot", format_version = 1, epsilon (float64 > 0),
//                    cost = "sqeuclidean"
//   /source/X       (n, d) float64   training source samples x_i (uniform weights 1/n)
//   /source/X_test  (n_test, d) float64, optional: held-out source samples
//   /target/Y       (m, d) float64   atoms y_j
//   /target/b       (m) float64      atom weights b_j >= 0 with |sum_j b_j - 1| <= 1e-9
// Every value must be finite; n, m, d >= 1. The reader also accepts arrays of any float
// (<= 8 bytes) or integer type and converts them to float64, and a b whose sum is within
// kOtWeightRenormalizeTolerance of 1 (a vector normalized in float32), which it divides by
// its sum; each conversion is listed in OtInstance::notes. Errors are InputError (exit 2)
// of the form "<file>: <dataset>: <problem> (entropic OT instance)"; a file that cannot be
// opened or read is an IoError (exit 3).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "data/h5doc.hpp"

namespace lsekit {

/// Largest allowed |sum_j b_j - 1| of the atom weights.
inline constexpr double kOtWeightSumTolerance = 1e-9;
/// Largest |sum_j b_j - 1| the reader repairs by dividing b by its sum (noted in
/// OtInstance::notes): a few float32 ulps of 1 (2^-23 = 1.2e-7), as left by normalizing in
/// float32. Larger errors are refused: the weights are then not a distribution.
inline constexpr double kOtWeightRenormalizeTolerance = 1e-6;

struct OtInstance {
  MatRM x;                      // n x d training source samples
  std::optional<MatRM> x_test;  // n_test x d held-out source samples
  MatRM y;                      // m x d atoms
  Vec b;                        // m atom weights (sum 1 within kOtWeightSumTolerance)
  double epsilon = 0.05;        // temperature stored in the file
  std::string path;             // where it was read from (for messages)
  // How the instance was made, as root attributes: "generator" (lsekit gen ot: "ot"),
  // "source", "seed" and one "param_<option>" per option (as for datasets, dataset.hpp).
  std::map<std::string, AttrValue> provenance;
  // Read only: what the reader converted ("/source/X: float32 converted to float64",
  // "/target/b: weights summed to 1 + 1.9e-09; renormalized"), in reading order.
  std::vector<std::string> notes;
};

/// Reads and validates an lsekit-ot file. Throws InputError naming the file, the dataset
/// (or attribute) and "entropic OT instance"; IoError if the file cannot be read.
OtInstance read_ot_instance(const std::string& path);

/// Validates `inst` with the reader's rules; `file` is used in messages.
void validate_ot_instance(const OtInstance& inst, const std::string& file);

/// Validates and writes `inst` atomically (temporary name + rename). IoError on failure,
/// or if `overwrite` is false and `path` exists.
void write_ot_instance(const std::string& path, const OtInstance& inst, bool overwrite = true);

}  // namespace lsekit
