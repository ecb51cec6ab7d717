#include "data/checkpoint.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/errors.hpp"
#include "data/h5doc.hpp"

namespace lsekit {

namespace {

constexpr const char* kFormat = "lsekit-checkpoint";
constexpr std::int64_t kVersion = 2;

std::string attr_text(const AttrValue& v) {
  if (const auto* d = std::get_if<double>(&v)) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", *d);
    return b;
  }
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

// Vectors of the state, by dataset name. Empty vectors are not written (a
// shift-free solver has no shifts) and read back as empty.
struct VecField {
  const char* name;
  Vec SolverState::*field;
  bool required;  // the iterate and its step-rule moments; shifts only with a shift solver
};
constexpr VecField kVecs[] = {
    {"theta", &SolverState::theta, true},        {"theta_prev", &SolverState::theta_prev, true},
    {"theta_avg", &SolverState::theta_avg, true}, {"theta_good", &SolverState::theta_good, true},
    {"theta_best", &SolverState::theta_best, true},
    {"m1", &SolverState::m1, true},              {"m2", &SolverState::m2, true},
    {"alpha", &SolverState::alpha, false},       {"alpha_m", &SolverState::alpha_m, false},
    {"alpha_v", &SolverState::alpha_v, false},   {"alpha_t", &SolverState::alpha_t, false}};

std::string join_names(const Metrics& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : "\n") + k;
  return s;
}

class Reader {
 public:
  Reader(const std::string& path, H5Doc doc) : path_(path), doc_(std::move(doc)) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw InputError(path_ + ": " + why + " (lsekit checkpoint; write it with lsekit solve "
                     "`checkpoint_every=N`)");
  }
  const AttrValue& attr(const std::string& name) const {
    const auto root = doc_.attrs.find("/");
    if (root == doc_.attrs.end() || !root->second.count(name))
      fail("root attribute '" + name + "' is missing");
    return root->second.at(name);
  }
  std::int64_t integer(const std::string& name) const {
    const auto* v = std::get_if<std::int64_t>(&attr(name));
    if (!v) fail("root attribute '" + name + "' is not an integer");
    return *v;
  }
  double real(const std::string& name) const {
    const auto* v = std::get_if<double>(&attr(name));
    if (!v) fail("root attribute '" + name + "' is not a float");
    return *v;
  }
  std::string text(const std::string& name) const {
    const auto* v = std::get_if<std::string>(&attr(name));
    if (!v) fail("root attribute '" + name + "' is not a string");
    return *v;
  }
  const Array* find(const std::string& path) const {
    const auto it = doc_.datasets.find(path);
    return it == doc_.datasets.end() ? nullptr : &it->second;
  }
  // A 1-d float64 dataset; empty when absent unless `required`.
  std::vector<double> reals(const std::string& path, bool required) const {
    const Array* a = find(path);
    if (!a) {
      if (required) fail("dataset " + path + " is missing");
      return {};
    }
    if (a->is_int() || a->shape.size() != 1) fail("dataset " + path + " must be a 1-d float64 array");
    return std::get<std::vector<double>>(a->data);
  }
  std::vector<std::int64_t> ints(const std::string& path, bool required) const {
    const Array* a = find(path);
    if (!a) {
      if (required) fail("dataset " + path + " is missing");
      return {};
    }
    if (!a->is_int() || a->shape.size() != 1) fail("dataset " + path + " must be a 1-d integer array");
    return std::get<std::vector<std::int64_t>>(a->data);
  }

 private:
  std::string path_;
  H5Doc doc_;
};

}  // namespace

std::string run_fingerprint(const SolverOptions& o, const RunInfo& info, Index dim,
                            Index num_groups, Index num_items) {
  // The run attributes of result files are the one list of option names; provenance,
  // outcome and the thread count (results do not depend on it) are left out.
  static const std::set<std::string> kSkip{"command_line", "created", "threads", "input_path",
                                           "status", "message", "steps_done", "epochs_done",
                                           "time_s", "objective", "kappa", "fail_step", "rho",
                                           "passes", "criterion"};
  H5Doc doc;
  add_run_attributes(doc, "/", o, Result{}, info);
  std::ostringstream s;
  std::error_code ec;
  const auto input = std::filesystem::weakly_canonical(info.input_path, ec);
  s << "input = " << (ec ? info.input_path : input.string()) << "\n";
  s << "dim = " << dim << "\ngroups = " << num_groups << "\nitems = " << num_items << "\n";
  for (const auto& [k, v] : doc.attrs["/"])
    if (!kSkip.count(k)) s << k << " = " << attr_text(v) << "\n";
  return s.str();
}

void check_fingerprint(const std::string& path, const std::string& saved,
                       const std::string& current) {
  if (saved == current) return;
  std::istringstream a(saved), b(current);
  std::string la, lb;
  while (true) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) break;
    if (!ha || !hb || la != lb) {
      throw InputError(path + ": the checkpoint belongs to another run: it has '" +
                       (ha ? la : std::string("(nothing)")) + "' where this run has '" +
                       (hb ? lb : std::string("(nothing)")) +
                       "'; resume with the options and input of the interrupted run");
    }
  }
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  const SolverState& st = c.state;
  H5Doc doc;
  auto si = [&](const char* k, std::int64_t v) { doc.set_attr("/", k, v); };
  auto sd = [&](const char* k, double v) { doc.set_attr("/", k, v); };
  doc.set_attr("/", "format", std::string(kFormat));
  si("format_version", kVersion);
  doc.set_attr("/", "fingerprint", c.fingerprint);
  si("step", st.step);
  si("total_steps", st.total_steps);
  si("next_eval_row", st.next_eval_row);
  si("est_count", st.est_count);
  sd("est_sum", st.est_sum);
  sd("solver_time", st.solver_time);
  sd("rho", st.rho);
  sd("log_mom1", st.log_mom1);
  sd("log_mom2", st.log_mom2);
  sd("mom_count", st.mom_count);
  sd("passes", st.passes);
  sd("eval_passes", st.eval_passes);
  sd("eval_time_s", st.eval_time_s);
  sd("f_best", st.f_best);
  si("up_rows", st.up_rows);
  si("group_cursor", st.group_cursor);
  si("item_cursor", st.item_cursor);
  si("rng_has_spare", st.rng.has_spare ? 1 : 0);
  sd("rng_spare", st.rng.spare);
  for (const VecField& f : kVecs)
    if ((st.*f.field).size() > 0) doc.set(std::string("/state/") + f.name, Array::vector(st.*f.field));
  {
    std::vector<std::int64_t> rng(4);
    for (int i = 0; i < 4; ++i) std::memcpy(&rng[i], &st.rng.s[i], sizeof rng[i]);  // bit pattern
    doc.set("/state/rng", Array{{4}, rng});
  }
  auto int_vec = [&](const char* name, const auto& v) {
    if (v.empty()) return;
    doc.set(std::string("/state/") + name, Array{{v.size()}, std::vector<std::int64_t>(v.begin(), v.end())});
  };
  int_vec("alpha_init", st.alpha_init);
  int_vec("group_perm", st.group_perm);
  int_vec("item_perm", st.item_perm);
  const size_t n = st.trace.size();
  {
    std::vector<std::int64_t> steps(n);
    for (size_t k = 0; k < n; ++k) steps[k] = st.trace[k].step;
    doc.set("/trace/step", Array{{n}, steps});
  }
  for (const TraceColumn& col : kTraceColumns) {
    std::vector<double> v(n);
    for (size_t k = 0; k < n; ++k) v[k] = st.trace[k].*col.field;
    doc.set(std::string("/trace/") + col.name, Array::vector(v));
  }
  // Problem metrics per recorded row, in the order the task produced them.
  doc.set_attr("/", "metric_names", c.rows.empty() ? std::string() : join_names(c.rows.front().second));
  {
    std::vector<std::int64_t> steps(c.rows.size());
    for (size_t k = 0; k < c.rows.size(); ++k) steps[k] = c.rows[k].first;
    if (!steps.empty()) doc.set("/trace_metrics/step", Array{{steps.size()}, steps});
    if (!c.rows.empty()) {
      const Metrics& names = c.rows.front().second;
      for (size_t j = 0; j < names.size(); ++j) {
        std::vector<double> v(c.rows.size());
        for (size_t k = 0; k < c.rows.size(); ++k)
          v[k] = j < c.rows[k].second.size() ? c.rows[k].second[j].second : std::nan("");
        doc.set("/trace_metrics/" + std::to_string(j), Array::vector(v));
      }
    }
  }
  write_h5doc(path, doc, true);
}

Checkpoint read_checkpoint(const std::string& path) {
  const Reader r(path, read_h5doc(path));
  if (r.text("format") != kFormat) r.fail("format is not '" + std::string(kFormat) + "'");
  if (r.integer("format_version") != kVersion)
    r.fail("format_version " + std::to_string(r.integer("format_version")) + " is not supported (2)");
  Checkpoint c;
  c.fingerprint = r.text("fingerprint");
  SolverState& st = c.state;
  st.step = r.integer("step");
  st.total_steps = r.integer("total_steps");
  st.next_eval_row = r.integer("next_eval_row");
  st.est_count = r.integer("est_count");
  st.est_sum = r.real("est_sum");
  st.solver_time = r.real("solver_time");
  st.rho = r.real("rho");
  st.log_mom1 = r.real("log_mom1");
  st.log_mom2 = r.real("log_mom2");
  st.mom_count = r.real("mom_count");
  st.passes = r.real("passes");
  st.eval_passes = r.real("eval_passes");
  st.eval_time_s = r.real("eval_time_s");
  st.f_best = r.real("f_best");
  st.up_rows = r.integer("up_rows");
  st.group_cursor = r.integer("group_cursor");
  st.item_cursor = r.integer("item_cursor");
  st.rng.has_spare = r.integer("rng_has_spare") != 0;
  st.rng.spare = r.real("rng_spare");
  for (const VecField& f : kVecs) {
    const std::vector<double> v = r.reals(std::string("/state/") + f.name, f.required);
    st.*f.field = Eigen::Map<const Vec>(v.data(), static_cast<Index>(v.size()));
  }
  {
    const auto rng = r.ints("/state/rng", true);
    if (rng.size() != 4) r.fail("dataset /state/rng must hold 4 integers");
    for (int i = 0; i < 4; ++i) std::memcpy(&st.rng.s[i], &rng[i], sizeof rng[i]);
  }
  for (auto v : r.ints("/state/alpha_init", false)) st.alpha_init.push_back(v != 0 ? 1 : 0);
  for (auto v : r.ints("/state/group_perm", false)) st.group_perm.push_back(static_cast<Index>(v));
  for (auto v : r.ints("/state/item_perm", false)) st.item_perm.push_back(static_cast<Index>(v));
  const auto steps = r.ints("/trace/step", true);
  st.trace.resize(steps.size());
  for (size_t k = 0; k < steps.size(); ++k) st.trace[k].step = steps[k];
  for (const TraceColumn& col : kTraceColumns) {
    const auto v = r.reals(std::string("/trace/") + col.name, true);
    if (v.size() != steps.size()) r.fail(std::string("dataset /trace/") + col.name + " has the wrong length");
    for (size_t k = 0; k < v.size(); ++k) st.trace[k].*col.field = v[k];
  }
  const std::string names = r.text("metric_names");
  const auto msteps = r.ints("/trace_metrics/step", false);
  std::vector<std::string> keys;
  for (std::istringstream in(names); std::getline(in, keys.emplace_back());) {
  }
  keys.pop_back();  // the failed getline's empty entry
  c.rows.resize(msteps.size());
  for (size_t k = 0; k < msteps.size(); ++k) c.rows[k].first = msteps[k];
  for (size_t j = 0; j < keys.size(); ++j) {
    const auto v = r.reals("/trace_metrics/" + std::to_string(j), !msteps.empty());
    if (v.size() != msteps.size()) r.fail("dataset /trace_metrics/" + std::to_string(j) + " has the wrong length");
    for (size_t k = 0; k < v.size(); ++k) c.rows[k].second.emplace_back(keys[j], v[k]);
  }
  return c;
}

}  // namespace lsekit
