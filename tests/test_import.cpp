// Tests of the importers and classification data tools (data/idx, data/labels,
// data/importers, generate_classification):
//  * a small Fashion-MNIST-like set of IDX files written and gzipped (zlib) by the test round-
//    trips through import_fashion_mnist and the HDF5 dataset format: shapes, pixels, labels,
//    exact noise counts and y_clean, class keep fractions, subsets, scaling, determinism;
//  * invalid IDX input (truncated payload or gzip stream, bad magic, labels outside 0..K-1,
//    K mismatch, non-finite pixels, count and shape mismatches) is an InputError naming the file;
//  * CSV import (header detection, label by name or index, remapping, validation, test split);
//  * the seeded Gaussian-mixture generator.
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/generators.hpp"
#include "data/idx.hpp"
#include "data/importers.hpp"
#include "data/labels.hpp"

namespace fs = std::filesystem;
using namespace lsekit;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("lsekit-test-import-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
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

void put_be32(std::vector<unsigned char>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

/// IDX bytes: magic 0 0 type ndims, big-endian dims, then the payload (already big-endian).
std::vector<unsigned char> idx_bytes(unsigned char type, const std::vector<std::uint32_t>& dims,
                                     const std::vector<unsigned char>& payload) {
  std::vector<unsigned char> b{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (auto d : dims) put_be32(b, d);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

void write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

void write_plain(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A tiny Fashion-MNIST look-alike: n_train / n_test images of 4 x 3 uint8 pixels,
/// pixel(i, j) = (7 i + 13 j) % 256, labels i % 10 (train) and (3 i) % 10 (test).
struct FakeMnist {
  static constexpr std::uint32_t kRows = 4, kCols = 3, kPix = kRows * kCols;
  std::uint32_t n_train = 60, n_test = 20;
  static unsigned char pixel(std::uint32_t i, std::uint32_t j) { return (7 * i + 13 * j) % 256; }
  static std::int64_t train_label(std::uint32_t i) { return i % 10; }
  static std::int64_t test_label(std::uint32_t i) { return (3 * i) % 10; }

  void write(const TempDir& t, bool gz = true) const {
    auto images = [&](std::uint32_t n) {
      std::vector<unsigned char> px;
      for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint32_t j = 0; j < kPix; ++j) px.push_back(pixel(i, j));
      return idx_bytes(0x08, {n, kRows, kCols}, px);
    };
    auto labels = [&](std::uint32_t n, bool train) {
      std::vector<unsigned char> lb;
      for (std::uint32_t i = 0; i < n; ++i)
        lb.push_back(static_cast<unsigned char>(train ? train_label(i) : test_label(i)));
      return idx_bytes(0x08, {n}, lb);
    };
    auto put = [&](const std::string& stem, const std::vector<unsigned char>& b) {
      if (gz)
        write_gz(t.file(stem + ".gz"), b);
      else
        write_plain(t.file(stem), b);
    };
    put("train-images-idx3-ubyte", images(n_train));
    put("train-labels-idx1-ubyte", labels(n_train, true));
    put("t10k-images-idx3-ubyte", images(n_test));
    put("t10k-labels-idx1-ubyte", labels(n_test, false));
  }
};

FashionMnistOptions options_for(const TempDir& t) {
  FashionMnistOptions o;
  o.dir = t.dir.string();
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// IDX and Fashion-MNIST import
// ---------------------------------------------------------------------------------------------

TEST_CASE("IDX reader decodes every element type, gzipped or plain", "[import][idx]") {
  TempDir t;
  // int16 -2, 300; int32 -70000; float32 1.5; float64 -2.25 (all big-endian).
  write_gz(t.file("i16.gz"), idx_bytes(0x0B, {2}, {0xFF, 0xFE, 0x01, 0x2C}));
  write_plain(t.file("i32"), idx_bytes(0x0C, {1, 1}, {0xFF, 0xFE, 0xEE, 0x90}));
  write_gz(t.file("f32.gz"), idx_bytes(0x0D, {1}, {0x3F, 0xC0, 0x00, 0x00}));
  write_gz(t.file("f64.gz"), idx_bytes(0x0E, {1}, {0xC0, 0x02, 0, 0, 0, 0, 0, 0}));
  write_gz(t.file("i8.gz"), idx_bytes(0x09, {3}, {0x80, 0x7F, 0x00}));
  const IdxArray a = read_idx(t.file("i16.gz"));
  CHECK(a.type == IdxType::Int16);
  CHECK(a.dims == std::vector<std::uint64_t>{2});
  CHECK(a.value(0) == -2.0);
  CHECK(a.value(1) == 300.0);
  const IdxArray b = read_idx(t.file("i32"));
  CHECK(b.dims == std::vector<std::uint64_t>{1, 1});
  CHECK(b.value(0) == -70000.0);
  CHECK(read_idx(t.file("f32.gz")).value(0) == 1.5);
  CHECK(read_idx(t.file("f64.gz")).value(0) == -2.25);
  const IdxArray c = read_idx(t.file("i8.gz"));
  CHECK(c.value(0) == -128.0);
  CHECK(c.value(1) == 127.0);
}

TEST_CASE("Fashion-MNIST import round-trips a small IDX set made by the test", "[import][idx]") {
  TempDir t;
  const FakeMnist fake;
  fake.write(t);
  const Dataset d = import_fashion_mnist(options_for(t));
  REQUIRE(d.task == Task::Classification);
  CHECK(d.num_classes == 10);
  REQUIRE(d.train.x.rows() == 60);
  REQUIRE(d.train.x.cols() == 12);
  REQUIRE(d.test);
  REQUIRE(d.test->x.rows() == 20);
  for (Index i = 0; i < 60; ++i) {
    CHECK(d.train.labels(i) == FakeMnist::train_label(static_cast<std::uint32_t>(i)));
    CHECK(d.train.y(i) == static_cast<double>(d.train.labels(i)));
    for (Index j = 0; j < 12; ++j)
      CHECK(d.train.x(i, j) ==
            FakeMnist::pixel(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j)) / 255.0);
  }
  for (Index i = 0; i < 20; ++i) {
    CHECK(d.test->labels(i) == FakeMnist::test_label(static_cast<std::uint32_t>(i)));
    CHECK(d.test->x(i, 5) == FakeMnist::pixel(static_cast<std::uint32_t>(i), 5) / 255.0);
  }
  CHECK_FALSE(d.train.y_clean);  // no noise requested

  // Through the HDF5 dataset format and back: identical.
  const std::string h5 = t.file("fm.h5");
  write_dataset(h5, d);
  const Dataset back = read_dataset(h5);
  CHECK(back.num_classes == 10);
  CHECK(back.train.x == d.train.x);
  CHECK(back.train.labels == d.train.labels);
  CHECK(back.test->x == d.test->x);
  CHECK(back.test->labels == d.test->labels);
  // Class names and provenance (issue 12) are stored and read back.
  REQUIRE(back.class_names.size() == 10);
  CHECK(back.class_names[0] == "T-shirt/top");
  CHECK(back.class_names[9] == "Ankle boot");
  CHECK(back.provenance.at("importer") == AttrValue{std::string("fashion-mnist")});
  CHECK(back.provenance.at("source") == AttrValue{options_for(t).dir});
  CHECK(back.provenance.at("seed") == AttrValue{std::int64_t{1}});
  CHECK(back.provenance.at("param_scale") == AttrValue{std::string("unit")});
  CHECK(back.provenance.at("param_no_test") == AttrValue{std::int64_t{0}});

  // Uncompressed IDX files are read the same way.
  TempDir plain;
  fake.write(plain, false);
  const Dataset p = import_fashion_mnist(options_for(plain));
  CHECK(p.train.x == d.train.x);
  CHECK(p.train.labels == d.train.labels);
}

TEST_CASE("label noise: exact flip counts, y_clean kept, determinism", "[import][noise]") {
  TempDir t;
  FakeMnist fake;
  fake.n_train = 200;
  fake.write(t);
  SECTION("uniform") {
    FashionMnistOptions o = options_for(t);
    o.noise = 0.2;
    o.seed = 4;
    const Dataset d = import_fashion_mnist(o);
    REQUIRE(d.train.y_clean);
    const IVec& clean = *d.train.y_clean;
    Index flipped = 0;
    for (Index i = 0; i < 200; ++i) {
      CHECK(clean(i) == FakeMnist::train_label(static_cast<std::uint32_t>(i)));  // true labels
      flipped += d.train.labels(i) != clean(i);
      CHECK(d.train.labels(i) >= 0);
      CHECK(d.train.labels(i) <= 9);
    }
    CHECK(flipped == 40);  // exactly round(0.2 * 200), each flip to a different class
    CHECK(d.train.y == d.train.labels.cast<double>());
    CHECK_FALSE(d.test->y_clean);  // the test split is never corrupted
    for (Index i = 0; i < 20; ++i)
      CHECK(d.test->labels(i) == FakeMnist::test_label(static_cast<std::uint32_t>(i)));
    // Same seed: the same flips; another seed: other flips.
    CHECK(import_fashion_mnist(o).train.labels == d.train.labels);
    o.seed = 5;
    CHECK(import_fashion_mnist(o).train.labels != d.train.labels);
    // y_clean survives the HDF5 round trip.
    write_dataset(t.file("noisy.h5"), d);
    const Dataset back = read_dataset(t.file("noisy.h5"));
    REQUIRE(back.train.y_clean);
    CHECK(*back.train.y_clean == clean);
    CHECK(back.train.labels == d.train.labels);
  }
  SECTION("class-conditional (pair flipping c -> c+1 mod K)") {
    FashionMnistOptions o = options_for(t);
    o.noise = 0.25;
    o.noise_kind = NoiseKind::ClassConditional;
    const Dataset d = import_fashion_mnist(o);
    REQUIRE(d.train.y_clean);
    std::vector<Index> flips(10, 0);
    for (Index i = 0; i < 200; ++i) {
      const auto c = (*d.train.y_clean)(i);
      if (d.train.labels(i) != c) {
        CHECK(d.train.labels(i) == (c + 1) % 10);
        ++flips[static_cast<std::size_t>(c)];
      }
    }
    for (Index c = 0; c < 10; ++c) CHECK(flips[static_cast<std::size_t>(c)] == 5);  // 0.25 * 20
  }
}

TEST_CASE("class imbalance, training subset and scaling", "[import][idx]") {
  TempDir t;
  FakeMnist fake;
  fake.n_train = 200;  // 20 per class
  fake.write(t);
  FashionMnistOptions o = options_for(t);
  o.keep = {0.1, 0.1, 0.1, 0.1, 0.1, 1, 1, 1, 1, 0.5};
  const Dataset d = import_fashion_mnist(o);
  std::vector<Index> count(10, 0);
  Index prev = -1;
  for (Index r = 0; r < d.train.x.rows(); ++r) {
    ++count[static_cast<std::size_t>(d.train.labels(r))];
    // Kept rows stay in file order and keep their pixels: recover the source row from pixel 0.
    const auto i = static_cast<Index>(std::lround(d.train.x(r, 0) * 255.0)) * 183 % 256;  // 7^-1
    CHECK(FakeMnist::pixel(static_cast<std::uint32_t>(i), 0) ==
          std::lround(d.train.x(r, 0) * 255.0));
    CHECK(i > prev);
    prev = i;
  }
  const std::vector<Index> want{2, 2, 2, 2, 2, 20, 20, 20, 20, 10};
  CHECK(count == want);
  CHECK(d.test->x.rows() == 20);  // the test split is not imbalanced

  o.n_train = 30;
  const Dataset sub = import_fashion_mnist(o);
  CHECK(sub.train.x.rows() == 30);
  o.n_train = 101;  // 2 * 5 + 20 * 4 + 10 = 100 images are left after --keep
  CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
             Contains("`n_train=101`") && Contains("100 training images"));

  FashionMnistOptions s = options_for(t);
  s.scale = PixelScaling::Standardize;
  const Dataset st = import_fashion_mnist(s);
  const Dataset raw = [&] {
    FashionMnistOptions r = options_for(t);
    r.scale = PixelScaling::None;
    return import_fashion_mnist(r);
  }();
  CHECK(raw.train.x(3, 2) == FakeMnist::pixel(3, 2));
  for (Index j = 0; j < 12; ++j) {
    const double mean = st.train.x.col(j).mean();
    const double sd = std::sqrt(st.train.x.col(j).squaredNorm() / 200.0 - mean * mean);
    CHECK(std::abs(mean) <= 1e-12);
    CHECK(std::abs(sd - 1.0) <= 1e-12);
    // The test split uses the training statistics.
    const double m = raw.train.x.col(j).mean();
    const double sdr = std::sqrt((raw.train.x.col(j).array() - m).square().sum() / 200.0);
    CHECK(std::abs(st.test->x(7, j) - (raw.test->x(7, j) - m) / sdr) <= 1e-12);
  }
}

TEST_CASE("invalid IDX input is an InputError naming the file", "[import][idx][errors]") {
  TempDir t;
  FakeMnist fake;
  fake.write(t);
  const std::string labels = t.file("train-labels-idx1-ubyte.gz");
  const std::string images = t.file("train-images-idx3-ubyte.gz");
  const FashionMnistOptions o = options_for(t);

  SECTION("truncated payload (the header promises more images than the file has)") {
    std::vector<unsigned char> px(59 * 12, 1);  // 59 images, header says 60
    write_gz(images, idx_bytes(0x08, {60, 4, 3}, px));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(images) && Contains("truncated") && Contains("720") && Contains("708"));
  }
  SECTION("truncated gzip stream") {
    std::vector<unsigned char> gz = read_bytes(images);
    gz.resize(gz.size() / 2);
    write_plain(images, gz);
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(images) && Contains("truncated"));
  }
  SECTION("truncated header") {
    write_gz(images, {0, 0, 0x08, 3, 0, 0});
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(images) && Contains("truncated IDX header"));
  }
  SECTION("bad magic") {
    write_gz(images, {'P', 'K', 3, 4, 0, 0, 0, 1});
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(images) && Contains("not an IDX file"));
  }
  SECTION("trailing bytes") {
    std::vector<unsigned char> lb(60, 1);
    lb.push_back(7);
    std::vector<unsigned char> b = idx_bytes(0x08, {60}, lb);
    write_gz(labels, b);
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(labels) && Contains("unexpected bytes after"));
  }
  SECTION("a label outside 0..K-1") {
    std::vector<unsigned char> lb(60, 2);
    lb[3] = 10;
    write_gz(labels, idx_bytes(0x08, {60}, lb));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(labels) && Contains("label 10 at row 3") && Contains("0..9"));
  }
  SECTION("K mismatch: keep fractions for another number of classes") {
    FashionMnistOptions k = o;
    k.keep = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_THAT(input_error([&] { import_fashion_mnist(k); }),
               Contains("9 fractions") && Contains("10 classes"));
    // ...and a label set for fewer classes than the labels use.
    CHECK_THAT(
        input_error([&] { import_idx_classification(images, labels, "", "", 5, options_for(t)); }),
        Contains(labels) && Contains("label 5 at row 5") && Contains("0..4"));
  }
  SECTION("non-finite pixels") {
    std::vector<unsigned char> px;
    for (int i = 0; i < 60 * 12; ++i) {
      const bool nan = i == 5 * 12 + 7;
      const std::vector<unsigned char> v = nan ? std::vector<unsigned char>{0x7F, 0xC0, 0, 0}
                                               : std::vector<unsigned char>{0x3F, 0x80, 0, 0};
      px.insert(px.end(), v.begin(), v.end());
    }
    write_gz(images, idx_bytes(0x0D, {60, 4, 3}, px));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(images) && Contains("non-finite pixel") && Contains("image 5") &&
                   Contains("pixel 7"));
  }
  SECTION("label and image counts differ") {
    write_gz(labels, idx_bytes(0x08, {59}, std::vector<unsigned char>(59, 1)));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains(labels) && Contains("59 labels") && Contains("60 images"));
  }
  SECTION("test images of another size") {
    write_gz(t.file("t10k-images-idx3-ubyte.gz"),
             idx_bytes(0x08, {20, 5, 3}, std::vector<unsigned char>(20 * 15, 1)));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }),
               Contains("t10k-images") && Contains("15 pixels") && Contains("12"));
  }
  SECTION("labels that are not 1-dimensional, images with one dimension") {
    write_gz(labels, idx_bytes(0x08, {60, 1}, std::vector<unsigned char>(60, 1)));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }), Contains("1 dimension"));
    fake.write(t);
    write_gz(images, idx_bytes(0x08, {60}, std::vector<unsigned char>(60, 1)));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }), Contains("at least 2 dimensions"));
  }
  SECTION("a zero dimension") {
    write_gz(images, idx_bytes(0x08, {60, 0, 3}, {}));
    CHECK_THAT(input_error([&] { import_fashion_mnist(o); }), Contains("dimension 1 is 0"));
  }
  SECTION("a missing file is an I/O error") {
    fs::remove(labels);
    CHECK_THROWS_AS(import_fashion_mnist(o), IoError);
    CHECK_THROWS_AS(read_idx(t.file("nope.gz")), IoError);
  }
  SECTION("options out of range") {
    FashionMnistOptions b = o;
    b.noise = 1.5;
    CHECK_THAT(input_error([&] { import_fashion_mnist(b); }), Contains("`noise`"));
    b = o;
    b.keep = {1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
    CHECK_THAT(input_error([&] { import_fashion_mnist(b); }), Contains("outside [0, 1]"));
    b.keep = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_THAT(input_error([&] { import_fashion_mnist(b); }), Contains("no training images"));
  }
}

// ---------------------------------------------------------------------------------------------
// labels.hpp
// ---------------------------------------------------------------------------------------------

TEST_CASE("inject_label_noise and keep_per_class are exact and validate", "[import][noise]") {
  IVec y(1000);
  for (Index i = 0; i < 1000; ++i) y(i) = (i * 7) % 3;
  for (double rate : {0.0, 0.013, 0.5, 1.0}) {
    IVec z = y;
    Rng rng(9);
    const Index changed = inject_label_noise(z, 3, rate, NoiseKind::Uniform, rng);
    CHECK(changed == std::llround(rate * 1000));
    CHECK((z.array() != y.array()).count() == changed);
  }
  Rng rng(1);
  IVec bad = y;
  bad(10) = 3;
  CHECK_THAT(input_error([&] { inject_label_noise(bad, 3, 0.1, NoiseKind::Uniform, rng); }),
             Contains("label 3 at row 10"));
  CHECK_THAT(input_error([&] { inject_label_noise(bad, 3, -0.1, NoiseKind::Uniform, rng); }),
             Contains("[0, 1]"));
  const std::vector<Index> keep = keep_per_class(y, 3, {0.5, 0.0, 1.0}, rng);
  Index c0 = 0, c1 = 0, c2 = 0;
  for (Index i : keep) (y(i) == 0 ? c0 : y(i) == 1 ? c1 : c2)++;
  CHECK(c0 == std::llround(0.5 * 334));
  CHECK(c1 == 0);
  CHECK(c2 == 333);
  CHECK(std::is_sorted(keep.begin(), keep.end()));
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

TEST_CASE("CSV import: header detection, label column, classification and regression",
          "[import][csv]") {
  TempDir t;
  const std::string path = t.file("iris.csv");
  {
    std::ofstream out(path);
    out << "sepal, \"petal width\",species,size\r\n"
           "5.1,0.2,setosa,1.5\r\n"
           "\r\n"
           "7.0,1.4,versicolor,2\r\n"
           "6.3,2.5,virginica,-3e-1\r\n"
           "4.9,0.1,setosa,0\r\n";
  }
  CsvOptions o;
  o.label = "species";
  o.labels = LabelMode::Remap;
  const CsvImport a = import_csv(path, o);
  CHECK(a.had_header);
  CHECK(a.columns == std::vector<std::string>{"sepal", "petal width", "size"});
  CHECK(a.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  const Dataset& d = a.data;
  CHECK(d.num_classes == 3);
  REQUIRE(d.train.x.rows() == 4);
  REQUIRE(d.train.x.cols() == 3);
  CHECK(d.train.labels == (IVec(4) << 0, 1, 2, 0).finished());
  CHECK(d.train.x(2, 2) == -0.3);
  CHECK(d.train.x(1, 0) == 7.0);
  CHECK_FALSE(d.test);

  // The same column by index. As a regression target the species column is not numeric;
  // with another label column, species is a (non-numeric) feature.
  o.label = "2";
  CHECK(import_csv(path, o).data.train.labels == d.train.labels);
  CsvOptions r;
  r.label = "species";
  r.task = Task::Regression;
  CHECK_THAT(input_error([&] { import_csv(path, r); }),
             Contains(path) && Contains("line 2") && Contains("'setosa' is not a finite number"));
  r.label = "size";
  CHECK_THAT(input_error([&] { import_csv(path, r); }),
             Contains("line 2, column species: 'setosa' is not a number"));

  // Numeric labels without a header: validated as 0..K-1 (K = max + 1 or --num-classes).
  const std::string num = t.file("num.csv");
  {
    std::ofstream out(num);
    for (int i = 0; i < 10; ++i) out << i * 0.5 << "," << (i % 3) << "," << -i << "\n";
  }
  CsvOptions n;
  n.label = "1";
  const CsvImport b = import_csv(num, n);
  CHECK_FALSE(b.had_header);
  CHECK(b.data.num_classes == 3);
  CHECK(b.data.train.x.cols() == 2);
  CHECK(b.data.train.x(4, 1) == -4.0);
  CsvOptions rn;
  rn.label = "2";
  rn.task = Task::Regression;
  const CsvImport reg = import_csv(num, rn);
  CHECK(reg.data.task == Task::Regression);
  CHECK(reg.data.train.y(7) == -7.0);
  CHECK(reg.data.train.labels.size() == 0);
  n.num_classes = 5;
  CHECK(import_csv(num, n).data.num_classes == 5);
  n.num_classes = 2;
  CHECK_THAT(input_error([&] { import_csv(num, n); }),
             Contains(num) && Contains("line 3") && Contains("label 2 is outside 0..1"));
  // Remap with --num-classes disagreeing with the distinct labels: K mismatch.
  n.labels = LabelMode::Remap;
  n.num_classes = 4;
  CHECK_THAT(input_error([&] { import_csv(num, n); }),
             Contains("3 distinct labels") && Contains("`num_classes` is 4"));
  // Remapped numeric labels sort numerically: 10 after 9.
  const std::string odd = t.file("odd.csv");
  {
    std::ofstream out(odd);
    out << "1,10\n2,9\n3,-1\n4,9\n";
  }
  CsvOptions m;
  m.label = "1";
  m.task = Task::Classification;  // 3 distinct integers in 4 rows: not inferred
  m.labels = LabelMode::Remap;
  const CsvImport c = import_csv(odd, m);
  CHECK(c.class_names == std::vector<std::string>{"-1", "9", "10"});
  CHECK(c.data.train.labels == (IVec(4) << 2, 1, 0, 1).finished());
  m.labels = LabelMode::Validate;
  CHECK_THAT(input_error([&] { import_csv(odd, m); }), Contains("label -1 is outside"));

  // Test split: round(0.3 * 10) = 3 rows, seeded, both splits in file order.
  n = CsvOptions{};
  n.label = "1";
  n.test_fraction = 0.3;
  n.seed = 3;
  const CsvImport s1 = import_csv(num, n), s2 = import_csv(num, n);
  REQUIRE(s1.data.test);
  CHECK(s1.data.test->x.rows() == 3);
  CHECK(s1.data.train.x.rows() == 7);
  CHECK(s1.data.test->x == s2.data.test->x);
  for (Index i = 1; i < 7; ++i) CHECK(s1.data.train.x(i, 0) > s1.data.train.x(i - 1, 0));
  // The imported file passes the dataset writer's validation and reads back.
  write_dataset(t.file("num.h5"), s1.data);
  CHECK(read_dataset(t.file("num.h5")).test->labels == s1.data.test->labels);
}

TEST_CASE("CSV import: invalid input is an InputError naming file, line and column",
          "[import][csv][errors]") {
  TempDir t;
  auto write = [&](const std::string& text) {
    const std::string p = t.file("bad.csv");
    std::ofstream(p) << text;
    return p;
  };
  CsvOptions o;
  o.label = "y";
  o.task = Task::Classification;
  std::string p = write("a,b,y\n1,2,0\n3,oops,1\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }),
             Contains(p) && Contains("line 3") && Contains("column b") && Contains("'oops'"));
  p = write("a,b,y\n1,2,0\n3,nan,1\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("line 3") && Contains("non-finite"));
  p = write("a,b,y\n1,2,0\n3,inf,1\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("non-finite"));
  p = write("a,b,y\n1,2,0\n3,1\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("line 3 has 2 fields, expected 3"));
  p = write("a,b,y\n1,,0\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("empty field"));
  p = write("a,b,y\n1,2,0.5\n2,3,1\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }),
             Contains("'0.5' is not an integer class label"));
  p = write("a,b,y\n1,2,0\n2,3,0\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("at least 2"));
  p = write("a,b,c\n1,2,1\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }),
             Contains("`label` y: no such column") && Contains("columns: a, b, c"));
  p = write("a,b,y\n1,2,1\n");
  CsvOptions idx = o;
  idx.label = "3";
  CHECK_THAT(input_error([&] { import_csv(p, idx); }), Contains("out of range"));
  p = write("a,b,y\n\"1,2,0\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("unterminated quoted field"));
  p = write("a,b,y\n1,2,0\n2,3,1\n");
  CsvOptions tf = o;
  tf.test_fraction = 0.1;  // rounds to 0 test rows of 2
  CHECK_THAT(input_error([&] { import_csv(p, tf); }), Contains("`test_fraction"));
  p = write("\n\n");
  CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("no rows"));
  CHECK_THROWS_AS(import_csv(t.file("missing.csv"), o), IoError);
}

// ---------------------------------------------------------------------------------------------
// generate_classification
// ---------------------------------------------------------------------------------------------

TEST_CASE("classification generator: seeded, shapes, separation, exact label noise",
          "[import][generator]") {
  ClassificationGenOptions g;
  g.n = 3000;
  g.p = 5;
  g.num_classes = 4;
  g.n_test = 500;
  g.separation = 6.0;
  g.label_noise = 0.1;
  g.seed = 12;
  const Dataset a = generate_classification(g), b = generate_classification(g);
  CHECK(a.train.x == b.train.x);
  CHECK(a.train.labels == b.train.labels);
  REQUIRE(a.train.x.rows() == 3000);
  REQUIRE(a.train.x.cols() == 5);
  REQUIRE(a.test);
  CHECK(a.test->x.rows() == 500);
  CHECK(a.num_classes == 4);
  REQUIRE(a.train.y_clean);
  CHECK((a.train.labels.array() != a.train.y_clean->array()).count() == 300);
  CHECK_FALSE(a.test->y_clean);
  // Class means (by the clean labels) are ~separation apart: estimate the mean squared
  // distance between class centroids, E = separation^2 (within sampling error).
  MatRM cent = MatRM::Zero(4, 5);
  std::vector<double> cnt(4, 0.0);
  for (Index i = 0; i < 3000; ++i) {
    cent.row((*a.train.y_clean)(i)) += a.train.x.row(i);
    cnt[static_cast<std::size_t>((*a.train.y_clean)(i))] += 1.0;
  }
  for (Index k = 0; k < 4; ++k) {
    CHECK(cnt[static_cast<std::size_t>(k)] > 600);  // uniform labels: ~750 each
    cent.row(k) /= cnt[static_cast<std::size_t>(k)];
  }
  double d2 = 0.0;
  for (Index k = 0; k < 4; ++k)
    for (Index l = k + 1; l < 4; ++l) d2 += (cent.row(k) - cent.row(l)).squaredNorm() / 6.0;
  CHECK(d2 > 0.3 * 36.0);
  CHECK(d2 < 3.0 * 36.0);
  g.seed = 13;
  CHECK(generate_classification(g).train.x != a.train.x);
  ClassificationGenOptions bad = g;
  bad.num_classes = 1;
  CHECK_THAT(input_error([&] { generate_classification(bad); }), Contains("num_classes"));
  bad = g;
  bad.label_noise = 2;
  CHECK_THAT(input_error([&] { generate_classification(bad); }), Contains("label_noise"));
}

TEST_CASE("CSV import: task inferred or asked for, pandas index dropped, labels 0..K-1, names",
          "[import][csv][issue12]") {
  TempDir t;
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string p = t.file(name);
    std::ofstream(p) << text;
    return p;
  };
  // 12 rows: a real-valued target, few integer labels, many distinct integers, labels 1..3.
  std::string real = "a,b,price\n", few = "a,b,cls\n", many = "a,b,age\n", one_based = "a,b,y\n";
  for (int i = 0; i < 12; ++i) {
    const std::string x = std::to_string(i) + "," + std::to_string(0.5 * i) + ",";
    real += x + std::to_string(100.25 + i * 3.5) + "\n";
    few += x + std::to_string(i % 3) + "\n";
    many += x + std::to_string(20 + i) + "\n";
    one_based += x + std::to_string(i % 3 + 1) + "\n";
  }
  CsvOptions o;

  SECTION("inference: real numbers -> regression, few integers -> classification") {
    o.label = "price";
    const CsvImport r = import_csv(write("real.csv", real), o);
    CHECK(r.task_inferred);
    CHECK(r.data.task == Task::Regression);
    CHECK(r.data.train.y(1) == 103.75);
    REQUIRE_FALSE(r.messages.empty());
    CHECK_THAT(r.messages.back(), Contains("regression") && Contains("real numbers"));
    o.label = "cls";
    const CsvImport c = import_csv(write("few.csv", few), o);
    CHECK(c.data.task == Task::Classification);
    CHECK(c.data.num_classes == 3);
    CHECK_THAT(c.messages.back(), Contains("classification") && Contains("3 distinct"));
  }
  SECTION("ambiguous: many distinct integers -> asks for --task, never suggests remap") {
    o.label = "age";
    const std::string p = write("many.csv", many);
    const std::string msg = input_error([&] { import_csv(p, o); });
    CHECK_THAT(msg, Contains(p) && Contains("cannot infer `task`") &&
                        Contains("`task=regression`") && Contains("12 distinct integer values"));
    CHECK_THAT(msg, !Contains("remap"));
    o.task = Task::Regression;
    CHECK(import_csv(p, o).data.train.y(11) == 31.0);
  }
  SECTION("a real-valued target as classification: hint --task regression, not remap") {
    o.label = "price";
    o.task = Task::Classification;
    const std::string p = write("real.csv", real);
    std::string msg = input_error([&] { import_csv(p, o); });
    CHECK_THAT(msg, Contains("'100.250000' is not an integer class label") &&
                        Contains("`task=regression`"));
    CHECK_THAT(msg, !Contains("remap"));
    o.labels = LabelMode::Remap;  // 12 distinct reals in 12 rows: not classes
    msg = input_error([&] { import_csv(p, o); });
    CHECK_THAT(msg, Contains("12 distinct real numbers") && Contains("`task=regression`"));
  }
  SECTION("labels 1..K: refused with the remap hint, never an empty class 0") {
    o.label = "y";
    const std::string p = write("one.csv", one_based);
    CHECK_THAT(
        input_error([&] { import_csv(p, o); }),
        Contains(p) && Contains("label 0 of 0..3 never occurs") && Contains("`labels=remap`"));
    o.labels = LabelMode::Remap;
    const CsvImport r = import_csv(p, o);
    CHECK(r.data.num_classes == 3);
    CHECK(r.class_names == std::vector<std::string>{"1", "2", "3"});
    o.labels = LabelMode::Validate;
    o.num_classes = 4;  // explicit: the user says class 0 exists elsewhere
    CHECK(import_csv(p, o).data.num_classes == 4);
  }
  SECTION("pandas index column (empty first header name) is dropped, with a message") {
    std::string text = ",a,b,cls\n";
    for (int i = 0; i < 6; ++i)
      text +=
          std::to_string(i) + "," + std::to_string(i * 2) + ",7," + std::to_string(i % 2) + "\n";
    const std::string p = write("pandas.csv", text);
    o.label = "cls";
    const CsvImport r = import_csv(p, o);
    CHECK(r.dropped_index_column);
    CHECK(r.columns == std::vector<std::string>{"a", "b"});
    REQUIRE(r.data.train.x.cols() == 2);
    CHECK(r.data.train.x(5, 0) == 10.0);
    CHECK_THAT(r.messages.front(), Contains("dropped column 0") && Contains("pandas"));
    CHECK(r.data.provenance.at("param_dropped_index_column") == AttrValue{std::int64_t{1}});
    o.label = "0";
    CHECK_THAT(input_error([&] { import_csv(p, o); }), Contains("cannot be the label"));
    // "Unnamed: 0" (pandas read_csv + to_csv) is the same index.
    const std::string p2 = write("pandas2.csv", "Unnamed: 0" + text);
    o.label = "cls";
    CHECK(import_csv(p2, o).columns == std::vector<std::string>{"a", "b"});
  }
  SECTION("feature and class names and provenance are stored and read back") {
    o.label = "cls";
    o.test_fraction = 0.25;
    o.seed = 42;
    const std::string p = write("few.csv", few);
    const CsvImport r = import_csv(p, o);
    CHECK(r.data.feature_names == std::vector<std::string>{"a", "b"});
    CHECK(r.data.class_names == std::vector<std::string>{"0", "1", "2"});
    write_dataset(t.file("few.h5"), r.data);
    const Dataset d = read_dataset(t.file("few.h5"));
    CHECK(d.feature_names == r.data.feature_names);
    CHECK(d.class_names == r.data.class_names);
    CHECK(d.provenance.at("importer") == AttrValue{std::string("csv")});
    CHECK(d.provenance.at("source") == AttrValue{p});
    CHECK(d.provenance.at("seed") == AttrValue{std::int64_t{42}});
    CHECK(d.provenance.at("param_label") == AttrValue{std::string("cls")});
    CHECK(d.provenance.at("param_task") == AttrValue{std::string("classification")});
    CHECK(d.provenance.at("param_test_fraction") == AttrValue{0.25});
  }
}
