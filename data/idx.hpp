// IDX files (the MNIST / Fashion-MNIST array format), plain or gzip-compressed.
//
// Layout (all integers big-endian):
//   bytes 0-1   0x00 0x00 (magic)
//   byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
//               0x0E float64
//   byte  3     number of dimensions d (1..8)
//   d x uint32  the dimensions (each >= 1)
//   then prod(dims) elements, big-endian, row-major; nothing after them.
// Reading goes through zlib's gzread, which reads gzip files and plain files alike.
// Every violation (bad magic, unknown type, zero or absurd dimensions, a truncated payload,
// trailing bytes, a corrupt gzip stream) is an InputError naming the file; a file that
// cannot be opened is an IoError.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lsekit {

enum class IdxType : std::uint8_t {
  UInt8 = 0x08,
  Int8 = 0x09,
  Int16 = 0x0B,
  Int32 = 0x0C,
  Float32 = 0x0D,
  Float64 = 0x0E,
};

/// Bytes per element of `t`.
int idx_type_size(IdxType t);
/// "uint8", "float32", ...
const char* idx_type_name(IdxType t);

struct IdxArray {
  IdxType type = IdxType::UInt8;
  std::vector<std::uint64_t> dims;
  std::vector<std::uint8_t> raw;  // the payload exactly as stored (big-endian)

  std::uint64_t numel() const;
  /// Element i (row-major) decoded to double. Not bounds-checked.
  double value(std::uint64_t i) const;
};

/// Largest payload read_idx accepts (bytes); larger headers are reported as invalid.
inline constexpr std::uint64_t kIdxMaxBytes = std::uint64_t{1} << 34;

/// Reads and validates an IDX file (gzip-compressed or not).
IdxArray read_idx(const std::string& path);

}  // namespace lsekit
