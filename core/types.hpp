// lsekit core types: Eigen aliases and index sets shared by problems and solvers.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lsekit {

/// Named scalar metrics in a fixed order (exact objective, accuracies, ...).
using Metrics = std::vector<std::pair<std::string, double>>;

using Index = Eigen::Index;
using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;  // column-major
using MatRM = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using IVec = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;
using VecRef = Eigen::Ref<Vec>;
using ConstVecRef = Eigen::Ref<const Vec>;
using MatRef = Eigen::Ref<Mat>;
using ConstMatRef = Eigen::Ref<const Mat>;

/// A set of indices into groups or items: either the contiguous range
/// [start, start + count) or `count` explicit indices at `idx` (not owned).
/// Contiguous sets let problems use block views instead of gathers.
struct IndexSet {
  Index start = 0;
  Index count = 0;
  const Index* idx = nullptr;

  static IndexSet range(Index start, Index count) { return {start, count, nullptr}; }
  static IndexSet list(const Index* idx, Index count) { return {0, count, idx}; }
  bool contiguous() const { return idx == nullptr; }
  Index size() const { return count; }
  Index operator[](Index i) const { return idx ? idx[i] : start + i; }
};

}  // namespace lsekit
