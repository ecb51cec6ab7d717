#include "tasks/run.hpp"

#ifndef LSEKIT_VERSION
#error "LSEKIT_VERSION must be defined by the build"
#endif

namespace lsekit {

const char* version() { return LSEKIT_VERSION; }

H5Doc new_result_document() {
  H5Doc doc;
  doc.set_attr("/", "format", std::string("lsekit-result"));
  doc.set_attr("/", "format_version", std::int64_t{1});
  doc.set_attr("/", "version", std::string(version()));
  return doc;
}

}  // namespace lsekit
