#include "data/checkpoint.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <type_traits>
#include <variant>

#include "core/errors.hpp"
#include "data/h5doc.hpp"

namespace lsekit {

namespace {

constexpr const char* kFormat = "lsekit-checkpoint";
constexpr std::int64_t kVersion = 5;
// Version 2 (before variance-reduced checkpoints) had no `loop` attribute and only the plain
// loop's fields: it is read as a plain-loop state. Version 3 had no `gate_prev_bound` /
// `gate_prev_work` / `gate_last_cost` / `gate_offset` (the certificate gate's second-last certificate, the last
// one's cost, the bound the certificates give at any F): read as none. Version 4 had no
// `gate_cert_f` / `gate_prev_cert_f` / `gate_prev_cost` (F at the gate's last two certificates,
// the second-last one's cost) nor the table runs' `extrapolated`: read as none.
constexpr std::int64_t kOldestVersion = 2;

std::string attr_text(const AttrValue& v) {
  if (const auto* d = std::get_if<double>(&v)) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", *d);
    return b;
  }
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

// Where each kind of SolverState field (solvers/result.hpp, kStateFields) is stored:
//   long, double     root attribute <name> (int64, float64)
//   Vec              dataset /state/<name> (float64)
//   index vectors    dataset /state/<name> (int64): alpha_init (0/1), group_perm, item_perm
//   Rng              dataset /state/<name> (4 int64, the bit patterns of the xoshiro words)
//                    and root attributes <name>_has_spare (0/1), <name>_spare (float64)
//   Mat              dataset /state/<name> (float64, shape (cols, rows): column j of the
//                    matrix is row j, so a per-item table has one item per row)
//   trace rows       /<name>/step (int64) and /<name>/<column> for kTraceColumns (float64)
// Only the fields of the loop that wrote the state (root attribute `loop`, StateLoop; the
// field's `loops` in kStateFields) are written and read. Vectors and matrices that are empty
// are not written (a shift-free solver has no shifts, sampling with replacement no
// permutation, SVRG on OT no per-item table) and read back as empty; only the
// parameter-sized ones (StateExtent::Dim) are required.

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
  // A 2-d float64 dataset of shape (cols, rows) as a rows x cols matrix; empty when absent.
  Mat matrix(const std::string& path) const {
    const Array* a = find(path);
    if (!a) return {};
    if (a->is_int() || a->shape.size() != 2) fail("dataset " + path + " must be a 2-d float64 array");
    const auto& x = std::get<std::vector<double>>(a->data);
    const auto rows = static_cast<Index>(a->shape[1]), cols = static_cast<Index>(a->shape[0]);
    return Eigen::Map<const Mat>(x.data(), rows, cols);
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
  doc.set_attr("/", "format", std::string(kFormat));
  doc.set_attr("/", "format_version", kVersion);
  doc.set_attr("/", "fingerprint", c.fingerprint);
  for (const StateField& f : kStateFields) {
    if (!state_field_used(f, st.loop)) continue;
    const std::string name = f.name, dataset = "/state/" + name;
    std::visit(
        [&](auto m) {
          const auto& v = st.*m;
          using T = std::remove_cvref_t<decltype(v)>;
          if constexpr (std::is_same_v<T, long>) {
            doc.set_attr("/", name, static_cast<std::int64_t>(v));
          } else if constexpr (std::is_same_v<T, double>) {
            doc.set_attr("/", name, v);
          } else if constexpr (std::is_same_v<T, Vec>) {
            if (v.size() > 0) doc.set(dataset, Array::vector(v));
          } else if constexpr (std::is_same_v<T, Mat>) {
            // column-major rows x cols = row-major (cols, rows): the values in memory order
            if (v.size() > 0)
              doc.set(dataset, Array{{static_cast<std::uint64_t>(v.cols()), static_cast<std::uint64_t>(v.rows())},
                                     std::vector<double>(v.data(), v.data() + v.size())});
          } else if constexpr (std::is_same_v<T, std::vector<char>> || std::is_same_v<T, std::vector<Index>>) {
            if (!v.empty()) doc.set(dataset, Array{{v.size()}, std::vector<std::int64_t>(v.begin(), v.end())});
          } else if constexpr (std::is_same_v<T, Rng>) {
            const Rng::State rs = v.state();
            std::vector<std::int64_t> words(4);
            for (int i = 0; i < 4; ++i) std::memcpy(&words[i], &rs.s[i], sizeof words[i]);  // bit pattern
            doc.set(dataset, Array{{4}, words});
            doc.set_attr("/", name + "_has_spare", std::int64_t{rs.has_spare ? 1 : 0});
            doc.set_attr("/", name + "_spare", rs.spare);
          } else {
            static_assert(std::is_same_v<T, std::vector<TracePoint>>);
            const size_t n = v.size();
            std::vector<std::int64_t> steps(n);
            for (size_t k = 0; k < n; ++k) steps[k] = v[k].step;
            doc.set("/" + name + "/step", Array{{n}, steps});
            for (const TraceColumn& col : kTraceColumns) {
              std::vector<double> x(n);
              for (size_t k = 0; k < n; ++k) x[k] = v[k].*col.field;
              doc.set("/" + name + "/" + col.name, Array::vector(x));
            }
          }
        },
        f.member);
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
  const std::int64_t version = r.integer("format_version");
  if (version < kOldestVersion || version > kVersion)
    r.fail("format_version " + std::to_string(version) + " is not supported (" +
           std::to_string(kOldestVersion) + " to " + std::to_string(kVersion) + ")");
  Checkpoint c;
  c.fingerprint = r.text("fingerprint");
  SolverState& st = c.state;
  // The loop first: it says which fields the file holds.
  st.loop = version >= 3 ? r.integer("loop") : static_cast<long>(StateLoop::Plain);
  if (st.loop < 0 || st.loop > static_cast<long>(StateLoop::Prospect))
    r.fail("root attribute 'loop' = " + std::to_string(st.loop) + " names no solver loop");
  for (const StateField& f : kStateFields) {
    if (!state_field_used(f, st.loop) || f.member == StateMember(&SolverState::loop)) continue;
    if (version < 4 && (f.member == StateMember(&SolverState::gate_prev_bound) ||
                        f.member == StateMember(&SolverState::gate_prev_work) ||
                        f.member == StateMember(&SolverState::gate_last_cost) ||
                        f.member == StateMember(&SolverState::gate_offset)))
      continue;
    if (version < 5 && (f.member == StateMember(&SolverState::gate_cert_f) ||
                        f.member == StateMember(&SolverState::gate_prev_cert_f) ||
                        f.member == StateMember(&SolverState::gate_prev_cost) ||
                        f.member == StateMember(&SolverState::extrapolated)))
      continue;
    const std::string name = f.name, dataset = "/state/" + name;
    std::visit(
        [&](auto m) {
          auto& v = st.*m;
          using T = std::remove_cvref_t<decltype(v)>;
          if constexpr (std::is_same_v<T, long>) {
            v = r.integer(name);
          } else if constexpr (std::is_same_v<T, double>) {
            v = r.real(name);
          } else if constexpr (std::is_same_v<T, Vec>) {
            const std::vector<double> x = r.reals(dataset, f.extent == StateExtent::Dim);
            v = Eigen::Map<const Vec>(x.data(), static_cast<Index>(x.size()));
          } else if constexpr (std::is_same_v<T, Mat>) {
            v = r.matrix(dataset);
          } else if constexpr (std::is_same_v<T, std::vector<char>>) {
            for (auto x : r.ints(dataset, false)) v.push_back(x != 0 ? 1 : 0);
          } else if constexpr (std::is_same_v<T, std::vector<Index>>) {
            for (auto x : r.ints(dataset, false)) v.push_back(static_cast<Index>(x));
          } else if constexpr (std::is_same_v<T, Rng>) {
            const auto words = r.ints(dataset, true);
            if (words.size() != 4) r.fail("dataset " + dataset + " must hold 4 integers");
            Rng::State rs;
            for (int i = 0; i < 4; ++i) std::memcpy(&rs.s[i], &words[i], sizeof words[i]);
            rs.has_spare = r.integer(name + "_has_spare") != 0;
            rs.spare = r.real(name + "_spare");
            v.set_state(rs);
          } else {
            static_assert(std::is_same_v<T, std::vector<TracePoint>>);
            const auto steps = r.ints("/" + name + "/step", true);
            v.resize(steps.size());
            for (size_t k = 0; k < steps.size(); ++k) v[k].step = steps[k];
            for (const TraceColumn& col : kTraceColumns) {
              const std::string ds = "/" + name + "/" + col.name;
              const auto x = r.reals(ds, true);
              if (x.size() != steps.size()) r.fail("dataset " + ds + " has the wrong length");
              for (size_t k = 0; k < x.size(); ++k) v[k].*col.field = x[k];
            }
          }
        },
        f.member);
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
