// Readers accept what common tools write (issue 12, item 5): float32 and integer arrays are
// converted to float64 (labels: integer types of any width, floats only if integral), each
// conversion noted; a target weight vector normalized in float32 is renormalized (noted);
// every other validation still holds. Also: names under /meta and provenance attributes
// round-trip, and generators record theirs.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/generators.hpp"
#include "data/h5.hpp"
#include "data/h5doc.hpp"
#include "data/ot_generator.hpp"
#include "data/ot_instance.hpp"

namespace fs = std::filesystem;
using namespace lsekit;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("lsekit-test-conv-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
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

// Replaces the dataset at `path` of an existing file by `values` (row-major, `shape`) stored
// with the HDF5 type `file_type` (HDF5 converts from double on writing), as numpy/h5py would
// write a float32 or int32 array.
void replace_dataset(const std::string& file, const std::string& path,
                     const std::vector<hsize_t>& shape, const std::vector<double>& values,
                     hid_t file_type) {
  h5::silence_errors();
  h5::Handle f = h5::Handle::file(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  REQUIRE(f);
  if (h5::exists(f.get(), path)) REQUIRE(H5Ldelete(f.get(), path.c_str(), H5P_DEFAULT) >= 0);
  h5::Handle space =
      h5::Handle::space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr));
  h5::Handle lcpl = h5::Handle::plist(H5Pcreate(H5P_LINK_CREATE));
  REQUIRE(H5Pset_create_intermediate_group(lcpl.get(), 1) >= 0);
  h5::Handle d = h5::Handle::dataset(H5Dcreate2(f.get(), path.c_str(), file_type, space.get(),
                                                lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  REQUIRE(d);
  REQUIRE(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
}

bool has_note(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& n : notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

Dataset small_regression() {
  Dataset d;
  d.task = Task::Regression;
  d.train.x.resize(4, 2);
  d.train.x << 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8;
  d.train.y = (Vec(4) << 1.5, -2.0, 0.25, 3.0).finished();
  return d;
}

Dataset small_classification() {
  Dataset d;
  d.task = Task::Classification;
  d.num_classes = 3;
  d.train.x.resize(6, 2);
  for (Index i = 0; i < d.train.x.size(); ++i) d.train.x.data()[i] = 0.1 * static_cast<double>(i);
  d.train.labels = (IVec(6) << 0, 1, 2, 0, 1, 2).finished();
  d.train.y = d.train.labels.cast<double>();
  d.train.y_clean = d.train.labels;
  d.train.group = (IVec(6) << 0, 0, 1, 1, 0, 1).finished();
  return d;
}

OtInstance small_ot() {
  OtInstance inst;
  inst.x.resize(3, 2);
  inst.x << 0.0, 1.0, 2.0, 3.0, 4.0, 5.0;
  inst.y.resize(5, 2);
  for (Index i = 0; i < inst.y.size(); ++i) inst.y.data()[i] = 0.25 * static_cast<double>(i);
  inst.b = Vec::Constant(5, 0.2);
  inst.epsilon = 0.1;
  return inst;
}

}  // namespace

TEST_CASE("dataset reader converts float32 and integer arrays and notes each conversion",
          "[data][hdf5][conversions]") {
  TempDir t;
  const std::string f = t.file("reg.h5");

  SECTION("canonical dtypes: nothing to note") {
    write_dataset(f, small_regression());
    CHECK(read_dataset(f).notes.empty());
    write_dataset(f, small_classification());
    CHECK(read_dataset(f).notes.empty());
  }
  SECTION("float32 X and int32 y of a regression dataset") {
    const Dataset d = small_regression();
    write_dataset(f, d);
    replace_dataset(f, "/train/X", {4, 2},
                    std::vector<double>(d.train.x.data(), d.train.x.data() + 8), H5T_IEEE_F32LE);
    replace_dataset(f, "/train/y", {4}, {1, -2, 0, 3}, H5T_STD_I32LE);
    const Dataset r = read_dataset(f);
    for (Index i = 0; i < 8; ++i) {
      CHECK(r.train.x.data()[i] == static_cast<double>(static_cast<float>(d.train.x.data()[i])));
    }
    CHECK(r.train.y == (Vec(4) << 1, -2, 0, 3).finished());
    REQUIRE(r.notes.size() == 2);
    CHECK(r.notes[0] == "/train/X: float32 converted to float64");
    CHECK(r.notes[1] == "/train/y: int32 converted to float64");
  }
  SECTION("integer X of every width and byte order") {
    write_dataset(f, small_regression());
    for (hid_t type : {H5T_STD_U8LE, H5T_STD_I16BE, H5T_STD_U32LE, H5T_STD_I64LE}) {
      replace_dataset(f, "/train/X", {4, 2}, {0, 1, 2, 3, 4, 5, 6, 7}, type);
      const Dataset r = read_dataset(f);
      CHECK(r.train.x(3, 1) == 7.0);
      CHECK(has_note(r.notes, "/train/X: "));
      CHECK(has_note(r.notes, "converted to float64"));
    }
  }
  SECTION("non-finite float32 values are still refused, naming file, dataset and row") {
    write_dataset(f, small_regression());
    replace_dataset(f, "/train/X", {4, 2}, {0, 1, 2, 3, 4, NAN, 6, 7}, H5T_IEEE_F32LE);
    CHECK_THAT(input_error([&] { read_dataset(f); }), Contains(f) && Contains("/train/X") &&
                                                          Contains("non-finite") &&
                                                          Contains("row 2, column 1"));
    write_dataset(f, small_regression());
    replace_dataset(f, "/train/y", {4}, {0, INFINITY, 2, 3}, H5T_IEEE_F32LE);
    CHECK_THAT(input_error([&] { read_dataset(f); }),
               Contains("/train/y") && Contains("non-finite"));
  }
  SECTION("types that are not real numbers are refused") {
    write_dataset(f, small_regression());
    replace_dataset(f, "/train/X", {4, 2}, {0, 1, 2, 3, 4, 5, 6, 7}, H5T_NATIVE_LDOUBLE);
    CHECK_THAT(input_error([&] { read_dataset(f); }),
               Contains("/train/X") && Contains("expected a float64 dataset"));
  }
  SECTION("labels: any integer width, or floats holding integers") {
    const Dataset d = small_classification();
    write_dataset(f, d);
    replace_dataset(f, "/train/y", {6}, {0, 1, 2, 0, 1, 2}, H5T_STD_U8LE);
    replace_dataset(f, "/train/y_clean", {6}, {0, 1, 2, 0, 1, 2}, H5T_IEEE_F32LE);
    replace_dataset(f, "/train/group", {6}, {0, 0, 1, 1, 0, 1}, H5T_IEEE_F64LE);
    const Dataset r = read_dataset(f);
    CHECK(r.train.labels == d.train.labels);
    CHECK(*r.train.y_clean == d.train.labels);
    CHECK(*r.train.group == *d.train.group);
    CHECK(r.notes == std::vector<std::string>{"/train/y: uint8 converted to int64",
                                              "/train/y_clean: float32 converted to int64",
                                              "/train/group: float64 converted to int64"});
  }
  SECTION("float labels that are not integers, and labels out of range, are refused") {
    write_dataset(f, small_classification());
    replace_dataset(f, "/train/y", {6}, {0, 1, 2.5, 0, 1, 2}, H5T_IEEE_F64LE);
    CHECK_THAT(input_error([&] { read_dataset(f); }), Contains(f) && Contains("/train/y") &&
                                                          Contains("label at row 2 is 2.5") &&
                                                          Contains("not an integer"));
    replace_dataset(f, "/train/y", {6}, {0, 1, NAN, 0, 1, 2}, H5T_IEEE_F32LE);
    CHECK_THAT(input_error([&] { read_dataset(f); }), Contains("label at row 2 is nan"));
    replace_dataset(f, "/train/y", {6}, {0, 1, 3, 0, 1, 2}, H5T_STD_I8LE);
    CHECK_THAT(input_error([&] { read_dataset(f); }),
               Contains("/train/y") && Contains("label 3 at row 2"));
    replace_dataset(f, "/train/y", {6}, {0, 1, 2, 0, 1, 2}, H5T_STD_I8LE);
    replace_dataset(f, "/train/group", {6}, {0, 0.5, 1, 1, 0, 1}, H5T_IEEE_F32LE);
    CHECK_THAT(input_error([&] { read_dataset(f); }),
               Contains("/train/group") && Contains("group id at row 1 is 0.5"));
  }
}

TEST_CASE("OT reader converts float32 arrays and renormalizes b normalized in float32",
          "[ot][hdf5][conversions]") {
  TempDir t;
  const std::string f = t.file("ot.h5");
  write_ot_instance(f, small_ot());
  CHECK(read_ot_instance(f).notes.empty());

  SECTION("float32 points and a float32 b (sum 1 + 1.5e-8)") {
    replace_dataset(f, "/source/X", {3, 2}, {0, 1, 2, 3, 4, 5}, H5T_IEEE_F32LE);
    replace_dataset(f, "/target/Y", {5, 2}, {0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25},
                    H5T_IEEE_F32LE);
    replace_dataset(f, "/target/b", {5}, {0.2, 0.2, 0.2, 0.2, 0.2}, H5T_IEEE_F32LE);
    const OtInstance r = read_ot_instance(f);
    CHECK(r.x(2, 1) == 5.0);
    CHECK(std::fabs(r.b.sum() - 1.0) <= 1e-15);
    CHECK(r.b(0) == r.b(4));
    REQUIRE(r.notes.size() == 4);
    CHECK(r.notes[0] == "/source/X: float32 converted to float64");
    CHECK(r.notes[1] == "/target/Y: float32 converted to float64");
    CHECK(r.notes[2] == "/target/b: float32 converted to float64");
    CHECK_THAT(r.notes[3], Contains("/target/b: weights summed to 1 + 1.49e-08; renormalized"));
  }
  SECTION("float64 b off by 1.9e-9 (the issue's example) is renormalized") {
    const double e = 1.9e-9 / 5;
    replace_dataset(f, "/target/b", {5}, {0.2 + e, 0.2 + e, 0.2 + e, 0.2 + e, 0.2 + e},
                    H5T_IEEE_F64LE);
    const OtInstance r = read_ot_instance(f);
    CHECK(std::fabs(r.b.sum() - 1.0) <= 1e-15);
    REQUIRE(r.notes.size() == 1);
    CHECK_THAT(r.notes[0], Contains("renormalized"));
  }
  SECTION("within 1e-9 is left as it is, unnoted") {
    replace_dataset(f, "/target/b", {5}, {0.2, 0.2, 0.2, 0.2, 0.2 + 5e-10}, H5T_IEEE_F64LE);
    const OtInstance r = read_ot_instance(f);
    CHECK(r.b(4) == 0.2 + 5e-10);
    CHECK(r.notes.empty());
  }
  SECTION("integer b is converted; larger sum errors, negatives and non-finite stay errors") {
    replace_dataset(f, "/target/b", {5}, {1, 0, 0, 0, 0}, H5T_STD_I32LE);
    const OtInstance r = read_ot_instance(f);
    CHECK(r.b(0) == 1.0);
    CHECK(r.notes == std::vector<std::string>{"/target/b: int32 converted to float64"});

    replace_dataset(f, "/target/b", {5}, {0.2, 0.2, 0.2, 0.2, 0.2 + 1e-5}, H5T_IEEE_F64LE);
    CHECK_THAT(input_error([&] { read_ot_instance(f); }), Contains(f) && Contains("/target/b") &&
                                                              Contains("sum to") &&
                                                              Contains("entropic OT instance"));
    replace_dataset(f, "/target/b", {5}, {0.6, 0.6, -0.2, 0.0, 0.0}, H5T_IEEE_F32LE);
    CHECK_THAT(input_error([&] { read_ot_instance(f); }), Contains("negative weight"));
    replace_dataset(f, "/target/b", {5}, {NAN, 0.25, 0.25, 0.25, 0.25}, H5T_IEEE_F32LE);
    CHECK_THAT(input_error([&] { read_ot_instance(f); }),
               Contains("/target/b") && Contains("non-finite"));
    replace_dataset(f, "/target/b", {5}, {0.2, 0.2, 0.2, 0.2, 0.2}, H5T_IEEE_F32LE);
    replace_dataset(f, "/source/X", {3, 2}, {0, 1, INFINITY, 3, 4, 5}, H5T_IEEE_F32LE);
    CHECK_THAT(input_error([&] { read_ot_instance(f); }),
               Contains("/source/X") && Contains("non-finite"));
  }
}

TEST_CASE("names under /meta and provenance attributes round-trip, generators record theirs",
          "[data][hdf5][provenance]") {
  TempDir t;
  const std::string f = t.file("named.h5");
  Dataset d = small_classification();
  d.feature_names = {"width", "héight"};
  d.class_names = {"cat", "dog", "owl"};
  d.provenance = {{"importer", std::string("csv")},
                  {"seed", std::int64_t{7}},
                  {"param_label", std::string("species")},
                  {"param_test_fraction", 0.25}};
  write_dataset(f, d);
  const Dataset r = read_dataset(f);
  CHECK(r.feature_names == d.feature_names);
  CHECK(r.class_names == d.class_names);
  CHECK(r.provenance == d.provenance);
  {
    h5::Handle file = h5::open_file(f);
    CHECK(h5::read_strings(file.get(), "/meta/class_names", h5::Where{f, ""}) == d.class_names);
  }

  {  // Fixed-length strings (numpy 'S' arrays, space- or null-padded) read the same way.
    h5::Handle file = h5::Handle::file(H5Fopen(f.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    REQUIRE(file);
    REQUIRE(H5Ldelete(file.get(), "/meta/class_names", H5P_DEFAULT) >= 0);
    h5::Handle type = h5::Handle::type(H5Tcopy(H5T_C_S1));
    REQUIRE(H5Tset_size(type.get(), 5) >= 0);
    REQUIRE(H5Tset_strpad(type.get(), H5T_STR_SPACEPAD) >= 0);
    const hsize_t n = 3;
    h5::Handle space = h5::Handle::space(H5Screate_simple(1, &n, nullptr));
    h5::Handle dset =
        h5::Handle::dataset(H5Dcreate2(file.get(), "/meta/class_names", type.get(), space.get(),
                                       H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    REQUIRE(dset);
    const char text[] = "cat  dog  owl  ";
    REQUIRE(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, text) >= 0);
  }
  CHECK(read_dataset(f).class_names == d.class_names);

  Dataset bad = d;
  bad.class_names.pop_back();
  CHECK_THAT(input_error([&] { write_dataset(t.file("bad.h5"), bad); }),
             Contains("/meta/class_names") && Contains("2 names") && Contains("3 classes"));
  bad = d;
  bad.feature_names.push_back("extra");
  CHECK_THAT(input_error([&] { write_dataset(t.file("bad.h5"), bad); }),
             Contains("/meta/feature_names") && Contains("3 names"));
  bad = d;
  bad.provenance["format"] = std::string("evil");
  CHECK_THAT(input_error([&] { write_dataset(t.file("bad.h5"), bad); }),
             Contains("'format' is not a provenance attribute"));
  CHECK_FALSE(fs::exists(t.file("bad.h5")));

  RegressionGenOptions ro;
  ro.n = 50;
  ro.p = 3;
  ro.n_test = 5;
  ro.seed = 11;
  write_dataset(t.file("reg.h5"), generate_regression(ro));
  const Dataset gr = read_dataset(t.file("reg.h5"));
  CHECK(gr.provenance.at("generator") == AttrValue{std::string("regression")});
  CHECK(gr.provenance.at("seed") == AttrValue{std::int64_t{11}});
  CHECK(gr.provenance.at("param_n") == AttrValue{std::int64_t{50}});
  CHECK(gr.provenance.at("param_outliers") == AttrValue{ro.outlier_frac});

  ClassificationGenOptions co;
  co.n = 30;
  co.seed = 5;
  const Dataset gc = generate_classification(co);
  CHECK(gc.provenance.at("generator") == AttrValue{std::string("classification")});
  CHECK(gc.provenance.at("param_classes") == AttrValue{std::int64_t{co.num_classes}});

  OtGenOptions oo;
  oo.n = 20;
  oo.n_test = 0;
  oo.m = 4;
  oo.seed = 9;
  write_ot_instance(t.file("ot.h5"), generate_ot(oo));
  const OtInstance go = read_ot_instance(t.file("ot.h5"));
  CHECK(go.provenance.at("generator") == AttrValue{std::string("ot")});
  CHECK(go.provenance.at("seed") == AttrValue{std::int64_t{9}});
  CHECK(go.provenance.at("param_weights") == AttrValue{std::string("dirichlet")});
  CHECK(seed_attr(~std::uint64_t{0}) == AttrValue{std::string("18446744073709551615")});
}
