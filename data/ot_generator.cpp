// Seeded synthetic OT instances (ot_generator.hpp). Only lsekit::Rng is used, so a seed
// gives the same instance on every platform and standard library.
#include "data/ot_generator.hpp"

#include <cmath>
#include <string>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "data/dataset.hpp"  // seed_attr

namespace lsekit {
namespace {

void check(const OtGenOptions& o) {
  auto fail = [](const std::string& m) { throw InputError("OT generator: " + m); };
  if (o.n < 1) fail("n must be >= 1");
  if (o.n_test < 0) fail("n_test must be >= 0");
  if (o.m < 1) fail("m must be >= 1");
  if (o.d < 1) fail("d must be >= 1");
  constexpr double kMaxCells = 4e9;
  if (static_cast<double>(o.n + o.n_test + o.m) * static_cast<double>(o.d) > kMaxCells) {
    fail("(n + n_test + m) * d is too large");
  }
  if (!(o.epsilon > 0.0) || !std::isfinite(o.epsilon)) fail("epsilon must be finite and > 0");
  if (o.components < 1 || o.components > 1'000'000) fail("components must be in 1..1e6");
  if (!(o.spread >= 0.0) || !std::isfinite(o.spread)) fail("spread must be finite and >= 0");
  if (!(o.width >= 0.0) || !std::isfinite(o.width)) fail("width must be finite and >= 0");
  if (!(o.alpha > 0.0) || !std::isfinite(o.alpha)) fail("alpha must be finite and > 0");
}

MatRM draw_means(long k, long d, double spread, Rng& rng) {
  MatRM mu(k, d);
  for (long c = 0; c < k; ++c)
    for (long j = 0; j < d; ++j) mu(c, j) = spread * rng.normal();
  return mu;
}

MatRM draw_points(long n, const MatRM& mu, double width, Rng& rng) {
  const long d = mu.cols();
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  MatRM p(n, d);
  for (long i = 0; i < n; ++i) {
    const auto c = static_cast<Index>(rng.below(static_cast<std::uint64_t>(mu.rows())));
    for (long j = 0; j < d; ++j) p(i, j) = (mu(c, j) + width * rng.normal()) * scale;
  }
  return p;
}

}  // namespace

OtInstance generate_ot(const OtGenOptions& o) {
  check(o);
  Rng rng(o.seed);
  const MatRM mu_src = draw_means(o.components, o.d, o.spread, rng);
  const MatRM mu_tgt = draw_means(o.components, o.d, o.spread, rng);
  OtInstance inst;
  inst.epsilon = o.epsilon;
  inst.x = draw_points(o.n, mu_src, o.width, rng);
  if (o.n_test > 0) inst.x_test = draw_points(o.n_test, mu_src, o.width, rng);
  inst.y = draw_points(o.m, mu_tgt, o.width, rng);
  inst.b.resize(o.m);
  if (o.weights == OtWeights::Uniform) {
    inst.b.setConstant(1.0 / static_cast<double>(o.m));
  } else {
    double sum = 0.0;
    for (long j = 0; j < o.m; ++j) {
      double v = rng.gamma(o.alpha);
      // A Gamma draw of a tiny alpha can underflow to 0; keep every atom alive.
      if (!(v > 1e-300)) v = 1e-300;
      inst.b(j) = v;
      sum += v;
    }
    for (long j = 0; j < o.m; ++j) inst.b(j) /= sum;  // elementwise: machine-independent
  }
  inst.provenance = {
      {"generator", std::string("ot")},
      {"seed", seed_attr(o.seed)},
      {"param_n", std::int64_t{o.n}},
      {"param_n_test", std::int64_t{o.n_test}},
      {"param_m", std::int64_t{o.m}},
      {"param_d", std::int64_t{o.d}},
      {"param_epsilon", o.epsilon},
      {"param_components", std::int64_t{o.components}},
      {"param_spread", o.spread},
      {"param_width", o.width},
      {"param_weights", std::string(o.weights == OtWeights::Uniform ? "uniform" : "dirichlet")},
      {"param_alpha", o.alpha}};
  return inst;
}

}  // namespace lsekit
