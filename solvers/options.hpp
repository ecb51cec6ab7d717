// Solver options: the one place that owns every default of lsekit's solvers.
// The command line binds to these fields and its --help text is generated from
// the name tables below, so names and defaults are stated once.
//
// The library names options by these field names, never by command-line flags: a message
// writes a field in backquotes, alone or with a value (`rho`, `batch=64`, `solver=full`).
// The front ends show that as they take the option: Python as its keyword argument (the
// same name), the command line as its flag (--rho, --batch 64, --solver full; one table,
// tools/solver_cli.hpp cli_wording()).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/named_value.hpp"

namespace lsekit {

enum class SolverKind { BiasedSoftmax, VariationalLog, Softplus, SumExp, Erm, Prospect, Full };
enum class OptimizerKind { Sgd, Nesterov, Adam, Lbfgs, Sinkhorn };
enum class ScheduleKind { Constant, InvSqrt, Decay };
enum class SamplingKind { Permutation, Replacement };
enum class VarianceReduction { Auto, None, Svrg, Saga };

inline constexpr std::array<NamedValue<SolverKind>, 7> kSolverNames{{
    {SolverKind::BiasedSoftmax, "biased-softmax", "minibatch softmax (tilted averaging); biased"},
    {SolverKind::VariationalLog, "variational-log", "unbiased, shift alpha, unbounded weights"},
    {SolverKind::Softplus, "softplus", "unbiased for F_rho, shift alpha, weights <= 1/rho"},
    {SolverKind::SumExp, "sumexp", "baseline: minimize lambda*mean exp(l/lambda) (stripped)"},
    {SolverKind::Erm, "erm", "baseline: minimize the plain mean loss"},
    {SolverKind::Prospect, "prospect",
     "comparator: Prospect (Mehta et al., ICLR 2024), exact KL weights over a loss table with "
     "SAGA-style bias and variance reduction (DRO only; its own variance reduction)"},
    {SolverKind::Full, "full", "exact full-batch gradient (L-BFGS by default): the reference"},
}};
inline constexpr std::array<NamedValue<OptimizerKind>, 5> kOptimizerNames{{
    {OptimizerKind::Sgd, "sgd", "plain SGD"},
    {OptimizerKind::Nesterov, "nesterov", "SGD with Nesterov momentum"},
    {OptimizerKind::Adam, "adam", "Adam"},
    {OptimizerKind::Lbfgs, "lbfgs", "L-BFGS on the exact objective (solver full only)"},
    {OptimizerKind::Sinkhorn, "sinkhorn",
     "log-domain Sinkhorn (solver full, entropic OT only; stops on the marginal error)"},
}};
inline constexpr std::array<NamedValue<ScheduleKind>, 3> kScheduleNames{{
    {ScheduleKind::Constant, "constant", "step"},
    {ScheduleKind::InvSqrt, "inv-sqrt", "step / sqrt(k + 1)"},
    {ScheduleKind::Decay, "decay", "step * (1 + k/k0)^(-1/2)"},
}};
inline constexpr std::array<NamedValue<SamplingKind>, 2> kSamplingNames{{
    {SamplingKind::Permutation, "permutation", "a fresh random permutation every epoch"},
    {SamplingKind::Replacement, "replacement", "independent draws with replacement"},
}};

inline constexpr std::array<NamedValue<VarianceReduction>, 4> kVarianceReductionNames{{
    {VarianceReduction::Auto, "auto",
     "saga on DRO and svrg on entropic OT wherever the estimator is unbiased for a finite sum, else none"},
    {VarianceReduction::None, "none", "plain minibatch steps with `optimizer`/`schedule` (paper comparisons)"},
    {VarianceReduction::Svrg, "svrg",
     "SVRG with the shift fixed at its snapshot optimum, importance sampling and a safeguarded "
     "data-derived step (no tuning)"},
    {VarianceReduction::Saga, "saga",
     "SAGA with a table of per-sample derivatives (O(n K) memory), the shift refreshed every "
     "epoch and the same sampling and safeguarded step as svrg (DRO only)"},
}};

/// Options of every solver. Defaults are the documented default step rule:
/// Adam, step 1e-2, (1 + k/k0)^(-1/2) decay with k0 = one epoch, no clipping,
/// softplus rho adapted so that rho * kappa stays at rho_kappa.
struct SolverOptions {
  SolverKind solver = SolverKind::Softplus;
  double rho = 0.0;                // softplus rho in (0,1); 0 = adaptive
  double rho_kappa = 1e-3;         // adaptive rho: keep rho * kappa_hat at this value
  double rho_max = 1e-1;           // adaptive rho: upper bound
  double rho_min = 1e-12;          // adaptive rho: lower bound

  OptimizerKind optimizer = OptimizerKind::Adam;
  double step = 1e-2;
  ScheduleKind schedule = ScheduleKind::Decay;
  double decay_k0 = 0.0;  // k0 of the decay schedule in steps; 0 = one epoch
  double momentum = 0.9;  // nesterov
  double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;
  double clip = 0.0;            // gradient-norm clipping threshold; 0 = off
  bool average = false;         // Polyak (suffix) iterate averaging
  double average_from = 0.5;    // fraction of the run after which iterates are averaged

  long batch = 0;       // items per step (DRO) or source samples per step (OT); 0 = auto:
                        // 1 with variance reduction, 32 without
  long atoms = 0;       // OT: atoms per source sample, drawn from b; 0 = all atoms
  SamplingKind sampling = SamplingKind::Permutation;
  double epochs = 0.0;  // budget in passes over the data; 0 = auto: 1000 with variance
                        // reduction (it stops on `tol` long before), 10 without
  long steps = 0;       // if > 0, overrides epochs
  std::uint64_t seed = 1;

  // Stopping (every solver): the criterion is the certified relative gap gap_bound/max(1,|F|)
  // where a certificate exists, else the relative gradient norm |grad F|/max(1,|F|).
  double tol = 1e-6;          // stop once the criterion is <= tol; 0 = run the whole budget
  double time_limit = 0.0;    // seconds of solver time; 0 = none
  VarianceReduction variance_reduction = VarianceReduction::Auto;
  double vr_step = 0.0;  // saga, prospect: a fixed step size instead of the safeguarded
                        // data-derived one; 0 = data-derived
  double svrg_initial_scale = 1.0;  // SVRG: starting multiple of the data-derived step (the
                                    // safeguard adapts it; tests use it to start far too large)
  bool extrapolate = true;  // saga, prospect with the safeguarded step: end an accepted epoch
                            // at its extrapolated point when lower (solvers/saga.hpp)

  long eval_points = 50;  // exact evaluations along the run (trace rows), >= 2
  double blowup = 1e6;    // diverged if F > F0 + blowup * (1 + |F0|) at a trace row
  long checkpoint_every = 0;  // stochastic runs: Observer::on_checkpoint every N steps; 0 = off

  // Full-batch reference (solver full with optimizer lbfgs, or sinkhorn for OT).
  double gtol = 1e-9;     // stop when |grad F| <= gtol (sinkhorn: marginal error = |grad F|_1)
  long max_iter = 100000; // L-BFGS / Sinkhorn iterations
  int lbfgs_memory = 10;

  /// The defaults for `kind`: those above, except that `full` uses L-BFGS.
  static SolverOptions defaults_for(SolverKind kind) {
    SolverOptions o;
    o.solver = kind;
    if (kind == SolverKind::Full) o.optimizer = OptimizerKind::Lbfgs;
    return o;
  }

  /// The plain minibatch estimator `kind` run for its whole budget: no variance reduction,
  /// tol = 0 (fixed-length studies and paper comparisons, e.g. `compare` grids).
  static SolverOptions plain(SolverKind kind) {
    SolverOptions o = defaults_for(kind);
    o.variance_reduction = VarianceReduction::None;
    o.tol = 0.0;
    return o;
  }

  /// The exact reference used for F* in tests and benchmarks: `full` (L-BFGS) run until
  /// |grad F| <= gtol (tol = 0: no early stop on the relative criterion).
  static SolverOptions reference() {
    SolverOptions o = defaults_for(SolverKind::Full);
    o.tol = 0.0;
    return o;
  }

  /// Whether this run uses variance reduction: `auto` means svrg wherever the estimator's
  /// per-sample terms are unbiased for a finite sum (DRO: every estimator but biased-softmax;
  /// OT: every estimator with all atoms in the batch, atoms = 0).
  bool variance_reduced(bool batch_over_groups) const {
    if (solver == SolverKind::Full || variance_reduction == VarianceReduction::None) return false;
    if (solver == SolverKind::Prospect) return true;  // its own loss and derivative tables
    if (variance_reduction == VarianceReduction::Saga)
      return !batch_over_groups && solver != SolverKind::BiasedSoftmax;
    return batch_over_groups ? atoms == 0 : solver != SolverKind::BiasedSoftmax;
  }

  /// The options with every `auto` value made concrete (batch, epochs, variance reduction).
  SolverOptions resolved(bool batch_over_groups) const {
    SolverOptions o = *this;
    const bool vr = variance_reduced(batch_over_groups);
    if (o.solver != SolverKind::Full)
      o.variance_reduction = !vr ? VarianceReduction::None
                             : o.solver == SolverKind::Prospect || o.variance_reduction == VarianceReduction::Saga
                                 ? VarianceReduction::Saga  // Prospect's tables: SAGA-style
                             : o.variance_reduction == VarianceReduction::Auto && !batch_over_groups
                                 ? VarianceReduction::Saga  // DRO: fewer passes than SVRG (README)
                                 : VarianceReduction::Svrg;
    if (o.batch == 0 && !(vr && batch_over_groups)) o.batch = vr ? 1 : 32;  // OT + SVRG: run_svrg decides
    if (o.epochs == 0.0) o.epochs = vr ? 1000.0 : 10.0;
    return o;
  }

  /// Why `variance_reduction=svrg`, asked for, cannot run here ("" when it can, or when it was
  /// not asked for): the run is refused, never run without variance reduction instead.
  std::string svrg_refusal(bool batch_over_groups) const {
    if (variance_reduction != VarianceReduction::Svrg || solver == SolverKind::Full ||
        solver == SolverKind::Prospect || variance_reduced(batch_over_groups))
      return {};
    return batch_over_groups
               ? "`variance_reduction=svrg` needs every atom in the batch (`atoms=0`) on entropic OT"
               : "`variance_reduction=svrg` needs an estimator unbiased for a finite sum; "
                 "biased-softmax is not (use variational-log or softplus)";
  }

  /// Empty when valid, else a readable reason naming the option by its field name.
  std::string check(long num_items, long num_groups, bool batch_over_groups) const {
    auto bad = [](double v) { return !std::isfinite(v); };
    if (solver == SolverKind::Softplus && rho != 0.0 && !(rho > 0.0 && rho < 1.0))
      return "`rho` must be in (0, 1) (or 0 for the adaptive default), got " + std::to_string(rho);
    if (!(rho_kappa > 0.0) || bad(rho_kappa)) return "`rho_kappa` must be > 0";
    if (!(step > 0.0) || bad(step)) return "`step` must be finite and > 0";
    if (optimizer == OptimizerKind::Lbfgs && solver != SolverKind::Full)
      return "`optimizer=lbfgs` is only available with `solver=full`";
    if (optimizer == OptimizerKind::Sinkhorn && solver != SolverKind::Full)
      return "`optimizer=sinkhorn` is only available with `solver=full`";
    if (optimizer == OptimizerKind::Sinkhorn && !batch_over_groups)
      return "`optimizer=sinkhorn` solves entropic OT only (an lsekit-ot instance), not this "
             "problem; use `optimizer=lbfgs`";
    if (!(momentum >= 0.0 && momentum < 1.0)) return "`momentum` must be in [0, 1)";
    if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0))
      return "Adam betas must be in [0, 1)";
    if (!(clip >= 0.0) || bad(clip)) return "`clip` must be >= 0";
    if (!(average_from >= 0.0 && average_from < 1.0)) return "`average_from` must be in [0, 1)";
    if (!(decay_k0 >= 0.0) || bad(decay_k0)) return "`decay_k0` must be >= 0";
    const long pool = batch_over_groups ? num_groups : num_items;
    if (batch < 0) return "`batch` must be >= 1 (or 0 for the automatic choice)";
    if (solver == SolverKind::Prospect && batch_over_groups)
      return "`solver=prospect` applies to DRO regression and classification (one loss per "
             "training sample), not to entropic OT";
    if (solver == SolverKind::Prospect && (variance_reduction == VarianceReduction::None ||
                                           variance_reduction == VarianceReduction::Svrg))
      return "`solver=prospect` carries its own SAGA-style variance reduction (loss and derivative "
             "tables); use `variance_reduction=auto` or `variance_reduction=saga`";
    if (variance_reduction == VarianceReduction::Saga && solver != SolverKind::Full && batch_over_groups)
      return "`variance_reduction=saga` is not available on entropic OT: its table of per-sample "
             "derivatives would hold n x m values (one per source sample and atom); use "
             "`variance_reduction=svrg`";
    if (variance_reduction == VarianceReduction::Saga && solver == SolverKind::BiasedSoftmax)
      return "`variance_reduction=saga` needs an estimator unbiased for a finite sum; "
             "biased-softmax is not (use variational-log or softplus)";
    if (!(vr_step >= 0.0) || bad(vr_step)) return "`vr_step` must be finite and >= 0 (0 = the data-derived step)";
    if (std::string why = svrg_refusal(batch_over_groups); !why.empty()) return why;
    if (batch > pool)
      return "`batch=" + std::to_string(batch) + "` exceeds the " + std::to_string(pool) +
             (batch_over_groups ? " source samples" : " training samples") + " of the problem";
    if (atoms < 0) return "`atoms` must be >= 0";
    if (steps < 0) return "`steps` must be >= 0";
    if (steps == 0 && !(epochs >= 0.0 && std::isfinite(epochs)))
      return "`epochs` must be > 0 (or 0 for the automatic budget)";
    if (eval_points < 2) return "`eval_points` must be >= 2";
    if (!(blowup > 0.0)) return "`blowup` must be > 0";
    if (checkpoint_every < 0) return "`checkpoint_every` must be >= 0";
    if (checkpoint_every > 0 && solver == SolverKind::Full)
      return "`checkpoint_every` applies to the stochastic solvers, not to `solver=full`";
    if (!(gtol > 0.0)) return "`gtol` must be > 0";
    if (!(tol >= 0.0) || bad(tol)) return "`tol` must be finite and >= 0";
    if (!(time_limit >= 0.0) || bad(time_limit)) return "`time_limit` must be finite and >= 0";
    if (max_iter < 1) return "`max_iter` must be >= 1";
    if (lbfgs_memory < 1) return "`lbfgs_memory` must be >= 1";
    return {};
  }
};

}  // namespace lsekit
