// DRO regression task: dataset + DroRegression + metrics (SPEC section 2.1).
// Metrics: exact F, kappa, train/test RMSE, worst-sample training loss, mean loss,
// test worst-group RMSE when the test split has groups.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "problems/dro_regression.hpp"
#include "tasks/task.hpp"

namespace lsekit {

class RegressionTask {
 public:
  static constexpr const char* kName = "dro-regression";

  RegressionTask(Dataset data, const ProblemOptions& po)
      : data_(std::move(data)), problem_(data_.train.x, data_.train.y, po.lambda, po.l2) {
    if (po.init == "ls") problem_.set_initial_point(problem_.least_squares());
  }

  const DroRegression& problem() const { return problem_; }
  const Dataset& data() const { return data_; }
  std::string temperature_name() const { return "lambda"; }

  /// Cheap metrics recorded at every trace row.
  Metrics trace_metrics(const Vec& theta) const {
    Metrics m{{"train_rmse", rmse(theta, data_.train)}};
    if (data_.test) m.emplace_back("test_rmse", rmse(theta, *data_.test));
    return m;
  }

  /// Final metrics (the objective itself is added by the caller).
  Metrics metrics(const Vec& theta) const {
    Metrics m = trace_metrics(theta);
    const Vec r = problem_.predict(theta, data_.train.x) - data_.train.y;
    m.emplace_back("train_mean_loss", r.squaredNorm() / static_cast<double>(r.size()));
    m.emplace_back("worst_sample_loss", r.array().square().maxCoeff());
    if (data_.test && data_.test->group) {
      const Vec rt = problem_.predict(theta, data_.test->x) - data_.test->y;
      std::map<std::int64_t, std::pair<double, long>> acc;
      for (Index i = 0; i < rt.size(); ++i) {
        auto& a = acc[(*data_.test->group)(i)];
        a.first += rt(i) * rt(i);
        ++a.second;
      }
      double worst = 0.0;
      for (const auto& [g, a] : acc) worst = std::max(worst, std::sqrt(a.first / a.second));
      m.emplace_back("test_worst_group_rmse", worst);
    }
    return m;
  }

  void write_solution(H5Doc& doc, const std::string& prefix, const Vec& theta) const {
    const Index p = problem_.num_features();
    doc.set(prefix + "/solution/weights", Array::vector(Vec(theta.head(p))));
    doc.set(prefix + "/solution/intercept", Array::scalar(theta(p)));
  }

  /// Reads theta from a result document; throws InputError naming `file`.
  Vec read_solution(const H5Doc& doc, const std::string& prefix, const std::string& file) const {
    const Index p = problem_.num_features();
    const auto w = doc.datasets.find(prefix + "/solution/weights");
    const auto b = doc.datasets.find(prefix + "/solution/intercept");
    if (w == doc.datasets.end() || b == doc.datasets.end() || w->second.is_int() ||
        b->second.is_int())
      throw InputError(file + ": " + prefix + "/solution/weights and /solution/intercept (float64) "
                       "are required for a DRO regression result");
    const auto& wv = std::get<std::vector<double>>(w->second.data);
    const auto& bv = std::get<std::vector<double>>(b->second.data);
    if (static_cast<Index>(wv.size()) != p || w->second.shape.size() != 1 || bv.size() != 1)
      throw InputError(file + ": " + prefix + "/solution/weights has " +
                       std::to_string(wv.size()) + " entries but the dataset has " +
                       std::to_string(p) + " features (DRO regression)");
    Vec theta(p + 1);
    for (Index j = 0; j < p; ++j) theta(j) = wv[j];
    theta(p) = bv[0];
    if (!theta.allFinite())
      throw InputError(file + ": " + prefix + "/solution: non-finite value (DRO regression)");
    return theta;
  }

 private:
  double rmse(const Vec& theta, const Split& s) const {
    const Vec r = problem_.predict(theta, s.x) - s.y;
    return std::sqrt(r.squaredNorm() / static_cast<double>(r.size()));
  }

  Dataset data_;
  DroRegression problem_;
};

}  // namespace lsekit
