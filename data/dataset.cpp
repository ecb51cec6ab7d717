// lsekit-dataset files: validated reading and atomic writing (dataset.hpp, SPEC section 4).
//
// Reading checks the file-level facts (attributes, ranks, dtypes) while reading, then
// the content (lengths, finiteness, label and group ranges) with the same `validate`
// that guards writing, so both directions enforce identical rules.
#include "data/dataset.hpp"

#include <cmath>
#include <limits>

#include "core/errors.hpp"
#include "data/h5.hpp"

namespace lsekit {
namespace {

constexpr const char* kFormat = "lsekit-dataset";
constexpr std::int64_t kFormatVersion = 1;
constexpr std::int64_t kMaxClasses = 1'000'000;
constexpr std::int64_t kMaxGroupId = std::numeric_limits<std::int32_t>::max();
constexpr const char* kFeatureNames = "/meta/feature_names";
constexpr const char* kClassNames = "/meta/class_names";

std::string task_name(Task t) { return t == Task::Regression ? "regression" : "classification"; }

std::string problem_name(Task t) {
  return t == Task::Regression ? "DRO regression dataset" : "DRO classification dataset";
}

std::string str(Index i) { return std::to_string(i); }

// ---- content validation (shared by reader and writer) ---------------------------------

void check_int_vector(const IVec& v, Index n, const std::string& path, const h5::Where& w,
                      std::int64_t lo, std::int64_t hi, const std::string& what) {
  if (v.size() != n) {
    throw InputError(
        w.msg(path, "has length " + str(v.size()) + ", but the split has " + str(n) + " samples"));
  }
  for (Index i = 0; i < n; ++i) {
    if (v[i] < lo || v[i] > hi) {
      throw InputError(w.msg(path, what + " " + std::to_string(v[i]) + " at row " + str(i) +
                                       " is outside " + std::to_string(lo) + ".." +
                                       std::to_string(hi)));
    }
  }
}

// Returns the labels of a classification split: `labels`, or `y` converted if `labels`
// is empty. Throws if neither is usable or the two disagree.
IVec labels_of(const Split& s, const std::string& ypath, const h5::Where& w) {
  const Index n = s.size();
  if (s.labels.size() == n) {
    if (s.y.size() == n) {
      for (Index i = 0; i < n; ++i) {
        if (s.y[i] != static_cast<double>(s.labels[i])) {
          throw InputError(w.msg(ypath, "labels and y disagree at row " + str(i)));
        }
      }
    }
    return s.labels;
  }
  if (s.labels.size() != 0 || s.y.size() != n) {
    throw InputError(w.msg(ypath, "has length " +
                                      str(s.labels.size() ? s.labels.size() : s.y.size()) +
                                      ", but the split has " + str(n) + " samples"));
  }
  IVec out(n);
  for (Index i = 0; i < n; ++i) {
    const double v = s.y[i];
    if (!std::isfinite(v) || std::floor(v) != v || std::fabs(v) > 0x1p53) {
      throw InputError(w.msg(ypath, "label at row " + str(i) + " is not an integer"));
    }
    out[i] = static_cast<std::int64_t>(v);
  }
  return out;
}

void validate_split(const Dataset& d, const Split& s, const std::string& name, Index p_train,
                    const h5::Where& w) {
  const std::string xp = "/" + name + "/X", yp = "/" + name + "/y";
  const Index n = s.x.rows(), p = s.x.cols();
  if (n < 1 || p < 1) {
    throw InputError(w.msg(xp, "is empty (shape (" + str(n) + ", " + str(p) +
                                   ")); need at least one sample and one feature"));
  }
  if (p_train >= 0 && p != p_train) {
    throw InputError(w.msg(xp, "has " + str(p) + " columns, but /train/X has " + str(p_train)));
  }
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < p; ++j) {
      if (!std::isfinite(s.x(i, j))) {
        throw InputError(w.msg(xp, "non-finite value at row " + str(i) + ", column " + str(j)));
      }
    }
  }
  if (d.task == Task::Regression) {
    if (s.y.size() != n) {
      throw InputError(
          w.msg(yp, "has length " + str(s.y.size()) + ", but " + xp + " has " + str(n) + " rows"));
    }
    for (Index i = 0; i < n; ++i) {
      if (!std::isfinite(s.y[i])) {
        throw InputError(w.msg(yp, "non-finite value at row " + str(i)));
      }
    }
    if (s.labels.size() != 0) {
      throw InputError(w.msg(yp, "a regression split must not carry class labels"));
    }
  } else {
    check_int_vector(labels_of(s, yp, w), n, yp, w, 0, d.num_classes - 1, "label");
  }
  if (s.y_clean) {
    const std::int64_t hi = d.task == Task::Classification
                                ? d.num_classes - 1
                                : std::numeric_limits<std::int64_t>::max();
    const std::int64_t lo =
        d.task == Task::Classification ? 0 : std::numeric_limits<std::int64_t>::min();
    check_int_vector(*s.y_clean, n, "/" + name + "/y_clean", w, lo, hi, "label");
  }
  if (s.group) check_int_vector(*s.group, n, "/" + name + "/group", w, 0, kMaxGroupId, "group id");
}

void validate(const Dataset& d, const h5::Where& w) {
  if (d.task == Task::Classification && (d.num_classes < 2 || d.num_classes > kMaxClasses)) {
    throw InputError(w.msg("/", "attribute 'num_classes' is " + std::to_string(d.num_classes) +
                                    ", expected 2.." + std::to_string(kMaxClasses)));
  }
  validate_split(d, d.train, "train", -1, w);
  if (d.test) validate_split(d, *d.test, "test", d.train.x.cols(), w);
  if (!d.feature_names.empty() && static_cast<Index>(d.feature_names.size()) != d.train.x.cols()) {
    throw InputError(w.msg(kFeatureNames, "has " + str(static_cast<Index>(d.feature_names.size())) +
                                              " names, but /train/X has " + str(d.train.x.cols()) +
                                              " columns"));
  }
  if (!d.class_names.empty() && (d.task != Task::Classification ||
                                 static_cast<long>(d.class_names.size()) != d.num_classes)) {
    throw InputError(w.msg(
        kClassNames,
        "has " + str(static_cast<Index>(d.class_names.size())) + " names, but the dataset has " +
            std::to_string(d.task == Task::Classification ? d.num_classes : 0) + " classes"));
  }
  h5::check_provenance(d.provenance, w);
}

// ---- reading ----------------------------------------------------------------------------

void add_note(std::vector<std::string>& notes, std::string note) {
  if (!note.empty()) notes.push_back(std::move(note));
}

std::optional<IVec> read_optional_ivec(hid_t file, const std::string& path, const h5::Where& w,
                                       const std::string& what, std::vector<std::string>& notes) {
  if (!h5::exists(file, path)) return std::nullopt;
  const h5::DatasetHeader h = h5::open_dataset(file, path, w);
  h5::require_rank(h, 1, w);
  IVec v(static_cast<Index>(h.numel));
  std::string note;
  h5::read_integral(h, v.data(), w, what, &note);
  add_note(notes, std::move(note));
  return v;
}

Split read_split(hid_t file, Dataset& d, const std::string& name, const h5::Where& w) {
  Split s;
  const std::string xp = "/" + name + "/X", yp = "/" + name + "/y";
  {
    const h5::DatasetHeader h = h5::open_dataset(file, xp, w);
    h5::require_rank(h, 2, w);
    h5::require_real(h, w);
    if (h.shape[0] < 1 || h.shape[1] < 1) {
      throw InputError(w.msg(xp, "is empty (shape " + h5::shape_string(h.shape) +
                                     "); need at least one sample and one feature"));
    }
    s.x.resize(static_cast<Index>(h.shape[0]), static_cast<Index>(h.shape[1]));
    h5::read_values(h, s.x.data(), w);
    add_note(d.notes, h5::conversion_note(h, "float64"));
  }
  {
    const h5::DatasetHeader h = h5::open_dataset(file, yp, w);
    h5::require_rank(h, 1, w);
    if (h.shape[0] != static_cast<std::uint64_t>(s.x.rows())) {
      throw InputError(w.msg(yp, "has length " + std::to_string(h.shape[0]) + ", but " + xp +
                                     " has " + str(s.x.rows()) + " rows"));
    }
    if (d.task == Task::Regression) {
      h5::require_real(h, w);
      s.y.resize(static_cast<Index>(h.numel));
      h5::read_values(h, s.y.data(), w);
      add_note(d.notes, h5::conversion_note(h, "float64"));
    } else {
      if (h.type.kind != h5::Kind::Integer && h.type.kind != h5::Kind::Float) {
        throw InputError(
            w.msg(yp, "class labels must be an integer (int64) dataset, found " + h.type.name));
      }
      s.labels.resize(static_cast<Index>(h.numel));
      std::string note;
      h5::read_integral(h, s.labels.data(), w, "label", &note);
      add_note(d.notes, std::move(note));
      s.y = s.labels.cast<double>();
    }
  }
  s.y_clean = read_optional_ivec(file, "/" + name + "/y_clean", w, "label", d.notes);
  s.group = read_optional_ivec(file, "/" + name + "/group", w, "group id", d.notes);
  return s;
}

// ---- writing ----------------------------------------------------------------------------

void write_split(hid_t file, const Dataset& d, const Split& s, const std::string& name,
                 const h5::Where& w) {
  const std::string prefix = "/" + name + "/";
  const auto n = static_cast<std::uint64_t>(s.x.rows());
  h5::write_array(file, prefix + "X", {n, static_cast<std::uint64_t>(s.x.cols())}, s.x.data(), w);
  if (d.task == Task::Regression) {
    h5::write_array(file, prefix + "y", {n}, s.y.data(), w);
  } else {
    const IVec labels = labels_of(s, prefix + "y", w);
    h5::write_array(file, prefix + "y", {n}, labels.data(), w);
  }
  if (s.y_clean) h5::write_array(file, prefix + "y_clean", {n}, s.y_clean->data(), w);
  if (s.group) h5::write_array(file, prefix + "group", {n}, s.group->data(), w);
}

}  // namespace

Dataset read_dataset(const std::string& path) {
  h5::Handle file = h5::open_file(path);
  h5::Where w{path, "lsekit dataset"};
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
  const std::string task = h5::read_attr_string(root.get(), "task", w, "/");
  Dataset d;
  d.path = path;
  if (task == "regression") {
    d.task = Task::Regression;
  } else if (task == "classification") {
    d.task = Task::Classification;
  } else {
    throw InputError(w.msg("/", "attribute 'task' is \"" + task +
                                    "\", expected \"regression\" or \"classification\""));
  }
  w.what = problem_name(d.task);
  if (d.task == Task::Classification) {
    const std::int64_t k = h5::read_attr_int64(root.get(), "num_classes", w, "/");
    if (k < 2 || k > kMaxClasses) {
      throw InputError(w.msg("/", "attribute 'num_classes' is " + std::to_string(k) +
                                      ", expected 2.." + std::to_string(kMaxClasses)));
    }
    d.num_classes = static_cast<long>(k);
  }

  d.train = read_split(file.get(), d, "train", w);
  const bool has_test_x = h5::exists(file.get(), "/test/X");
  const bool has_test_y = h5::exists(file.get(), "/test/y");
  if (has_test_x || has_test_y) {
    if (!has_test_y) throw InputError(w.msg("/test/y", "missing dataset (/test/X exists)"));
    if (!has_test_x) throw InputError(w.msg("/test/X", "missing dataset (/test/y exists)"));
    d.test = read_split(file.get(), d, "test", w);
  } else {
    for (const char* extra : {"/test/group", "/test/y_clean"}) {
      if (h5::exists(file.get(), extra)) {
        throw InputError(w.msg(extra, "present without /test/X and /test/y"));
      }
    }
  }
  if (h5::exists(file.get(), kFeatureNames)) {
    d.feature_names = h5::read_strings(file.get(), kFeatureNames, w);
  }
  if (h5::exists(file.get(), kClassNames)) {
    d.class_names = h5::read_strings(file.get(), kClassNames, w);
  }
  d.provenance = h5::read_provenance(root.get(), w);
  validate(d, w);
  return d;
}

void validate_dataset(const Dataset& d, const std::string& file) {
  validate(d, h5::Where{file, problem_name(d.task)});
}

void write_dataset(const std::string& path, const Dataset& d) {
  const h5::Where w{path, problem_name(d.task)};
  validate(d, w);
  h5::write_file_atomically(path, true, [&](hid_t file) {
    h5::Handle root = h5::require_group(file, "/", w);
    h5::write_attr(root.get(), "format", std::string(kFormat), w, "/");
    h5::write_attr(root.get(), "format_version", kFormatVersion, w, "/");
    h5::write_attr(root.get(), "task", task_name(d.task), w, "/");
    if (d.task == Task::Classification) {
      h5::write_attr(root.get(), "num_classes", std::int64_t{d.num_classes}, w, "/");
    }
    h5::write_provenance(root.get(), d.provenance, w);
    write_split(file, d, d.train, "train", w);
    if (d.test) write_split(file, d, *d.test, "test", w);
    if (!d.feature_names.empty()) h5::write_strings(file, kFeatureNames, d.feature_names, w);
    if (!d.class_names.empty()) h5::write_strings(file, kClassNames, d.class_names, w);
  });
}

std::string file_format(const std::string& path) {
  h5::Handle file = h5::open_file(path);
  const h5::Where w{path, ""};
  if (!h5::has_attr(file.get(), "format")) return "";
  AttrValue v;
  if (!h5::read_attr_value(file.get(), "format", v, nullptr, w, "/")) return "";
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return "";
}

}  // namespace lsekit
