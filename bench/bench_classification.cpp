// Benchmark: DRO classification (tilted multinomial logistic regression) on Fashion-MNIST.
//
//   1. speed, one thread: time per epoch of every stochastic solver at batch 10 and 100, and
//      the achieved GFLOP/s of the minibatch products (scores Z = X_B W^T and gradient
//      G^T X_B, 2 B p K flops each) measured in isolation on random gathered batches;
//   2. exact evaluation (value + gradient, 60000 x 784 x 10) with 1 and 2 OpenMP threads;
//   3. exact references: F* for every lambda by full-batch L-BFGS (mu = 1e-3, warm-started
//      from the next larger lambda), and the exact ERM optimum (L-BFGS on mean loss + L2);
//   4. the grid: lambda x batch x solver, each solver tuned over a step grid (Adam, the
//      default decay schedule); final F - F* after a fixed number of epochs, time per epoch,
//      test accuracy and worst-class test accuracy of the best step;
//   5. the same on the imbalanced variant (classes 0-4 kept at 10%).
// Grid runs execute two at a time (one thread each), like `lsekit compare`.
//
// usage: bench_classification --data FM.h5 [--imbalanced FM_IMB.h5] [--epochs E]
//          [--steps 3e-4,1e-3,3e-3,1e-2] [--lambdas 0.2,1,5] [--batches 10,100] [--gtol 1e-6]
//          [--csv OUT.csv] [--skip-speed] [--skip-grid]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/exact_evaluator.hpp"
#include "data/dataset.hpp"
#include "problems/dro_classification.hpp"
#include "solvers/lbfgs.hpp"
#include "solvers/instances.hpp"
#include "tasks/classification.hpp"

using namespace lsekit;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<double> parse_list(const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stod(item));
  return out;
}

struct Config {
  SolverKind kind;
  double rho;  // softplus: 0 = adaptive (the default)
  const char* label;
};
constexpr Config kConfigs[] = {
    {SolverKind::BiasedSoftmax, 0.0, "biased-softmax"},
    {SolverKind::VariationalLog, 0.0, "variational-log"},
    {SolverKind::Softplus, 1e-1, "softplus rho=1e-1"},
    {SolverKind::Softplus, 1e-3, "softplus rho=1e-3"},
    {SolverKind::Softplus, 0.0, "softplus (adaptive)"},
    {SolverKind::SumExp, 0.0, "sumexp"},
    {SolverKind::Erm, 0.0, "erm"},
};

double metric(const Metrics& m, const std::string& k) {
  for (const auto& [name, v] : m)
    if (name == k) return v;
  return std::nan("");
}

// ---- exact ERM: E(theta) = mean_i l_i + (mu/2)|W|^2, OpenMP over fixed chunks ---------------
class ErmObjective {
 public:
  explicit ErmObjective(const DroClassification& pr) : pr_(pr) {
    const Index n = pr.num_items();
    chunks_ = std::max<Index>(1, (n + kChunk - 1) / kChunk);
    grads_.assign(static_cast<std::size_t>(chunks_), Vec::Zero(pr.dim()));
    sums_.assign(static_cast<std::size_t>(chunks_), 0.0);
    const int nt = omp_get_max_threads();
    for (int t = 0; t < nt; ++t) ws_.push_back(pr.make_workspace(1, kChunk));
  }
  double operator()(const Vec& theta, Vec& grad) {
    const Index n = pr_.num_items();
    const double w = 1.0 / static_cast<double>(n);
#pragma omp parallel for schedule(dynamic, 1)
    for (Index c = 0; c < chunks_; ++c) {
      auto& ws = ws_[static_cast<std::size_t>(omp_get_thread_num())];
      const Index i0 = c * kChunk, in = std::min(kChunk, n - i0);
      Mat s(in, 1);
      const Mat wv = Mat::Constant(in, 1, w);
      const IndexSet one = IndexSet::range(0, 1), items = IndexSet::range(i0, in);
      pr_.scores(theta, one, items, ws, s);
      grads_[static_cast<std::size_t>(c)].setZero();
      pr_.add_gradient(theta, one, items, ws, wv, grads_[static_cast<std::size_t>(c)]);
      sums_[static_cast<std::size_t>(c)] = s.sum() * w;
    }
    grad.setZero(pr_.dim());
    double f = 0.0;
    for (Index c = 0; c < chunks_; ++c) {  // fixed order: independent of the thread count
      f += sums_[static_cast<std::size_t>(c)];
      grad += grads_[static_cast<std::size_t>(c)];
    }
    return f + pr_.regularizer(theta, &grad);
  }

 private:
  static constexpr Index kChunk = 1024;
  const DroClassification& pr_;
  Index chunks_ = 1;
  std::vector<Vec> grads_;
  std::vector<double> sums_;
  std::vector<DroClassification::Workspace> ws_;
};

struct Reference {
  double lambda = 0.0;  // 0 = ERM
  Vec theta;
  double f = 0.0;  // F* (or the ERM optimum value)
  long iterations = 0;
  double grad_norm = 0.0;
  double seconds = 0.0;
  Metrics metrics;
};

struct Run {
  double lambda = 0.0;
  long batch = 0;
  int config = 0;
  double step = 0.0;
  Result result;
  Metrics metrics;
};

// ---- section 1: single-thread speed ---------------------------------------------------------
void speed(const std::shared_ptr<const Dataset>& data, double mu) {
  omp_set_num_threads(1);
  ProblemOptions po;
  po.lambda = 1.0;
  po.l2 = mu;
  const ClassificationTask task(data, po);
  const DroClassification& pr = task.problem();
  const Index n = pr.num_items(), p = pr.num_features(), k = pr.num_classes();
  std::printf("\n## 1. Single-thread speed (n = %ld, p = %ld, K = %ld, lambda = 1)\n\n",
              static_cast<long>(n), static_cast<long>(p), static_cast<long>(k));
  std::printf(
      "Minibatch products in isolation (random gathered rows; scores = X_B W^T + "
      "log-softmax, gradient = G^T X_B; 2 B p K flops each):\n\n");
  std::printf("| batch | scores us | gradient us | scores+gradient GFLOP/s |\n|---|---|---|---|\n");
  Rng rng(1);
  const Vec theta = Vec::Random(pr.dim()) * 0.01;
  for (long b : {10L, 100L}) {
    auto ws = pr.make_workspace(1, b);
    std::vector<Index> idx(static_cast<std::size_t>(b));
    Mat s(b, 1), w = Mat::Constant(b, 1, 1.0 / static_cast<double>(b));
    Vec grad = Vec::Zero(pr.dim());
    const long reps = b == 10 ? 20000 : 3000;
    double t_s = 0.0, t_g = 0.0;
    for (long r = 0; r < reps; ++r) {
      for (auto& i : idx) i = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
      const IndexSet items = IndexSet::list(idx.data(), b), one = IndexSet::range(0, 1);
      const auto t0 = Clock::now();
      pr.scores(theta, one, items, ws, s);
      const auto t1 = Clock::now();
      pr.add_gradient(theta, one, items, ws, w, grad);
      const auto t2 = Clock::now();
      t_s += std::chrono::duration<double>(t1 - t0).count();
      t_g += std::chrono::duration<double>(t2 - t1).count();
    }
    const double flops = 4.0 * static_cast<double>(b * p * k) * static_cast<double>(reps);
    std::printf("| %ld | %.2f | %.2f | %.1f |\n", b, 1e6 * t_s / static_cast<double>(reps),
                1e6 * t_g / static_cast<double>(reps), flops / (t_s + t_g) / 1e9);
  }
  std::printf(
      "\nTime per epoch of the step loop (Adam, decay schedule, step 1e-3, 1 epoch, exact "
      "evaluations excluded):\n\n| solver | batch 10 s/epoch | batch 100 s/epoch |\n"
      "|---|---|---|\n");
  for (const Config& c : kConfigs) {
    std::printf("| %s |", c.label);
    for (long b : {10L, 100L}) {
      SolverOptions o = SolverOptions::plain(c.kind);
      o.rho = c.rho;
      o.batch = b;
      o.step = 1e-3;
      o.epochs = 1;
      o.eval_points = 2;
      const Result r = solve(pr, o);
      std::printf(" %.3f |", r.time_s / r.epochs);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
}

// ---- section 2: exact evaluation, 1 vs 2 threads --------------------------------------------
void exact_eval(const std::shared_ptr<const Dataset>& data, double mu) {
  ProblemOptions po;
  po.lambda = 1.0;
  po.l2 = mu;
  const ClassificationTask task(data, po);
  const DroClassification& pr = task.problem();
  const Vec theta = Vec::Random(pr.dim()) * 0.01;
  std::printf(
      "\n## 2. Exact value + gradient (%ld x %ld x %ld)\n\n| threads | ms/eval | speed-up "
      "| GFLOP/s |\n|---|---|---|---|\n",
      static_cast<long>(pr.num_items()), static_cast<long>(pr.num_features()),
      static_cast<long>(pr.num_classes()));
  const double flops =
      4.0 * static_cast<double>(pr.num_items() * pr.num_features() * pr.num_classes());
  double t1 = 0.0, f1 = 0.0;
  for (int t : {1, 2}) {
    omp_set_num_threads(t);
    ExactEvaluator<DroClassification> ev(pr);
    Vec g;
    ev.value_and_gradient(theta, g);  // warm-up: allocates the scratch
    const int reps = 10;
    double f = 0.0;
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) f = ev.value_and_gradient(theta, g);
    const double s = seconds_since(t0) / reps;
    if (t == 1) t1 = s, f1 = f;
    std::printf("| %d | %.1f | %.2f | %.1f |%s\n", t, 1e3 * s, t1 / s, flops / s / 1e9,
                f == f1 ? "" : " (F differs from 1 thread!)");
  }
}

// ---- section 3: exact references ------------------------------------------------------------
Reference lbfgs_reference(const std::shared_ptr<const Dataset>& data, double lambda, double mu,
                          double gtol, const Vec* start) {
  omp_set_num_threads(2);
  ProblemOptions po;
  po.lambda = lambda > 0.0 ? lambda : 1.0;
  po.l2 = mu;
  const ClassificationTask task(data, po);
  const DroClassification& pr = task.problem();
  Reference ref;
  ref.lambda = lambda;
  ref.theta = start ? *start : pr.initial_point();
  LbfgsParam par;
  par.gtol = gtol;
  const auto t0 = Clock::now();
  LbfgsReport rep;
  auto none = [](long, const Vec&, double, double) { return true; };
  if (lambda > 0.0) {
    ExactEvaluator<DroClassification> ev(pr);
    auto f = [&](const Vec& x, Vec& g) { return ev.value_and_gradient(x, g); };
    rep = lbfgs_minimize(f, ref.theta, par, none);
  } else {
    ErmObjective erm(pr);
    rep = lbfgs_minimize(erm, ref.theta, par, none);
  }
  ref.seconds = seconds_since(t0);
  ref.f = rep.value;
  ref.iterations = rep.iterations;
  ref.grad_norm = rep.grad_norm;
  ref.metrics = task.metrics(ref.theta);
  return ref;
}

std::vector<Reference> references(const std::shared_ptr<const Dataset>& data,
                                  const std::vector<double>& lambdas, double mu, double gtol,
                                  const char* name) {
  std::vector<double> order = lambdas;
  std::sort(order.rbegin(), order.rend());  // largest lambda first: warm starts from ERM down
  std::vector<Reference> refs;
  std::fprintf(stderr, "[%s] ERM reference (L-BFGS)...\n", name);
  refs.push_back(lbfgs_reference(data, 0.0, mu, gtol, nullptr));
  for (double l : order) {
    std::fprintf(stderr, "[%s] F* at lambda = %g (L-BFGS)...\n", name, l);
    refs.push_back(lbfgs_reference(data, l, mu, gtol, &refs.back().theta));
  }
  std::printf(
      "\nExact optima (%s; L-BFGS to |grad| <= %g, mu = %g, 2 threads, warm-started):\n\n"
      "| objective | F* | iterations | time s | train acc | test acc | worst-class "
      "test acc | kappa* |\n|---|---|---|---|---|---|---|---|\n",
      name, gtol, mu);
  for (const Reference& r : refs) {
    char label[64];
    if (r.lambda > 0.0)
      std::snprintf(label, sizeof label, "DRO lambda = %g", r.lambda);
    else
      std::snprintf(label, sizeof label, "ERM (mean loss)");
    double kappa = std::nan("");
    if (r.lambda > 0.0) {
      ProblemOptions po;
      po.lambda = r.lambda;
      po.l2 = mu;
      const ClassificationTask t(data, po);
      EvalInfo info;
      ExactEvaluator<DroClassification>(t.problem()).value(r.theta, &info);
      kappa = info.kappa_mean;
    }
    std::printf("| %s | %.10f | %ld | %.0f | %.4f | %.4f | %.4f | %.3g |\n", label, r.f,
                r.iterations, r.seconds, metric(r.metrics, "train_acc"),
                metric(r.metrics, "test_acc"), metric(r.metrics, "test_worst_class_acc"), kappa);
  }
  std::fflush(stdout);
  return refs;
}

// ---- sections 4/5: the grid -----------------------------------------------------------------
void grid(const std::shared_ptr<const Dataset>& data, const std::vector<Reference>& refs,
          const std::vector<double>& lambdas, const std::vector<double>& batches,
          const std::vector<double>& steps, double epochs, double mu, const char* name,
          std::FILE* csv) {
  std::vector<std::unique_ptr<ClassificationTask>> tasks;
  for (double l : lambdas) {
    ProblemOptions po;
    po.lambda = l;
    po.l2 = mu;
    tasks.push_back(std::make_unique<ClassificationTask>(data, po));
  }
  std::vector<Run> runs;
  for (double b : batches)  // batch 10 first: the longest runs start first
    for (std::size_t li = 0; li < lambdas.size(); ++li)
      for (int c = 0; c < static_cast<int>(std::size(kConfigs)); ++c)
        for (double st : steps) {
          Run r;
          r.lambda = lambdas[li];
          r.batch = static_cast<long>(b);
          r.config = c;
          r.step = st;
          runs.push_back(r);
        }
  omp_set_num_threads(2);
  omp_set_max_active_levels(1);  // each run single-threaded
  const auto t0 = Clock::now();
  long done = 0;
  const long total = static_cast<long>(runs.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (long i = 0; i < total; ++i) {
    Run& r = runs[static_cast<std::size_t>(i)];
    const std::size_t li = static_cast<std::size_t>(
        std::find(lambdas.begin(), lambdas.end(), r.lambda) - lambdas.begin());
    const ClassificationTask& task = *tasks[li];
    SolverOptions o = SolverOptions::plain(kConfigs[r.config].kind);
    o.rho = kConfigs[r.config].rho;
    o.batch = r.batch;
    o.step = r.step;
    o.epochs = epochs;
    o.eval_points = 3;
    r.result = solve(task.problem(), o);
    r.metrics = task.metrics(r.result.theta);
#pragma omp critical
    {
      ++done;
      const double wall = seconds_since(t0);
      std::fprintf(stderr,
                   "[%s %ld/%ld] lambda %g batch %ld %-20s step %-7g %-9s F = %.8g  ETA %.0fs\n",
                   name, done, total, r.lambda, r.batch, kConfigs[r.config].label, r.step,
                   status_name(r.result.status), r.result.objective,
                   wall * static_cast<double>(total - done) / static_cast<double>(done));
    }
  }
  const double wall = seconds_since(t0);

  auto erm_objective = [&](const Run& r) {
    return metric(r.metrics, "train_mean_loss") +
           tasks[0]->problem().regularizer(r.result.theta, nullptr);
  };
  auto fstar = [&](double l) {
    for (const Reference& ref : refs)
      if (ref.lambda == l) return ref.f;
    return std::nan("");
  };
  if (csv) {
    for (const Run& r : runs)
      std::fprintf(
          csv, "%s,%g,%ld,%s,%g,%s,%.12g,%.6g,%.12g,%.6g,%.6g,%.6g,%.6g,%.6g\n", name, r.lambda,
          r.batch, kConfigs[r.config].label, r.step, status_name(r.result.status),
          r.result.objective, r.result.objective - fstar(r.lambda), erm_objective(r),
          r.result.time_s / std::max(1e-12, r.result.epochs), metric(r.metrics, "test_acc"),
          metric(r.metrics, "test_worst_class_acc"), r.result.kappa, r.result.rho);
    std::fflush(csv);
  }
  std::printf("\n%s: %g epochs per run, Adam + decay schedule (k0 = one epoch), steps {", name,
              epochs);
  for (std::size_t i = 0; i < steps.size(); ++i) std::printf("%s%g", i ? ", " : "", steps[i]);
  std::printf(
      "}, best step by final exact F; %ld runs in %.0f s (2 runs at a time, 1 thread "
      "each; s/epoch measured that way).\n",
      total, wall);
  for (double l : lambdas) {
    for (double bd : batches) {
      const long b = static_cast<long>(bd);
      std::printf(
          "\nlambda = %g, batch = %ld (F* = %.8f; erm tuned by its own objective):\n\n"
          "| solver | best step | F - F* | "
          "s/epoch | test acc | worst-class acc | kappa | diverged |\n"
          "|---|---|---|---|---|---|---|---|\n",
          l, b, fstar(l));
      for (int c = 0; c < static_cast<int>(std::size(kConfigs)); ++c) {
        // The DRO solvers are tuned by the exact F; erm by its own objective (mean training
        // loss + L2), so its row shows the ERM solution and how far it is from the DRO optimum.
        const bool erm = kConfigs[c].kind == SolverKind::Erm;
        auto score = [&](const Run& r) { return erm ? erm_objective(r) : r.result.objective; };
        const Run* best = nullptr;
        int diverged = 0;
        for (const Run& r : runs) {
          if (r.lambda != l || r.batch != b || r.config != c) continue;
          if (!r.result.ok()) {
            ++diverged;
            continue;
          }
          if (!best || score(r) < score(*best)) best = &r;
        }
        if (!best) {
          std::printf("| %s | - | diverged at every step | - | - | - | - | %d/%zu |\n",
                      kConfigs[c].label, diverged, steps.size());
          continue;
        }
        std::printf("| %s | %g | %.3g | %.3f | %.4f | %.4f | %.3g | %d/%zu |\n", kConfigs[c].label,
                    best->step, best->result.objective - fstar(l),
                    best->result.time_s / best->result.epochs, metric(best->metrics, "test_acc"),
                    metric(best->metrics, "test_worst_class_acc"), best->result.kappa, diverged,
                    steps.size());
      }
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_path, imb_path, csv_path;
  double epochs = 10.0, gtol = 1e-6, mu = 1e-3;
  std::vector<double> lambdas{0.2, 1.0, 5.0}, batches{10, 100}, steps{3e-4, 1e-3, 3e-3, 1e-2};
  bool skip_speed = false, skip_grid = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data")
      data_path = next();
    else if (a == "--imbalanced")
      imb_path = next();
    else if (a == "--csv")
      csv_path = next();
    else if (a == "--epochs")
      epochs = std::stod(next());
    else if (a == "--gtol")
      gtol = std::stod(next());
    else if (a == "--lambdas")
      lambdas = parse_list(next());
    else if (a == "--batches")
      batches = parse_list(next());
    else if (a == "--steps")
      steps = parse_list(next());
    else if (a == "--skip-speed")
      skip_speed = true;
    else if (a == "--skip-grid")
      skip_grid = true;
    else {
      std::fprintf(stderr,
                   "usage: %s --data FM.h5 [--imbalanced FM_IMB.h5] [--epochs E] "
                   "[--steps a,b] [--lambdas a,b] [--batches a,b] [--gtol G] [--csv F] "
                   "[--skip-speed] [--skip-grid]\n",
                   argv[0]);
      return 2;
    }
  }
  if (data_path.empty()) {
    std::fprintf(stderr, "--data is required (lsekit import fashion-mnist --out FM.h5)\n");
    return 2;
  }
  const auto t_start = Clock::now();
  std::FILE* csv = csv_path.empty() ? nullptr : std::fopen(csv_path.c_str(), "w");
  if (csv)
    std::fprintf(
        csv,
        "dataset,lambda,batch,solver,step,status,objective,gap,erm_objective,s_per_epoch,test_acc,"
        "worst_class_acc,kappa,rho\n");
  const auto data = std::make_shared<const Dataset>(read_dataset(data_path));
  std::printf("# DRO classification benchmark: %s (%ld x %ld train, %ld test, %ld classes)\n",
              data_path.c_str(), static_cast<long>(data->train.x.rows()),
              static_cast<long>(data->train.x.cols()),
              data->test ? static_cast<long>(data->test->x.rows()) : 0L, data->num_classes);
  if (!skip_speed) {
    speed(data, mu);
    exact_eval(data, mu);
  }
  if (!skip_grid) {
    std::printf("\n## 3-4. Balanced: exact optima and the solver grid\n");
    const auto refs = references(data, lambdas, mu, gtol, "balanced");
    grid(data, refs, lambdas, batches, steps, epochs, mu, "balanced", csv);
    if (!imb_path.empty()) {
      const auto imb = std::make_shared<const Dataset>(read_dataset(imb_path));
      std::printf("\n## 5. Imbalanced: %s (%ld x %ld train; classes 0-4 kept at 10%%)\n",
                  imb_path.c_str(), static_cast<long>(imb->train.x.rows()),
                  static_cast<long>(imb->train.x.cols()));
      const auto irefs = references(imb, lambdas, mu, gtol, "imbalanced");
      grid(imb, irefs, lambdas, batches, steps, epochs, mu, "imbalanced", csv);
    }
  }
  if (csv) std::fclose(csv);
  std::printf("\ntotal wall time %.0f s\n", seconds_since(t_start));
  return 0;
}
