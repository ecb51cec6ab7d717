// Label noise, class imbalance and random subsets (labels.hpp).
#include "data/labels.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/errors.hpp"

namespace lsekit {
namespace {

std::vector<std::vector<Index>> rows_by_class(const IVec& labels, Index k) {
  std::vector<std::vector<Index>> by(static_cast<std::size_t>(k));
  for (Index i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= k)
      throw InputError("label " + std::to_string(labels[i]) + " at row " + std::to_string(i) +
                       " is outside 0.." + std::to_string(k - 1));
    by[static_cast<std::size_t>(labels[i])].push_back(i);
  }
  return by;
}

Index rounded(double frac, Index n) {
  return std::min(n, static_cast<Index>(std::llround(frac * static_cast<double>(n))));
}

}  // namespace

std::vector<Index> random_subset(Index n, Index count, Rng& rng) {
  std::vector<Index> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), Index{0});
  rng.shuffle(all.data(), n);
  all.resize(static_cast<std::size_t>(std::clamp<Index>(count, 0, n)));
  std::sort(all.begin(), all.end());
  return all;
}

Index inject_label_noise(IVec& labels, Index num_classes, double rate, NoiseKind kind, Rng& rng) {
  if (!(rate >= 0.0 && rate <= 1.0))
    throw InputError("label noise rate must be in [0, 1], got " + std::to_string(rate));
  if (num_classes < 2) throw InputError("label noise needs at least 2 classes");
  const Index n = labels.size();
  const auto k = static_cast<std::uint64_t>(num_classes);
  auto by = rows_by_class(labels, num_classes);  // also validates the labels
  if (rate == 0.0) return 0;
  Index changed = 0;
  if (kind == NoiseKind::Uniform) {
    std::vector<Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Index{0});
    rng.shuffle(order.data(), n);
    const Index flips = rounded(rate, n);
    for (Index t = 0; t < flips; ++t) {
      const Index i = order[static_cast<std::size_t>(t)];
      const auto y = static_cast<std::uint64_t>(labels[i]);
      labels[i] = static_cast<std::int64_t>((y + 1 + rng.below(k - 1)) % k);
      ++changed;
    }
  } else {
    for (Index c = 0; c < num_classes; ++c) {
      auto& rows = by[static_cast<std::size_t>(c)];
      const auto nc = static_cast<Index>(rows.size());
      rng.shuffle(rows.data(), nc);
      const Index flips = rounded(rate, nc);
      for (Index t = 0; t < flips; ++t)
        labels[rows[static_cast<std::size_t>(t)]] = (c + 1) % num_classes;
      changed += flips;
    }
  }
  return changed;
}

std::vector<Index> keep_per_class(const IVec& labels, Index num_classes,
                                  const std::vector<double>& keep, Rng& rng) {
  if (static_cast<Index>(keep.size()) != num_classes)
    throw InputError("class keep fractions: got " + std::to_string(keep.size()) +
                     " values, but the dataset has " + std::to_string(num_classes) + " classes");
  for (std::size_t c = 0; c < keep.size(); ++c)
    if (!(keep[c] >= 0.0 && keep[c] <= 1.0))
      throw InputError("class keep fraction " + std::to_string(keep[c]) + " of class " +
                       std::to_string(c) + " is outside [0, 1]");
  auto by = rows_by_class(labels, num_classes);
  std::vector<Index> out;
  for (Index c = 0; c < num_classes; ++c) {
    auto& rows = by[static_cast<std::size_t>(c)];
    const auto nc = static_cast<Index>(rows.size());
    rng.shuffle(rows.data(), nc);
    const Index take = rounded(keep[static_cast<std::size_t>(c)], nc);
    out.insert(out.end(), rows.begin(), rows.begin() + take);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace lsekit
