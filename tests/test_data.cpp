// Tests of the HDF5 data layer: dataset and H5Doc round-trips, atomic writes, the
// validation of every kind of bad input (each error names file and dataset), and the
// seeded regression generator.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "core/errors.hpp"
#include "core/rng.hpp"
#include "data/dataset.hpp"
#include "data/generators.hpp"
#include "data/h5.hpp"
#include "data/h5doc.hpp"

namespace fs = std::filesystem;
using namespace lsekit;

namespace {

// A fresh directory under the system temp dir, removed with its content at scope exit.
struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("lsekit-test-data-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  // Names of all entries, to check that no temporary is left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
  }
};

template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected InputError, got another exception: " << e.what());
  }
  FAIL("expected InputError, nothing was thrown");
  return "";
}

bool same_bits(const double* a, const double* b, std::size_t n) {
  return n == 0 || std::memcmp(a, b, n * sizeof(double)) == 0;
}

Dataset small_classification(std::uint64_t seed, bool with_test) {
  Rng rng(seed);
  Dataset d;
  d.task = Task::Classification;
  d.num_classes = 3;
  auto fill = [&](Split& s, Index n, bool train) {
    s.x.resize(n, 4);
    for (Index i = 0; i < s.x.size(); ++i) s.x.data()[i] = rng.normal();
    s.labels.resize(n);
    for (Index i = 0; i < n; ++i) s.labels[i] = static_cast<std::int64_t>(rng.below(3));
    s.y = s.labels.cast<double>();
    IVec g(n);
    for (Index i = 0; i < n; ++i) g[i] = static_cast<std::int64_t>(rng.below(2));
    s.group = g;
    if (train) {
      IVec clean = s.labels;
      clean[0] = (clean[0] + 1) % 3;
      s.y_clean = clean;
    }
  };
  fill(d.train, 20, true);
  if (with_test) {
    d.test.emplace();
    fill(*d.test, 7, false);
  }
  return d;
}

void require_same_split(const Split& a, const Split& b) {
  REQUIRE(a.x.rows() == b.x.rows());
  REQUIRE(a.x.cols() == b.x.cols());
  CHECK(same_bits(a.x.data(), b.x.data(), static_cast<std::size_t>(a.x.size())));
  REQUIRE(a.y.size() == b.y.size());
  CHECK(same_bits(a.y.data(), b.y.data(), static_cast<std::size_t>(a.y.size())));
  CHECK(a.labels == b.labels);
  REQUIRE(a.y_clean.has_value() == b.y_clean.has_value());
  if (a.y_clean) CHECK(*a.y_clean == *b.y_clean);
  REQUIRE(a.group.has_value() == b.group.has_value());
  if (a.group) CHECK(*a.group == *b.group);
}

// A valid regression dataset as an H5Doc, to be broken by the tests.
H5Doc regression_doc(Index n = 5, Index p = 2) {
  H5Doc doc;
  doc.set_attr("/", "format", std::string("lsekit-dataset"));
  doc.set_attr("/", "format_version", std::int64_t{1});
  doc.set_attr("/", "task", std::string("regression"));
  MatRM x(n, p);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = 0.5 * static_cast<double>(i);
  Vec y = Vec::LinSpaced(n, 0.0, 1.0);
  doc.set("/train/X", Array::matrix(x));
  doc.set("/train/y", Array::vector(y));
  return doc;
}

H5Doc classification_doc(Index n = 5, Index p = 2) {
  H5Doc doc = regression_doc(n, p);
  doc.set_attr("/", "task", std::string("classification"));
  doc.set_attr("/", "num_classes", std::int64_t{3});
  IVec labels(n);
  for (Index i = 0; i < n; ++i) labels[i] = i % 3;
  doc.set("/train/y", Array::vector(labels));
  return doc;
}

// Writes `doc` to `file` and expects read_dataset to throw InputError whose message
// names the file and `object`; returns the message.
std::string bad_dataset(const std::string& file, const H5Doc& doc, const std::string& object) {
  write_h5doc(file, doc);
  const std::string msg = input_error([&] { read_dataset(file); });
  INFO(msg);
  CHECK(msg.find(file) != std::string::npos);
  CHECK(msg.find(object) != std::string::npos);
  return msg;
}

// Plain loops rather than Eigen reductions (GCC 12 warns spuriously inside Eigen's
// AVX-512 horizontal sums).
double mean_of(const Vec& v) {
  double s = 0;
  for (Index i = 0; i < v.size(); ++i) s += v[i];
  return s / static_cast<double>(v.size());
}

double cov_of(const Vec& a, const Vec& b) {  // about zero mean
  double s = 0;
  for (Index i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s / static_cast<double>(a.size());
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("regression dataset round-trips bitwise", "[data][hdf5]") {
  TempDir tmp;
  RegressionGenOptions o;
  o.n = 200;
  o.p = 3;
  o.n_test = 30;
  o.outlier_frac = 0.05;
  const Dataset d = generate_regression(o);
  const std::string file = tmp.file("reg.h5");
  write_dataset(file, d);
  const Dataset r = read_dataset(file);
  CHECK(r.task == Task::Regression);
  CHECK(r.path == file);
  require_same_split(d.train, r.train);
  REQUIRE(r.test.has_value());
  require_same_split(*d.test, *r.test);
  CHECK(file_format(file) == "lsekit-dataset");
  CHECK(tmp.entries() == std::vector<std::string>{"reg.h5"});
}

TEST_CASE("classification dataset with test split, y_clean and groups round-trips",
          "[data][hdf5]") {
  TempDir tmp;
  const Dataset d = small_classification(7, true);
  const std::string file = tmp.file("cls.h5");
  write_dataset(file, d);
  const Dataset r = read_dataset(file);
  CHECK(r.task == Task::Classification);
  CHECK(r.num_classes == 3);
  require_same_split(d.train, r.train);
  REQUIRE(r.test.has_value());
  require_same_split(*d.test, *r.test);
  CHECK_FALSE(r.test->y_clean.has_value());

  // The file holds int64 labels and the documented attributes (what h5py would see).
  const H5Doc doc = read_h5doc(file);
  CHECK(std::get<std::string>(doc.attrs.at("/").at("format")) == "lsekit-dataset");
  CHECK(std::get<std::int64_t>(doc.attrs.at("/").at("format_version")) == 1);
  CHECK(std::get<std::string>(doc.attrs.at("/").at("task")) == "classification");
  CHECK(std::get<std::int64_t>(doc.attrs.at("/").at("num_classes")) == 3);
  CHECK(doc.datasets.at("/train/y").is_int());
  CHECK(doc.datasets.at("/train/y_clean").is_int());
  CHECK_FALSE(doc.datasets.at("/train/X").is_int());
  CHECK(doc.datasets.at("/train/X").shape == std::vector<std::uint64_t>{20, 4});
}

TEST_CASE("write_dataset validates before writing", "[data][hdf5]") {
  TempDir tmp;
  const std::string file = tmp.file("bad.h5");
  Dataset d = small_classification(3, false);
  d.train.labels[2] = 5;
  d.train.y[2] = 5;
  const std::string msg = input_error([&] { write_dataset(file, d); });
  CHECK(contains(msg, "/train/y"));
  CHECK(contains(msg, "DRO classification"));
  CHECK(tmp.entries().empty());

  // Labels may be given as y only.
  Dataset e = small_classification(3, false);
  e.train.labels.resize(0);
  write_dataset(file, e);
  CHECK(read_dataset(file).train.labels == small_classification(3, false).train.labels);
}

TEST_CASE("H5Doc round-trips attributes and arrays", "[data][hdf5]") {
  TempDir tmp;
  H5Doc doc;
  doc.set_attr("/", "format", std::string("lsekit-result"));
  doc.set_attr("/", "unicode", std::string("\xce\xbb = 1 \xe2\x80\x94 \xc3\xbc"));
  doc.set_attr("/", "empty", std::string(""));
  doc.set_attr("/", "lambda", 0.1);
  doc.set_attr("/", "seed", std::int64_t{-42});
  doc.set_attr("/", "big", std::numeric_limits<std::int64_t>::max());
  doc.set_attr("/metrics", "rmse", 1.0 / 3.0);
  doc.set_attr("/solution/weights", "note", std::string("on a dataset"));
  doc.set_attr("/empty_group", "n", std::int64_t{0});
  doc.set("/solution/intercept", Array::scalar(2.5));
  doc.set("/solution/weights", Array::vector(Vec::LinSpaced(4, -1.0, 1.0)));
  IVec iv(3);
  iv << -1, 0, std::numeric_limits<std::int64_t>::max();
  doc.set("/runs/0001/trace/step", Array::vector(iv));
  MatRM m(2, 3);
  m << 1, 2, 3, 4, 5, std::numeric_limits<double>::quiet_NaN();
  doc.set("/matrix", Array::matrix(m));
  doc.set("/empty", Array::vector(std::vector<double>{}));
  // A larger array.
  std::vector<double> big(100000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::sin(static_cast<double>(i));
  doc.set("/big", Array{{1000, 100}, big});

  const std::string file = tmp.file("doc.h5");
  write_h5doc(file, doc);
  const H5Doc r = read_h5doc(file);

  for (const auto& [object, attrs] : doc.attrs) {
    INFO(object);
    REQUIRE(r.attrs.count(object));
    CHECK(r.attrs.at(object) == attrs);
  }
  REQUIRE(r.datasets.size() == doc.datasets.size());
  for (const auto& [name, a] : doc.datasets) {
    INFO(name);
    REQUIRE(r.datasets.count(name));
    const Array& b = r.datasets.at(name);
    CHECK(b.shape == a.shape);
    REQUIRE(b.is_int() == a.is_int());
    REQUIRE(b.numel() == a.numel());
    if (a.is_int()) {
      CHECK(std::get<1>(b.data) == std::get<1>(a.data));
    } else {
      CHECK(same_bits(std::get<0>(b.data).data(), std::get<0>(a.data).data(), a.numel()));
    }
  }
  CHECK(r.datasets.at("/solution/intercept").shape.empty());  // h5py: shape ()
  CHECK(r.datasets.at("/solution/intercept").numel() == 1);
  CHECK(r.attrs.count("/runs/0001/trace"));  // intermediate groups are listed
  CHECK(file_format(file) == "lsekit-result");
}

TEST_CASE("H5Doc array helpers", "[data]") {
  MatRM m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  const Array a = Array::matrix(m);
  CHECK(a.shape == std::vector<std::uint64_t>{2, 3});
  CHECK(std::get<0>(a.data) == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(a.numel() == 6);
  CHECK(Array::scalar(1.0).shape.empty());
  CHECK(Array::scalar(1.0).numel() == 1);
  IVec iv(2);
  iv << 3, 4;
  CHECK(Array::vector(iv).is_int());
  CHECK(Array::vector(Vec::Ones(5)).shape == std::vector<std::uint64_t>{5});
}

TEST_CASE("writes are atomic and overwrite=false refuses", "[data][hdf5]") {
  TempDir tmp;
  const std::string file = tmp.file("out.h5");
  H5Doc a;
  a.set_attr("/", "format", std::string("first"));
  write_h5doc(file, a, false);
  CHECK(tmp.entries() == std::vector<std::string>{"out.h5"});

  H5Doc b;
  b.set_attr("/", "format", std::string("second"));
  CHECK_THROWS_AS(write_h5doc(file, b, false), IoError);
  CHECK(file_format(file) == "first");
  CHECK(tmp.entries() == std::vector<std::string>{"out.h5"});

  write_h5doc(file, b, true);
  CHECK(file_format(file) == "second");
  CHECK(tmp.entries() == std::vector<std::string>{"out.h5"});

  // A failure in the middle of writing (a dataset cannot have children) leaves neither
  // the target nor the temporary.
  H5Doc broken;
  broken.set("/a", Array::scalar(1.0));
  broken.set("/a/b", Array::scalar(2.0));
  const std::string other = tmp.file("broken.h5");
  CHECK_THROWS_AS(write_h5doc(other, broken), IoError);
  CHECK(tmp.entries() == std::vector<std::string>{"out.h5"});

  // An inconsistent array is rejected before anything is written.
  H5Doc inconsistent;
  inconsistent.set("/x", Array{{3}, std::vector<double>{1.0}});
  CHECK_THROWS_AS(write_h5doc(other, inconsistent), InputError);
  CHECK(tmp.entries() == std::vector<std::string>{"out.h5"});

  // A directory that does not exist.
  CHECK_THROWS_AS(write_h5doc(tmp.file("no/such/dir.h5"), a), IoError);
  CHECK(tmp.entries() == std::vector<std::string>{"out.h5"});
}

TEST_CASE("no HDF5 identifiers leak, on success or on error", "[data][hdf5]") {
  TempDir tmp;
  const ssize_t before = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  const std::string f = tmp.file("leak.h5");
  write_dataset(f, small_classification(1, true));
  (void)read_dataset(f);
  (void)read_h5doc(f);
  H5Doc doc = regression_doc();
  std::get<0>(doc.datasets["/train/y"].data)[1] = std::nan("");
  write_h5doc(f, doc);
  CHECK_THROWS_AS(read_dataset(f), InputError);
  H5Doc broken;
  broken.set("/a", Array::scalar(1.0));
  broken.set("/a/b", Array::scalar(2.0));
  CHECK_THROWS_AS(write_h5doc(f, broken), IoError);
  CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == before);
}

TEST_CASE("missing and non-HDF5 files are I/O errors", "[data][hdf5]") {
  TempDir tmp;
  const std::string missing = tmp.file("missing.h5");
  CHECK_THROWS_AS(read_dataset(missing), IoError);
  CHECK_THROWS_AS(read_h5doc(missing), IoError);
  CHECK_THROWS_AS(file_format(missing), IoError);
  try {
    read_dataset(missing);
  } catch (const IoError& e) {
    CHECK(contains(e.what(), missing));
  }

  const std::string text = tmp.file("text.h5");
  std::ofstream(text) << "x,y\n1,2\n";
  CHECK_THROWS_AS(read_dataset(text), IoError);
  CHECK_THROWS_AS(read_h5doc(text), IoError);
  try {
    read_dataset(text);
  } catch (const IoError& e) {
    CHECK(contains(e.what(), text));
    CHECK(contains(e.what(), "not an HDF5 file"));
  }
  CHECK_THROWS_AS(read_dataset(tmp.dir.string()), IoError);
}

TEST_CASE("bad datasets are input errors naming file and dataset", "[data][hdf5]") {
  TempDir tmp;
  const std::string f = tmp.file("input.h5");

  SECTION("valid baselines read") {
    write_h5doc(f, regression_doc());
    CHECK(read_dataset(f).train.size() == 5);
    write_h5doc(f, classification_doc());
    CHECK(read_dataset(f).num_classes == 3);
  }
  SECTION("missing /train/X") {
    H5Doc doc = regression_doc();
    doc.datasets.erase("/train/X");
    const auto msg = bad_dataset(f, doc, "/train/X");
    CHECK(contains(msg, "missing"));
    CHECK(contains(msg, "DRO regression dataset"));
  }
  SECTION("missing /train/y") {
    H5Doc doc = regression_doc();
    doc.datasets.erase("/train/y");
    bad_dataset(f, doc, "/train/y");
  }
  SECTION("X of rank 1") {
    H5Doc doc = regression_doc();
    doc.set("/train/X", Array::vector(Vec::Ones(5)));
    CHECK(contains(bad_dataset(f, doc, "/train/X"), "rank"));
  }
  SECTION("X of rank 3") {
    H5Doc doc = regression_doc();
    doc.set("/train/X", Array{{5, 2, 1}, std::vector<double>(10, 1.0)});
    CHECK(contains(bad_dataset(f, doc, "/train/X"), "rank"));
  }
  SECTION("X with no rows") {
    H5Doc doc = regression_doc();
    doc.set("/train/X", Array{{0, 2}, std::vector<double>{}});
    doc.set("/train/y", Array::vector(std::vector<double>{}));
    CHECK(contains(bad_dataset(f, doc, "/train/X"), "empty"));
  }
  SECTION("y of the wrong length") {
    H5Doc doc = regression_doc();
    doc.set("/train/y", Array::vector(Vec::Ones(4)));
    CHECK(contains(bad_dataset(f, doc, "/train/y"), "length 4"));
  }
  SECTION("y of rank 2") {
    H5Doc doc = regression_doc();
    doc.set("/train/y", Array::matrix(MatRM::Ones(5, 1)));
    CHECK(contains(bad_dataset(f, doc, "/train/y"), "rank"));
  }
  SECTION("NaN in X") {
    H5Doc doc = regression_doc();
    std::get<0>(doc.datasets["/train/X"].data)[3 * 2 + 1] = std::nan("");
    const auto msg = bad_dataset(f, doc, "/train/X");
    CHECK(contains(msg, "non-finite value at row 3, column 1 (DRO regression dataset)"));
  }
  SECTION("Inf in y") {
    H5Doc doc = regression_doc();
    std::get<0>(doc.datasets["/train/y"].data)[2] = -std::numeric_limits<double>::infinity();
    CHECK(contains(bad_dataset(f, doc, "/train/y"), "non-finite value at row 2"));
  }
  SECTION("NaN in /test/X") {
    H5Doc doc = regression_doc();
    MatRM x = MatRM::Ones(3, 2);
    x(1, 0) = std::nan("");
    doc.set("/test/X", Array::matrix(x));
    doc.set("/test/y", Array::vector(Vec::Ones(3)));
    CHECK(contains(bad_dataset(f, doc, "/test/X"), "row 1, column 0"));
  }
  SECTION("test split with another number of features") {
    H5Doc doc = regression_doc();
    doc.set("/test/X", Array::matrix(MatRM::Ones(3, 5)));
    doc.set("/test/y", Array::vector(Vec::Ones(3)));
    CHECK(contains(bad_dataset(f, doc, "/test/X"), "columns"));
  }
  SECTION("test X without test y") {
    H5Doc doc = regression_doc();
    doc.set("/test/X", Array::matrix(MatRM::Ones(3, 2)));
    bad_dataset(f, doc, "/test/y");
  }
  SECTION("label out of range") {
    H5Doc doc = classification_doc();
    std::get<1>(doc.datasets["/train/y"].data)[4] = 3;
    const auto msg = bad_dataset(f, doc, "/train/y");
    CHECK(contains(msg, "label 3 at row 4"));
    CHECK(contains(msg, "DRO classification dataset"));
  }
  SECTION("negative label") {
    H5Doc doc = classification_doc();
    std::get<1>(doc.datasets["/train/y"].data)[0] = -1;
    bad_dataset(f, doc, "/train/y");
  }
  // Since issue 12, float labels holding integers and integer X / y are read and converted
  // (tests/test_input_conversions.cpp); only non-integral float labels are refused.
  SECTION("float labels for classification: integral ones converted, others refused") {
    H5Doc doc = classification_doc();
    doc.set("/train/y", Array::vector(Vec::Zero(5)));
    write_h5doc(f, doc);
    CHECK(read_dataset(f).notes ==
          std::vector<std::string>{"/train/y: float64 converted to int64"});
    doc.set("/train/y", Array::vector(Vec::Constant(5, 0.5)));
    CHECK(contains(bad_dataset(f, doc, "/train/y"), "not an integer"));
  }
  SECTION("integer targets for regression are converted") {
    H5Doc doc = regression_doc();
    doc.set("/train/y", Array::vector(IVec::Zero(5)));
    write_h5doc(f, doc);
    CHECK(read_dataset(f).notes ==
          std::vector<std::string>{"/train/y: int64 converted to float64"});
  }
  SECTION("integer X is converted") {
    H5Doc doc = regression_doc();
    doc.set("/train/X", Array{{5, 2}, std::vector<std::int64_t>(10, 1)});
    write_h5doc(f, doc);
    const Dataset d = read_dataset(f);
    CHECK(d.train.x(4, 1) == 1.0);
    CHECK(d.notes == std::vector<std::string>{"/train/X: int64 converted to float64"});
  }
  SECTION("y_clean out of range and group of the wrong length") {
    H5Doc doc = classification_doc();
    doc.set("/train/y_clean", Array::vector(IVec::Constant(5, 7)));
    bad_dataset(f, doc, "/train/y_clean");
    doc = classification_doc();
    doc.set("/train/group", Array::vector(IVec::Zero(6)));
    CHECK(contains(bad_dataset(f, doc, "/train/group"), "length 6"));
    doc = regression_doc();
    doc.set("/train/group", Array::vector(IVec::Constant(5, -2)));
    CHECK(contains(bad_dataset(f, doc, "/train/group"), "group id -2"));
  }
  SECTION("wrong format attribute") {
    H5Doc doc = regression_doc();
    doc.set_attr("/", "format", std::string("lsekit-ot"));
    const auto msg = bad_dataset(f, doc, "/");
    CHECK(contains(msg, "format"));
    CHECK(contains(msg, "lsekit-ot"));
  }
  SECTION("format attribute missing or not a string") {
    H5Doc doc = regression_doc();
    doc.attrs["/"].erase("format");
    CHECK(contains(bad_dataset(f, doc, "/"), "missing attribute 'format'"));
    doc.set_attr("/", "format", 1.0);
    CHECK(contains(bad_dataset(f, doc, "/"), "must be a string"));
  }
  SECTION("wrong format_version") {
    H5Doc doc = regression_doc();
    doc.set_attr("/", "format_version", std::int64_t{2});
    CHECK(contains(bad_dataset(f, doc, "/"), "format_version 2"));
    doc.set_attr("/", "format_version", std::string("1"));
    CHECK(contains(bad_dataset(f, doc, "/"), "format_version"));
  }
  SECTION("unknown task") {
    H5Doc doc = regression_doc();
    doc.set_attr("/", "task", std::string("ranking"));
    CHECK(contains(bad_dataset(f, doc, "/"), "ranking"));
  }
  SECTION("num_classes missing or too small") {
    H5Doc doc = classification_doc();
    doc.attrs["/"].erase("num_classes");
    const auto msg = bad_dataset(f, doc, "/");
    CHECK(contains(msg, "num_classes"));
    CHECK(contains(msg, "DRO classification dataset"));
    doc.set_attr("/", "num_classes", std::int64_t{1});
    CHECK(contains(bad_dataset(f, doc, "/"), "num_classes"));
  }
  SECTION("float32 X (converted) and string X (refused) written with the C API") {
    H5Doc doc = regression_doc();
    doc.datasets.erase("/train/X");
    write_h5doc(f, doc);
    {
      h5::silence_errors();
      h5::Handle file = h5::Handle::file(H5Fopen(f.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
      REQUIRE(file);
      const hsize_t dims[2] = {5, 2};
      h5::Handle space = h5::Handle::space(H5Screate_simple(2, dims, nullptr));
      h5::Handle dset =
          h5::Handle::dataset(H5Dcreate2(file.get(), "/train/X", H5T_IEEE_F32LE, space.get(),
                                         H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      REQUIRE(dset);
      const float vals[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
      REQUIRE(H5Dwrite(dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals) >= 0);
    }
    // float32 is read and converted (issue 12).
    const Dataset d32 = read_dataset(f);
    CHECK(d32.train.x(4, 1) == 9.0);
    CHECK(d32.notes == std::vector<std::string>{"/train/X: float32 converted to float64"});

    write_h5doc(f, doc);
    {
      h5::Handle file = h5::Handle::file(H5Fopen(f.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
      REQUIRE(file);
      const hsize_t dims[2] = {5, 2};
      h5::Handle space = h5::Handle::space(H5Screate_simple(2, dims, nullptr));
      h5::Handle type = h5::Handle::type(H5Tcopy(H5T_C_S1));
      H5Tset_size(type.get(), 4);
      h5::Handle dset = h5::Handle::dataset(H5Dcreate2(
          file.get(), "/train/X", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      REQUIRE(dset);
    }
    std::string msg = input_error([&] { read_dataset(f); });
    CHECK(contains(msg, f));
    CHECK(contains(msg, "/train/X"));
    CHECK(contains(msg, "string"));
    // read_h5doc describes what it cannot represent instead of failing.
    const H5Doc r = read_h5doc(f);
    CHECK(contains(std::get<std::string>(r.attrs.at("/train/X").at("<unsupported>")), "string"));
  }
  SECTION("absurd declared size is rejected before allocating") {
    H5Doc doc = regression_doc();
    doc.datasets.erase("/train/X");
    write_h5doc(f, doc);
    {
      h5::Handle file = h5::Handle::file(H5Fopen(f.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
      REQUIRE(file);
      const hsize_t dims[2] = {hsize_t{1} << 30, hsize_t{1} << 30};  // each fine, product not
      h5::Handle space = h5::Handle::space(H5Screate_simple(2, dims, nullptr));
      h5::Handle dcpl = h5::Handle::plist(H5Pcreate(H5P_DATASET_CREATE));
      const hsize_t chunk[2] = {1, 1024};
      H5Pset_chunk(dcpl.get(), 2, chunk);
      h5::Handle dset =
          h5::Handle::dataset(H5Dcreate2(file.get(), "/train/X", H5T_IEEE_F64LE, space.get(),
                                         H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
      REQUIRE(dset);
    }
    const std::string msg = input_error([&] { read_dataset(f); });
    CHECK(contains(msg, f));
    CHECK(contains(msg, "/train/X"));
    CHECK(contains(msg, "too large"));
  }
}

TEST_CASE("regression generator is deterministic and marks outliers", "[data]") {
  RegressionGenOptions o;
  o.n = 1000;
  o.p = 5;
  o.n_test = 100;
  o.outlier_frac = 0.03;
  const Dataset a = generate_regression(o);
  const Dataset b = generate_regression(o);
  require_same_split(a.train, b.train);
  require_same_split(*a.test, *b.test);

  RegressionGenOptions o2 = o;
  o2.seed = 2;
  const Dataset c = generate_regression(o2);
  CHECK_FALSE(a.train.x == c.train.x);
  CHECK_FALSE(a.train.y == c.train.y);

  CHECK(a.task == Task::Regression);
  CHECK(a.train.x.rows() == 1000);
  CHECK(a.train.x.cols() == 5);
  REQUIRE(a.test.has_value());
  CHECK(a.test->size() == 100);
  CHECK_FALSE(a.test->group.has_value());  // the test split is clean
  REQUIRE(a.train.group.has_value());
  const IVec& g = *a.train.group;
  CHECK(g.size() == 1000);
  std::int64_t count = 0;
  bool binary = true;
  for (Index i = 0; i < g.size(); ++i) {
    binary = binary && (g[i] == 0 || g[i] == 1);
    count += g[i];
  }
  CHECK(binary);
  CHECK(count == 30);  // round(0.03 * 1000)

  // Standardized with the training statistics.
  for (Index j = 0; j < 5; ++j) {
    const Vec col = a.train.x.col(j);
    const double m = mean_of(col);
    CHECK(std::abs(m) < 1e-12);
    const Vec centered = col.array() - m;
    CHECK(cov_of(centered, centered) * 1000.0 / 999.0 == Approx(1.0));
  }
  CHECK(std::abs(mean_of(a.train.y)) < 1e-12);

  // Outliers sit far from the bulk of the targets.
  double out = 0, in = 0;
  for (Index i = 0; i < 1000; ++i) (g[i] ? out : in) += std::abs(a.train.y[i]);
  CHECK(out / 30 > 3.0 * in / 970);

  // Without standardization the features have the AR(1) covariance corr^|i-j|.
  RegressionGenOptions raw = o;
  raw.n = 20000;
  raw.standardize = false;
  raw.outlier_frac = 0.0;
  const Dataset r = generate_regression(raw);
  std::int64_t outliers = 0;
  for (Index i = 0; i < r.train.group->size(); ++i) outliers += (*r.train.group)[i];
  CHECK(outliers == 0);
  const Vec x0 = r.train.x.col(0), x1 = r.train.x.col(1), x2 = r.train.x.col(2);
  const Vec x3 = r.train.x.col(3);
  CHECK(cov_of(x0, x1) == Approx(0.3).margin(0.03));
  CHECK(cov_of(x0, x2) == Approx(0.09).margin(0.03));
  CHECK(cov_of(x3, x3) == Approx(1.0).margin(0.05));

  // The generated dataset is valid input.
  TempDir tmp;
  write_dataset(tmp.file("gen.h5"), a);
  CHECK(read_dataset(tmp.file("gen.h5")).train.size() == 1000);
}

TEST_CASE("regression generator rejects invalid options", "[data]") {
  RegressionGenOptions o;
  o.n = 0;
  CHECK_THROWS_AS(generate_regression(o), InputError);
  o = {};
  o.corr = 1.0;
  CHECK_THROWS_AS(generate_regression(o), InputError);
  o = {};
  o.outlier_frac = 1.5;
  CHECK_THROWS_AS(generate_regression(o), InputError);
  o = {};
  o.df = 0;
  CHECK_THROWS_AS(generate_regression(o), InputError);
}
