// lsekit._lsekit: the C++ side of the Python module (pybind11).
//
// Every solve goes through tasks/run.hpp, as `lsekit solve` does, so the same data, options
// and seed give bitwise the same result through Python and through the command line.
//
//   arrays in    float64 or float32, C- or F-ordered (python/lsekit/__init__.py makes anything
//                else one of those): read in place through an Eigen::Map with the array's
//                strides and copied into the task's Dataset / OtInstance in one pass that also
//                converts dtype and order. (The classification and OT problems view that storage;
//                DroRegression keeps its own copy of X, as it does for files.)
//   GIL          released while the task is built, solved, evaluated and its result built.
//   Ctrl-C       PyObserver::interrupted() takes the GIL at most every 0.1 s of wall time to
//                run PyErr_CheckSignals(); a pending KeyboardInterrupt stops the solver
//                (status interrupted) and is raised once the solve has returned.
//   progress     an optional callable receives each trace row as a dict; returning False
//                stops the run (status interrupted); an exception it raises is re-raised.
//   errors       InputError -> ValueError, IoError -> OSError, with the library's message: the
//                command line's, but naming options by field, which is the keyword argument
//                (`rho`, `batch=64` where `lsekit solve` prints --rho, --batch 64).
#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/h5doc.hpp"
#include "data/ot_instance.hpp"
#include "tasks/run.hpp"
#include "tasks/tasks.hpp"
#include "tools/solver_cli.hpp"

namespace py = pybind11;
using namespace lsekit;

namespace {

constexpr const char* kArrays = "(arrays)";  // stands for the file name in messages

// ---- NumPy -> Eigen ---------------------------------------------------------------------

template <class T>
MatRM copy_matrix(const py::array& a) {
  const auto rows = static_cast<Index>(a.shape(0)), cols = static_cast<Index>(a.shape(1));
  using Strided = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                             0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
  const Strided m(static_cast<const T*>(a.data()), rows, cols,
                  Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(a.strides(0) / Index(sizeof(T)),
                                                                a.strides(1) / Index(sizeof(T))));
  if constexpr (std::is_same_v<T, double>) return MatRM(m);
  else return MatRM(m.template cast<double>());
}

template <class T>
Vec copy_vector(const py::array& a) {
  const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>, 0, Eigen::InnerStride<>> v(
      static_cast<const T*>(a.data()), static_cast<Index>(a.shape(0)),
      Eigen::InnerStride<>(a.strides(0) / Index(sizeof(T))));
  if constexpr (std::is_same_v<T, double>) return Vec(v);
  else return Vec(v.template cast<double>());
}

void check_layout(const py::array& a, const char* name, int ndim) {
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must be a " + std::to_string(ndim) +
                          "-D array, got " + std::to_string(a.ndim()) + " dimensions");
  const auto item = a.itemsize();
  for (int d = 0; d < ndim; ++d)
    if (a.strides(d) < 0 || a.strides(d) % item != 0)
      throw py::value_error(std::string(name) + ": negative or unaligned strides");
}

bool is_f64(const py::array& a) { return a.dtype().is(py::dtype::of<double>()); }
bool is_f32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }

MatRM to_matrix(const py::array& a, const char* name) {
  check_layout(a, name, 2);
  if (is_f64(a)) return copy_matrix<double>(a);
  if (is_f32(a)) return copy_matrix<float>(a);
  throw py::type_error(std::string(name) + " must be float64 or float32");
}

Vec to_vector(const py::array& a, const char* name) {
  check_layout(a, name, 1);
  if (is_f64(a)) return copy_vector<double>(a);
  if (is_f32(a)) return copy_vector<float>(a);
  throw py::type_error(std::string(name) + " must be float64 or float32");
}

template <class V>
py::array_t<typename V::Scalar> to_numpy(const V& v) {
  return py::array_t<typename V::Scalar>(static_cast<py::ssize_t>(v.size()), v.data());
}

// ---- options ------------------------------------------------------------------------------

template <class E, std::size_t N>
E to_enum(const std::array<NamedValue<E>, N>& t, const std::string& s, const char* option) {
  if (auto e = parse_name(t, s)) return *e;
  throw InputError(std::string("`") + option + "`: unknown value '" + s + "' (choose one of " +
                   names_joined(t, ", ") + ")");
}

// SolverOptions from keyword arguments named as its fields (rho_kappa, max_iter, ...).
// Every value not given keeps SolverOptions' default; the optimizer defaults per solver
// (SolverOptions::defaults_for), as on the command line.
SolverOptions make_options(const py::dict& kw, int& threads, std::set<std::string>& given) {
  SolverOptions o;
  bool optimizer_given = false;
  for (const auto& item : kw) {
    const std::string k = py::cast<std::string>(item.first);
    const py::handle v = item.second;
    if (v.is_none()) continue;
    given.insert(k);  // the field, for the applicability check
    auto str = [&] { return py::cast<std::string>(v); };
    auto dbl = [&] { return py::cast<double>(v); };
    auto lng = [&] { return py::cast<long>(v); };
    if (k == "solver") o.solver = to_enum(kSolverNames, str(), "solver");
    else if (k == "optimizer") o.optimizer = to_enum(kOptimizerNames, str(), "optimizer"), optimizer_given = true;
    else if (k == "schedule") o.schedule = to_enum(kScheduleNames, str(), "schedule");
    else if (k == "sampling") o.sampling = to_enum(kSamplingNames, str(), "sampling");
    else if (k == "variance_reduction")
      o.variance_reduction = to_enum(kVarianceReductionNames, str(), "variance_reduction");
    else if (k == "rho") o.rho = dbl();
    else if (k == "rho_kappa") o.rho_kappa = dbl();
    else if (k == "rho_max") o.rho_max = dbl();
    else if (k == "rho_min") o.rho_min = dbl();
    else if (k == "step") o.step = dbl();
    else if (k == "decay_k0") o.decay_k0 = dbl();
    else if (k == "momentum") o.momentum = dbl();
    else if (k == "beta1") o.beta1 = dbl();
    else if (k == "beta2") o.beta2 = dbl();
    else if (k == "adam_eps") o.adam_eps = dbl();
    else if (k == "clip") o.clip = dbl();
    else if (k == "average") o.average = py::cast<bool>(v);
    else if (k == "average_from") o.average_from = dbl();
    else if (k == "batch") o.batch = lng();
    else if (k == "atoms") o.atoms = lng();
    else if (k == "epochs") o.epochs = dbl();
    else if (k == "steps") o.steps = lng();
    else if (k == "seed") {
      const long s = lng();
      if (s < 0) throw InputError("`seed` must be >= 0");
      o.seed = static_cast<std::uint64_t>(s);
    }
    else if (k == "tol") o.tol = dbl();
    else if (k == "vr_step") o.vr_step = dbl();
    else if (k == "extrapolate") o.extrapolate = py::cast<bool>(v);
    else if (k == "time_limit") o.time_limit = dbl();
    else if (k == "eval_points") o.eval_points = lng();
    else if (k == "blowup") o.blowup = dbl();
    else if (k == "gtol") o.gtol = dbl();
    else if (k == "max_iter") o.max_iter = lng();
    else if (k == "lbfgs_memory") o.lbfgs_memory = static_cast<int>(lng());
    else if (k == "threads") threads = static_cast<int>(lng());
    else throw py::type_error("unexpected solver option '" + k + "'");
  }
  if (!optimizer_given) o.optimizer = SolverOptions::defaults_for(o.solver).optimizer;
  return o;
}

// OpenMP threads for one solve (the command line's rule, tools/solver_cli.cpp: 0 = all cores),
// restored afterwards: a Python process runs many solves, each with its own `threads`.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) : before_(omp_get_max_threads()) {
    constexpr int kMaxThreads = 1024;
    if (threads < 0 || threads > kMaxThreads)
      throw InputError("`threads` must be in 0.." + std::to_string(kMaxThreads) +
                       " (0 = all cores), got " + std::to_string(threads));
    if (threads > 0) omp_set_num_threads(threads);
  }
  ~ThreadCount() { omp_set_num_threads(before_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;
  int in_force() const { return omp_get_max_threads(); }

 private:
  int before_;
};

ProblemOptions make_problem_options(double lam, double epsilon, double l2, const std::string& init) {
  ProblemOptions po;
  po.lambda = lam;
  po.epsilon = epsilon;
  po.l2 = l2;
  po.init = init;
  return po;
}

// ---- observer: Ctrl-C and the progress callback --------------------------------------------

class PyObserver : public Observer {
 public:
  explicit PyObserver(py::object progress) : progress_(std::move(progress)) {}

  Action on_trace(const TracePoint& row, const Vec& /*theta*/, long total_steps) override {
    if (stop_) return Action::Terminate;
    if (progress_.is_none()) return interrupted() ? Action::Terminate : Action::Continue;
    py::gil_scoped_acquire gil;
    try {
      py::dict d;
      d["step"] = row.step;
      d["total_steps"] = total_steps;
      d["epoch"] = row.epoch;
      d["time_s"] = row.time_s;
      d["objective"] = row.objective;
      d["estimate"] = row.estimate;
      d["grad_norm"] = row.grad_norm;
      d["gap_bound"] = row.gap_bound;
      d["criterion"] = row.criterion;
      d["passes"] = row.passes;
      d["kappa"] = row.kappa;
      d["rho"] = row.rho;
      const py::object r = progress_(d);
      if (r.is(py::bool_(false))) stop_ = true;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    } catch (py::error_already_set& e) {
      error_ = e;
      stop_ = true;
    }
    return stop_ ? Action::Terminate : Action::Continue;
  }

  bool interrupted() override {
    if (stop_) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_poll_ < std::chrono::milliseconds(100)) return false;
    last_poll_ = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      error_ = py::error_already_set();
      stop_ = true;
    }
    return stop_;
  }

  /// Re-raises what the callback or a signal handler raised (with the GIL held).
  void rethrow() {
    if (error_) {
      py::error_already_set e = *error_;
      error_.reset();
      throw e;
    }
  }

 private:
  py::object progress_;
  bool stop_ = false;
  std::optional<py::error_already_set> error_;
  std::chrono::steady_clock::time_point last_poll_ = std::chrono::steady_clock::now();
};

// ---- results -> Python --------------------------------------------------------------------

py::object attr_value(const AttrValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return py::float_(*d);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return py::int_(*i);
  return py::str(std::get<std::string>(v));
}

py::dict doc_to_python(const H5Doc& doc) {
  py::dict attrs, datasets;
  for (const auto& [obj, m] : doc.attrs) {
    py::dict a;
    for (const auto& [k, v] : m) a[py::str(k)] = attr_value(v);
    attrs[py::str(obj)] = a;
  }
  for (const auto& [path, arr] : doc.datasets) {
    std::vector<py::ssize_t> shape(arr.shape.begin(), arr.shape.end());
    py::array out;
    if (arr.is_int()) {
      const auto& v = std::get<std::vector<std::int64_t>>(arr.data);
      out = py::array_t<std::int64_t>(shape);
      std::copy(v.begin(), v.end(), static_cast<std::int64_t*>(out.mutable_data()));
    } else {
      const auto& v = std::get<std::vector<double>>(arr.data);
      out = py::array_t<double>(shape);
      std::copy(v.begin(), v.end(), static_cast<double*>(out.mutable_data()));
    }
    datasets[py::str(path)] = out;
  }
  py::dict d;
  d["attrs"] = attrs;
  d["datasets"] = datasets;
  return d;
}

py::dict run_to_python(const TaskRun& run) {
  const Result& r = run.result;
  py::dict d;
  d["status"] = status_name(r.status);
  d["message"] = r.message;
  d["solver"] = r.solver;
  d["steps"] = r.steps;
  d["epochs"] = r.epochs;
  d["time_s"] = r.time_s;
  d["objective"] = r.objective;
  d["estimate"] = r.estimate;
  d["kappa"] = r.kappa;
  d["rho"] = r.rho;
  d["grad_norm"] = r.grad_norm;
  d["gap_bound"] = r.gap_bound;
  d["marginal_error"] = r.marginal_error;
  d["criterion"] = r.criterion;
  d["certified"] = r.certified;
  d["tol"] = r.tol;
  d["passes"] = r.passes;
  d["eval_passes"] = r.eval_passes;
  d["eval_time_s"] = r.eval_time_s;
  d["fail_step"] = r.fail_step;
  d["brief_report"] = r.brief_report();
  d["theta"] = to_numpy(r.theta);
  d["alpha"] = to_numpy(r.alpha);
  py::dict metrics;
  for (const auto& [k, v] : run.metrics) metrics[py::str(k)] = v;
  d["metrics"] = metrics;
  // Every TracePoint column, straight from the solver (the document holds the same rows).
  const std::size_t n = r.trace.size();
  py::dict trace;
  {
    py::array_t<std::int64_t> a(static_cast<py::ssize_t>(n));
    for (std::size_t k = 0; k < n; ++k) a.mutable_at(k) = r.trace[k].step;
    trace["step"] = a;
  }
  for (const TraceColumn& col : kTraceColumns) {
    py::array_t<double> a(static_cast<py::ssize_t>(n));
    for (std::size_t k = 0; k < n; ++k) a.mutable_at(k) = r.trace[k].*col.field;
    trace[col.name] = a;
  }
  d["trace"] = trace;
  d["doc"] = doc_to_python(run.doc);
  return d;
}

// ---- running ------------------------------------------------------------------------------

struct RunRequest {
  SolverOptions opt;
  ProblemOptions po;
  int threads = 0;
  std::string input = kArrays;
  std::string command_line;
  std::string out;  // write the result document here (file API), "" = don't
  bool force = false;
  std::set<std::string> given;  // the options given (fields), for check_applicable
};

// The command line's check (tools/solver_cli.cpp, one table): an option given that has no
// effect on this run is refused with the message `lsekit solve` prints. The file API
// (solve_file, `lsekit solve` from Python) applies it; the array functions and estimators take
// one set of options for any solver (as grids and sklearn's clone pass them) and ignore those
// a solver does not use.
void check_applicable(const RunRequest& req, cli::ApplyContext ctx, const std::string& input) {
  ctx.solver = req.opt.solver;
  ctx.optimizer = req.opt.optimizer;
  ctx.variance_reduction = cli::variance_reduction_on(req.opt, ctx.ot);
  ctx.table_vr = cli::table_variance_reduction(req.opt, ctx.ot);
  cli::check_applicable(req.given, {ctx}, input);
}

// Builds the task (make_task(), without the GIL), runs it and converts the outcome.
template <class MakeTask>
py::dict run(MakeTask make_task, RunRequest req, py::object progress) {
  PyObserver obs(std::move(progress));
  std::optional<TaskRun> out;
  {
    py::gil_scoped_release nogil;
    const ThreadCount threads(req.threads);
    const int nthreads = threads.in_force();
    auto go = [&](const auto& task) {
      const auto& p = task.problem();
      const RunInfo info{req.command_line, req.input, task.kName, task.temperature_name(),
                         p.temperature(), req.po.l2, nthreads, req.po.init};
      out.emplace(run_task(task, req.opt, info, &obs));
      if (!req.out.empty()) write_h5doc(req.out, out->doc, true);
    };
    auto task = make_task();
    if constexpr (std::is_same_v<decltype(task), AnyTask>) std::visit(go, task);
    else go(task);
  }
  obs.rethrow();
  return run_to_python(*out);
}

RunRequest request(const py::dict& options, const ProblemOptions& po, const std::string& what) {
  RunRequest req;
  req.opt = make_options(options, req.threads, req.given);
  req.po = po;
  req.command_line = "python: lsekit." + what;
  return req;
}

py::dict solve_dro_regression(py::array x, py::array y, double lam, double l2, const std::string& init,
                              py::dict options, py::object progress) {
  Dataset d;
  d.task = Task::Regression;
  d.path = kArrays;
  d.train.x = to_matrix(x, "X");
  d.train.y = to_vector(y, "y");
  const ProblemOptions po = make_problem_options(lam, 0.0, l2, init);
  RunRequest req = request(options, po, "solve_dro_regression");
  return run(
      [&] {
        if (po.init != "zero" && po.init != "ls")
          throw InputError("`init`: unknown value '" + po.init + "' (choose zero or ls)");
        check_dro_options(kArrays, po, "DRO regression");
        validate_dataset(d, kArrays);
        return RegressionTask(std::move(d), po);
      },
      std::move(req), std::move(progress));
}

py::dict solve_dro_classification(py::array x, py::array y, long num_classes, double lam, double l2,
                                  py::dict options, py::object progress) {
  Dataset d;
  d.task = Task::Classification;
  d.num_classes = num_classes;
  d.path = kArrays;
  d.train.x = to_matrix(x, "X");
  d.train.y = to_vector(y, "y");
  const ProblemOptions po = make_problem_options(lam, 0.0, l2, "zero");
  RunRequest req = request(options, po, "solve_dro_classification");
  return run(
      [&] {
        check_dro_options(kArrays, po, "DRO classification");
        validate_dataset(d, kArrays);  // labels: integers in 0..num_classes-1
        return ClassificationTask(std::move(d), po);
      },
      std::move(req), std::move(progress));
}

py::dict solve_ot(py::array x, py::array y, py::array b, double epsilon, py::dict options,
                  py::object progress) {
  OtInstance inst;
  inst.path = kArrays;
  inst.x = to_matrix(x, "X");
  inst.y = to_matrix(y, "Y");
  inst.b = to_vector(b, "b");
  inst.epsilon = epsilon;
  const ProblemOptions po = make_problem_options(1.0, 0.0, 0.0, "zero");
  RunRequest req = request(options, po, "solve_ot");
  return run(
      [&] {
        if (!(epsilon > 0.0) || !std::isfinite(epsilon))
          throw InputError(std::string(kArrays) + ": `epsilon` must be finite and > 0 (entropic OT)");
        validate_ot_instance(inst, kArrays);
        return OtTask(std::move(inst), po);
      },
      std::move(req), std::move(progress));
}

py::dict solve_file(const std::string& input, const std::string& out, bool force, double lam,
                    double epsilon, double l2, const std::string& init, py::dict options,
                    py::object progress) {
  namespace fs = std::filesystem;
  RunRequest req = request(options, make_problem_options(lam, epsilon, l2, init), "solve_file");
  req.input = input;
  req.out = out;
  req.force = force;
  {  // the problem options count as given when they differ from the defaults
    const ProblemOptions def;
    if (lam != def.lambda) req.given.insert("lambda");
    if (epsilon != 0.0) req.given.insert("epsilon");
    if (l2 != def.l2) req.given.insert("l2");
    if (init != def.init) req.given.insert("init");
    check_applicable(req, cli::problem_context(input), input);
  }
  if (out.empty()) throw InputError("`out_h5` is required");
  if (fs::exists(out) && !force)
    throw InputError("`out_h5` " + out + " exists; pass `force=True` to overwrite it");
  if (fs::exists(out) && !fs::is_regular_file(out))
    throw InputError("`out_h5` " + out + " exists and is not a regular file; not replacing it");
  const fs::path parent = fs::path(out).parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw IoError(out + ": directory " + parent.string() + " does not exist");
  const ProblemOptions po = req.po;
  return run([&] { return load_task(input, po); }, std::move(req), std::move(progress));
}

py::dict read_result(const std::string& path) {
  H5Doc doc;
  {
    py::gil_scoped_release nogil;
    doc = read_h5doc(path);
  }
  const auto root = doc.attrs.find("/");
  if (root == doc.attrs.end() || !root->second.count("format") ||
      root->second.at("format") != AttrValue(std::string("lsekit-result")))
    throw InputError(path + ": not an lsekit-result file (root attribute format)");
  return doc_to_python(doc);
}

py::dict defaults() {
  const SolverOptions o;
  py::dict d;
  d["solver"] = name_of(kSolverNames, o.solver);
  d["optimizer"] = name_of(kOptimizerNames, o.optimizer);
  d["schedule"] = name_of(kScheduleNames, o.schedule);
  d["sampling"] = name_of(kSamplingNames, o.sampling);
  d["variance_reduction"] = name_of(kVarianceReductionNames, o.variance_reduction);
  d["rho"] = o.rho;
  d["rho_kappa"] = o.rho_kappa;
  d["step"] = o.step;
  d["batch"] = o.batch;
  d["atoms"] = o.atoms;
  d["epochs"] = o.epochs;
  d["steps"] = o.steps;
  d["seed"] = o.seed;
  d["tol"] = o.tol;
  d["time_limit"] = o.time_limit;
  d["eval_points"] = o.eval_points;
  d["gtol"] = o.gtol;
  d["max_iter"] = o.max_iter;
  const ProblemOptions po;
  d["lam"] = po.lambda;
  d["l2"] = po.l2;
  return d;
}

}  // namespace

PYBIND11_MODULE(_lsekit, m) {
  m.doc() = "lsekit's C++ core (use the lsekit package, not this module)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const IoError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });
  m.attr("__version__") = version();
  m.attr("solver_names") = [] {
    py::list l;
    for (const auto& nv : kSolverNames) l.append(nv.name);
    return l;
  }();
  m.def("defaults", &defaults, "SolverOptions' and ProblemOptions' defaults");
  m.def("solve_dro_regression", &solve_dro_regression, py::arg("X"), py::arg("y"), py::arg("lam"),
        py::arg("l2"), py::arg("init"), py::arg("options"), py::arg("progress"));
  m.def("solve_dro_classification", &solve_dro_classification, py::arg("X"), py::arg("y"),
        py::arg("num_classes"), py::arg("lam"), py::arg("l2"), py::arg("options"),
        py::arg("progress"));
  m.def("solve_ot", &solve_ot, py::arg("X"), py::arg("Y"), py::arg("b"), py::arg("epsilon"),
        py::arg("options"), py::arg("progress"));
  m.def("solve_file", &solve_file, py::arg("input"), py::arg("out"), py::arg("force"),
        py::arg("lam"), py::arg("epsilon"), py::arg("l2"), py::arg("init"), py::arg("options"),
        py::arg("progress"));
  m.def("read_result", &read_result, py::arg("path"));
}
