// lsekit import KIND ...: real data into the lsekit-dataset format (data/importers.hpp).
//   lsekit import fashion-mnist --out FILE [options]
//   lsekit import csv FILE --out OUT --label COL [options]
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/errors.hpp"
#include "data/importers.hpp"
#include "tools/commands.hpp"
#include "tools/solver_cli.hpp"
#include "tasks/tasks.hpp"

namespace lsekit::cli {

namespace {

template <class E, std::size_t N>
std::string choices(const std::array<NamedValue<E>, N>& t) {
  std::string s;
  for (const auto& nv : t) s += std::string("\n  ") + nv.name + ": " + cli_wording(nv.help);
  return s;
}

template <class E, std::size_t N>
E enum_option(const std::array<NamedValue<E>, N>& t, const std::string& s, const char* option) {
  if (auto e = parse_name(t, s)) return *e;
  throw InputError(std::string("--") + option + ": unknown value '" + s + "' (choose one of " +
                   names_joined(t, ", ") + ")");
}

std::vector<double> parse_fractions(const std::string& s, const char* option) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !(v >= 0.0 && v <= 1.0))
      throw InputError(std::string("--") + option + ": '" + item +
                       "' is not a fraction in [0, 1] (expected a comma-separated list)");
    out.push_back(v);
  }
  return out;
}

std::string class_counts(const IVec& labels, long k) {
  std::vector<long> c(static_cast<std::size_t>(k), 0);
  for (Index i = 0; i < labels.size(); ++i) ++c[static_cast<std::size_t>(labels[i])];
  std::string s;
  for (long v : c) s += (s.empty() ? "" : " ") + std::to_string(v);
  return s;
}

void print_summary(const std::string& out, const char* what, const Dataset& d) {
  std::printf("wrote %s: %s, %s, %ld x %ld train, %ld test", out.c_str(), what,
              d.task == Task::Classification ? "classification" : "regression",
              static_cast<long>(d.train.x.rows()), static_cast<long>(d.train.x.cols()),
              d.test ? static_cast<long>(d.test->x.rows()) : 0L);
  if (d.task == Task::Classification) {
    std::printf(", %ld classes\n  train class counts: %s\n", d.num_classes,
                class_counts(d.train.labels, d.num_classes).c_str());
    if (d.train.y_clean) {
      const Index flipped = (d.train.labels.array() != d.train.y_clean->array()).count();
      std::printf("  label noise: %ld of %ld training labels flipped (%.4f); /train/y_clean kept\n",
                  static_cast<long>(flipped), static_cast<long>(d.train.labels.size()),
                  static_cast<double>(flipped) / static_cast<double>(d.train.labels.size()));
    }
  } else {
    std::printf("\n");
  }
}

int import_fashion_mnist_cmd(int argc, const char* const* argv) {
  FashionMnistOptions o;
  const FashionMnistOptions def;
  std::string out, noise_kind = name_of(kNoiseKindNames, def.noise_kind), keep,
                   scale = name_of(kPixelScalingNames, def.scale);
  bool force = false, no_test = false;
  po::options_description desc(
      "usage: lsekit import fashion-mnist --out FILE [options]\n\n"
      "Imports Fashion-MNIST (Debian package dataset-fashion-mnist: 60000 training and 10000\n"
      "test images of 28 x 28 pixels, 10 classes) as a DRO classification dataset. On the\n"
      "training split, in this order: class imbalance (--keep), a random subset (--n-train),\n"
      "label noise (--noise; /train/y_clean keeps the true labels); then both splits are\n"
      "scaled (--scale). The test split (t10k) is never corrupted or subsampled. Every random\n"
      "choice comes from --seed.\n\noptions");
  desc.add_options()("help,h", "show this help")(
      "out,o", po::value(&out), "file to write (required)")("force", po::bool_switch(&force),
                                                            "overwrite --out if it exists")(
      "dir", po::value(&o.dir)->default_value(def.dir),
      "directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")(
      "n-train", po::value(&o.n_train)->default_value(def.n_train),
      "training images to keep, chosen at random (0 = all)")(
      "noise", po::value(&o.noise)->default_value(def.noise, text(def.noise)),
      "fraction of training labels flipped, in [0, 1] (exact count)")(
      "noise-kind", po::value(&noise_kind)->default_value(noise_kind),
      ("label noise model:" + choices(kNoiseKindNames)).c_str())(
      "keep", po::value(&keep)->default_value(""),
      "per-class keep fractions, e.g. 0.1,0.1,0.1,0.1,0.1,1,1,1,1,1 (10 values; empty = all)")(
      "scale", po::value(&scale)->default_value(scale),
      ("pixel scaling:" + choices(kPixelScalingNames)).c_str())(
      "no-test", po::bool_switch(&no_test), "do not import the t10k test split")(
      "seed", po::value(&o.seed)->default_value(def.seed), "random seed");
  po::variables_map vm;
  parse(argc, argv, desc, {}, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  o.noise_kind = enum_option(kNoiseKindNames, noise_kind, "noise-kind");
  o.scale = enum_option(kPixelScalingNames, scale, "scale");
  o.with_test = !no_test;
  if (!keep.empty()) o.keep = parse_fractions(keep, "keep");
  if (!(o.noise >= 0.0 && o.noise <= 1.0)) throw InputError("--noise must be in [0, 1]");
  if (o.n_train < 0) throw InputError("--n-train must be >= 0 (0 = all)");
  if (!o.keep.empty() && static_cast<long>(o.keep.size()) != kFashionMnistClasses)
    throw InputError("--keep has " + std::to_string(o.keep.size()) +
                     " fractions, but Fashion-MNIST has " + std::to_string(kFashionMnistClasses) +
                     " classes");
  check_output(out, force);
  const Dataset d = import_fashion_mnist(o);
  write_dataset(out, d);
  print_summary(out, "fashion-mnist", d);
  return kExitOk;
}

int import_csv_cmd(int argc, const char* const* argv) {
  CsvOptions o;
  const CsvOptions def;
  std::string input, out, task, header = name_of(kCsvHeaderNames, def.header),
                                labels = name_of(kLabelModeNames, def.labels), delimiter = ",";
  bool force = false;
  po::options_description desc(
      "usage: lsekit import csv FILE.csv --out FILE.h5 --label COL [options]\n\n"
      "Imports a numeric CSV file (one sample per row; every column except the label is a\n"
      "feature and must hold finite numbers) as a classification or regression dataset.\n"
      "Blank lines are skipped; fields may be double-quoted. A first column without a name in\n"
      "the header (the row index pandas writes) is dropped, with a message. Column and class\n"
      "names are stored in /meta, the options and seed as root attributes.\n\noptions");
  desc.add_options()("help,h", "show this help")("input", po::value(&input),
                                                 "CSV file (positional)")(
      "out,o", po::value(&out), "file to write (required)")("force", po::bool_switch(&force),
                                                            "overwrite --out if it exists")(
      "label", po::value(&o.label), "label column: a header name or a 0-based index (required)")(
      "task", po::value(&task),
      "classification | regression (default: classification with --labels or "
      "--num-classes, else inferred from the label column: labels 0..K-1 (or 1..K) -> "
      "classification, real numbers -> regression, non-numeric -> classification; asks for "
      "--task when it cannot tell)")("header", po::value(&header)->default_value(header),
                                     ("first row:" + choices(kCsvHeaderNames)).c_str())(
      "delimiter", po::value(&delimiter)->default_value(delimiter),
      "field separator: one character, or 'tab'")(
      "labels", po::value(&labels)->default_value(labels),
      ("classification labels:" + choices(kLabelModeNames)).c_str())(
      "num-classes", po::value(&o.num_classes)->default_value(def.num_classes),
      "classification: number of classes K (0 = from the labels)")(
      "test-fraction", po::value(&o.test_fraction)->default_value(def.test_fraction, "0"),
      "fraction of rows (rounded) put in /test, chosen at random, in [0, 1)")(
      "seed", po::value(&o.seed)->default_value(def.seed), "random seed of the test split");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  parse(argc, argv, desc, pos, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (input.empty())
    throw InputError("a CSV file is required (lsekit import csv FILE --out OUT --label COL)");
  if (o.label.empty()) throw InputError("--label is required (a column name or 0-based index)");
  if (task == "classification")
    o.task = Task::Classification;
  else if (task == "regression")
    o.task = Task::Regression;
  else if (!task.empty())
    throw InputError("--task: unknown value '" + task + "' (choose classification or regression)");
  else if (!vm["labels"].defaulted() || !vm["num-classes"].defaulted())
    o.task = Task::Classification;  // --labels and --num-classes only apply to classes
  o.header = enum_option(kCsvHeaderNames, header, "header");
  o.labels = enum_option(kLabelModeNames, labels, "labels");
  if (delimiter == "tab" || delimiter == "\\t") delimiter = "\t";
  if (delimiter.size() != 1 || delimiter == "\"")
    throw InputError("--delimiter must be one character (or 'tab'), got '" + delimiter + "'");
  o.delimiter = delimiter[0];
  check_output(out, force);
  const CsvImport imp = import_csv(input, o);
  for (const auto& m : imp.messages)
    std::fprintf(stderr, "lsekit import csv: %s: %s\n", input.c_str(), cli_wording(m).c_str());
  write_dataset(out, imp.data);
  print_summary(out, input.c_str(), imp.data);
  std::printf("  label column: %s%s\n", imp.label_column.c_str(),
              imp.had_header ? "" : " (no header row)");
  if (imp.data.task == Task::Classification && o.labels == LabelMode::Remap) {
    std::printf("  classes:");
    for (std::size_t k = 0; k < imp.class_names.size(); ++k)
      std::printf(" %zu=%s", k, imp.class_names[k].c_str());
    std::printf("\n");
  }
  return kExitOk;
}

struct ImportKind {
  const char* name;
  int (*run)(int, const char* const*);
  const char* help;
};
constexpr ImportKind kKinds[] = {
    {"fashion-mnist", import_fashion_mnist_cmd,
     "Fashion-MNIST IDX files (label noise, class imbalance, subset, scaling)"},
    {"csv", import_csv_cmd, "a numeric CSV file with a label column"},
};

}  // namespace

int cmd_import(int argc, const char* const* argv) {
  const std::string kind = argc >= 2 ? argv[1] : "";
  for (const auto& k : kKinds)
    if (kind == k.name) return k.run(argc - 1, argv + 1);
  if (kind == "--help" || kind == "-h") {
    std::printf(
        "usage: lsekit import KIND ... --out FILE [options]   (lsekit import KIND --help)\n\n"
        "kinds:\n");
    for (const auto& k : kKinds) std::printf("  %-15s %s\n", k.name, k.help);
    return kExitOk;
  }
  std::string names;
  for (const auto& k : kKinds) names += std::string(names.empty() ? "" : ", ") + k.name;
  throw InputError("lsekit import: unknown or missing kind '" + kind + "' (choose one of " + names +
                   ")");
}

}  // namespace lsekit::cli
