// A small in-memory document of HDF5 content: attributes and datasets by path.
// Result files are built as an H5Doc and written atomically; `lsekit info` and
// `lsekit eval` read any lsekit file back into one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/types.hpp"

namespace lsekit {

using AttrValue = std::variant<double, std::int64_t, std::string>;

struct Array {
  std::vector<std::uint64_t> shape;  // {} = scalar, {n}, {n, p}, ...
  std::variant<std::vector<double>, std::vector<std::int64_t>> data;  // row-major

  static Array scalar(double v) { return {{}, std::vector<double>{v}}; }
  static Array vector(const Vec& v);
  static Array vector(const IVec& v);
  static Array vector(const std::vector<double>& v);
  /// Any other Eigen vector expression (Vec::Ones(n), a Ref, a Map, a segment): stored
  /// as int64 if its scalar type is integral, else as float64. (Without this overload
  /// such expressions would be ambiguous between the Vec and IVec versions.)
  template <class Derived>
  static Array vector(const Eigen::MatrixBase<Derived>& v) {
    if constexpr (std::is_integral_v<typename Derived::Scalar>) {
      return vector(IVec(v.template cast<std::int64_t>()));
    } else {
      return vector(Vec(v.template cast<double>()));
    }
  }
  static Array matrix(const MatRM& m);  // (rows, cols), row-major as h5py sees it
  bool is_int() const { return data.index() == 1; }
  std::size_t numel() const;
};

struct H5Doc {
  // key: object path ("/" = root, "/metrics", "/runs/0001"); value: name -> attribute
  std::map<std::string, std::map<std::string, AttrValue>> attrs;
  // key: dataset path ("/solution/weights"); parent groups are created as needed
  std::map<std::string, Array> datasets;

  void set_attr(const std::string& object, const std::string& name, AttrValue v) {
    attrs[object][name] = std::move(v);
  }
  // key: dataset path; one-dimensional variable-length UTF-8 string datasets (h5py reads
  // them as bytes, or as str through .asstr())
  std::map<std::string, std::vector<std::string>> strings;

  void set(const std::string& path, Array a) { datasets[path] = std::move(a); }
  void set_strings(const std::string& path, std::vector<std::string> v) { strings[path] = std::move(v); }
};

/// Writes `doc` to `path` atomically: to `path.tmp-<pid>` first, then rename.
/// If `overwrite` is false and `path` exists, throws IoError. On failure no file
/// is left at `path` and the temporary is removed. Throws IoError.
void write_h5doc(const std::string& path, const H5Doc& doc, bool overwrite = true);

/// Reads every group attribute and dataset of an HDF5 file (float and integer
/// datasets; one-dimensional variable-length string datasets; string attributes; other types are described in the attribute
/// "<unsupported>"). Throws IoError when the file cannot be opened or is not HDF5.
H5Doc read_h5doc(const std::string& path);

}  // namespace lsekit
