// lsekit info FILE: describe any lsekit HDF5 file (attributes -- provenance included --,
// datasets, shapes, and the feature and class names stored in /meta).
#include <algorithm>
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
}  // namespace

int cmd_info(int argc, const char* const* argv) {
  std::string path;
  po::options_description desc("usage: lsekit info FILE.h5\n\nDescribes an lsekit dataset, OT instance, "
                               "result or compare file.\n\noptions");
  desc.add_options()("help,h", "show this help")("file", po::value(&path), "file (positional)");
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
  for (const auto& [name, values] : strings) {
    std::printf("%-36s %-8s (%zu,)  =", name.c_str(), "string", values.size());
    const std::size_t shown = std::min<std::size_t>(values.size(), 20);
    for (std::size_t i = 0; i < shown; ++i)
      std::printf("%s \"%s\"", i ? "," : "", values[i].c_str());
    if (shown < values.size()) std::printf(", ... (%zu more)", values.size() - shown);
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace lsekit::cli
