// Entropic semi-discrete OT task: lsekit-ot instance + SemiDiscreteOt + metrics and
// outputs (SPEC sections 2.3 and 4).
//
// epsilon: the instance's `epsilon` attribute unless ProblemOptions::epsilon > 0 overrides.
// Ownership: the instance lives in a std::shared_ptr, so the problems (which reference its
// point clouds without copying them) stay valid when the task is moved or copied, e.g.
// inside the AnyTask variant returned by value from load_task().
//
// Metrics (the objective F on the training samples and kappa are added by evaluate_task):
//   marginal_error     |b - (1/n) sum_i chi(x_i)|_1 = |grad F(g)|_1
//   train_dual         H(g) = -F(g) on the training samples
//   test_dual          H(g) on the held-out samples /source/X_test (when present)
//   transport_cost     <pi, c> = (1/n) sum_ij chi_j(x_i) |x_i - y_j|^2 for the plan
//                      pi_ij = chi_j(x_i)/n induced by g (rows sum to 1/n exactly)
//   plan_kl            KL(pi | mu_n x nu) of that plan
//   entropic_cost_kl   transport_cost + epsilon * plan_kl: the entropic primal value of pi
//                      under the KL(pi | mu_n x nu) convention (= OT_eps and = train_dual at
//                      the optimum). POT's sum pi log pi convention gives
//                      entropic_cost_kl - epsilon (log n + H(b)) on the same plan.
// Trace metrics: test_dual (when held-out samples exist).
// Solution and outputs written to a result (datasets under `prefix`):
//   /solution/potential              (m)        g, normalized so that sum_j b_j g_j = 0
//   /solution/c_transform            (n)        f(x_i) = -eps log sum_j b_j e^{(g_j - c_ij)/eps}
//   /outputs/test_c_transform        (n_test)   f on the held-out samples    } only with
//   /outputs/test_barycentric_map    (n_test,d) T(x) = sum_j chi_j(x) y_j     } /source/X_test
//   /outputs/test_assignment         (n_test)   argmax_j chi_j(x), int64      }
#pragma once

#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "core/errors.hpp"
#include "solvers/instances.hpp"
#include "data/h5doc.hpp"
#include "data/ot_instance.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "tasks/task.hpp"

namespace lsekit {

class OtTask {
 public:
  static constexpr const char* kName = "entropic-ot";

  OtTask(OtInstance inst, const ProblemOptions& po)
      : data_(std::make_shared<const OtInstance>(std::move(inst))),
        problem_(data_->x, data_->y, data_->b, po.epsilon > 0.0 ? po.epsilon : data_->epsilon) {
    if (data_->x_test)
      test_problem_.emplace(*data_->x_test, data_->y, data_->b, problem_.epsilon());
  }

  const SemiDiscreteOt& problem() const { return problem_; }
  const OtInstance& data() const { return *data_; }
  std::string temperature_name() const { return "epsilon"; }

  Metrics trace_metrics(const Vec& g) const {
    Metrics m;
    {  // |grad F|_1 at each trace row, for the marginal-error-vs-passes plot
      Vec grad;
      ExactEvaluator(problem_).value_and_gradient(g, grad);
      m.emplace_back("marginal_error", grad.lpNorm<1>());
    }
    if (test_problem_) m.emplace_back("test_dual", -ExactEvaluator(*test_problem_).value(g));
    return m;
  }

  Metrics metrics(const Vec& g) const {
    ExactEvaluator ev(problem_);
    Vec grad, lse, cost, kl;
    const double f = ev.value_and_gradient(g, grad);
    ev.group_values(g, lse);
    problem_.plan_outputs(g, lse, &cost, &kl, nullptr, nullptr);
    const double n = static_cast<double>(problem_.num_groups());
    double tc = 0.0, tk = 0.0;
    for (Index i = 0; i < cost.size(); ++i) tc += cost(i), tk += kl(i);  // in index order
    tc /= n;
    tk /= n;
    Metrics m{{"marginal_error", grad.lpNorm<1>()}, {"train_dual", -f}};
    if (test_problem_) m.emplace_back("test_dual", -ExactEvaluator(*test_problem_).value(g));
    m.emplace_back("transport_cost", tc);
    m.emplace_back("plan_kl", tk);
    m.emplace_back("entropic_cost_kl", tc + problem_.epsilon() * tk);
    return m;
  }

  void write_solution(H5Doc& doc, const std::string& prefix, const Vec& theta) const {
    const Vec g = problem_.normalized(theta);
    Vec lse;
    ExactEvaluator(problem_).group_values(g, lse);
    doc.set(prefix + "/solution/potential", Array::vector(g));
    doc.set(prefix + "/solution/c_transform", Array::vector(Vec(-lse)));
    if (test_problem_) {
      ExactEvaluator(*test_problem_).group_values(g, lse);
      MatRM bary;
      IVec assign;
      test_problem_->plan_outputs(g, lse, nullptr, nullptr, &bary, &assign);
      doc.set(prefix + "/outputs/test_c_transform", Array::vector(Vec(-lse)));
      doc.set(prefix + "/outputs/test_barycentric_map", Array::matrix(bary));
      doc.set(prefix + "/outputs/test_assignment", Array::vector(assign));
    }
  }

  /// Reads g from /solution/potential; throws InputError naming `file`.
  Vec read_solution(const H5Doc& doc, const std::string& prefix, const std::string& file) const {
    const std::string path = prefix + "/solution/potential";
    const auto it = doc.datasets.find(path);
    if (it == doc.datasets.end() || it->second.is_int())
      throw InputError(file + ": " + path + ": missing float64 dataset (entropic OT result)");
    const auto& v = std::get<std::vector<double>>(it->second.data);
    const Index m = problem_.num_items();
    if (it->second.shape.size() != 1 || static_cast<Index>(v.size()) != m)
      throw InputError(file + ": " + path + ": has " + std::to_string(v.size()) +
                       " entries but the instance has " + std::to_string(m) +
                       " atoms (entropic OT)");
    Vec g = Eigen::Map<const Vec>(v.data(), m);
    if (!g.allFinite()) throw InputError(file + ": " + path + ": non-finite value (entropic OT)");
    return g;
  }

 private:
  std::shared_ptr<const OtInstance> data_;
  SemiDiscreteOt problem_;                      // references data_->x, data_->y
  std::optional<SemiDiscreteOt> test_problem_;  // references data_->x_test, data_->y
};

}  // namespace lsekit
