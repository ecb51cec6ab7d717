// libFuzzer target over lsekit's validated HDF5 readers (issue 6): every input is written to a
// temporary .h5 file, which is then read by each reader a user can point at a file:
// file_format, read_dataset, read_ot_instance and read_h5doc (lsekit info / eval).
// A reader may reject the file only with InputError or IoError (exit 2 / 3 of the command
// line); anything else -- a crash, a sanitizer report, another exception, a huge allocation
// (-malloc_limit_mb), a hang (-timeout) -- is a finding. Built with -DLSEKIT_FUZZ=ON and clang;
// run by bench/fuzz.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/h5doc.hpp"
#include "data/ot_instance.hpp"

namespace {

// One file per fuzzing process, on tmpfs when available (the readers take a path).
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("LSEKIT_FUZZ_TMPDIR");
    if (!dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/lsekit-fuzz-" + std::to_string(getpid()) + ".h5";
  }();
  return path;
}

bool write_all(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

template <class F>
void expect_clean(F&& read) {
  try {
    read();
  } catch (const lsekit::InputError&) {
  } catch (const lsekit::IoError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_path();
  if (!write_all(path, data, size)) std::abort();  // the harness itself failed
  expect_clean([&] { (void)lsekit::file_format(path); });
  expect_clean([&] { (void)lsekit::read_dataset(path); });
  expect_clean([&] { (void)lsekit::read_ot_instance(path); });
  expect_clean([&] { (void)lsekit::read_h5doc(path); });
  return 0;
}
