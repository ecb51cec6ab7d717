// lsekit-ot instance files: validated reading and atomic writing (ot_instance.hpp).
//
// Reading checks the file-level facts (attributes, ranks, dtypes, declared shapes) while
// reading, then the content (dimensions, finiteness, weights) with the same
// `validate_ot_instance` that guards writing, so both directions enforce identical rules.
// Point clouds are read straight into their final matrices (no intermediate copy).
#include "data/ot_instance.hpp"

#include <cmath>
#include <cstdio>

#include "core/errors.hpp"
#include "data/h5.hpp"

namespace lsekit {
namespace {

constexpr const char* kFormat = "lsekit-ot";
constexpr std::int64_t kFormatVersion = 1;
constexpr const char* kCost = "sqeuclidean";
constexpr const char* kWhat = "entropic OT instance";

std::string str(Index i) { return std::to_string(i); }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

void check_points(const MatRM& p, const std::string& path, Index d, const std::string& d_from,
                  const h5::Where& w) {
  if (p.rows() < 1 || p.cols() < 1) {
    throw InputError(w.msg(path, "is empty (shape (" + str(p.rows()) + ", " + str(p.cols()) +
                                     ")); need at least one point of dimension >= 1"));
  }
  if (d >= 0 && p.cols() != d) {
    throw InputError(w.msg(
        path, "has " + str(p.cols()) + " columns (dimension), but " + d_from + " has " + str(d)));
  }
  for (Index i = 0; i < p.rows(); ++i) {
    for (Index j = 0; j < p.cols(); ++j) {
      if (!std::isfinite(p(i, j))) {
        throw InputError(w.msg(path, "non-finite value at row " + str(i) + ", column " + str(j)));
      }
    }
  }
}

void validate(const OtInstance& inst, const h5::Where& w) {
  if (!(inst.epsilon > 0.0) || !std::isfinite(inst.epsilon)) {
    throw InputError(w.msg("/", "attribute 'epsilon' is " + num(inst.epsilon) +
                                    "; the temperature must be finite and > 0"));
  }
  check_points(inst.x, "/source/X", -1, "", w);
  const Index d = inst.x.cols();
  if (inst.x_test) check_points(*inst.x_test, "/source/X_test", d, "/source/X", w);
  check_points(inst.y, "/target/Y", d, "/source/X", w);
  const Index m = inst.y.rows();
  if (inst.b.size() != m) {
    throw InputError(w.msg("/target/b", "has length " + str(inst.b.size()) +
                                            ", but /target/Y has " + str(m) + " rows (atoms)"));
  }
  double sum = 0.0;
  for (Index j = 0; j < m; ++j) {
    const double v = inst.b(j);
    if (!std::isfinite(v)) throw InputError(w.msg("/target/b", "non-finite weight at " + str(j)));
    if (v < 0.0) {
      throw InputError(w.msg("/target/b", "negative weight " + num(v) + " at " + str(j) +
                                              "; atom weights must be >= 0"));
    }
    sum += v;
  }
  if (!(std::fabs(sum - 1.0) <= kOtWeightSumTolerance)) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "weights sum to %.17g, off by %.3g from 1 (lsekit renormalizes b only "
                  "within %.0e of 1); normalize b so that it sums to 1",
                  sum, sum - 1.0, kOtWeightRenormalizeTolerance);
    throw InputError(w.msg("/target/b", buf));
  }
}

void add_note(std::vector<std::string>& notes, std::string note) {
  if (!note.empty()) notes.push_back(std::move(note));
}

MatRM read_points(hid_t file, const std::string& path, const h5::Where& w,
                  std::vector<std::string>& notes) {
  const h5::DatasetHeader h = h5::open_dataset(file, path, w);
  h5::require_rank(h, 2, w);
  h5::require_real(h, w);
  add_note(notes, h5::conversion_note(h, "float64"));
  if (h.shape[0] < 1 || h.shape[1] < 1) {
    throw InputError(w.msg(path, "is empty (shape " + h5::shape_string(h.shape) +
                                     "); need at least one point of dimension >= 1"));
  }
  MatRM p(static_cast<Index>(h.shape[0]), static_cast<Index>(h.shape[1]));
  h5::read_values(h, p.data(), w);
  return p;
}

// A b whose sum misses 1 by more than kOtWeightSumTolerance but at most
// kOtWeightRenormalizeTolerance (normalized in float32, or rounded when written) is divided by
// its sum, and the repair noted. Anything else is left to validate (which names the problem).
void renormalize_weights(OtInstance& inst) {
  double sum = 0.0;
  for (Index j = 0; j < inst.b.size(); ++j) {
    if (!std::isfinite(inst.b(j)) || inst.b(j) < 0.0) return;
    sum += inst.b(j);
  }
  const double off = sum - 1.0;
  if (!(std::fabs(off) > kOtWeightSumTolerance &&
        std::fabs(off) <= kOtWeightRenormalizeTolerance)) {
    return;
  }
  inst.b /= sum;
  char buf[160];
  std::snprintf(buf, sizeof buf, "/target/b: weights summed to 1 %c %.3g; renormalized",
                off < 0 ? '-' : '+', std::fabs(off));
  inst.notes.emplace_back(buf);
}

}  // namespace

void validate_ot_instance(const OtInstance& inst, const std::string& file) {
  validate(inst, h5::Where{file, kWhat});
}

OtInstance read_ot_instance(const std::string& path) {
  h5::Handle file = h5::open_file(path);
  const h5::Where w{path, kWhat};
  h5::Handle root = h5::Handle::group(H5Gopen2(file.get(), "/", H5P_DEFAULT));
  if (!root) throw IoError(path + ": cannot open the root group (" + h5::last_error() + ")");

  const std::string format = h5::read_attr_string(root.get(), "format", w, "/");
  if (format != kFormat) {
    throw InputError(
        w.msg("/", "attribute 'format' is \"" + format + "\", expected \"" + kFormat + "\""));
  }
  const std::int64_t version = h5::read_attr_int64(root.get(), "format_version", w, "/");
  if (version != kFormatVersion) {
    throw InputError(w.msg("/", "unsupported format_version " + std::to_string(version) +
                                    " (this lsekit reads version " +
                                    std::to_string(kFormatVersion) + ")"));
  }
  const std::string cost = h5::read_attr_string(root.get(), "cost", w, "/");
  if (cost != kCost) {
    throw InputError(w.msg("/", "attribute 'cost' is \"" + cost + "\", only \"" + kCost +
                                    "\" (|x - y|^2) is supported"));
  }
  OtInstance inst;
  inst.path = path;
  inst.epsilon = h5::read_attr_double(root.get(), "epsilon", w, "/");
  if (!(inst.epsilon > 0.0) || !std::isfinite(inst.epsilon)) {
    throw InputError(w.msg("/", "attribute 'epsilon' is " + num(inst.epsilon) +
                                    "; the temperature must be finite and > 0"));
  }
  inst.x = read_points(file.get(), "/source/X", w, inst.notes);
  if (h5::exists(file.get(), "/source/X_test")) {
    inst.x_test = read_points(file.get(), "/source/X_test", w, inst.notes);
  }
  inst.y = read_points(file.get(), "/target/Y", w, inst.notes);
  {
    const h5::DatasetHeader h = h5::open_dataset(file.get(), "/target/b", w);
    h5::require_rank(h, 1, w);
    h5::require_real(h, w);
    add_note(inst.notes, h5::conversion_note(h, "float64"));
    if (h.shape[0] != static_cast<std::uint64_t>(inst.y.rows())) {
      throw InputError(w.msg("/target/b", "has length " + std::to_string(h.shape[0]) +
                                              ", but /target/Y has " + str(inst.y.rows()) +
                                              " rows (atoms)"));
    }
    inst.b.resize(static_cast<Index>(h.numel));
    h5::read_values(h, inst.b.data(), w);
  }
  renormalize_weights(inst);
  inst.provenance = h5::read_provenance(root.get(), w);
  validate(inst, w);
  return inst;
}

void write_ot_instance(const std::string& path, const OtInstance& inst, bool overwrite) {
  const h5::Where w{path, kWhat};
  validate(inst, w);
  h5::write_file_atomically(path, overwrite, [&](hid_t file) {
    h5::Handle root = h5::require_group(file, "/", w);
    h5::write_attr(root.get(), "format", std::string(kFormat), w, "/");
    h5::write_attr(root.get(), "format_version", kFormatVersion, w, "/");
    h5::write_attr(root.get(), "epsilon", inst.epsilon, w, "/");
    h5::write_attr(root.get(), "cost", std::string(kCost), w, "/");
    h5::write_provenance(root.get(), inst.provenance, w);
    auto points = [&](const std::string& p, const MatRM& a) {
      h5::write_array(file, p,
                      {static_cast<std::uint64_t>(a.rows()), static_cast<std::uint64_t>(a.cols())},
                      a.data(), w);
    };
    points("/source/X", inst.x);
    if (inst.x_test) points("/source/X_test", *inst.x_test);
    points("/target/Y", inst.y);
    h5::write_array(file, "/target/b", {static_cast<std::uint64_t>(inst.b.size())}, inst.b.data(),
                    w);
  });
}

}  // namespace lsekit
