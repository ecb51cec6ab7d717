// IDX reader (idx.hpp): zlib gzread, strict header and size validation.
#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/errors.hpp"

namespace lsekit {
namespace {

class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(st)) throw IoError(path + ": no such file");
    if (std::filesystem::is_directory(st)) throw IoError(path + ": is a directory, not a file");
    f_ = gzopen(path.c_str(), "rb");
    if (!f_) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  /// Reads up to n bytes; returns how many were read (fewer only at the end of the data).
  std::uint64_t read(void* dst, std::uint64_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    std::uint64_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(n - done, 1u << 30));
      const int got = gzread(f_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(f_, &code);
        throw InputError(path_ + ": corrupt or truncated gzip stream (" +
                         std::string(msg ? msg : "zlib error") + ")");
      }
      if (got == 0) {
        // gzread returns 0 at the end of the data, and also for a gzip stream that ends
        // before its trailer: gzerror tells the two apart.
        int code = 0;
        const char* msg = gzerror(f_, &code);
        if (code != Z_OK && code != Z_STREAM_END)
          throw InputError(path_ + ": corrupt or truncated gzip stream (" +
                           std::string(msg ? msg : "zlib error") + ")");
        break;
      }
      done += static_cast<std::uint64_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

std::uint32_t be32(const unsigned char* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

bool known_type(std::uint8_t t) {
  return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E;
}

std::string hex(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v);
  return buf;
}

}  // namespace

int idx_type_size(IdxType t) {
  switch (t) {
    case IdxType::UInt8:
    case IdxType::Int8:
      return 1;
    case IdxType::Int16:
      return 2;
    case IdxType::Int32:
    case IdxType::Float32:
      return 4;
    case IdxType::Float64:
      return 8;
  }
  return 0;
}

const char* idx_type_name(IdxType t) {
  switch (t) {
    case IdxType::UInt8:
      return "uint8";
    case IdxType::Int8:
      return "int8";
    case IdxType::Int16:
      return "int16";
    case IdxType::Int32:
      return "int32";
    case IdxType::Float32:
      return "float32";
    case IdxType::Float64:
      return "float64";
  }
  return "?";
}

std::uint64_t IdxArray::numel() const {
  std::uint64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

double IdxArray::value(std::uint64_t i) const {
  const unsigned char* b = raw.data() + i * static_cast<std::uint64_t>(idx_type_size(type));
  switch (type) {
    case IdxType::UInt8:
      return b[0];
    case IdxType::Int8:
      return static_cast<std::int8_t>(b[0]);
    case IdxType::Int16:
      return static_cast<std::int16_t>(static_cast<std::uint16_t>((b[0] << 8) | b[1]));
    case IdxType::Int32:
      return static_cast<std::int32_t>(be32(b));
    case IdxType::Float32: {
      const std::uint32_t u = be32(b);
      float f;
      std::memcpy(&f, &u, sizeof f);
      return f;
    }
    case IdxType::Float64: {
      const std::uint64_t u = (std::uint64_t{be32(b)} << 32) | be32(b + 4);
      double d;
      std::memcpy(&d, &u, sizeof d);
      return d;
    }
  }
  return 0.0;
}

IdxArray read_idx(const std::string& path) {
  GzFile f(path);
  unsigned char head[4];
  const std::uint64_t got = f.read(head, 4);
  if (got < 4)
    throw InputError(path + ": not an IDX file (only " + std::to_string(got) +
                     " bytes; the header needs at least 4)");
  if (head[0] != 0 || head[1] != 0 || !known_type(head[2]))
    throw InputError(path + ": not an IDX file (magic bytes " + hex(head[0]) + " " + hex(head[1]) +
                     " " + hex(head[2]) + " " + hex(head[3]) +
                     "; expected 0x00 0x00, then a type code 0x08/0x09/0x0B/0x0C/0x0D/0x0E)");
  const unsigned nd = head[3];
  if (nd < 1 || nd > 8)
    throw InputError(path + ": IDX header declares " + std::to_string(nd) +
                     " dimensions (expected 1..8)");
  IdxArray a;
  a.type = static_cast<IdxType>(head[2]);
  unsigned char dbytes[32];
  if (f.read(dbytes, 4u * nd) < 4u * nd)
    throw InputError(path + ": truncated IDX header (" + std::to_string(nd) +
                     " dimensions declared, the file ends before them)");
  std::uint64_t bytes = static_cast<std::uint64_t>(idx_type_size(a.type));
  std::string shape;
  for (unsigned d = 0; d < nd; ++d) {
    const std::uint32_t v = be32(dbytes + 4 * d);
    a.dims.push_back(v);
    shape += (d ? " x " : "") + std::to_string(v);
  }
  for (unsigned d = 0; d < nd; ++d) {
    if (a.dims[d] == 0)
      throw InputError(path + ": IDX dimension " + std::to_string(d) + " is 0 (shape " + shape +
                       ")");
    if (bytes > kIdxMaxBytes / a.dims[d])
      throw InputError(path + ": IDX shape " + shape + " is too large (more than " +
                       std::to_string(kIdxMaxBytes) + " bytes)");
    bytes *= a.dims[d];
  }
  a.raw.resize(bytes);
  const std::uint64_t n = f.read(a.raw.data(), bytes);
  if (n < bytes)
    throw InputError(path + ": truncated IDX file: shape " + shape + " of " +
                     idx_type_name(a.type) + " needs " + std::to_string(bytes) +
                     " data bytes, found " + std::to_string(n));
  unsigned char extra[64];
  const std::uint64_t more = f.read(extra, sizeof extra);
  if (more > 0)
    throw InputError(path + ": unexpected bytes after the IDX data (shape " + shape + " of " +
                     idx_type_name(a.type) + " ends at byte " + std::to_string(4 + 4 * nd + bytes) +
                     "); the header does not match the file");
  return a;
}

}  // namespace lsekit
