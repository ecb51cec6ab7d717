// Bitwise equality of SolverState field values, for the checkpoint tests (test_solvers.cpp,
// test_vr_checkpoint.cpp): NaN equals NaN, trace rows compare every column including time.
#pragma once

#include <cstring>
#include <vector>

#include "core/rng.hpp"
#include "core/types.hpp"
#include "solvers/result.hpp"

namespace lsekit::test {

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
inline bool same_bits(long a, long b) { return a == b; }
// Empty arrays may have a null data(), which memcmp must not get even for 0 bytes.
inline bool same_bits(const Vec& a, const Vec& b) {
  return a.size() == b.size() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<size_t>(a.size())) == 0);
}
inline bool same_bits(const Mat& a, const Mat& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<size_t>(a.size())) == 0);
}
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) { return a == b; }
inline bool same_bits(const Rng& a, const Rng& b) {
  const Rng::State x = a.state(), y = b.state();
  return std::memcmp(x.s, y.s, sizeof x.s) == 0 && x.has_spare == y.has_spare && same_bits(x.spare, y.spare);
}
inline bool same_bits(const std::vector<TracePoint>& a, const std::vector<TracePoint>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].step != b[k].step) return false;
    for (const TraceColumn& c : kTraceColumns)
      if (!same_bits(a[k].*c.field, b[k].*c.field)) return false;
  }
  return true;
}

}  // namespace lsekit::test
