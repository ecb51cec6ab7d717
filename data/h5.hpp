// A small RAII layer over the HDF5 C API, used by every lsekit reader and writer.
//
// * `Handle` owns one HDF5 identifier (file, group, dataset, dataspace, datatype,
//   attribute or property list) and closes it in its destructor. Move-only.
// * Every entry point silences HDF5's automatic error-stack printing (per thread:
//   the Debian library is built thread-safe, where the stack is per thread) and
//   turns failures into lsekit errors: IoError (exit 3) when a file cannot be
//   opened, read or written, InputError (exit 2) when its content is not what
//   the caller asked for (missing dataset, wrong rank, wrong dtype, wrong type of
//   attribute, absurd size). Messages have the form
//     "<file>: <object>: <problem> (<what>)"
//   e.g. "input.h5: /train/X: expected a float64 dataset, found float32 (DRO regression
//   dataset)", built by `Where`.
// * Reads name the dtypes they accept: `require_float64` only 8-byte IEEE floats,
//   `require_real` any float of at most 8 bytes (float16/32/64) or any integer type (what
//   numpy, pandas and h5py write; converted to double by HDF5), `require_integer` any
//   integer type (converted to int64 by HDF5); `read_integral` also takes floats holding
//   integers. `conversion_note` says what was converted, for the caller's provenance.
//   Declared sizes are checked for overflow and against `kMaxElements` before anything
//   is allocated.
// * Writers store float64 as IEEE little-endian, int64 as signed little-endian,
//   strings as variable-length UTF-8 scalars (h5py reads them as str); a shape {}
//   gives a scalar dataspace. Arrays are stored contiguous and uncompressed (deflate
//   costs ~10x the write time for ~40% on float64 image data).
// Not thread-safe beyond what the HDF5 library itself guarantees (it serializes calls).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/h5doc.hpp"

namespace lsekit::h5 {

/// Largest number of elements a reader will allocate for one dataset (2^31: 16 GiB
/// of float64). Larger declared sizes are rejected as invalid input.
inline constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 31;

/// Silences HDF5's automatic error printing for the calling thread. Called by every
/// function below; call it yourself before using the C API directly.
void silence_errors();

/// The innermost message on the calling thread's HDF5 error stack ("" if empty),
/// then clears the stack. Used to make IoError messages more specific.
std::string last_error();

/// Context for error messages: the file as the user named it and, optionally, what
/// the file is supposed to be ("DRO regression dataset").
struct Where {
  std::string file;
  std::string what;
  /// "<file>: <object>: <problem> (<what>)"; the parenthesis is left out if `what` is empty.
  std::string msg(const std::string& object, const std::string& problem) const;
};

/// Owns one HDF5 identifier and closes it with the matching H5?close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);

  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;

  static Handle file(hid_t id) { return {id, &H5Fclose}; }
  static Handle group(hid_t id) { return {id, &H5Gclose}; }
  static Handle dataset(hid_t id) { return {id, &H5Dclose}; }
  static Handle object(hid_t id) { return {id, &H5Oclose}; }  // group, dataset or type
  static Handle space(hid_t id) { return {id, &H5Sclose}; }
  static Handle type(hid_t id) { return {id, &H5Tclose}; }
  static Handle attr(hid_t id) { return {id, &H5Aclose}; }
  static Handle plist(hid_t id) { return {id, &H5Pclose}; }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }
  /// Closes now and reports whether closing succeeded (a file close flushes).
  bool close();
  /// Closes now, ignoring failure.
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// ---- files ---------------------------------------------------------------------------

/// Opens an existing HDF5 file read-only. IoError if it does not exist, is not a
/// regular HDF5 file or cannot be opened.
Handle open_file(const std::string& path);

/// Creates (truncates) a file for writing. IoError on failure; `w.file` names it.
Handle create_file(const std::string& path, const Where& w);

/// Closes a file opened for writing, flushing it; IoError if that fails.
void close_file(Handle& file, const Where& w);

/// Writes `path` atomically: `fill(file)` writes into a new file `path.tmp-<pid>`,
/// which is then closed, fsync'ed and renamed to `path`, so a crash never leaves a
/// complete-looking file. With `overwrite` false an existing `path` is an IoError (checked
/// before writing, and again, race-free where hard links work, when publishing). On any
/// failure (including an exception from `fill`, which is rethrown) the temporary is
/// removed and `path` is untouched.
void write_file_atomically(const std::string& path, bool overwrite,
                           const std::function<void(hid_t file)>& fill);

// ---- types and shapes ----------------------------------------------------------------

enum class Kind { Float, Integer, String, Other };

struct TypeInfo {
  Kind kind = Kind::Other;
  std::size_t size = 0;    // bytes per element (strings: fixed length, or 0 if variable)
  bool is_signed = false;  // integers
  bool variable = false;   // variable-length strings
  std::string name;        // "float64", "int32", "uint8", "string", "compound", ...
};

/// Describes an HDF5 datatype.
TypeInfo type_info(hid_t type);

/// Shape of a dataspace: {} for scalar. InputError for a null dataspace.
std::vector<std::uint64_t> space_shape(hid_t space, const Where& w, const std::string& object);

/// Product of `shape` (1 for {}), InputError if it overflows or exceeds kMaxElements.
std::uint64_t checked_numel(const std::vector<std::uint64_t>& shape, const Where& w,
                            const std::string& object);

/// "(3, 4)", "(3)" or "()".
std::string shape_string(const std::vector<std::uint64_t>& shape);

// ---- groups and links ----------------------------------------------------------------

/// True if every component of `path` (absolute or relative to `loc`) exists.
bool exists(hid_t loc, const std::string& path);

/// Opens the group at `path`, creating it and any missing parents. IoError on failure.
Handle require_group(hid_t file, const std::string& path, const Where& w);

// ---- reading datasets ----------------------------------------------------------------

/// An opened dataset with its type and shape; numel already checked.
struct DatasetHeader {
  std::string path;
  Handle dset;
  TypeInfo type;
  std::vector<std::uint64_t> shape;
  std::uint64_t numel = 0;
};

/// Opens the dataset at `path`. InputError if it is missing, not a dataset, too big, or (numeric
/// datasets, the only ones ever read) holds no data or only part of it (never completely
/// written); IoError if it declares more data than the file holds (truncated or corrupt).
/// So a reader never allocates more than the file can back (plus what compression expands).
DatasetHeader open_dataset(hid_t loc, const std::string& path, const Where& w);

/// InputError unless the dataset has rank `rank`.
void require_rank(const DatasetHeader& h, int rank, const Where& w);
/// InputError unless the dataset is 8-byte floating point.
void require_float64(const DatasetHeader& h, const Where& w);
/// InputError unless the dataset is of an integer type.
void require_integer(const DatasetHeader& h, const Where& w);
/// InputError unless the dataset holds real numbers that convert to float64: an IEEE float
/// of at most 8 bytes (float16, float32, float64) or any integer type (int64 beyond 2^53
/// rounds). Booleans (HDF5 enums), strings, compounds and long double are refused.
void require_real(const DatasetHeader& h, const Where& w);

/// "" if the dataset is stored as `target` ("float64" or "int64"), else a provenance note
/// "<path>: <stored dtype> converted to <target>", e.g. "/train/X: float32 converted to
/// float64" (the values are converted by HDF5 on reading).
std::string conversion_note(const DatasetHeader& h, const std::string& target);

/// Reads a dataset of integers (class labels, group ids) as int64: any integer type, or a
/// float dataset every value of which is an integer of magnitude <= 2^53 (InputError naming
/// the first row that is not: "<what> at row i is 2.5, not an integer"). `*note` (if given)
/// receives conversion_note(h, "int64"). IoError if the read fails.
void read_integral(const DatasetHeader& h, std::int64_t* out, const Where& w,
                   const std::string& what, std::string* note = nullptr);

/// Reads all elements (h.numel of them, row-major), converted by HDF5 to double /
/// int64. Doubles can be read from float or integer datasets, int64 only from integer
/// ones (InputError otherwise; use require_* first to be strict). IoError if the read
/// fails.
void read_values(const DatasetHeader& h, double* out, const Where& w);
void read_values(const DatasetHeader& h, std::int64_t* out, const Where& w);

/// Convenience: open, require rank and dtype (strict float64 / any integer), read.
std::vector<double> read_f64(hid_t loc, const std::string& path, int rank, const Where& w,
                             std::vector<std::uint64_t>* shape = nullptr);
std::vector<std::int64_t> read_i64(hid_t loc, const std::string& path, int rank, const Where& w,
                                   std::vector<std::uint64_t>* shape = nullptr);

// ---- writing datasets ----------------------------------------------------------------

/// Writes a new dataset at `path` (parent groups created as needed), float64 or int64,
/// with the given row-major shape ({} = scalar). IoError on failure.
void write_array(hid_t file, const std::string& path, const std::vector<std::uint64_t>& shape,
                 const double* data, const Where& w);
void write_array(hid_t file, const std::string& path, const std::vector<std::uint64_t>& shape,
                 const std::int64_t* data, const Where& w);

/// Writes a rank-1 dataset of variable-length UTF-8 strings (h5py reads it as bytes, or as
/// str with `.asstr()[()]`). IoError on failure.
void write_strings(hid_t file, const std::string& path, const std::vector<std::string>& values,
                   const Where& w);

/// Reads a rank-1 dataset of strings (variable- or fixed-length, ASCII or UTF-8). InputError
/// if it is not one; IoError if the read fails.
std::vector<std::string> read_strings(hid_t loc, const std::string& path, const Where& w);

// ---- attributes ----------------------------------------------------------------------

bool has_attr(hid_t obj, const std::string& name);

/// Reads a scalar (or one-element) attribute of float, integer or string type into
/// `out`. Returns false, with a description in `*why`, if the attribute has another
/// type or more than one element. IoError if the read fails.
bool read_attr_value(hid_t obj, const std::string& name, AttrValue& out, std::string* why,
                     const Where& w, const std::string& object);

/// Typed attribute readers; InputError if the attribute is missing or of the wrong type.
/// read_attr_int64 also accepts a float holding an integral value; read_attr_double
/// accepts integers.
std::string read_attr_string(hid_t obj, const std::string& name, const Where& w,
                             const std::string& object);
std::int64_t read_attr_int64(hid_t obj, const std::string& name, const Where& w,
                             const std::string& object);
double read_attr_double(hid_t obj, const std::string& name, const Where& w,
                        const std::string& object);

/// Writes (replaces) a scalar attribute. IoError on failure.
void write_attr(hid_t obj, const std::string& name, const AttrValue& v, const Where& w,
                const std::string& object);

// ---- provenance ----------------------------------------------------------------------

/// How a dataset or OT instance was made, as root attributes readable by h5py with no
/// custom code: `generator` (lsekit gen) or `importer` (lsekit import), `source` (input
/// file or directory), `seed`, and one `param_<option>` per option (number or string).
using Provenance = std::map<std::string, AttrValue>;

/// True for the attribute names above.
bool is_provenance_key(const std::string& name);
/// InputError (naming "/") for a key that is not a provenance attribute.
void check_provenance(const Provenance& p, const Where& w);
/// The provenance attributes of `root` (others are ignored; unreadable ones skipped).
Provenance read_provenance(hid_t root, const Where& w);
/// Writes every entry of `p` as a root attribute. IoError on failure.
void write_provenance(hid_t root, const Provenance& p, const Where& w);

}  // namespace lsekit::h5
