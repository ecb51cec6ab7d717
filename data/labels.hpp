// Label corruption and class imbalance for classification datasets (importers, generators).
//
// Both operations draw only from a caller-owned lsekit::Rng, so a seed fixes the result on
// every platform, and both are exact (counts are rounded once, never sampled):
//  * inject_label_noise: flips exactly round(rate * n) labels (uniform), or exactly
//    round(rate * n_c) labels of every class c (class-conditional);
//  * keep_per_class: keeps exactly round(keep_c * n_c) rows of every class c.
#pragma once

#include <array>
#include <vector>

#include "core/rng.hpp"
#include "core/types.hpp"
#include "core/named_value.hpp"

namespace lsekit {

enum class NoiseKind { Uniform, ClassConditional };

inline constexpr std::array<NamedValue<NoiseKind>, 2> kNoiseKindNames{{
    {NoiseKind::Uniform, "uniform",
     "round(rate*n) labels, chosen at random, each moved to one of the other K-1 classes at "
     "random"},
    {NoiseKind::ClassConditional, "class-conditional",
     "in every class c, round(rate*n_c) labels flipped to (c+1) mod K (pair flipping)"},
}};

/// Corrupts `labels` (values in 0..num_classes-1) in place and returns how many changed.
/// Uniform: a uniformly random subset of round(rate * n) rows, each relabelled to
///   (y + 1 + U{0..K-2}) mod K, i.e. uniformly among the other K-1 classes.
/// ClassConditional ("pair flipping", Han et al., Co-teaching, NeurIPS 2018): in every class c
///   a uniformly random subset of round(rate * n_c) of its rows is relabelled to (c + 1) mod K.
/// Every selected row changes, so the realized noise rate is exact. rate must be in [0, 1].
/// Draw order: uniform = one shuffle of 0..n-1, then one draw per flipped row (in shuffled
/// order); class-conditional = one shuffle per class, classes in increasing order.
Index inject_label_noise(IVec& labels, Index num_classes, double rate, NoiseKind kind, Rng& rng);

/// The rows to keep (increasing order): for every class c, a uniformly random subset of
/// round(keep[c] * n_c) of its rows (one shuffle per class, classes in increasing order).
/// keep.size() must equal num_classes and every fraction must be in [0, 1].
std::vector<Index> keep_per_class(const IVec& labels, Index num_classes,
                                  const std::vector<double>& keep, Rng& rng);

/// A uniformly random subset of `count` of the indices 0..n-1, in increasing order.
std::vector<Index> random_subset(Index n, Index count, Rng& rng);

}  // namespace lsekit
