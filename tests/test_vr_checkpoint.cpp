// Checkpoints of the variance-reduced runs (solvers/svrg.hpp, solvers/saga.hpp): SVRG on DRO
// (stored derivatives; erm: the surrogate's own anchor pass) and on entropic OT (preconditioned,
// two evaluations per sample), SAGA and Prospect on DRO regression and classification.
//  * A run with checkpoints is bitwise the run without; resuming from its first, a middle or
//    its last checkpoint ends bitwise identical (theta, shifts, every trace column but the
//    wall-clock time, passes, status, message), with the same later checkpoints.
//  * An epoch interrupted by the observer hands out the state at its start; resuming it ends
//    identical too.
//  * A checkpoint file holds every field of its loop bit for bit and resumes identically.
//  * A state of another loop, problem or estimator is refused naming the difference; version 2
//    files (the plain loop's, before variance-reduced checkpoints) are still read, other
//    versions are refused naming the file.
// Rejected epochs (safeguard: a start 8x the data-derived step), the certificate gate
// (tol > 0) and a fixed step (--vr-step) are all crossed by some checkpoint.
#include <array>
#include <catch2/catch.hpp>

#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "data/checkpoint.hpp"
#include "data/generators.hpp"
#include "data/h5doc.hpp"
#include "data/ot_generator.hpp"
#include "problems/dro_classification.hpp"
#include "problems/semidiscrete_ot.hpp"
#include "solvers/instances.hpp"
#include "state_bits.hpp"
#include "test_support.hpp"

using namespace lsekit;
using namespace lsekit::test;
using Catch::Matchers::Contains;

namespace {

struct Serial {
  int saved = omp_get_max_threads();
  Serial() { omp_set_num_threads(1); }
  ~Serial() { omp_set_num_threads(saved); }
};

// Keeps every checkpoint handed out; optionally interrupts at the `stop_at`-th poll.
struct Collector : Observer {
  std::vector<SolverState> states;
  long polls = 0, stop_at = 0;
  void on_checkpoint(const SolverState& st) override { states.push_back(st); }
  bool interrupted() override { return stop_at > 0 && ++polls >= stop_at; }
};

using test::same_bits;

// Bitwise the same run: everything but wall-clock times.
void require_identical(const Result& a, const Result& b) {
  CHECK(status_name(a.status) == std::string(status_name(b.status)));
  CHECK(a.message == b.message);
  CHECK(a.steps == b.steps);
  CHECK(same_bits(a.passes, b.passes));
  CHECK(same_bits(a.theta, b.theta));
  CHECK(same_bits(a.alpha, b.alpha));
  CHECK(same_bits(a.rho, b.rho));
  CHECK(same_bits(a.objective, b.objective));
  CHECK(same_bits(a.gap_bound, b.gap_bound));
  CHECK(same_bits(a.criterion, b.criterion));
  REQUIRE(a.trace.size() == b.trace.size());
  for (size_t k = 0; k < a.trace.size(); ++k) {
    INFO("trace row " << k);
    CHECK(a.trace[k].step == b.trace[k].step);
    for (const TraceColumn& c : kTraceColumns)
      if (std::string(c.name) != "time_s") CHECK(same_bits(a.trace[k].*c.field, b.trace[k].*c.field));
  }
}

std::string temp_path(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("lsekit-test-vr-checkpoint-" + tag + "-" + std::to_string(::getpid()) + ".h5"))
      .string();
}

// The checks of the header for one problem and options (checkpoint_every set by the caller).
// Returns the checkpoints of the uninterrupted run.
template <class P>
std::vector<SolverState> check_resumes(const P& p, const SolverOptions& o, long loop) {
  Collector col;
  const Result whole = solve(p, o, &col);
  INFO(whole.brief_report() << "; " << whole.message);
  REQUIRE(whole.trace.size() >= 2);
  REQUIRE(col.states.size() >= 3);
  for (const SolverState& st : col.states) CHECK(st.loop == loop);
  {
    INFO("the same run without checkpoints");
    SolverOptions o0 = o;
    o0.checkpoint_every = 0;
    require_identical(whole, solve(p, o0));
  }
  const size_t mid = col.states.size() / 2;
  for (size_t c : {size_t{0}, mid, col.states.size() - 1}) {
    INFO("resumed from checkpoint " << c << " of " << col.states.size() << " (step "
                                    << col.states[c].step << ")");
    Collector later;
    require_identical(whole, solve(p, o, &later, nullptr, &col.states[c]));
    REQUIRE(later.states.size() == col.states.size() - c - 1);
    for (size_t k = 0; k < later.states.size(); ++k) CHECK(later.states[k].step == col.states[c + 1 + k].step);
    SolverOptions o0 = o;
    o0.checkpoint_every = 0;
    require_identical(whole, solve(p, o0, nullptr, nullptr, &col.states[c]));
  }
  {
    INFO("through a checkpoint file");
    const std::string path = temp_path("file");
    const SolverState& st = col.states[mid];
    write_checkpoint(path, Checkpoint{"run", st, {}});
    const Checkpoint back = read_checkpoint(path);
    std::filesystem::remove(path);
    CHECK(back.state.loop == loop);
    for (const StateField& f : kStateFields) {
      if (!state_field_used(f, loop)) continue;
      INFO(f.name);
      CHECK(state_field_shape(back.state, f) == state_field_shape(st, f));
      CHECK(std::visit([&](auto m) { return same_bits(st.*m, back.state.*m); }, f.member));
    }
    require_identical(whole, solve(p, o, nullptr, nullptr, &back.state));
  }
  {
    INFO("interrupted in the middle of an epoch");
    Collector stop;
    stop.stop_at = 7;  // polled every 64 steps
    const Result cut = solve(p, o, &stop);
    CHECK(cut.status == Status::Interrupted);
    REQUIRE_FALSE(stop.states.empty());
    const SolverState& st = stop.states.back();
    CHECK(st.step < cut.steps);  // the start of the interrupted epoch
    require_identical(whole, solve(p, o, nullptr, nullptr, &st));
  }
  return col.states;
}

// (The problems keep references to their data: both live as long as the test binary.)
const DroClassification& small_classification() {
  static const Dataset d = [] {
    ClassificationGenOptions g;
    g.n = 240, g.p = 6, g.num_classes = 3, g.label_noise = 0.1, g.seed = 5;
    return generate_classification(g);
  }();
  static const DroClassification p(d.train.x, d.train.labels, 3, 1.0, 1e-3);
  return p;
}

const SemiDiscreteOt& small_ot() {
  static const OtInstance inst = [] {
    OtGenOptions g;
    g.n = 200, g.n_test = 0, g.m = 12, g.d = 2, g.epsilon = 0.1, g.seed = 3;
    return generate_ot(g);
  }();
  static const SemiDiscreteOt p(inst.x, inst.y, inst.b, 0.1);
  return p;
}

SolverOptions vr_options(SolverKind kind, VarianceReduction v) {
  SolverOptions o = SolverOptions::defaults_for(kind);
  o.variance_reduction = v;
  o.tol = 1e-12;  // the certificate gate runs; the budget ends the run
  o.epochs = 60;
  o.checkpoint_every = 700;  // about every second epoch of 2n = 400 steps
  o.seed = 11;
  return o;
}

long rejected_somewhere(const std::vector<SolverState>& states) {
  long r = 0;
  for (const SolverState& st : states) r = std::max(r, st.rejected);
  return r;
}

}  // namespace

TEST_CASE("SVRG on DRO resumes from a checkpoint bitwise identical to the uninterrupted run",
          "[checkpoint][svrg]") {
  Serial serial;
  const DroRegression reg = make_regression(200, 4, 15, 1.0, 1e-3);
  const auto loop = static_cast<long>(StateLoop::Svrg);
  long rejected = 0;
  for (SolverKind kind : {SolverKind::Softplus, SolverKind::VariationalLog, SolverKind::Erm}) {
    INFO(name_of(kSolverNames, kind));
    SolverOptions o = vr_options(kind, VarianceReduction::Svrg);
    // Early epochs rejected: the kept snapshot comes back. (erm's steps follow the mean loss,
    // along which F may rise: its own start.)
    if (kind != SolverKind::Erm) o.svrg_initial_scale = 8.0;
    rejected = std::max(rejected, rejected_somewhere(check_resumes(reg, o, loop)));
  }
  CHECK(rejected > 0);
  INFO("DRO classification, a batch of 5");
  SolverOptions o = vr_options(SolverKind::Softplus, VarianceReduction::Svrg);
  o.batch = 5;
  o.checkpoint_every = 150;
  check_resumes(small_classification(), o, loop);
}

TEST_CASE("SVRG on entropic OT resumes from a checkpoint bitwise identical to the uninterrupted run",
          "[checkpoint][svrg][ot]") {
  Serial serial;
  const SemiDiscreteOt& ot = small_ot();
  for (SolverKind kind : {SolverKind::Softplus, SolverKind::SumExp}) {
    INFO(name_of(kSolverNames, kind));
    SolverOptions o = vr_options(kind, VarianceReduction::Svrg);
    // One source sample per step: epochs of N/2 = 100 preconditioned steps (the automatic
    // batch of m samples makes 8-step epochs, below the 64 steps between interrupt polls).
    o.batch = 1;
    o.checkpoint_every = 150;
    if (kind == SolverKind::Softplus) o.svrg_initial_scale = 4.0;
    const auto states = check_resumes(ot, o, static_cast<long>(StateLoop::Svrg));
    if (kind == SolverKind::Softplus) CHECK(states.back().precond.rows() == ot.dim());  // preconditioned
  }
}

TEST_CASE("SAGA and Prospect resume from a checkpoint bitwise identical to the uninterrupted run",
          "[checkpoint][saga][prospect]") {
  Serial serial;
  const DroRegression reg = make_regression(200, 4, 15, 1.0, 1e-3);
  long rejected = 0;
  for (SolverKind kind : {SolverKind::Softplus, SolverKind::VariationalLog, SolverKind::Erm}) {
    INFO("SAGA " << name_of(kSolverNames, kind));
    SolverOptions o = vr_options(kind, VarianceReduction::Saga);
    if (kind != SolverKind::Erm) o.svrg_initial_scale = 8.0;
    const auto states = check_resumes(reg, o, static_cast<long>(StateLoop::Saga));
    rejected = std::max(rejected, rejected_somewhere(states));
    CHECK(states.back().table.cols() == reg.num_items());
  }
  SolverOptions o = vr_options(SolverKind::Prospect, VarianceReduction::Auto);
  o.svrg_initial_scale = 8.0;
  rejected = std::max(rejected, rejected_somewhere(check_resumes(reg, o, static_cast<long>(StateLoop::Prospect))));
  CHECK(rejected > 0);
  {
    INFO("Prospect with a fixed step (the best measured iterate is state)");
    SolverOptions f = vr_options(SolverKind::Prospect, VarianceReduction::Auto);
    f.vr_step = 1e-4;
    check_resumes(reg, f, static_cast<long>(StateLoop::Prospect));
  }
  {
    INFO("SAGA on DRO classification, a batch of 3 (a table of 3 numbers per sample)");
    SolverOptions c = vr_options(SolverKind::Softplus, VarianceReduction::Saga);
    c.batch = 3;
    c.checkpoint_every = 250;
    const auto states = check_resumes(small_classification(), c, static_cast<long>(StateLoop::Saga));
    CHECK(states.back().table.rows() == 3);
    CHECK(states.back().extrapolated > 0);  // resumed across epochs that ended extrapolated
  }
}

TEST_CASE("a variance-reduced checkpoint of another run is refused naming the difference",
          "[checkpoint][svrg][saga]") {
  Serial serial;
  const DroRegression reg = make_regression(200, 4, 15, 1.0, 1e-3);
  const DroRegression wider = make_regression(200, 5, 15, 1.0, 1e-3);
  const DroRegression fewer = make_regression(150, 4, 15, 1.0, 1e-3);
  auto states_of = [&](const SolverOptions& o) {
    Collector col;
    (void)solve(reg, o, &col);
    REQUIRE_FALSE(col.states.empty());
    return col.states.front();
  };
  const SolverOptions svrg = vr_options(SolverKind::Softplus, VarianceReduction::Svrg);
  const SolverOptions saga = vr_options(SolverKind::Softplus, VarianceReduction::Saga);
  SolverOptions plain = SolverOptions::plain(SolverKind::Softplus);
  plain.checkpoint_every = 10;  // of 63 steps
  const SolverState s_svrg = states_of(svrg), s_saga = states_of(saga), s_plain = states_of(plain);
  CHECK_THROWS_WITH(solve(reg, saga, nullptr, nullptr, &s_svrg), Contains("written by a SVRG run, this is a SAGA run"));
  CHECK_THROWS_WITH(solve(reg, svrg, nullptr, nullptr, &s_saga), Contains("written by a SAGA run, this is a SVRG run"));
  CHECK_THROWS_WITH(solve(reg, plain, nullptr, nullptr, &s_svrg), Contains("written by a SVRG run"));
  CHECK_THROWS_WITH(solve(reg, svrg, nullptr, nullptr, &s_plain), Contains("written by a plain stochastic run"));
  CHECK_THROWS_WITH(solve(wider, svrg, nullptr, nullptr, &s_svrg), Contains("parameter dimension differs"));
  CHECK_THROWS_WITH(solve(fewer, saga, nullptr, nullptr, &s_saga), Contains("number of sampled terms differs"));
  // Another estimator: variational-log has no softplus rho but the same shapes; SumExp has no
  // shift at all.
  SolverOptions sumexp = saga;
  sumexp.solver = SolverKind::SumExp;
  CHECK_THROWS_WITH(solve(reg, sumexp, nullptr, nullptr, &s_saga), Contains("number of shifts differs"));
}

TEST_CASE("checkpoint files: versions 2 (plain loop) and 3 still read, others refused with the file named",
          "[checkpoint]") {
  Serial serial;
  const DroRegression reg = make_regression(200, 4, 15, 1.0, 1e-3);
  SolverOptions o = SolverOptions::plain(SolverKind::Softplus);
  o.epochs = 3;
  o.checkpoint_every = 5;  // of 19 steps
  Collector col;
  const Result whole = solve(reg, o, &col);
  REQUIRE(col.states.size() >= 2);
  const std::string path = temp_path("v2");
  write_checkpoint(path, Checkpoint{"run", col.states[1], {}});
  H5Doc doc = read_h5doc(path);
  CHECK(std::get<std::int64_t>(doc.attrs["/"]["format_version"]) == 5);
  CHECK(std::get<std::int64_t>(doc.attrs["/"]["loop"]) == 0);
  CHECK(doc.datasets.count("/state/table") == 0);  // only the plain loop's fields
  // As the previous version wrote it: no `loop`, format_version 2.
  doc.attrs["/"].erase("loop");
  doc.attrs["/"]["format_version"] = std::int64_t{2};
  write_h5doc(path, doc, true);
  const Checkpoint v2 = read_checkpoint(path);
  CHECK(v2.state.loop == 0);
  require_identical(whole, solve(reg, o, nullptr, nullptr, &v2.state));
  doc.attrs["/"]["format_version"] = std::int64_t{1};
  write_h5doc(path, doc, true);
  CHECK_THROWS_WITH(read_checkpoint(path), Contains(path) && Contains("format_version 1 is not supported"));
  // A variance-reduced file without its table: refused naming the field.
  Collector vc;
  const SolverOptions s = vr_options(SolverKind::Softplus, VarianceReduction::Saga);
  (void)solve(reg, s, &vc);
  REQUIRE_FALSE(vc.states.empty());
  write_checkpoint(path, Checkpoint{"run", vc.states[0], {}});
  doc = read_h5doc(path);
  CHECK(doc.datasets.count("/state/table") == 1);
  CHECK(doc.datasets.at("/state/table").shape == std::vector<std::uint64_t>{200, 1});  // one row per item
  doc.datasets.erase("/state/table");
  write_h5doc(path, doc, true);
  const Checkpoint no_table = read_checkpoint(path);
  CHECK_THROWS_WITH(solve(reg, s, nullptr, nullptr, &no_table.state), Contains("per-item table differs (table has 0"));
  doc.attrs["/"]["loop"] = std::int64_t{9};
  write_h5doc(path, doc, true);
  CHECK_THROWS_WITH(read_checkpoint(path), Contains(path) && Contains("'loop'"));
  // Version 4 had no F at the gate's certificates nor SAGA's extrapolation: read as none.
  constexpr std::array<const char*, 4> kV5 = {"gate_cert_f", "gate_prev_cert_f", "gate_prev_cost", "extrapolated"};
  write_checkpoint(path, Checkpoint{"run", vc.states[0], {}});
  doc = read_h5doc(path);
  for (const char* a : kV5) {
    INFO(a);
    CHECK(doc.attrs["/"].erase(a) == 1);
  }
  doc.attrs["/"]["format_version"] = std::int64_t{4};
  write_h5doc(path, doc, true);
  const Checkpoint v4 = read_checkpoint(path);
  CHECK(std::isnan(v4.state.gate_cert_f));
  CHECK(std::isnan(v4.state.gate_prev_cost));
  CHECK(v4.state.extrapolated == 0);
  CHECK(v4.state.step_scale == vc.states[0].step_scale);
  // Version 3 had no gate's second-last certificate, last cost and offset either: read as none.
  for (const char* a : {"gate_prev_bound", "gate_prev_work", "gate_last_cost", "gate_offset"}) {
    INFO(a);
    CHECK(doc.attrs["/"].erase(a) == 1);
  }
  doc.attrs["/"]["format_version"] = std::int64_t{3};
  write_h5doc(path, doc, true);
  const Checkpoint v3 = read_checkpoint(path);
  CHECK(v3.state.extrapolated == 0);
  CHECK(std::isinf(v3.state.gate_offset));
  CHECK(std::isnan(v3.state.gate_last_cost));
  CHECK(v3.state.step_scale == vc.states[0].step_scale);
  std::filesystem::remove(path);
}
