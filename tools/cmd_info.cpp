// lsekit info FILE: describe any lsekit HDF5 file (attributes -- provenance included --,
// datasets, shapes, the feature and class names stored in /meta; a compare file's summary).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <vector>

#include "core/errors.hpp"
#include "data/h5.hpp"
#include "data/h5doc.hpp"
#include "tools/commands.hpp"
#include "tools/solver_cli.hpp"

namespace lsekit::cli {

namespace {
std::string show(const AttrValue& v) {
  if (auto* s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", std::get<double>(v));
  return buf;
}
std::string shape_of(const Array& a) {
  std::string s = "(";
  for (size_t i = 0; i < a.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(a.shape[i]);
  return s + (a.shape.size() == 1 ? ",)" : ")");
}
std::string cell(const H5Doc& doc, const std::string& col, size_t row) {
  if (auto it = doc.strings.find(col); it != doc.strings.end())
    return row < it->second.size() ? it->second[row] : "";
  if (auto it = doc.datasets.find(col); it != doc.datasets.end()) {
    const Array& a = it->second;
    if (row >= a.numel()) return "";
    if (a.is_int()) return std::to_string(std::get<std::vector<std::int64_t>>(a.data)[row]);
    const double v = std::get<std::vector<double>>(a.data)[row];
    if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
    char b[40];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
  }
  return "";
}

/// A compare file: its provenance and the /summary table (one line per run).
void print_compare(const std::string& path, const H5Doc& doc) {
  const auto& root = doc.attrs.at("/");
  std::printf("%s: lsekit compare file\n", path.c_str());
  for (const char* k : {"problem", "input_path", "lambda", "epsilon", "lambdas", "l2", "f_star", "status", "message",
                        "created", "version", "command_line"})
    if (root.count(k)) std::printf("    @%-14s %s\n", k, show(root.at(k)).c_str());
  std::vector<std::string> cols;
  size_t rows = 0;
  for (const auto& [name, v] : doc.strings)
    if (name.rfind("/summary/", 0) == 0) rows = std::max(rows, v.size());
  for (const auto& [name, a] : doc.datasets)
    if (name.rfind("/summary/", 0) == 0) rows = std::max(rows, static_cast<size_t>(a.numel()));
  const std::vector<std::string> preferred = {"run", "solver", "optimizer", "status", "step_size", "seed", "batch",
                                              "lambda", "epsilon", "rho", "final_objective", "gap", "passes",
                                              "time_s", "test_accuracy", "test_worst_class_accuracy", "test_rmse",
                                              "marginal_error"};
  std::vector<std::string> others;
  for (const auto& c : preferred)
    if (doc.strings.count("/summary/" + c) || doc.datasets.count("/summary/" + c)) cols.push_back(c);
  auto add_other = [&](const std::string& name) {
    if (name.rfind("/summary/", 0) != 0) return;
    const std::string c = name.substr(9);
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) others.push_back(c);
  };
  for (const auto& [name, v] : doc.strings) add_other(name);
  for (const auto& [name, a] : doc.datasets) add_other(name);
  std::printf("/summary: %zu runs (one line each; details under /runs/<run>)\n", rows);
  std::vector<size_t> width(cols.size());
  for (size_t j = 0; j < cols.size(); ++j) {
    width[j] = cols[j].size();
    for (size_t i = 0; i < rows; ++i) width[j] = std::max(width[j], cell(doc, "/summary/" + cols[j], i).size());
  }
  for (size_t j = 0; j < cols.size(); ++j) std::printf("%-*s ", static_cast<int>(width[j]), cols[j].c_str());
  std::printf("\n");
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < cols.size(); ++j)
      std::printf("%-*s ", static_cast<int>(width[j]), cell(doc, "/summary/" + cols[j], i).c_str());
    std::printf("\n");
  }
  std::string rest;
  for (const auto& c : others) rest += (rest.empty() ? "" : ", ") + c;
  if (!rest.empty()) std::printf("further /summary columns: %s\n", rest.c_str());
  std::printf("(lsekit info --all %s lists every attribute and dataset)\n", path.c_str());
}

}  // namespace

int cmd_info(int argc, const char* const* argv) {
  std::string path, config;
  bool all = false;
  po::options_description desc("usage: lsekit info FILE.h5 [--all]\n\nDescribes an lsekit dataset, OT instance, "
                               "result or compare file (a compare file: its /summary table, one line per run).\n\n"
                               "options");
  desc.add_options()("help,h", "show this help")("file", po::value(&path), "file (positional)")
      ("all", po::bool_switch(&all), "every attribute and dataset, also of a compare file")
      ("config", po::value(&config), "read further options from FILE (key = value lines)");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  parse(argc, argv, desc, pos, vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (path.empty()) throw InputError("usage: lsekit info FILE.h5");
  H5Doc doc = read_h5doc(path);
  if (!all && doc.attrs.count("/") && doc.attrs.at("/").count("kind") &&
      show(doc.attrs.at("/").at("kind")) == "\"compare\"") {
    print_compare(path, doc);
    return kExitOk;
  }
  std::string format = "(no format attribute)";
  if (doc.attrs.count("/") && doc.attrs.at("/").count("format"))
    format = show(doc.attrs.at("/").at("format"));
  std::printf("%s: %s\n", path.c_str(), format.c_str());
  // Datasets of strings (/meta/feature_names, /meta/class_names): read_h5doc only notes them.
  std::map<std::string, std::vector<std::string>> strings;
  for (auto& [obj, attrs] : doc.attrs) {
    const auto it = attrs.find("<unsupported>");
    if (it == attrs.end()) continue;
    const auto* text = std::get_if<std::string>(&it->second);
    if (!text || text->rfind("dataset of type string", 0) != 0) continue;
    try {
      h5::Handle file = h5::open_file(path);
      strings[obj] = h5::read_strings(file.get(), obj, h5::Where{path, ""});
      attrs.erase(it);
    } catch (const std::exception&) {
      // not a rank-1 string dataset: keep the note
    }
  }
  for (const auto& [obj, attrs] : doc.attrs) {
    if (attrs.empty() && strings.count(obj)) continue;
    std::printf("%s\n", obj.c_str());
    for (const auto& [k, v] : attrs) std::printf("    @%-20s %s\n", k.c_str(), show(v).c_str());
  }
  for (const auto& [name, a] : doc.datasets) {
    std::printf("%-36s %-8s %s", name.c_str(), a.is_int() ? "int64" : "float64", shape_of(a).c_str());
    if (!a.is_int() && a.numel() > 0) {
      const auto& v = std::get<std::vector<double>>(a.data);
      if (a.numel() == 1) std::printf("  = %.10g", v[0]);
      else if (name.find("/trace/") != std::string::npos) std::printf("  last %.10g", v.back());
    }
    std::printf("\n");
  }
  for (const auto& src : {&strings, &doc.strings}) {
    for (const auto& [name, values] : *src) {
      std::printf("%-36s %-8s (%zu,)  =", name.c_str(), "string", values.size());
      const std::size_t shown = std::min<std::size_t>(values.size(), 20);
      for (std::size_t i = 0; i < shown; ++i)
        std::printf("%s \"%s\"", i ? "," : "", values[i].c_str());
      if (shown < values.size()) std::printf(", ... (%zu more)", values.size() - shown);
      std::printf("\n");
    }
  }
  return kExitOk;
}

}  // namespace lsekit::cli
