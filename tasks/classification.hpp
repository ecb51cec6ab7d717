// DRO classification task: dataset + DroClassification + metrics (SPEC section 2.2).
//
// Ownership: the dataset lives in a std::shared_ptr<const Dataset>, so the problems (which
// view its X and labels without copying them: 376 MB for Fashion-MNIST) stay valid when the
// task is moved or copied, e.g. inside the AnyTask variant returned by value from
// load_task(). Copies share the same immutable data.
//
// Metrics (exact F on the training split and kappa are added by evaluate_task):
//   trace (cheap, every trace row):
//     train_acc_subset       accuracy on a fixed subset of at most kTraceRows training rows
//                            (every ceil(n / kTraceRows)-th row; labels as given, noisy or not)
//     test_acc               test accuracy (when /test exists)
//   final, in addition:
//     train_acc              accuracy on every training row (labels as given)
//     train_mean_loss        mean cross-entropy on the training split (the ERM objective
//                            without the L2 term)
//     worst_sample_loss      max_i l_i on the training split
//     train_acc_clean        accuracy against /train/y_clean                 } when y_clean
//     train_objective_clean  exact F with y_clean instead of the noisy labels } exists
//     test_objective         exact F on the test split (same lambda and l2)
//     test_worst_class_acc   min over classes present in the test split of the class accuracy
//     test_acc_class_<k>     accuracy on test samples of class k (NaN if the class is absent)
// Predictions are argmax_k of the logits W x + c (ties: the lowest class index).
// Solution: /solution/weights (K, p) float64, /solution/intercept (K) float64.
// All methods are const and thread-safe (lsekit compare calls them from parallel runs).
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "solvers/instances.hpp"
#include "data/dataset.hpp"
#include "data/h5doc.hpp"
#include "problems/dro_classification.hpp"
#include "tasks/task.hpp"

namespace lsekit {

class ClassificationTask {
 public:
  static constexpr const char* kName = "dro-classification";
  static constexpr Index kTraceRows = 5000;

  ClassificationTask(Dataset data, const ProblemOptions& po)
      : ClassificationTask(std::make_shared<const Dataset>(with_labels(std::move(data))), po) {}

  /// Shares `data` (e.g. one dataset solved at several lambda); its splits must carry labels.
  ClassificationTask(std::shared_ptr<const Dataset> data, const ProblemOptions& po)
      : data_(checked(std::move(data))),
        problem_(data_->train.x, data_->train.labels, data_->num_classes, po.lambda, po.l2) {
    if (data_->test) {
      if (data_->test->x.cols() != data_->train.x.cols())
        throw InputError(data_->path + ": /test/X has " + std::to_string(data_->test->x.cols()) +
                         " columns, but /train/X has " + std::to_string(data_->train.x.cols()) +
                         " (DRO classification)");
      test_problem_.emplace(data_->test->x, data_->test->labels, data_->num_classes, po.lambda,
                            po.l2);
    }
    if (data_->train.y_clean)
      clean_problem_.emplace(data_->train.x, *data_->train.y_clean, data_->num_classes, po.lambda,
                             po.l2);
  }

  const DroClassification& problem() const { return problem_; }
  const Dataset& data() const { return *data_; }
  std::string temperature_name() const { return "lambda"; }

  /// Cheap metrics recorded at every trace row.
  Metrics trace_metrics(const Vec& theta) const {
    const MatRM& x = data_->train.x;
    const Index n = x.rows(), p = x.cols();
    const Index stride = (n + kTraceRows - 1) / kTraceRows, m = (n + stride - 1) / stride;
    const Eigen::Map<const MatRM, 0, Eigen::OuterStride<>> sub(x.data(), m, p,
                                                               Eigen::OuterStride<>(stride * p));
    const MatRM z = problem_.logits(theta, sub);
    Index correct = 0;
    for (Index i = 0; i < m; ++i) correct += argmax(z, i) == data_->train.labels[i * stride];
    Metrics out{{"train_acc_subset", static_cast<double>(correct) / static_cast<double>(m)}};
    if (data_->test) {
      std::vector<double> per_class;
      out.emplace_back("test_acc", accuracy(theta, *data_->test, &per_class));
      double worst = std::nan("");
      for (double a : per_class)
        if (!std::isnan(a)) worst = std::isnan(worst) ? a : std::min(worst, a);
      out.emplace_back("test_worst_class_acc", worst);  // plotted against passes
    }
    return out;
  }

  /// Final metrics (the objective itself is added by the caller).
  Metrics metrics(const Vec& theta) const {
    Metrics out = trace_metrics(theta);
    const Split& tr = data_->train;
    const Index n = tr.size();
    MatRM z = problem_.logits(theta, tr.x);
    Index correct = 0, correct_clean = 0;
    double loss_sum = 0.0, loss_max = 0.0;
    for (Index i = 0; i < n; ++i) {
      const Index pred = argmax(z, i);
      correct += pred == tr.labels[i];
      if (tr.y_clean) correct_clean += pred == (*tr.y_clean)[i];
      const double l = problem_.log_softmax_row(z.row(i).data(), tr.labels[i]);
      loss_sum += l;
      loss_max = std::max(loss_max, l);
    }
    const double dn = static_cast<double>(n);
    out.emplace_back("train_acc", static_cast<double>(correct) / dn);
    out.emplace_back("train_mean_loss", loss_sum / dn);
    out.emplace_back("worst_sample_loss", loss_max);
    if (clean_problem_) {
      out.emplace_back("train_acc_clean", static_cast<double>(correct_clean) / dn);
      out.emplace_back("train_objective_clean", ExactEvaluator(*clean_problem_).value(theta));
    }
    if (test_problem_) {
      out.emplace_back("test_objective", ExactEvaluator(*test_problem_).value(theta));
      std::vector<double> per_class;
      accuracy(theta, *data_->test, &per_class);
      for (std::size_t k = 0; k < per_class.size(); ++k)
        out.emplace_back("test_acc_class_" + std::to_string(k), per_class[k]);
    }
    return out;
  }

  void write_solution(H5Doc& doc, const std::string& prefix, const Vec& theta) const {
    doc.set(prefix + "/solution/weights", Array::matrix(MatRM(problem_.weights(theta))));
    doc.set(prefix + "/solution/intercept", Array::vector(Vec(problem_.intercepts(theta))));
  }

  /// Reads theta from a result document; throws InputError naming `file`, the dataset and
  /// the problem (wrong shapes, e.g. a result for another number of classes, or NaN).
  Vec read_solution(const H5Doc& doc, const std::string& prefix, const std::string& file) const {
    const Index k = problem_.num_classes(), p = problem_.num_features();
    const std::string wp = prefix + "/solution/weights", bp = prefix + "/solution/intercept";
    const auto w = doc.datasets.find(wp);
    const auto b = doc.datasets.find(bp);
    if (w == doc.datasets.end() || b == doc.datasets.end() || w->second.is_int() ||
        b->second.is_int())
      throw InputError(file + ": " + wp + " and " + bp +
                       " (float64) are required for a DRO classification result");
    const auto& ws = w->second.shape;
    const auto& bs = b->second.shape;
    const auto shape = [](const std::vector<std::uint64_t>& s) {
      std::string t = "(";
      for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
      return t + ")";
    };
    if (ws.size() != 2 || ws[0] != static_cast<std::uint64_t>(k) ||
        ws[1] != static_cast<std::uint64_t>(p))
      throw InputError(file + ": " + wp + " has shape " + shape(ws) + ", but the dataset has " +
                       std::to_string(k) + " classes and " + std::to_string(p) +
                       " features: expected (" + std::to_string(k) + ", " + std::to_string(p) +
                       ") (DRO classification)");
    if (bs.size() != 1 || bs[0] != static_cast<std::uint64_t>(k))
      throw InputError(file + ": " + bp + " has shape " + shape(bs) + ", expected (" +
                       std::to_string(k) + ") for " + std::to_string(k) +
                       " classes (DRO classification)");
    const auto& wv = std::get<std::vector<double>>(w->second.data);
    const auto& bv = std::get<std::vector<double>>(b->second.data);
    Vec theta(problem_.dim());
    std::copy(wv.begin(), wv.end(), theta.data());
    std::copy(bv.begin(), bv.end(), theta.data() + k * p);
    if (!theta.allFinite())
      throw InputError(file + ": " + prefix + "/solution: non-finite value (DRO classification)");
    return theta;
  }

 private:
  // Classification splits carry int64 labels; fill them from y if a caller only set y.
  static Dataset with_labels(Dataset d) {
    if (d.task != Task::Classification)
      throw InputError(d.path + ": not a classification dataset (DRO classification)");
    for (Split* s : {&d.train, d.test ? &*d.test : nullptr}) {
      if (!s || s->labels.size() == s->size()) continue;
      if (s->y.size() != s->size())
        throw InputError(d.path + ": labels missing (DRO classification)");
      s->labels = s->y.cast<std::int64_t>();
    }
    return d;
  }

  static std::shared_ptr<const Dataset> checked(std::shared_ptr<const Dataset> d) {
    if (!d || d->task != Task::Classification)
      throw InputError((d ? d->path : std::string("(none)")) +
                       ": not a classification dataset (DRO classification)");
    for (const Split* s : {&d->train, d->test ? &*d->test : nullptr})
      if (s && s->labels.size() != s->size())
        throw InputError(d->path + ": labels missing (DRO classification)");
    return d;
  }

  static Index argmax(const MatRM& z, Index i) {
    Index best = 0;
    for (Index k = 1; k < z.cols(); ++k)
      if (z(i, k) > z(i, best)) best = k;
    return best;
  }

  // Accuracy on a split; per_class (if given) receives the accuracy of every class.
  double accuracy(const Vec& theta, const Split& s, std::vector<double>* per_class) const {
    const Index k = problem_.num_classes();
    const MatRM z = problem_.logits(theta, s.x);
    std::vector<Index> hit(static_cast<std::size_t>(k), 0), count(static_cast<std::size_t>(k), 0);
    Index correct = 0;
    for (Index i = 0; i < s.size(); ++i) {
      const auto y = static_cast<std::size_t>(s.labels[i]);
      const bool ok = argmax(z, i) == s.labels[i];
      correct += ok;
      hit[y] += ok;
      ++count[y];
    }
    if (per_class) {
      per_class->assign(static_cast<std::size_t>(k), std::nan(""));
      for (std::size_t c = 0; c < hit.size(); ++c)
        if (count[c] > 0)
          (*per_class)[c] = static_cast<double>(hit[c]) / static_cast<double>(count[c]);
    }
    return static_cast<double>(correct) / static_cast<double>(s.size());
  }

  std::shared_ptr<const Dataset> data_;
  DroClassification problem_;
  std::optional<DroClassification> test_problem_;   // views of the test split
  std::optional<DroClassification> clean_problem_;  // training X with y_clean
};

}  // namespace lsekit
