// Walker/Vose alias table: O(1) draws from a discrete distribution b (OT atoms).
// Setup O(m) allocates; sample() does not. Deterministic given the Rng stream.
#pragma once

#include <vector>

#include "core/rng.hpp"
#include "core/types.hpp"

namespace lsekit {

class AliasTable {
 public:
  AliasTable() = default;
  /// p: nonnegative weights with positive sum (normalized internally).
  explicit AliasTable(const Vec& p) {
    const Index m = p.size();
    prob_.assign(m, 0.0);
    alias_.assign(m, 0);
    const double total = p.sum();
    std::vector<double> scaled(m);
    std::vector<Index> small, large;
    small.reserve(m);
    large.reserve(m);
    for (Index i = 0; i < m; ++i) {
      scaled[i] = p(i) * static_cast<double>(m) / total;
      (scaled[i] < 1.0 ? small : large).push_back(i);
    }
    while (!small.empty() && !large.empty()) {
      const Index s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (Index i : large) prob_[i] = 1.0, alias_[i] = i;
    for (Index i : small) prob_[i] = 1.0, alias_[i] = i;
  }
  Index size() const { return static_cast<Index>(prob_.size()); }
  Index sample(Rng& rng) const {
    const auto i = static_cast<Index>(rng.below(prob_.size()));
    return rng.uniform() < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<Index> alias_;
};

}  // namespace lsekit
