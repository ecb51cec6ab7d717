// Importers of real data into lsekit datasets (`lsekit import`, SPEC section 5).
//
//  * import_fashion_mnist: the IDX files of Debian's dataset-fashion-mnist package
//    (/usr/share/datasets/fashion-mnist; 60000 training and 10000 test images of 28 x 28
//    uint8 pixels, 10 classes), with class imbalance, a training subset, label noise
//    (y_clean kept) and pixel scaling. The test split (t10k) is never corrupted, subsampled
//    or imbalanced, so test accuracies measure the clean, balanced task.
//  * import_csv: any numeric CSV with one label column, as a regression or classification
//    dataset (inferred from the label column unless given), with an optional seeded test
//    split. An unnamed first column (the index pandas writes with to_csv()) is dropped.
// Both store the feature and class names (/meta) and record their options and seed as
// provenance attributes (importer, source, seed, param_<option>; dataset.hpp).
// Both validate everything they read and throw InputError naming the file (and line/row).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/labels.hpp"

namespace lsekit {

enum class PixelScaling { Unit, Standardize, None };

inline constexpr std::array<NamedValue<PixelScaling>, 3> kPixelScalingNames{{
    {PixelScaling::Unit, "unit", "x / 255 (uint8 intensities to [0, 1])"},
    {PixelScaling::Standardize, "standardize",
     "per pixel (x - mean) / sd with training statistics (constant pixels -> 0)"},
    {PixelScaling::None, "none", "raw values"},
}};

/// Options of import_fashion_mnist. Pipeline on the training split, in this order, all
/// draws from one Rng(seed): (1) class imbalance: keep exactly round(keep[c] n_c) images of
/// class c; (2) training subset: n_train images chosen uniformly from those left; (3) label
/// noise on the result (labels.hpp; y_clean stored when noise > 0); then (4) scaling of both
/// splits (standardize uses training statistics). Rows keep their file order.
struct FashionMnistOptions {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  long n_train = 0;    // 0 = every training image left after (1)
  double noise = 0.0;  // fraction of training labels flipped, in [0, 1]
  NoiseKind noise_kind = NoiseKind::Uniform;
  std::vector<double> keep;  // per-class keep fractions (empty = keep all); K values
  PixelScaling scale = PixelScaling::Unit;
  bool with_test = true;  // import t10k as /test
  std::uint64_t seed = 1;
};

inline constexpr long kFashionMnistClasses = 10;
/// The class names of Fashion-MNIST labels 0..9 (Zalando's README), stored in /meta/class_names.
inline constexpr std::array<const char*, kFashionMnistClasses> kFashionMnistClassNames{
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/// Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. The images must be
/// N x rows x cols, the labels N, with labels in 0..9 and finite pixels.
Dataset import_fashion_mnist(const FashionMnistOptions& o);

/// The same pipeline on explicit IDX files with `num_classes` classes (test files may be
/// empty strings: no test split). Used by import_fashion_mnist and by tests.
Dataset import_idx_classification(const std::string& train_images, const std::string& train_labels,
                                  const std::string& test_images, const std::string& test_labels,
                                  long num_classes, const FashionMnistOptions& o);

enum class CsvHeader { Auto, Yes, No };
enum class LabelMode { Validate, Remap };

inline constexpr std::array<NamedValue<CsvHeader>, 3> kCsvHeaderNames{{
    {CsvHeader::Auto, "auto",
     "the first row is a header if a field is not a number where the second row has one"},
    {CsvHeader::Yes, "yes", "the first row names the columns"},
    {CsvHeader::No, "no", "every row is data"},
}};
inline constexpr std::array<NamedValue<LabelMode>, 2> kLabelModeNames{{
    {LabelMode::Validate, "validate",
     "labels must be integers in 0..K-1 (K = `num_classes` or max+1)"},
    {LabelMode::Remap, "remap",
     "the distinct labels, sorted (numerically if all are numbers), become 0..K-1"},
}};

/// Largest number of distinct integer labels for which import_csv infers classification.
inline constexpr long kCsvMaxInferredClasses = 100;

struct CsvOptions {
  std::string label;  // label column: a header name, or a 0-based column index (of the file)
  // nullopt = infer from the label column: classification if the labels are the consecutive
  // integers 0..K-1 or 1..K (the latter then refused with the remap hint) with K at most
  // kCsvMaxInferredClasses and at most half the number of rows; regression if some label is
  // a non-integer number; else (other integers, e.g. ages 18..87) the import stops and asks
  // for --task. Non-numeric labels mean classification (with --labels remap).
  std::optional<Task> task;
  CsvHeader header = CsvHeader::Auto;
  char delimiter = ',';
  LabelMode labels = LabelMode::Validate;
  long num_classes = 0;        // classification: K (0 = from the labels)
  double test_fraction = 0.0;  // in [0, 1): this fraction of rows (rounded) becomes /test
  std::uint64_t seed = 1;      // test split
};

struct CsvImport {
  Dataset data;                          // also carries feature_names, class_names and provenance
  std::vector<std::string> columns;      // feature column names (or "col<j>" without header)
  std::string label_column;              // the label column's name
  std::vector<std::string> class_names;  // classification: the original label of class k
  bool had_header = false;
  bool task_inferred = false;  // the task was inferred (CsvOptions::task was nullopt)
  bool dropped_index_column = false;
  std::vector<std::string> messages;  // for the user (stderr): what was inferred or dropped
};

/// Reads a CSV file: one row per sample, every field except the label a finite number
/// (surrounding spaces and double quotes allowed), blank lines skipped, CRLF accepted.
/// With a header whose first name is empty or "Unnamed: 0" (a pandas index), the first
/// column is dropped (and said so in `messages`); it cannot be the label.
/// Classification labels (LabelMode::Validate) must be integers 0..K-1; with K inferred
/// (num_classes = 0) every class must occur: labels 1..K, or gaps, are refused with the
/// --labels remap hint, never stored as an empty class. A real-valued label column is never
/// remapped into classes.
/// The test split is a uniformly random subset of round(test_fraction n) rows.
CsvImport import_csv(const std::string& path, const CsvOptions& o);

}  // namespace lsekit
