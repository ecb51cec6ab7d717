// Names of enumerated values, stated once: a table of (value, name, help) rows from which
// the library parses names, prints them and builds help texts (`--help` lists the same rows
// the parser accepts). Header-only; no allocation except the joined help string.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace lsekit {

template <class E>
struct NamedValue {
  E value;
  const char* name;
  const char* help;
};

template <class E, size_t N>
std::optional<E> parse_name(const std::array<NamedValue<E>, N>& table, std::string_view s) {
  for (const auto& nv : table)
    if (s == nv.name) return nv.value;
  return std::nullopt;
}
template <class E, size_t N>
const char* name_of(const std::array<NamedValue<E>, N>& table, E e) {
  for (const auto& nv : table)
    if (nv.value == e) return nv.name;
  return "?";
}
/// "a|b|c" for help texts.
template <class E, size_t N>
std::string names_joined(const std::array<NamedValue<E>, N>& table, const char* sep = "|") {
  std::string out;
  for (const auto& nv : table) {
    if (!out.empty()) out += sep;
    out += nv.name;
  }
  return out;
}

}  // namespace lsekit
