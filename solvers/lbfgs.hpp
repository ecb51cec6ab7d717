// L-BFGS with a strong-Wolfe line search: the deterministic full-batch reference
// of lsekit (solver `full`), in the style of LBFGS++ (yixuan/LBFGSpp).
//
// minimize f(x) given `f(x, grad) -> value` (grad written into the out-parameter).
// Two-loop recursion with m pairs (Nocedal & Wright, Numerical Optimization, 2nd
// ed., Alg. 7.4) and the bracketing/zoom line search of Alg. 3.5-3.6 with cubic
// interpolation. Near the optimum, where f can no longer decrease by more than
// rounding, the sufficient-decrease test uses the approximate Wolfe condition of
// Hager & Zhang (2005): f(x + a p) <= f(x) + eps_f |f(x)| together with the curvature
// condition, so the gradient can still be driven to ~1e-9 and below.
// Allocates its history in setup only.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/types.hpp"

namespace lsekit {

struct LbfgsParam {
  int m = 10;              // history size
  double gtol = 1e-9;      // stop when |grad|_2 <= gtol
  long max_iter = 100000;  // iterations
  int max_linesearch = 60;
  double c1 = 1e-4, c2 = 0.9;
  double eps_f = 1e-14;    // approximate-Wolfe tolerance (relative)
};

enum class LbfgsStatus { Converged, MaxIter, LineSearchFailed, NonFinite };

struct LbfgsReport {
  LbfgsStatus status = LbfgsStatus::MaxIter;
  long iterations = 0;
  long evaluations = 0;
  double value = 0.0;
  double grad_norm = 0.0;
};

/// In/out x: start point, then the minimizer. `callback(iter, x, fx, gnorm)` is
/// called after every iteration and returns false to stop.
template <class F, class Callback>
LbfgsReport lbfgs_minimize(F&& f, Vec& x, const LbfgsParam& par, Callback&& callback) {
  const Index n = x.size();
  std::vector<Vec> s_hist(par.m, Vec(n)), y_hist(par.m, Vec(n));
  std::vector<double> rho_hist(par.m), alpha_hist(par.m);
  Vec g(n), d(n), x_new(n), g_new(n);
  LbfgsReport rep;
  double fx = f(x, g);
  rep.evaluations = 1;
  int stored = 0, head = 0;
  for (;;) {
    rep.value = fx;
    rep.grad_norm = g.norm();
    if (!std::isfinite(fx) || !g.allFinite()) {
      rep.status = LbfgsStatus::NonFinite;
      return rep;
    }
    if (rep.grad_norm <= par.gtol) {
      rep.status = LbfgsStatus::Converged;
      return rep;
    }
    if (rep.iterations >= par.max_iter) {
      rep.status = LbfgsStatus::MaxIter;
      return rep;
    }
    // Two-loop recursion: d = -H g.
    d = -g;
    for (int j = 0; j < stored; ++j) {
      const int i = (head - 1 - j + par.m) % par.m;
      alpha_hist[i] = rho_hist[i] * s_hist[i].dot(d);
      d -= alpha_hist[i] * y_hist[i];
    }
    if (stored > 0) {
      const int last = (head - 1 + par.m) % par.m;
      d *= s_hist[last].dot(y_hist[last]) / y_hist[last].squaredNorm();
    } else {
      d /= std::max(1.0, g.norm());
    }
    for (int j = stored - 1; j >= 0; --j) {
      const int i = (head - 1 - j + par.m) % par.m;
      const double beta = rho_hist[i] * y_hist[i].dot(d);
      d += (alpha_hist[i] - beta) * s_hist[i];
    }
    double dg0 = g.dot(d);
    if (!(dg0 < 0.0)) {  // not a descent direction: restart from steepest descent
      d = -g / std::max(1.0, g.norm());
      dg0 = g.dot(d);
      stored = 0;
    }

    // Strong-Wolfe line search (bracketing + zoom with cubic interpolation).
    const double f0 = fx, tol_f = par.eps_f * std::abs(f0);
    auto armijo = [&](double a, double fa, double dga) {
      return fa <= f0 + par.c1 * a * dg0 || (fa <= f0 + tol_f && (2.0 * par.c1 - 1.0) * dg0 >= dga);
    };
    auto curvature = [&](double dga) { return std::abs(dga) <= -par.c2 * dg0; };
    auto eval_at = [&](double a, double& dga) {
      x_new = x + a * d;
      const double fa = f(x_new, g_new);
      ++rep.evaluations;
      dga = g_new.dot(d);
      return fa;
    };
    auto cubic = [](double a0, double f0_, double d0, double a1, double f1, double d1) {
      const double d1c = d0 + d1 - 3.0 * (f0_ - f1) / (a0 - a1);
      const double disc = d1c * d1c - d0 * d1;
      if (!(disc >= 0.0)) return 0.5 * (a0 + a1);
      const double d2 = std::copysign(std::sqrt(disc), a1 - a0);
      const double t = a1 - (a1 - a0) * (d1 + d2 - d1c) / (d1 - d0 + 2.0 * d2);
      const double lo = std::min(a0, a1), hi = std::max(a0, a1);
      if (!(t > lo + 0.1 * (hi - lo) && t < hi - 0.1 * (hi - lo))) return 0.5 * (a0 + a1);
      return t;
    };
    double a_prev = 0.0, f_prev = f0, dg_prev = dg0, a = 1.0, fa = 0.0, dga = 0.0;
    bool found = false;
    int ls = 0;
    double a_lo = 0, f_lo = f0, dg_lo = dg0, a_hi = 0, f_hi = 0, dg_hi = 0;
    bool zoom = false;
    for (; ls < par.max_linesearch; ++ls) {
      fa = eval_at(a, dga);
      if (!std::isfinite(fa) || !armijo(a, fa, dga) || (ls > 0 && fa >= f_prev && !(fa <= f0 + tol_f))) {
        a_lo = a_prev, f_lo = f_prev, dg_lo = dg_prev, a_hi = a, f_hi = fa, dg_hi = dga;
        zoom = true;
        break;
      }
      if (curvature(dga)) {
        found = true;
        break;
      }
      if (dga >= 0.0) {
        a_lo = a, f_lo = fa, dg_lo = dga, a_hi = a_prev, f_hi = f_prev, dg_hi = dg_prev;
        zoom = true;
        break;
      }
      a_prev = a, f_prev = fa, dg_prev = dga;
      a *= 2.0;
    }
    if (zoom) {
      for (; ls < par.max_linesearch; ++ls) {
        a = std::isfinite(f_hi) ? cubic(a_lo, f_lo, dg_lo, a_hi, f_hi, dg_hi) : 0.5 * (a_lo + a_hi);
        fa = eval_at(a, dga);
        // Within rounding of f0 (approximate Wolfe) f cannot rank points: bracket by the slope.
        const bool flat = fa <= f0 + tol_f;
        if (!std::isfinite(fa) || (!flat && (!armijo(a, fa, dga) || fa >= f_lo))) {
          a_hi = a, f_hi = fa, dg_hi = dga;
        } else {
          if (curvature(dga)) {
            found = true;
            break;
          }
          if (dga * (a_hi - a_lo) >= 0.0) a_hi = a_lo, f_hi = f_lo, dg_hi = dg_lo;
          a_lo = a, f_lo = fa, dg_lo = dga;
        }
        if (std::abs(a_hi - a_lo) <= 1e-16 * std::max(1.0, a_lo)) break;
      }
      if (!found && a_lo > 0.0 && f_lo <= f0 + tol_f) {  // best point that did not increase f
        a = a_lo;
        fa = eval_at(a, dga);
        found = std::isfinite(fa) && g_new.norm() < rep.grad_norm;
      }
    }
    if (!found) {
      if (stored > 0) {  // retry once from steepest descent before giving up
        stored = 0;
        continue;
      }
      rep.status = LbfgsStatus::LineSearchFailed;
      return rep;
    }
    // Update history.
    s_hist[head] = x_new - x;
    y_hist[head] = g_new - g;
    const double sy = s_hist[head].dot(y_hist[head]);
    x = x_new;
    g = g_new;
    fx = fa;
    ++rep.iterations;
    if (sy > 1e-300) {
      rho_hist[head] = 1.0 / sy;
      head = (head + 1) % par.m;
      stored = std::min(stored + 1, par.m);
    }
    if (!callback(rep.iterations, x, fx, g.norm())) {
      rep.value = fx;
      rep.grad_norm = g.norm();
      rep.status = LbfgsStatus::MaxIter;
      return rep;
    }
  }
}

}  // namespace lsekit
