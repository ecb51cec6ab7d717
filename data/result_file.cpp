#include "data/result_file.hpp"

#include <cmath>
#include <ctime>

namespace lsekit {

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void add_run_attributes(H5Doc& doc, const std::string& obj, const SolverOptions& o,
                        const Result& r, const RunInfo& info) {
  auto s = [&](const char* k, std::string v) { doc.set_attr(obj, k, std::move(v)); };
  auto d = [&](const char* k, double v) { doc.set_attr(obj, k, v); };
  auto i = [&](const char* k, long v) { doc.set_attr(obj, k, static_cast<std::int64_t>(v)); };
  s("command_line", info.command_line);
  s("created", now_iso8601());
  s("problem", info.problem);
  s("solver", name_of(kSolverNames, o.solver));
  s("optimizer", name_of(kOptimizerNames, o.optimizer));
  s("schedule", name_of(kScheduleNames, o.schedule));
  s("sampling", name_of(kSamplingNames, o.sampling));
  d(info.temperature_name.c_str(), info.temperature);
  d("l2", info.l2);
  s("init", info.init);
  d("rho", o.solver == SolverKind::Softplus ? r.rho : o.rho);
  d("rho_option", o.rho);
  d("rho_kappa", o.rho_kappa);
  d("step", o.step);
  i("batch", o.batch);
  i("atoms", o.atoms);
  i("seed", static_cast<long>(o.seed));
  i("threads", info.threads);
  s("input_path", info.input_path);
  d("decay_k0", o.decay_k0);
  d("momentum", o.momentum);
  d("beta1", o.beta1);
  d("beta2", o.beta2);
  d("adam_eps", o.adam_eps);
  d("clip", o.clip);
  i("average", o.average ? 1 : 0);
  d("average_from", o.average_from);
  d("epochs", o.epochs);
  i("steps", o.steps);
  i("eval_points", o.eval_points);
  d("blowup", o.blowup);
  d("gtol", o.gtol);
  i("max_iter", o.max_iter);
  i("lbfgs_memory", o.lbfgs_memory);
  d("tol", o.tol);
  d("time_limit", o.time_limit);
  s("variance_reduction", name_of(kVarianceReductionNames, o.variance_reduction));
  d("vr_step", o.vr_step);
  // outcome
  s("status", status_name(r.status));
  s("message", r.message);
  i("steps_done", r.steps);
  d("epochs_done", r.epochs);
  d("time_s", r.time_s);
  d("passes", r.passes);
  d("objective", r.objective);
  d("criterion", r.criterion);
  d("kappa", r.kappa);
  i("fail_step", r.fail_step);
}

void add_trace_and_metrics(H5Doc& doc, const std::string& prefix, const Result& r,
                           const std::vector<TraceMetrics>& rows, const Metrics& final_metrics) {
  const size_t n = r.trace.size();
  auto column = [&](const std::string& name, auto get) {
    std::vector<double> v(n);
    for (size_t k = 0; k < n; ++k) v[k] = get(r.trace[k]);
    doc.set(prefix + "/trace/" + name, Array::vector(v));
  };
  {
    std::vector<std::int64_t> st(n);
    for (size_t k = 0; k < n; ++k) st[k] = r.trace[k].step;
    doc.set(prefix + "/trace/step", Array{{n}, st});
  }
  for (const TraceColumn& c : kTraceColumns)
    column(c.name, [&](const TracePoint& t) { return t.*c.field; });
  // Problem metrics: one column per name. A row is matched by its step, taking the
  // last one recorded (a blown-up row is replaced by the healthy iterate's row).
  if (!rows.empty()) {
    std::vector<const Metrics*> match(n, nullptr);
    for (size_t k = 0; k < n; ++k)
      for (const auto& [step, m] : rows)
        if (step == r.trace[k].step) match[k] = &m;
    const Metrics& names = rows.front().second;
    for (size_t j = 0; j < names.size(); ++j) {
      std::vector<double> v(n, std::nan(""));
      for (size_t k = 0; k < n; ++k)
        if (match[k] && j < match[k]->size()) v[k] = (*match[k])[j].second;
      doc.set(prefix + "/trace/" + names[j].first, Array::vector(v));
    }
  }
  const std::string m = prefix + "/metrics";
  doc.set_attr(m, "objective", r.objective);
  doc.set_attr(m, "kappa", r.kappa);
  doc.set_attr(m, "grad_norm", r.grad_norm);
  doc.set_attr(m, "gap_bound", r.gap_bound);
  doc.set_attr(m, "marginal_error", r.marginal_error);
  doc.set_attr(m, "criterion", r.criterion);
  doc.set_attr(m, "certified", static_cast<std::int64_t>(r.certified ? 1 : 0));
  doc.set_attr(m, "passes", r.passes);
  doc.set_attr(m, "eval_passes", r.eval_passes);
  doc.set_attr(m, "time_s", r.time_s);
  doc.set_attr(m, "eval_time_s", r.eval_time_s);
  for (const auto& [k, v] : final_metrics) doc.set_attr(m, k, v);
}

}  // namespace lsekit
