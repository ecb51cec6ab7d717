// Tests of core/numerics.hpp: every primitive at +-1e3, with all-equal inputs and a single
// element, against long-double references or closed forms; LseAccumulator merging.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "core/numerics.hpp"
#include "core/rng.hpp"

using namespace lsekit;
using Catch::Matchers::WithinRel;

namespace {

// Long-double references (x86 long double: 64-bit mantissa, exponent range to ~1e4932, so
// e^{+-1000} is representable and these are exact to well below double rounding).
long double ref_softplus(long double x) { return std::log1p(std::exp(x)); }
long double ref_sigmoid(long double x) { return 1.0L / (1.0L + std::exp(-x)); }

// Relative error, measured against the reference rounded to double (values that underflow
// in double compare with an absolute tolerance of the smallest normal).
double rel_err(double got, long double ref) {
  const double r = static_cast<double>(ref);
  if (std::abs(r) < std::numeric_limits<double>::min()) return std::abs(got - r);
  return std::abs(got - r) / std::abs(r);
}

std::vector<double> test_points() {
  std::vector<double> xs{-1e3,   -745.0, -700.0, -40.0, -37.0, -20.0, -1.0,  -1e-8, -1e-300, 0.0,
                         1e-300, 1e-8,   1.0,    20.0,  37.0,  40.0,  700.0, 710.0, 1e3};
  for (int i = -60; i <= 60; ++i) xs.push_back(0.37 * i);
  return xs;
}

}  // namespace

TEST_CASE("softplus and log1p_exp are exact to rounding on [-1e3, 1e3]", "[numerics]") {
  for (double x : test_points()) {
    INFO("x = " << x);
    const double sp = num::softplus(x);
    REQUIRE(std::isfinite(sp));
    CHECK(rel_err(sp, ref_softplus(x)) <= 4e-16);
    CHECK(num::log1p_exp(x) == sp);
    CHECK(sp >= std::max(x, 0.0));  // softplus(x) > max(x, 0) in exact arithmetic
  }
  // Closed forms at the extremes: softplus(1e3) = 1e3 (e^-1000 is below half an ulp),
  // softplus(-1e3) = e^-1000 underflows to 0; softplus(0) = log 2.
  CHECK(num::softplus(1e3) == 1e3);
  CHECK(num::softplus(-1e3) == 0.0);
  CHECK(num::softplus(0.0) == std::log(2.0));
  // Far from the extremes, softplus(x) - softplus(-x) = x exactly in real arithmetic.
  for (double x : {0.5, 3.0, 30.0})
    CHECK_THAT(num::softplus(x) - num::softplus(-x), WithinRel(x, 1e-14));
}

TEST_CASE("sigmoid and log_sigmoid never overflow and are exact to rounding", "[numerics]") {
  for (double x : test_points()) {
    INFO("x = " << x);
    const double sg = num::sigmoid(x);
    REQUIRE(std::isfinite(sg));
    CHECK(sg >= 0.0);
    CHECK(sg <= 1.0);
    CHECK(rel_err(sg, ref_sigmoid(x)) <= 4e-16);
    const double ls = num::log_sigmoid(x);
    REQUIRE(std::isfinite(ls));
    CHECK(ls <= 0.0);
    CHECK(rel_err(ls, -ref_softplus(-static_cast<long double>(x))) <= 4e-16);
  }
  CHECK(num::sigmoid(1e3) == 1.0);
  CHECK(num::sigmoid(-1e3) == 0.0);
  CHECK(num::sigmoid(0.0) == 0.5);
  CHECK_THAT(num::sigmoid(-700.0), WithinRel(std::exp(-700.0), 1e-15));  // e^x/(1+e^x), normal
  CHECK(num::log_sigmoid(-1e3) == -1e3);
  CHECK(num::log_sigmoid(1e3) == 0.0);
  // Symmetry sigmoid(x) + sigmoid(-x) = 1.
  for (double x : {0.1, 2.0, 15.0})
    CHECK_THAT(num::sigmoid(x) + num::sigmoid(-x), WithinRel(1.0, 1e-15));
}

TEST_CASE("logsumexp and logmeanexp: extremes, all-equal inputs, single element", "[numerics]") {
  const double log2 = std::log(2.0);
  SECTION("two equal entries at +-1e3") {
    CHECK_THAT(num::logsumexp(Vec::Constant(2, 1e3)), WithinRel(1e3 + log2, 1e-15));
    CHECK_THAT(num::logsumexp(Vec::Constant(2, -1e3)), WithinRel(-1e3 + log2, 1e-15));
  }
  SECTION("all-equal inputs give c + log n; logmeanexp gives c") {
    for (double c : {-1e3, -1.5, 0.0, 2.0, 1e3}) {
      for (Index n : {1, 7, 1000}) {
        INFO("c = " << c << ", n = " << n);
        const Vec s = Vec::Constant(n, c);
        const double expect = c + std::log(static_cast<double>(n));
        CHECK(std::abs(num::logsumexp(s) - expect) <= 2e-16 * std::max(1.0, std::abs(expect)));
        CHECK(std::abs(num::logmeanexp(s) - c) <= 4e-16 * std::max(1.0, std::abs(c)));
      }
    }
  }
  SECTION("single element is returned as is") {
    for (double c : {-1e3, -0.25, 3.0, 1e3}) {
      CHECK(num::logsumexp(Vec::Constant(1, c)) == c);
      CHECK(num::logsumexp(Vec::Constant(1, c), Vec::Constant(1, 1.0)) == c);
    }
  }
  SECTION("mixed magnitudes: 1e3 dominates, -1e3 underflows without NaN") {
    Vec s(3);
    s << 1e3, -1e3, 0.0;
    CHECK(num::logsumexp(s) == 1e3);  // e^-1000 + e^-1000... below half an ulp of 1e3
    s << -1e3, -1e3 + std::log(3.0), -2e3;
    CHECK_THAT(num::logsumexp(s), WithinRel(-1e3 + std::log(4.0), 1e-15));
  }
  SECTION("against a long-double reference on random data of spread 1e3") {
    Rng rng(11);
    Vec s(200), q(200);
    for (Index i = 0; i < s.size(); ++i) {
      s(i) = 1e3 * (2.0 * rng.uniform() - 1.0);
      q(i) = rng.uniform() + 0.01;
    }
    long double mx = s.maxCoeff(), z = 0, zq = 0;
    for (Index i = 0; i < s.size(); ++i) {
      z += std::exp(static_cast<long double>(s(i)) - mx);
      zq += q(i) * std::exp(static_cast<long double>(s(i)) - mx);
    }
    CHECK_THAT(num::logsumexp(s), WithinRel(static_cast<double>(mx + std::log(z)), 1e-15));
    CHECK_THAT(num::logsumexp(s, q), WithinRel(static_cast<double>(mx + std::log(zq)), 1e-15));
  }
  SECTION("weighted: all-equal scores give c + log sum q; zero weights are ignored") {
    Vec q(4);
    q << 0.1, 0.2, 0.3, 0.4;
    CHECK_THAT(num::logsumexp(Vec::Constant(4, 1e3), q), WithinRel(1e3, 1e-15));
    CHECK(std::abs(num::logsumexp(Vec::Constant(4, -2.0), 2.0 * q) - (-2.0 + std::log(2.0))) <=
          1e-15);
    Vec s(2), w(2);
    s << 5.0, 1.0;
    w << 0.0, 1.0;
    // The max entry has weight 0: the shift must not make it count.
    CHECK_THAT(num::logsumexp(s, w), WithinRel(1.0, 1e-15));
  }
  SECTION("empty input is -inf") { CHECK(num::logsumexp(Vec()) == -num::kInf); }
}

TEST_CASE("softmax at +-1e3, all-equal inputs, single element, in place", "[numerics]") {
  SECTION("all equal gives 1/n") {
    for (double c : {-1e3, 0.0, 1e3}) {
      Vec out(5);
      num::softmax(Vec::Constant(5, c), out);
      for (Index i = 0; i < 5; ++i) CHECK_THAT(out(i), WithinRel(0.2, 1e-15));
    }
  }
  SECTION("single element is 1") {
    Vec out(1);
    num::softmax(Vec::Constant(1, 1e3), out);
    CHECK(out(0) == 1.0);
  }
  SECTION("extremes: no overflow, mass on the max") {
    Vec s(4), out(4);
    s << 1e3, -1e3, 1e3 - std::log(3.0), 0.0;
    num::softmax(s, out);
    REQUIRE(out.allFinite());
    // 1e3 - log 3 is itself rounded to ulp(1e3) = 1.1e-13, hence the 1e-12 tolerance.
    CHECK_THAT(out(0), WithinRel(0.75, 1e-12));
    CHECK_THAT(out(2), WithinRel(0.25, 1e-12));
    // e^-1000 and e^-2000 underflow: 0, or a denormal where the vectorized exp flushes late.
    CHECK(out(1) < 1e-300);
    CHECK(out(3) < 1e-300);
  }
  SECTION("matches exp(s - logsumexp(s)) and sums to one, also in place") {
    Rng rng(5);
    Vec s(50);
    for (Index i = 0; i < s.size(); ++i) s(i) = 30.0 * rng.normal();
    Vec out(50);
    num::softmax(s, out);
    const double lse = num::logsumexp(s);
    for (Index i = 0; i < s.size(); ++i)
      CHECK(std::abs(out(i) - std::exp(s(i) - lse)) <= 1e-14 * std::max(out(i), 1e-300) + 1e-300);
    CHECK(std::abs(out.sum() - 1.0) <= 1e-14);
    Vec t = s;
    num::softmax(t, t);  // documented: out may alias s
    CHECK((t - out).cwiseAbs().maxCoeff() <= 1e-16);
  }
}

TEST_CASE("LseAccumulator: streaming equals logsumexp, extremes, merge-order invariance",
          "[numerics]") {
  SECTION("empty accumulator is -inf and merges as identity") {
    num::LseAccumulator a, b;
    CHECK(a.value() == -num::kInf);
    b.add(2.0);
    a.merge(num::LseAccumulator{});
    CHECK(a.value() == -num::kInf);
    b.merge(a);
    CHECK(b.value() == 2.0);
    a.merge(b);
    CHECK(a.value() == 2.0);
  }
  SECTION("nonpositive weights are ignored") {
    num::LseAccumulator a;
    a.add(1e3, 0.0);
    a.add(-1.0, -2.0);
    a.add(0.5);
    CHECK(a.value() == 0.5);
  }
  SECTION("all-equal terms at +-1e3 and single terms") {
    for (double c : {-1e3, 0.0, 1e3}) {
      num::LseAccumulator a;
      a.add(c);
      CHECK(a.value() == c);
      for (int i = 1; i < 1000; ++i) a.add(c);
      CHECK(std::abs(a.value() - (c + std::log(1000.0))) <= 1e-15 * std::max(1.0, std::abs(c)));
      CHECK(a.sum <= 1000.0 + 1e-9);  // sum never exceeds the total weight
    }
  }
  SECTION("increasing, decreasing and mixed orders match logsumexp; sum stays bounded") {
    Rng rng(3);
    const Index n = 1000;
    Vec s(n), q(n);
    for (Index i = 0; i < n; ++i) {
      s(i) = 1e3 * (2.0 * rng.uniform() - 1.0);
      q(i) = 0.5 + rng.uniform();
    }
    const double ref = num::logsumexp(s, q);
    std::vector<Index> order(n);
    for (Index i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](Index a, Index b) { return s(a) < s(b); });
    for (int pass = 0; pass < 3; ++pass) {
      if (pass == 1) std::reverse(order.begin(), order.end());
      if (pass == 2) rng.shuffle(order.data(), n);
      num::LseAccumulator a;
      for (Index i : order) {
        a.add(s(i), q(i));
        REQUIRE(std::isfinite(a.sum));
        REQUIRE(a.sum <= q.sum() + 1e-9);
      }
      CHECK_THAT(a.value(), WithinRel(ref, 1e-15));
    }
  }
  SECTION("merging chunk accumulators in any order gives the same value") {
    Rng rng(8);
    const Index n = 4096, chunks = 16;
    Vec s(n);
    for (Index i = 0; i < n; ++i) s(i) = 200.0 * rng.normal() + (i % 512 == 0 ? 1e3 : 0.0);
    std::vector<num::LseAccumulator> parts(chunks);
    for (Index i = 0; i < n; ++i) parts[i * chunks / n].add(s(i));
    const double ref = num::logsumexp(s);
    std::vector<int> order(chunks);
    for (int c = 0; c < chunks; ++c) order[c] = c;
    std::vector<double> values;
    for (int trial = 0; trial < 20; ++trial) {
      if (trial == 1) std::reverse(order.begin(), order.end());
      if (trial >= 2) rng.shuffle(order.data(), chunks);
      num::LseAccumulator total;
      for (int c : order) total.merge(parts[c]);
      values.push_back(total.value());
      CHECK_THAT(total.value(), WithinRel(ref, 1e-15));
    }
    // Tree merge (pairs, then pairs of pairs) as a parallel reduction would do.
    std::vector<num::LseAccumulator> level = parts;
    while (level.size() > 1) {
      std::vector<num::LseAccumulator> next;
      for (size_t i = 0; i + 1 < level.size(); i += 2) {
        num::LseAccumulator m = level[i];
        m.merge(level[i + 1]);
        next.push_back(m);
      }
      level = next;
    }
    CHECK_THAT(level[0].value(), WithinRel(ref, 1e-15));
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    CHECK(*hi - *lo <= 1e-15 * std::abs(ref));
  }
}
