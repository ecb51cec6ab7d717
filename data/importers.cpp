// Fashion-MNIST (IDX) and CSV importers (importers.hpp).
#include "data/importers.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "core/errors.hpp"
#include "data/idx.hpp"

namespace lsekit {
namespace {

std::string str(long long v) { return std::to_string(v); }

// ---- IDX -------------------------------------------------------------------------------

bool is_float(IdxType t) { return t == IdxType::Float32 || t == IdxType::Float64; }

std::string shape_of(const IdxArray& a) {
  std::string s;
  for (std::size_t d = 0; d < a.dims.size(); ++d)
    s += (d ? " x " : "") + str(static_cast<long long>(a.dims[d]));
  return s;
}

// Images: N x (prod of the other dims) features, every pixel finite.
void check_images(const IdxArray& a, const std::string& path) {
  if (a.dims.size() < 2)
    throw InputError(path +
                     ": images must have at least 2 dimensions (N x rows x cols), found shape " +
                     shape_of(a));
  if (is_float(a.type)) {
    const std::uint64_t n = a.numel();
    const std::uint64_t p = n / a.dims[0];
    for (std::uint64_t i = 0; i < n; ++i)
      if (!std::isfinite(a.value(i)))
        throw InputError(path + ": non-finite pixel value in image " +
                         str(static_cast<long long>(i / p)) + ", pixel " +
                         str(static_cast<long long>(i % p)));
  }
}

// Labels: N integers in 0..k-1.
IVec read_labels(const IdxArray& a, const std::string& path, std::uint64_t n_images,
                 const std::string& images_path, long k) {
  if (a.dims.size() != 1)
    throw InputError(path + ": labels must have 1 dimension, found shape " + shape_of(a));
  if (a.dims[0] != n_images)
    throw InputError(path + ": " + str(static_cast<long long>(a.dims[0])) + " labels, but " +
                     images_path + " has " + str(static_cast<long long>(n_images)) + " images");
  IVec y(static_cast<Index>(a.dims[0]));
  for (Index i = 0; i < y.size(); ++i) {
    const double v = a.value(static_cast<std::uint64_t>(i));
    if (!std::isfinite(v) || std::floor(v) != v)
      throw InputError(path + ": label at row " + str(i) + " is not an integer");
    if (v < 0 || v >= static_cast<double>(k))
      throw InputError(path + ": label " + str(static_cast<long long>(v)) + " at row " + str(i) +
                       " is outside 0.." + str(k - 1) + " (" + str(k) + " classes)");
    y[i] = static_cast<std::int64_t>(v);
  }
  return y;
}

// Rows `rows` of an image array as an n x p matrix (raw values).
MatRM decode_rows(const IdxArray& a, const std::vector<Index>& rows) {
  const auto p = static_cast<Index>(a.numel() / a.dims[0]);
  MatRM x(static_cast<Index>(rows.size()), p);
  for (Index r = 0; r < x.rows(); ++r) {
    const auto base = static_cast<std::uint64_t>(rows[static_cast<std::size_t>(r)]) *
                      static_cast<std::uint64_t>(p);
    if (a.type == IdxType::UInt8) {
      const std::uint8_t* b = a.raw.data() + base;
      for (Index j = 0; j < p; ++j) x(r, j) = b[j];
    } else {
      for (Index j = 0; j < p; ++j) x(r, j) = a.value(base + static_cast<std::uint64_t>(j));
    }
  }
  return x;
}

std::vector<Index> all_rows(Index n) {
  std::vector<Index> r(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) r[static_cast<std::size_t>(i)] = i;
  return r;
}

void scale(Dataset& d, PixelScaling s) {
  if (s == PixelScaling::None) return;
  if (s == PixelScaling::Unit) {
    d.train.x /= 255.0;
    if (d.test) d.test->x /= 255.0;
    return;
  }
  // Standardize: per-column mean and population sd of the training split, summed in row
  // order (no SIMD-width-dependent reductions: the data must not depend on the machine).
  const Index n = d.train.x.rows(), p = d.train.x.cols();
  Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(p), sd = Eigen::RowVectorXd::Zero(p);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < p; ++j) mean[j] += d.train.x(i, j);
  mean /= static_cast<double>(n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < p; ++j)
      sd[j] += (d.train.x(i, j) - mean[j]) * (d.train.x(i, j) - mean[j]);
  for (Index j = 0; j < p; ++j) {
    sd[j] = std::sqrt(sd[j] / static_cast<double>(n));
    if (!(sd[j] > 0.0)) sd[j] = 1.0;
  }
  auto apply = [&](MatRM& x) {
    for (Index i = 0; i < x.rows(); ++i)
      for (Index j = 0; j < p; ++j) x(i, j) = (x(i, j) - mean[j]) / sd[j];
  };
  apply(d.train.x);
  if (d.test) apply(d.test->x);
}

std::string find_idx(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  for (const std::string& name : {stem + ".gz", stem}) {
    const fs::path p = fs::path(dir) / name;
    std::error_code ec;
    if (fs::exists(p, ec)) return p.string();
  }
  throw IoError(dir + ": no " + stem + ".gz or " + stem +
                " (install the Debian package dataset-fashion-mnist, or pass `dir`)");
}

// ---- CSV -------------------------------------------------------------------------------

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) --b;
  return s.substr(a, b - a);
}

// Splits one line into fields: double-quoted fields may contain the delimiter and "" for ".
std::vector<std::string> split_fields(const std::string& line, char delim, const std::string& path,
                                      long lineno) {
  std::vector<std::string> out;
  std::string cur;
  std::size_t i = 0;
  for (;;) {
    cur.clear();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t') && line[i] != delim) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cur += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        cur += line[i++];
      }
      if (!closed) throw InputError(path + ": line " + str(lineno) + ": unterminated quoted field");
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t') && line[i] != delim) ++i;
      if (i < line.size() && line[i] != delim)
        throw InputError(path + ": line " + str(lineno) + ": text after a closing quote");
      out.push_back(cur);
    } else {
      const std::size_t start = i;
      while (i < line.size() && line[i] != delim) ++i;
      out.push_back(trim(line.substr(start, i - start)));
    }
    if (i >= line.size()) break;
    ++i;  // the delimiter
  }
  return out;
}

bool parse_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

bool parse_index(const std::string& s, long& v) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  v = std::stol(s);
  return true;
}

struct CsvRow {
  long line;
  std::vector<std::string> fields;
};

// What a label column holds: all finite numbers? all integers? how many distinct values?
struct LabelSummary {
  bool numeric = true;      // every label parses as a finite number
  bool integral = true;     // ... and every one is an integer (|v| <= 1e15)
  long distinct = 0;        // distinct labels (as numbers if numeric, else as strings)
  double min = 0, max = 0;  // numeric: smallest and largest label
  std::string non_numeric_example, non_integer_example;
};

LabelSummary summarize_labels(const std::vector<std::string>& raw) {
  LabelSummary s;
  std::vector<double> values;
  values.reserve(raw.size());
  for (const auto& f : raw) {
    double v;
    if (!parse_number(f, v) || !std::isfinite(v)) {
      if (s.numeric) s.non_numeric_example = f;
      s.numeric = s.integral = false;
      continue;
    }
    if (s.integral && (std::floor(v) != v || std::fabs(v) > 1e15)) {
      s.integral = false;
      s.non_integer_example = f;
    }
    values.push_back(v);
  }
  if (s.numeric) {
    std::sort(values.begin(), values.end());
    s.distinct = static_cast<long>(std::unique(values.begin(), values.end()) - values.begin());
    if (!values.empty()) {
      s.min = values.front();
      s.max = values[static_cast<std::size_t>(s.distinct) - 1];
    }
  } else {
    std::vector<std::string> v(raw);
    std::sort(v.begin(), v.end());
    s.distinct = static_cast<long>(std::unique(v.begin(), v.end()) - v.begin());
  }
  return s;
}

}  // namespace

Dataset import_idx_classification(const std::string& train_images, const std::string& train_labels,
                                  const std::string& test_images, const std::string& test_labels,
                                  long num_classes, const FashionMnistOptions& o) {
  if (num_classes < 2) throw InputError("IDX import: need at least 2 classes");
  if (!(o.noise >= 0.0 && o.noise <= 1.0))
    throw InputError("`noise` must be in [0, 1], got " + std::to_string(o.noise));
  if (o.n_train < 0) throw InputError("`n_train` must be >= 0");
  if (!o.keep.empty() && static_cast<long>(o.keep.size()) != num_classes)
    throw InputError("`keep` has " + str(static_cast<long long>(o.keep.size())) +
                     " fractions, but " + train_labels + " has " + str(num_classes) + " classes");

  const IdxArray ximg = read_idx(train_images);
  check_images(ximg, train_images);
  const IVec ylab =
      read_labels(read_idx(train_labels), train_labels, ximg.dims[0], train_images, num_classes);
  const auto p = static_cast<Index>(ximg.numel() / ximg.dims[0]);

  Rng rng(o.seed);
  std::vector<Index> rows =
      o.keep.empty() ? all_rows(ylab.size()) : keep_per_class(ylab, num_classes, o.keep, rng);
  if (o.n_train > 0) {
    if (o.n_train > static_cast<long>(rows.size()))
      throw InputError("`n_train=" + str(o.n_train) + "` exceeds the " +
                       str(static_cast<long long>(rows.size())) + " training images" +
                       (o.keep.empty() ? "" : " left after `keep`") + " in " + train_images);
    const std::vector<Index> pick = random_subset(static_cast<Index>(rows.size()), o.n_train, rng);
    std::vector<Index> sub;
    sub.reserve(pick.size());
    for (Index t : pick) sub.push_back(rows[static_cast<std::size_t>(t)]);
    rows = std::move(sub);
  }
  if (rows.empty())
    throw InputError(train_images + ": no training images left after `keep` / `n_train`");

  Dataset d;
  d.task = Task::Classification;
  d.num_classes = num_classes;
  d.train.x = decode_rows(ximg, rows);
  d.train.labels.resize(static_cast<Index>(rows.size()));
  for (std::size_t r = 0; r < rows.size(); ++r)
    d.train.labels[static_cast<Index>(r)] = ylab[rows[r]];
  if (o.noise > 0.0) {
    IVec clean = d.train.labels;
    inject_label_noise(d.train.labels, num_classes, o.noise, o.noise_kind, rng);
    d.train.y_clean = std::move(clean);
  }
  d.train.y = d.train.labels.cast<double>();

  if (!test_images.empty()) {
    const IdxArray timg = read_idx(test_images);
    check_images(timg, test_images);
    const auto pt = static_cast<Index>(timg.numel() / timg.dims[0]);
    if (pt != p)
      throw InputError(test_images + ": images have " + str(pt) + " pixels (shape " +
                       shape_of(timg) + "), but the training images have " + str(p) + " (shape " +
                       shape_of(ximg) + ")");
    Split t;
    t.labels =
        read_labels(read_idx(test_labels), test_labels, timg.dims[0], test_images, num_classes);
    t.x = decode_rows(timg, all_rows(t.labels.size()));
    t.y = t.labels.cast<double>();
    d.test = std::move(t);
  }
  scale(d, o.scale);
  std::string keep;
  for (double f : o.keep) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", f);
    keep += (keep.empty() ? "" : ",") + std::string(buf);
  }
  d.provenance = {{"importer", std::string("idx")},
                  {"source", train_images},
                  {"seed", seed_attr(o.seed)},
                  {"param_n_train", std::int64_t{o.n_train}},
                  {"param_noise", o.noise},
                  {"param_noise_kind", std::string(name_of(kNoiseKindNames, o.noise_kind))},
                  {"param_keep", keep},
                  {"param_scale", std::string(name_of(kPixelScalingNames, o.scale))},
                  {"param_no_test", std::int64_t{test_images.empty() ? 1 : 0}}};
  return d;
}

Dataset import_fashion_mnist(const FashionMnistOptions& o) {
  const std::string tri = find_idx(o.dir, "train-images-idx3-ubyte");
  const std::string trl = find_idx(o.dir, "train-labels-idx1-ubyte");
  std::string tei, tel;
  if (o.with_test) {
    tei = find_idx(o.dir, "t10k-images-idx3-ubyte");
    tel = find_idx(o.dir, "t10k-labels-idx1-ubyte");
  }
  Dataset d = import_idx_classification(tri, trl, tei, tel, kFashionMnistClasses, o);
  d.provenance["importer"] = std::string("fashion-mnist");
  d.provenance["source"] = o.dir;
  d.class_names.assign(kFashionMnistClassNames.begin(), kFashionMnistClassNames.end());
  return d;
}

CsvImport import_csv(const std::string& path, const CsvOptions& o) {
  if (o.label.empty()) throw InputError("`label` is required (a column name or 0-based index)");
  if (!(o.test_fraction >= 0.0 && o.test_fraction < 1.0))
    throw InputError("`test_fraction` must be in [0, 1), got " + std::to_string(o.test_fraction));
  if (o.num_classes < 0 || o.num_classes == 1)
    throw InputError("`num_classes` must be >= 2 (or 0)");
  {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw IoError(path + ": no such file");
    if (std::filesystem::is_directory(path, ec))
      throw IoError(path + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");

  std::vector<CsvRow> rows;
  std::string line;
  long lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0)
      line.erase(0, 3);
    if (trim(line).empty()) continue;
    rows.push_back({lineno, split_fields(line, o.delimiter, path, lineno)});
  }
  if (in.bad()) throw IoError(path + ": read error");
  if (rows.empty()) throw InputError(path + ": no rows");

  // Header: explicit, or auto-detected by comparing the first two rows.
  bool header = o.header == CsvHeader::Yes;
  if (o.header == CsvHeader::Auto) {
    const auto& r0 = rows[0].fields;
    double v;
    for (std::size_t j = 0; j < r0.size() && !header; ++j) {
      const bool num0 = parse_number(r0[j], v);
      const bool num1 =
          rows.size() > 1 && j < rows[1].fields.size() && parse_number(rows[1].fields[j], v);
      if (!num0 && (num1 || rows.size() == 1)) header = true;
    }
  }
  const std::size_t ncol = rows[0].fields.size();
  if (ncol < 2)
    throw InputError(path + ": line " + str(rows[0].line) + " has " +
                     str(static_cast<long long>(ncol)) +
                     " column; need at least one feature and the label (is `delimiter` right?)");
  std::vector<std::string> names(ncol);
  for (std::size_t j = 0; j < ncol; ++j)
    names[j] = header ? rows[0].fields[j] : "col" + std::to_string(j);
  const std::size_t first = header ? 1 : 0;
  if (rows.size() <= first) throw InputError(path + ": a header but no data rows");
  // pandas' DataFrame.to_csv() writes the row index as a first column with an empty name
  // ("Unnamed: 0" once read back and written again): row numbers, not a feature.
  const bool index_column = header && (names[0].empty() || names[0] == "Unnamed: 0");
  for (std::size_t j = 0; j < ncol; ++j)
    if (names[j].empty()) names[j] = "col" + std::to_string(j);

  // The label column: by name, else by 0-based index.
  long lab = -1;
  for (std::size_t j = 0; j < ncol; ++j)
    if (header && names[j] == o.label) lab = static_cast<long>(j);
  long idx = 0;
  if (lab < 0 && parse_index(o.label, idx)) {
    if (idx >= static_cast<long>(ncol))
      throw InputError(path + ": `label` " + o.label +
                       ": column index out of range (the file has " +
                       str(static_cast<long long>(ncol)) + " columns, 0.." +
                       str(static_cast<long long>(ncol) - 1) + ")");
    lab = idx;
  }
  if (lab < 0) {
    std::string list;
    for (std::size_t j = index_column ? 1 : 0; j < ncol; ++j)
      list += (list.empty() ? "" : ", ") + names[j];
    throw InputError(
        path + ": `label` " + o.label + ": no such column" +
        (header ? " (columns: " + list + ")" : " (the file has no header; give a 0-based index)"));
  }
  if (index_column && lab == 0)
    throw InputError(path + ": `label` " + o.label +
                     ": column 0 has no name in the header, the row index pandas writes; it "
                     "is dropped, so it cannot be the label (name the label column)");
  const long skip = index_column ? 0 : -1;  // the dropped column, or none
  const std::size_t nfeat = ncol - 1 - (index_column ? 1 : 0);
  if (nfeat < 1)
    throw InputError(path +
                     ": no feature column left besides the label and the unnamed index "
                     "column (pandas' row index, dropped)");

  const Index n = static_cast<Index>(rows.size() - first);
  const Index p = static_cast<Index>(nfeat);
  MatRM x(n, p);
  std::vector<std::string> raw_labels(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const CsvRow& r = rows[first + static_cast<std::size_t>(i)];
    if (r.fields.size() != ncol)
      throw InputError(path + ": line " + str(r.line) + " has " +
                       str(static_cast<long long>(r.fields.size())) + " fields, expected " +
                       str(static_cast<long long>(ncol)) + " (as on line " + str(rows[0].line) +
                       ")");
    Index jj = 0;
    for (std::size_t j = 0; j < ncol; ++j) {
      const std::string& f = r.fields[j];
      if (static_cast<long>(j) == lab) {
        raw_labels[static_cast<std::size_t>(i)] = f;
        continue;
      }
      if (static_cast<long>(j) == skip) continue;
      double v;
      if (f.empty())
        throw InputError(path + ": line " + str(r.line) + ", column " + names[j] + ": empty field");
      if (!parse_number(f, v))
        throw InputError(path + ": line " + str(r.line) + ", column " + names[j] + ": '" + f +
                         "' is not a number");
      if (!std::isfinite(v))
        throw InputError(path + ": line " + str(r.line) + ", column " + names[j] +
                         ": non-finite value '" + f + "'");
      x(i, jj++) = v;
    }
  }

  CsvImport out;
  out.had_header = header;
  out.label_column = names[static_cast<std::size_t>(lab)];
  for (std::size_t j = 0; j < ncol; ++j)
    if (static_cast<long>(j) != lab && static_cast<long>(j) != skip)
      out.columns.push_back(names[j]);
  if (index_column) {
    out.dropped_index_column = true;
    out.messages.push_back("dropped column 0 (" +
                           std::string(rows[0].fields[0].empty() ? "no name" : "\"Unnamed: 0\"") +
                           " in the header): a pandas row index, not a feature");
  }
  Dataset& d = out.data;
  d.path = path;
  auto line_of = [&](Index i) { return rows[first + static_cast<std::size_t>(i)].line; };

  // The label column: numbers? integers? how many distinct values?
  LabelSummary ls = summarize_labels(raw_labels);
  const std::string col = "label column " + out.label_column;
  if (o.task) {
    d.task = *o.task;
  } else {
    out.task_inferred = true;
    const long max_classes = std::min<long>(kCsvMaxInferredClasses, std::max<long>(2, n / 2));
    if (!ls.numeric) {
      d.task = Task::Classification;
      out.messages.push_back("task: classification (" + col + " holds non-numeric labels, e.g. '" +
                             ls.non_numeric_example + "')");
    } else if (!ls.integral) {
      d.task = Task::Regression;
      out.messages.push_back("task: regression (" + col + " holds real numbers, e.g. '" +
                             ls.non_integer_example + "'; `task=classification` to override)");
    } else if (ls.distinct <= max_classes && (ls.min == 0.0 || ls.min == 1.0) &&
               ls.max - ls.min + 1.0 == static_cast<double>(ls.distinct)) {
      d.task = Task::Classification;
      out.messages.push_back("task: classification (" + col + " holds " + str(ls.distinct) +
                             " distinct integer values; `task=regression` to override)");
    } else {
      throw InputError(path + ": cannot infer `task`: " + col + " holds " + str(ls.distinct) +
                       " distinct integer values (" + str(static_cast<long long>(ls.min)) + ".." +
                       str(static_cast<long long>(ls.max)) + ") in " + str(n) +
                       " rows; pass `task=regression` for a numeric target, or "
                       "`task=classification` if they are class labels");
    }
  }
  Vec y(n);
  IVec labels;
  if (d.task == Task::Regression) {
    for (Index i = 0; i < n; ++i) {
      const std::string& f = raw_labels[static_cast<std::size_t>(i)];
      if (!parse_number(f, y[i]) || !std::isfinite(y[i]))
        throw InputError(path + ": line " + str(line_of(i)) + ", label column " + out.label_column +
                         ": '" + f + "' is not a finite number (regression)");
    }
  } else {
    labels.resize(n);
    if (o.labels == LabelMode::Validate) {
      long long mx = -1;
      for (Index i = 0; i < n; ++i) {
        const std::string& f = raw_labels[static_cast<std::size_t>(i)];
        double v;
        const bool number = parse_number(f, v) && std::isfinite(v);
        if (number && (std::floor(v) != v || std::fabs(v) > 1e15))
          // A real number is a regression target, not a class: never suggest remapping it.
          throw InputError(path + ": line " + str(line_of(i)) + ", " + col + ": '" + f +
                           "' is not an integer class label; the column holds real numbers: "
                           "for a numeric target use `task=regression`");
        if (!number)
          throw InputError(path + ": line " + str(line_of(i)) + ", " + col + ": '" + f +
                           "' is not an integer class label (use `labels=remap` to map " +
                           "arbitrary labels to 0..K-1)");
        labels[i] = static_cast<std::int64_t>(v);
        mx = std::max<long long>(mx, labels[i]);
      }
      const long k = o.num_classes > 0 ? o.num_classes : static_cast<long>(mx + 1);
      for (Index i = 0; i < n; ++i)
        if (labels[i] < 0 || labels[i] >= k)
          throw InputError(path + ": line " + str(line_of(i)) + ", label column " +
                           out.label_column + ": label " + str(labels[i]) + " is outside 0.." +
                           str(k - 1) +
                           (o.num_classes > 0 ? " (`num_classes=" + str(k) + "`)" : "") +
                           " (use `labels=remap` to map arbitrary labels to 0..K-1)");
      if (k < 2)
        throw InputError(path + ": label column " + out.label_column +
                         " has a single class 0; "
                         "classification needs at least 2");
      // With K inferred (largest label + 1), every class 0..K-1 must occur: labels 1..K would
      // otherwise make an empty class 0. An explicit --num-classes may name absent classes.
      std::vector<char> seen(static_cast<std::size_t>(k), o.num_classes > 0 ? 1 : 0);
      for (Index i = 0; i < n; ++i) seen[static_cast<std::size_t>(labels[i])] = 1;
      std::string missing;
      long n_missing = 0;
      for (long c = 0; c < k; ++c) {
        if (seen[static_cast<std::size_t>(c)]) continue;
        if (++n_missing <= 5) missing += (missing.empty() ? "" : ", ") + str(c);
      }
      if (n_missing > 0)
        throw InputError(path + ": " + col + ": label" + (n_missing > 1 ? "s " : " ") + missing +
                         (n_missing > 5 ? ", ..." : "") + " of 0.." + str(k - 1) + " never occur" +
                         (n_missing > 1 ? "" : "s") +
                         " (K = largest label + 1); labels must be 0..K-1 with every class "
                         "present (use `labels=remap` to map the labels that occur to 0..K-1, "
                         "or `num_classes=K` if a class is absent from this file)");
      d.num_classes = k;
      for (long c = 0; c < k; ++c) out.class_names.push_back(std::to_string(c));
    } else {
      std::map<std::string, int> seen;
      bool numeric = true;
      for (const auto& f : raw_labels) {
        double v;
        seen[f] = 0;
        if (!parse_number(f, v) || !std::isfinite(v)) numeric = false;
      }
      std::vector<std::string> distinct;
      for (const auto& [k, _] : seen) distinct.push_back(k);
      if (numeric)
        std::stable_sort(distinct.begin(), distinct.end(),
                         [](const std::string& a, const std::string& b) {
                           return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
                         });
      const long k = static_cast<long>(distinct.size());
      if (numeric && !ls.integral && k > std::max<long>(2, n / 2))
        throw InputError(path + ": " + col + " holds " + str(k) + " distinct real numbers (e.g. '" +
                         ls.non_integer_example + "') in " + str(n) +
                         " rows: remapping would make nearly every row its own class; for a "
                         "numeric target use `task=regression`");
      if (o.num_classes > 0 && k != o.num_classes)
        throw InputError(path + ": label column " + out.label_column + " has " + str(k) +
                         " distinct labels, but `num_classes` is " + str(o.num_classes));
      if (k < 2)
        throw InputError(path + ": label column " + out.label_column +
                         " has a single distinct label '" + distinct[0] +
                         "'; classification needs at least 2");
      std::map<std::string, std::int64_t> code;
      for (long c = 0; c < k; ++c) code[distinct[static_cast<std::size_t>(c)]] = c;
      for (Index i = 0; i < n; ++i) labels[i] = code[raw_labels[static_cast<std::size_t>(i)]];
      d.num_classes = k;
      out.class_names = distinct;
    }
    y = labels.cast<double>();
  }
  d.feature_names = out.columns;
  if (d.task == Task::Classification) d.class_names = out.class_names;
  d.provenance = {
      {"importer", std::string("csv")},
      {"source", path},
      {"seed", seed_attr(o.seed)},
      {"param_label", out.label_column},
      {"param_task", std::string(d.task == Task::Regression ? "regression" : "classification")},
      {"param_task_inferred", std::int64_t{out.task_inferred ? 1 : 0}},
      {"param_header", std::string(header ? "yes" : "no")},
      {"param_delimiter", std::string(1, o.delimiter)},
      {"param_dropped_index_column", std::int64_t{index_column ? 1 : 0}},
      {"param_test_fraction", o.test_fraction}};
  if (d.task == Task::Classification) {
    d.provenance["param_labels"] = std::string(o.labels == LabelMode::Remap ? "remap" : "validate");
    d.provenance["param_num_classes"] = std::int64_t{d.num_classes};
  }

  // Test split.
  const Index n_test = static_cast<Index>(std::llround(o.test_fraction * static_cast<double>(n)));
  if (o.test_fraction > 0.0 && (n_test < 1 || n_test >= n))
    throw InputError(path + ": `test_fraction=" + std::to_string(o.test_fraction) + "` of " +
                     str(n) + " rows leaves " + str(n_test) + " test and " + str(n - n_test) +
                     " training rows; both must be >= 1");
  std::vector<char> is_test(static_cast<std::size_t>(n), 0);
  if (n_test > 0) {
    Rng rng(o.seed);
    for (Index i : random_subset(n, n_test, rng)) is_test[static_cast<std::size_t>(i)] = 1;
  }
  auto take = [&](char which) {
    Split s;
    Index cnt = 0;
    for (Index i = 0; i < n; ++i) cnt += is_test[static_cast<std::size_t>(i)] == which;
    s.x.resize(cnt, p);
    s.y.resize(cnt);
    if (d.task == Task::Classification) s.labels.resize(cnt);
    Index r = 0;
    for (Index i = 0; i < n; ++i) {
      if (is_test[static_cast<std::size_t>(i)] != which) continue;
      s.x.row(r) = x.row(i);
      s.y[r] = y[i];
      if (d.task == Task::Classification) s.labels[r] = labels[i];
      ++r;
    }
    return s;
  };
  if (n_test > 0) {
    d.train = take(0);
    d.test = take(1);
  } else {
    d.train.x = std::move(x);
    d.train.y = std::move(y);
    d.train.labels = std::move(labels);
  }
  return out;
}

}  // namespace lsekit
