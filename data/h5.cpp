// RAII layer over the HDF5 C API: see h5.hpp.
#include "data/h5.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>
#include <thread>

#include "core/errors.hpp"

namespace lsekit::h5 {
namespace {

std::string with_reason(std::string text) {
  const std::string reason = last_error();
  if (!reason.empty()) text += " (" + reason + ")";
  return text;
}

[[noreturn]] void io_fail(const Where& w, const std::string& object, const std::string& what) {
  throw IoError(w.msg(object, with_reason(what)));
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string describe(const AttrValue& v) {
  if (std::holds_alternative<double>(v)) return "a float64";
  if (std::holds_alternative<std::int64_t>(v)) return "an int64";
  return "a string";
}

herr_t collect_error(unsigned, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (err && err->desc && *err->desc) out->emplace_back(err->desc);
  return 0;
}

template <class T>
void write_array_impl(hid_t file, const std::string& path, const std::vector<std::uint64_t>& shape,
                      const T* data, hid_t file_type, hid_t mem_type, const Where& w) {
  silence_errors();
  std::uint64_t numel = 1;
  for (auto d : shape) {
    if (d != 0 && numel > std::numeric_limits<std::uint64_t>::max() / d) {
      throw InputError(w.msg(path, "array size overflows"));
    }
    numel *= d;
  }
  Handle space;
  if (shape.empty()) {
    space = Handle::space(H5Screate(H5S_SCALAR));
  } else {
    const std::vector<hsize_t> dims(shape.begin(), shape.end());
    space = Handle::space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  }
  if (!space) io_fail(w, path, "cannot create dataspace");

  Handle lcpl = Handle::plist(H5Pcreate(H5P_LINK_CREATE));
  if (!lcpl || H5Pset_create_intermediate_group(lcpl.get(), 1) < 0) {
    io_fail(w, path, "cannot create property list");
  }
  Handle dset = Handle::dataset(
      H5Dcreate2(file, path.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!dset) io_fail(w, path, "cannot create dataset");
  if (numel > 0 && H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    io_fail(w, path, "cannot write dataset");
  }
  if (!dset.close()) io_fail(w, path, "cannot close dataset");
}

}  // namespace

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string last_error() {
  std::vector<std::string> descs;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, &collect_error, &descs);
  H5Eclear2(H5E_DEFAULT);
  if (descs.empty()) return "";
  if (descs.size() == 1 || descs.front() == descs.back()) return descs.front();
  return descs.front() + ": " + descs.back();
}

std::string Where::msg(const std::string& object, const std::string& problem) const {
  std::string s = file + ": " + object + ": " + problem;
  if (!what.empty()) s += " (" + what + ")";
  return s;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

bool Handle::close() {
  if (id_ < 0) return true;
  const herr_t r = closer_ ? closer_(id_) : 0;
  id_ = H5I_INVALID_HID;
  return r >= 0;
}

void Handle::reset() noexcept {
  if (id_ >= 0 && closer_) closer_(id_);
  id_ = H5I_INVALID_HID;
}

// ---- files ---------------------------------------------------------------------------

namespace {
void probe_structure(const std::string& path);  // defined at the end of this file
}  // namespace

Handle open_file(const std::string& path) {
  silence_errors();
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) throw IoError(path + ": no such file");
  if (std::filesystem::is_directory(st)) throw IoError(path + ": is a directory, not a file");
  // HDF5 needs a seekable file; opening a FIFO would block forever.
  if (!std::filesystem::is_regular_file(st)) {
    throw IoError(path + ": not a regular file (a FIFO, socket or device); give an HDF5 file");
  }
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 == 0) throw IoError(path + ": not an HDF5 file");
  if (is_h5 < 0) throw IoError(with_reason(path + ": cannot be read as HDF5"));
  probe_structure(path);
  Handle f = Handle::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw IoError(with_reason(path + ": cannot open HDF5 file"));
  return f;
}

Handle create_file(const std::string& path, const Where& w) {
  silence_errors();
  // The HDF5 1.8 file format (readable by every HDF5 since 2008, h5py included) stores many
  // attributes in an indexed heap; the default 1.0 format scans all attributes on each write,
  // which is quadratic (a result with 30000 per-class metrics took 36 s to write).
  Handle fapl = Handle::plist(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl || H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
    throw IoError(with_reason(w.file + ": cannot set up file access properties"));
  }
  Handle f = Handle::file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  if (!f) throw IoError(with_reason(w.file + ": cannot create file " + path));
  return f;
}

void close_file(Handle& file, const Where& w) {
  silence_errors();
  if (!file.close()) throw IoError(with_reason(w.file + ": cannot close (flush) file"));
}

namespace {

void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;  // best effort: the data is already flushed by H5Fclose
  (void)::fsync(fd);
  ::close(fd);
}

void publish(const std::string& tmp, const std::string& path, bool overwrite) {
  if (!overwrite) {
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      return;
    }
    if (errno == EEXIST) throw IoError(path + ": already exists (not overwriting)");
    // No hard links on this file system: check, then rename.
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      throw IoError(path + ": already exists (not overwriting)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw IoError(path + ": cannot rename temporary file " + tmp + ": " + std::strerror(errno));
  }
}

}  // namespace

void write_file_atomically(const std::string& path, bool overwrite,
                           const std::function<void(hid_t file)>& fill) {
  silence_errors();
  const Where w{path, ""};
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec)) {
    throw IoError(path + ": already exists (not overwriting)");
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    {
      Handle f = create_file(tmp, w);
      fill(f.get());
      close_file(f, w);
    }
    sync_file(tmp);
    publish(tmp, path, overwrite);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

// ---- types and shapes ----------------------------------------------------------------

TypeInfo type_info(hid_t type) {
  TypeInfo t;
  const H5T_class_t cls = H5Tget_class(type);
  t.size = H5Tget_size(type);
  const std::string bits = std::to_string(8 * t.size);
  switch (cls) {
    case H5T_FLOAT:
      t.kind = Kind::Float;
      t.name = "float" + bits;
      break;
    case H5T_INTEGER:
      t.kind = Kind::Integer;
      t.is_signed = H5Tget_sign(type) == H5T_SGN_2;
      t.name = (t.is_signed ? "int" : "uint") + bits;
      break;
    case H5T_STRING:
      t.kind = Kind::String;
      t.variable = H5Tis_variable_str(type) > 0;
      if (t.variable) t.size = 0;
      t.name = "string";
      break;
    case H5T_ENUM:
      t.name = "enum (e.g. bool)";
      break;
    case H5T_COMPOUND:
      t.name = "compound";
      break;
    case H5T_ARRAY:
      t.name = "array";
      break;
    case H5T_VLEN:
      t.name = "variable-length sequence";
      break;
    case H5T_OPAQUE:
      t.name = "opaque";
      break;
    case H5T_REFERENCE:
      t.name = "reference";
      break;
    case H5T_BITFIELD:
      t.name = "bitfield";
      break;
    case H5T_TIME:
      t.name = "time";
      break;
    default:
      t.name = "unknown type";
      break;
  }
  return t;
}

std::vector<std::uint64_t> space_shape(hid_t space, const Where& w, const std::string& object) {
  const H5S_class_t cls = H5Sget_simple_extent_type(space);
  if (cls == H5S_SCALAR) return {};
  if (cls == H5S_NULL) throw InputError(w.msg(object, "has an empty (null) dataspace"));
  if (cls != H5S_SIMPLE) io_fail(w, object, "cannot read dataspace");
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) io_fail(w, object, "cannot read dataspace");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) {
    io_fail(w, object, "cannot read dataspace");
  }
  return {dims.begin(), dims.end()};
}

std::uint64_t checked_numel(const std::vector<std::uint64_t>& shape, const Where& w,
                            const std::string& object) {
  std::uint64_t n = 1;
  for (auto d : shape) {
    if (d > kMaxElements || (d != 0 && n > kMaxElements / d)) {
      throw InputError(w.msg(object, "declared shape " + shape_string(shape) +
                                         " is too large (limit " + std::to_string(kMaxElements) +
                                         " elements)"));
    }
    n *= d;
  }
  return n;
}

std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + ")";
}

// ---- groups and links ----------------------------------------------------------------

bool exists(hid_t loc, const std::string& path) {
  silence_errors();
  if (path.empty() || path == "/") return true;
  std::string prefix;
  std::size_t pos = 0;
  if (path[0] == '/') {
    prefix = "/";
    pos = 1;
  }
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (next > pos) {
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      prefix += path.substr(pos, next - pos);
      if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
    }
    pos = next + 1;
  }
  // The link may dangle (soft link to nothing).
  const htri_t ok = H5Oexists_by_name(loc, path.c_str(), H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return ok > 0;
}

Handle require_group(hid_t file, const std::string& path, const Where& w) {
  silence_errors();
  if (path.empty() || path == "/") {
    Handle g = Handle::group(H5Gopen2(file, "/", H5P_DEFAULT));
    if (!g) io_fail(w, "/", "cannot open root group");
    return g;
  }
  if (exists(file, path)) {
    Handle g = Handle::group(H5Gopen2(file, path.c_str(), H5P_DEFAULT));
    if (!g) io_fail(w, path, "exists but is not a group");
    return g;
  }
  Handle lcpl = Handle::plist(H5Pcreate(H5P_LINK_CREATE));
  if (!lcpl || H5Pset_create_intermediate_group(lcpl.get(), 1) < 0) {
    io_fail(w, path, "cannot create property list");
  }
  Handle g = Handle::group(H5Gcreate2(file, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!g) io_fail(w, path, "cannot create group");
  return g;
}

// ---- reading datasets ----------------------------------------------------------------

namespace {

// The data of a dataset must be in the file before a reader allocates memory for it: a
// dataset created but never (completely) written reads as fill values, and a corrupt or
// hostile header can declare far more data than the file holds (16 GiB from a 2 kB file).
// Datasets whose data lives in other files (external storage, virtual) are left to H5Dread.
void check_storage(const DatasetHeader& h, const Where& w) {
  const hid_t dset = h.dset.get();
  Handle dcpl = Handle::plist(H5Dget_create_plist(dset));
  if (!dcpl) io_fail(w, h.path, "cannot read the dataset creation properties");
  if (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL || H5Pget_external_count(dcpl.get()) != 0) return;
  H5D_space_status_t status = H5D_SPACE_STATUS_ERROR;
  if (H5Dget_space_status(dset, &status) < 0) io_fail(w, h.path, "cannot read the storage status");
  if (status != H5D_SPACE_STATUS_ALLOCATED) {
    throw InputError(w.msg(h.path, "declares shape " + shape_string(h.shape) + " but " +
                                       (status == H5D_SPACE_STATUS_NOT_ALLOCATED
                                            ? "holds no data (created, never written)"
                                            : "only part of its data was written")));
  }
  const hsize_t stored = H5Dget_storage_size(dset);
  Handle file = Handle::file(H5Iget_file_id(dset));
  hsize_t file_size = 0;
  if (!file || H5Fget_filesize(file.get(), &file_size) < 0) {
    io_fail(w, h.path, "cannot determine the file size");
  }
  const std::string bytes = " bytes of data";
  if (stored > file_size) {
    throw IoError(w.msg(h.path, "declares " + std::to_string(stored) + bytes +
                                    ", but the file has only " + std::to_string(file_size) +
                                    " bytes (truncated or corrupt)"));
  }
  const int nfilters = H5Pget_nfilters(dcpl.get());
  if (nfilters == 0 && h.type.size > 0 && stored / h.type.size < h.numel) {
    throw IoError(w.msg(h.path, "holds " + std::to_string(stored) + bytes + ", too few for shape " +
                                    shape_string(h.shape) + " of " + h.type.name +
                                    " (corrupt file)"));
  }
  H5Eclear2(H5E_DEFAULT);
}

}  // namespace

DatasetHeader open_dataset(hid_t loc, const std::string& path, const Where& w) {
  silence_errors();
  if (!exists(loc, path)) throw InputError(w.msg(path, "missing dataset"));
  DatasetHeader h;
  h.path = path;
  h.dset = Handle::object(H5Oopen(loc, path.c_str(), H5P_DEFAULT));
  if (!h.dset) io_fail(w, path, "cannot open object");
  if (H5Iget_type(h.dset.get()) != H5I_DATASET) {
    throw InputError(w.msg(path, "is a group (or named type), not a dataset"));
  }
  Handle type = Handle::type(H5Dget_type(h.dset.get()));
  if (!type) io_fail(w, path, "cannot read datatype");
  h.type = type_info(type.get());
  Handle space = Handle::space(H5Dget_space(h.dset.get()));
  if (!space) io_fail(w, path, "cannot read dataspace");
  h.shape = space_shape(space.get(), w, path);
  h.numel = checked_numel(h.shape, w, path);
  if (h.numel > 0 && (h.type.kind == Kind::Float || h.type.kind == Kind::Integer)) {
    check_storage(h, w);  // only numeric datasets are ever read
  }
  return h;
}

void require_rank(const DatasetHeader& h, int rank, const Where& w) {
  if (static_cast<int>(h.shape.size()) != rank) {
    const std::string expected = rank == 0 ? "a scalar" : "rank " + std::to_string(rank);
    throw InputError(w.msg(h.path, "expected " + expected + ", found rank " +
                                       std::to_string(h.shape.size()) + " with shape " +
                                       shape_string(h.shape)));
  }
}

void require_float64(const DatasetHeader& h, const Where& w) {
  if (h.type.kind != Kind::Float || h.type.size != 8) {
    throw InputError(w.msg(h.path, "expected a float64 dataset, found " + h.type.name));
  }
}

void require_integer(const DatasetHeader& h, const Where& w) {
  if (h.type.kind != Kind::Integer) {
    throw InputError(w.msg(h.path, "expected an integer (int64) dataset, found " + h.type.name));
  }
}

void require_real(const DatasetHeader& h, const Where& w) {
  const bool ok = h.type.kind == Kind::Integer || (h.type.kind == Kind::Float && h.type.size <= 8);
  if (!ok) {
    throw InputError(w.msg(h.path,
                           "expected a float64 dataset (float32 and integer ones are "
                           "converted), found " +
                               h.type.name));
  }
}

std::string conversion_note(const DatasetHeader& h, const std::string& target) {
  const bool same = target == "float64"
                        ? h.type.kind == Kind::Float && h.type.size == 8
                        : h.type.kind == Kind::Integer && h.type.size == 8 && h.type.is_signed;
  if (same) return "";
  return h.path + ": " + h.type.name + " converted to " + target;
}

void read_integral(const DatasetHeader& h, std::int64_t* out, const Where& w,
                   const std::string& what, std::string* note) {
  if (h.type.kind == Kind::Integer) {
    read_values(h, out, w);
  } else if (h.type.kind == Kind::Float && h.type.size <= 8) {
    std::vector<double> v(h.numel);
    read_values(h, v.data(), w);
    for (std::uint64_t i = 0; i < h.numel; ++i) {
      const double x = v[i];
      if (!std::isfinite(x) || std::floor(x) != x || std::fabs(x) > 0x1p53) {
        throw InputError(w.msg(h.path, what + " at row " + std::to_string(i) + " is " +
                                           format_double(x) + ", not an integer (a " + h.type.name +
                                           " dataset is read as integers only "
                                           "if every value is one)"));
      }
      out[i] = static_cast<std::int64_t>(x);
    }
  } else {
    throw InputError(w.msg(h.path, "expected an integer (int64) dataset, found " + h.type.name));
  }
  if (note) *note = conversion_note(h, "int64");
}

void read_values(const DatasetHeader& h, double* out, const Where& w) {
  silence_errors();
  if (h.type.kind != Kind::Float && h.type.kind != Kind::Integer) {
    throw InputError(w.msg(h.path, "expected a numeric dataset, found " + h.type.name));
  }
  if (h.numel == 0) return;
  if (H5Dread(h.dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
    io_fail(w, h.path, "cannot read dataset");
  }
}

void read_values(const DatasetHeader& h, std::int64_t* out, const Where& w) {
  silence_errors();
  require_integer(h, w);
  if (h.numel == 0) return;
  if (H5Dread(h.dset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
    io_fail(w, h.path, "cannot read dataset");
  }
}

std::vector<double> read_f64(hid_t loc, const std::string& path, int rank, const Where& w,
                             std::vector<std::uint64_t>* shape) {
  const DatasetHeader h = open_dataset(loc, path, w);
  require_rank(h, rank, w);
  require_float64(h, w);
  std::vector<double> v(h.numel);
  read_values(h, v.data(), w);
  if (shape) *shape = h.shape;
  return v;
}

std::vector<std::int64_t> read_i64(hid_t loc, const std::string& path, int rank, const Where& w,
                                   std::vector<std::uint64_t>* shape) {
  const DatasetHeader h = open_dataset(loc, path, w);
  require_rank(h, rank, w);
  require_integer(h, w);
  std::vector<std::int64_t> v(h.numel);
  read_values(h, v.data(), w);
  if (shape) *shape = h.shape;
  return v;
}

// ---- writing datasets ----------------------------------------------------------------

void write_array(hid_t file, const std::string& path, const std::vector<std::uint64_t>& shape,
                 const double* data, const Where& w) {
  write_array_impl(file, path, shape, data, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, w);
}

void write_array(hid_t file, const std::string& path, const std::vector<std::uint64_t>& shape,
                 const std::int64_t* data, const Where& w) {
  write_array_impl(file, path, shape, data, H5T_STD_I64LE, H5T_NATIVE_INT64, w);
}

void write_strings(hid_t file, const std::string& path, const std::vector<std::string>& values,
                   const Where& w) {
  silence_errors();
  Handle type = Handle::type(H5Tcopy(H5T_C_S1));
  if (!type || H5Tset_size(type.get(), H5T_VARIABLE) < 0 ||
      H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0 ||
      H5Tset_strpad(type.get(), H5T_STR_NULLTERM) < 0) {
    io_fail(w, path, "cannot set up string type");
  }
  const hsize_t n = values.size();
  Handle space = Handle::space(H5Screate_simple(1, &n, nullptr));
  if (!space) io_fail(w, path, "cannot create dataspace");
  Handle lcpl = Handle::plist(H5Pcreate(H5P_LINK_CREATE));
  if (!lcpl || H5Pset_create_intermediate_group(lcpl.get(), 1) < 0) {
    io_fail(w, path, "cannot create property list");
  }
  Handle dset = Handle::dataset(H5Dcreate2(file, path.c_str(), type.get(), space.get(), lcpl.get(),
                                           H5P_DEFAULT, H5P_DEFAULT));
  if (!dset) io_fail(w, path, "cannot create dataset");
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0 && H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
    io_fail(w, path, "cannot write dataset");
  }
  if (!dset.close()) io_fail(w, path, "cannot close dataset");
}

std::vector<std::string> read_strings(hid_t loc, const std::string& path, const Where& w) {
  silence_errors();
  if (!exists(loc, path)) throw InputError(w.msg(path, "missing dataset"));
  Handle dset = Handle::object(H5Oopen(loc, path.c_str(), H5P_DEFAULT));
  if (!dset) io_fail(w, path, "cannot open object");
  if (H5Iget_type(dset.get()) != H5I_DATASET) {
    throw InputError(w.msg(path, "is a group (or named type), not a dataset"));
  }
  Handle ftype = Handle::type(H5Dget_type(dset.get()));
  Handle space = Handle::space(H5Dget_space(dset.get()));
  if (!ftype || !space) io_fail(w, path, "cannot read datatype or dataspace");
  const TypeInfo t = type_info(ftype.get());
  const std::vector<std::uint64_t> shape = space_shape(space.get(), w, path);
  if (t.kind != Kind::String) {
    throw InputError(w.msg(path, "expected a dataset of strings, found " + t.name));
  }
  if (shape.size() != 1) {
    throw InputError(w.msg(path, "expected rank 1, found shape " + shape_string(shape)));
  }
  const std::uint64_t n = checked_numel(shape, w, path);
  std::vector<std::string> out;
  if (n == 0) return out;
  out.reserve(n);
  Handle mtype = Handle::type(H5Tcopy(H5T_C_S1));
  if (!mtype || H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get())) < 0) {
    io_fail(w, path, "cannot set up string type");
  }
  if (t.variable) {
    if (H5Tset_size(mtype.get(), H5T_VARIABLE) < 0) io_fail(w, path, "cannot set up string type");
    std::vector<char*> ptrs(n, nullptr);
    if (H5Dread(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
      io_fail(w, path, "cannot read dataset");
    }
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    (void)H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  const std::size_t size = t.size;
  if (size == 0 || size > (std::uint64_t{1} << 20) || n > kMaxElements / size) {
    throw InputError(w.msg(
        path, "fixed-length strings of " + std::to_string(size) + " bytes: unsupported size"));
  }
  if (H5Tset_size(mtype.get(), size) < 0 || H5Tset_strpad(mtype.get(), H5T_STR_NULLPAD) < 0) {
    io_fail(w, path, "cannot set up string type");
  }
  std::string buf(size * n, '\0');
  if (H5Dread(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
    io_fail(w, path, "cannot read dataset");
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string s = buf.substr(i * size, size);
    const auto nul = s.find('\0');
    if (nul != std::string::npos) s.resize(nul);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out.push_back(std::move(s));
  }
  return out;
}

// ---- attributes ----------------------------------------------------------------------

bool has_attr(hid_t obj, const std::string& name) {
  silence_errors();
  const htri_t r = H5Aexists(obj, name.c_str());
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

bool read_attr_value(hid_t obj, const std::string& name, AttrValue& out, std::string* why,
                     const Where& w, const std::string& object) {
  silence_errors();
  const std::string where = object + ": attribute '" + name + "'";
  Handle attr = Handle::attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr) io_fail(w, object, "cannot open attribute '" + name + "'");
  Handle space = Handle::space(H5Aget_space(attr.get()));
  Handle ftype = Handle::type(H5Aget_type(attr.get()));
  if (!space || !ftype) io_fail(w, object, "cannot read attribute '" + name + "'");
  const TypeInfo t = type_info(ftype.get());
  const H5S_class_t cls = H5Sget_simple_extent_type(space.get());
  const hssize_t npoints = H5Sget_simple_extent_npoints(space.get());
  if (cls == H5S_NULL || npoints != 1) {
    if (why) {
      *why = cls == H5S_NULL
                 ? "empty " + t.name + " attribute"
                 : t.name + " array of shape " + shape_string(space_shape(space.get(), w, where));
    }
    return false;
  }
  switch (t.kind) {
    case Kind::Float: {
      double v = 0;
      if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v) < 0) io_fail(w, where, "cannot read");
      out = v;
      return true;
    }
    case Kind::Integer: {
      std::int64_t v = 0;
      if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0) io_fail(w, where, "cannot read");
      out = v;
      return true;
    }
    case Kind::String: {
      if (t.variable) {
        Handle mtype = Handle::type(H5Tcopy(H5T_C_S1));
        if (!mtype || H5Tset_size(mtype.get(), H5T_VARIABLE) < 0 ||
            H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get())) < 0) {
          io_fail(w, where, "cannot set up string type");
        }
        char* p = nullptr;
        if (H5Aread(attr.get(), mtype.get(), &p) < 0) io_fail(w, where, "cannot read");
        out = std::string(p ? p : "");
        if (p) H5free_memory(p);
        return true;
      }
      std::string buf(t.size, '\0');
      if (t.size > 0 && H5Aread(attr.get(), ftype.get(), buf.data()) < 0) {
        io_fail(w, where, "cannot read");
      }
      const auto nul = buf.find('\0');
      if (nul != std::string::npos) buf.resize(nul);
      if (H5Tget_strpad(ftype.get()) == H5T_STR_SPACEPAD) {
        while (!buf.empty() && buf.back() == ' ') buf.pop_back();
      }
      out = std::move(buf);
      return true;
    }
    case Kind::Other:
      break;
  }
  if (why) *why = t.name + " attribute";
  return false;
}

namespace {

AttrValue read_attr_checked(hid_t obj, const std::string& name, const Where& w,
                            const std::string& object, const std::string& expected) {
  if (!has_attr(obj, name)) {
    throw InputError(w.msg(object, "missing attribute '" + name + "' (" + expected + ")"));
  }
  AttrValue v;
  std::string why;
  if (!read_attr_value(obj, name, v, &why, w, object)) {
    throw InputError(
        w.msg(object, "attribute '" + name + "' must be " + expected + ", found " + why));
  }
  return v;
}

}  // namespace

std::string read_attr_string(hid_t obj, const std::string& name, const Where& w,
                             const std::string& object) {
  const AttrValue v = read_attr_checked(obj, name, w, object, "a string");
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  throw InputError(
      w.msg(object, "attribute '" + name + "' must be a string, found " + describe(v)));
}

std::int64_t read_attr_int64(hid_t obj, const std::string& name, const Where& w,
                             const std::string& object) {
  const AttrValue v = read_attr_checked(obj, name, w, object, "an integer");
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) {
    // 2^63 is exactly representable; anything in [-2^63, 2^63) that is integral converts.
    if (std::isfinite(*d) && std::floor(*d) == *d && *d >= -0x1p63 && *d < 0x1p63) {
      return static_cast<std::int64_t>(*d);
    }
    throw InputError(
        w.msg(object, "attribute '" + name + "' must be an integer, found " + format_double(*d)));
  }
  throw InputError(
      w.msg(object, "attribute '" + name + "' must be an integer, found " + describe(v)));
}

double read_attr_double(hid_t obj, const std::string& name, const Where& w,
                        const std::string& object) {
  const AttrValue v = read_attr_checked(obj, name, w, object, "a number");
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  throw InputError(
      w.msg(object, "attribute '" + name + "' must be a number, found " + describe(v)));
}

void write_attr(hid_t obj, const std::string& name, const AttrValue& v, const Where& w,
                const std::string& object) {
  silence_errors();
  const std::string where = object + ": attribute '" + name + "'";
  if (has_attr(obj, name) && H5Adelete(obj, name.c_str()) < 0) {
    io_fail(w, where, "cannot replace");
  }
  Handle space = Handle::space(H5Screate(H5S_SCALAR));
  if (!space) io_fail(w, where, "cannot create dataspace");
  Handle owned_type;
  hid_t ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  const void* buf = nullptr;
  const char* cstr = nullptr;
  if (const auto* d = std::get_if<double>(&v)) {
    ftype = H5T_IEEE_F64LE;
    mtype = H5T_NATIVE_DOUBLE;
    buf = d;
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    ftype = H5T_STD_I64LE;
    mtype = H5T_NATIVE_INT64;
    buf = i;
  } else {
    owned_type = Handle::type(H5Tcopy(H5T_C_S1));
    if (!owned_type || H5Tset_size(owned_type.get(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(owned_type.get(), H5T_CSET_UTF8) < 0 ||
        H5Tset_strpad(owned_type.get(), H5T_STR_NULLTERM) < 0) {
      io_fail(w, where, "cannot set up string type");
    }
    ftype = mtype = owned_type.get();
    cstr = std::get<std::string>(v).c_str();
    buf = &cstr;
  }
  Handle attr =
      Handle::attr(H5Acreate2(obj, name.c_str(), ftype, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr) io_fail(w, where, "cannot create");
  if (H5Awrite(attr.get(), mtype, buf) < 0) io_fail(w, where, "cannot write");
  if (!attr.close()) io_fail(w, where, "cannot close");
}

// ---- structure probe ----------------------------------------------------------------

namespace {

// libhdf5 1.10.8 (Debian 12) itself crashes or hangs on some corrupt files while it reads
// their metadata. Fuzzing found an invalid free in H5G__dense_iterate (a group with indexed
// links whose link messages fail their checksum) and an endless loop in H5HG_read (a
// variable-length string attribute of the root group pointing into a corrupt global heap).
// To keep such a file from taking lsekit down, open_file first walks the whole structure
// in a forked child -- every object, every attribute (the root group's included), every
// dataset header, chunk index and link lookup, but no data -- and reports the file as
// corrupt (IoError) if that child dies, fails or does not finish in time. The
// walk reads metadata only (milliseconds for lsekit files); the child's stderr goes to
// /dev/null. The limit is 30 s; the environment variable LSEKIT_H5_PROBE_SECONDS (a positive
// integer) changes it (the hostile-input tests use 2 s so that their endless-loop files are
// rejected quickly).
bool g_in_probe = false;  // set in the child: open_file must not fork again

std::chrono::seconds probe_limit() {
  static const std::chrono::seconds limit = [] {
    const char* env = std::getenv("LSEKIT_H5_PROBE_SECONDS");
    char* end = nullptr;
    const long v = env ? std::strtol(env, &end, 10) : 0;
    return std::chrono::seconds(env && end != env && *end == '\0' && v > 0 && v <= 86400 ? v : 30);
  }();
  return limit;
}

void probe_object(hid_t root, const char* name, H5O_type_t type) {
  const Where w{"", ""};
  const bool is_root = std::strcmp(name, ".") == 0;
  const std::string path = is_root ? std::string("/") : std::string("/") + name;
  try {
    if (!is_root) (void)exists(root, path);
    Handle obj = Handle::object(H5Oopen(root, name, H5P_DEFAULT));
    if (!obj) return;
    std::vector<std::string> attrs;
    hsize_t idx = 0;
    (void)H5Aiterate2(
        obj.get(), H5_INDEX_NAME, H5_ITER_INC, &idx,
        [](hid_t, const char* attr, const H5A_info_t*, void* data) -> herr_t {
          static_cast<std::vector<std::string>*>(data)->emplace_back(attr);
          return 0;
        },
        &attrs);
    for (const auto& a : attrs) {
      AttrValue v;
      std::string why;
      try {
        (void)read_attr_value(obj.get(), a, v, &why, w, path);
      } catch (const std::exception&) {
      }
    }
    if (type == H5O_TYPE_DATASET) (void)open_dataset(root, path, w);  // includes the chunk index
  } catch (const std::exception&) {
  }
}

#if H5_VERSION_GE(1, 12, 0)
herr_t probe_cb(hid_t root, const char* name, const H5O_info2_t* info, void*) {
  if (std::strcmp(name, ".") != 0) probe_object(root, name, info->type);
  return 0;
}
void probe_walk(hid_t root) {
  (void)H5Ovisit3(root, H5_INDEX_NAME, H5_ITER_INC, &probe_cb, nullptr, H5O_INFO_BASIC);
}
#elif H5_VERSION_GE(1, 10, 3)
herr_t probe_cb(hid_t root, const char* name, const H5O_info_t* info, void*) {
  if (std::strcmp(name, ".") != 0) probe_object(root, name, info->type);
  return 0;
}
void probe_walk(hid_t root) {
  (void)H5Ovisit2(root, H5_INDEX_NAME, H5_ITER_INC, &probe_cb, nullptr, H5O_INFO_BASIC);
}
#else
herr_t probe_cb(hid_t root, const char* name, const H5O_info_t* info, void*) {
  if (std::strcmp(name, ".") != 0) probe_object(root, name, info->type);
  return 0;
}
void probe_walk(hid_t root) {
  (void)H5Ovisit(root, H5_INDEX_NAME, H5_ITER_INC, &probe_cb, nullptr);
}
#endif

void probe_structure(const std::string& path) {
  if (g_in_probe) return;
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return;  // cannot probe: read directly
  if (pid == 0) {
    g_in_probe = true;
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    silence_errors();
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file >= 0) {
      const hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
      if (root >= 0) {
        probe_object(root, ".", H5O_TYPE_GROUP);  // the root's own attributes (`format`, ...)
        probe_walk(root);
      }
    }
    ::_exit(0);  // no cleanup: the parent reads the file again
  }
  const auto limit = probe_limit();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto pause = std::chrono::microseconds(200);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return;  // lost the child (SIGCHLD ignored?): read directly
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      throw IoError(path +
                    ": corrupt HDF5 file (the HDF5 library did not finish reading its "
                    "structure in " +
                    std::to_string(limit.count()) + " s)");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
    throw IoError(path + ": corrupt HDF5 file (the HDF5 library " +
                  (WIFSIGNALED(status)
                       ? "crashed, signal " + std::to_string(WTERMSIG(status))
                       : "failed, exit code " + std::to_string(WEXITSTATUS(status))) +
                  ", while reading its structure)");
  }
}

}  // namespace

// ---- provenance ----------------------------------------------------------------------

bool is_provenance_key(const std::string& name) {
  return name == "generator" || name == "importer" || name == "source" || name == "seed" ||
         (name.size() > 6 && name.compare(0, 6, "param_") == 0);
}

void check_provenance(const Provenance& p, const Where& w) {
  for (const auto& [k, v] : p) {
    if (!is_provenance_key(k)) {
      throw InputError(w.msg("/", "'" + k +
                                      "' is not a provenance attribute (generator, "
                                      "importer, source, seed, param_<option>)"));
    }
  }
}

Provenance read_provenance(hid_t root, const Where& w) {
  silence_errors();
  std::vector<std::string> names;
  hsize_t idx = 0;
  (void)H5Aiterate2(
      root, H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* attr, const H5A_info_t*, void* data) -> herr_t {
        if (is_provenance_key(attr))
          static_cast<std::vector<std::string>*>(data)->emplace_back(attr);
        return 0;
      },
      &names);
  H5Eclear2(H5E_DEFAULT);
  Provenance p;
  for (const auto& name : names) {
    AttrValue v;
    if (read_attr_value(root, name, v, nullptr, w, "/")) p[name] = std::move(v);
  }
  return p;
}

void write_provenance(hid_t root, const Provenance& p, const Where& w) {
  check_provenance(p, w);
  for (const auto& [k, v] : p) write_attr(root, k, v, w, "/");
}

}  // namespace lsekit::h5
