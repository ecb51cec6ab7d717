// H5Doc: in-memory HDF5 documents, written atomically and read back whole (h5doc.hpp).
#include "data/h5doc.hpp"

#include <utility>

#include "core/errors.hpp"
#include "data/h5.hpp"

namespace lsekit {

Array Array::vector(const Vec& v) {
  return {{static_cast<std::uint64_t>(v.size())},
          std::vector<double>(v.data(), v.data() + v.size())};
}

Array Array::vector(const IVec& v) {
  return {{static_cast<std::uint64_t>(v.size())},
          std::vector<std::int64_t>(v.data(), v.data() + v.size())};
}

Array Array::vector(const std::vector<double>& v) {
  return {{static_cast<std::uint64_t>(v.size())}, v};
}

Array Array::matrix(const MatRM& m) {
  return {{static_cast<std::uint64_t>(m.rows()), static_cast<std::uint64_t>(m.cols())},
          std::vector<double>(m.data(), m.data() + m.size())};
}

std::size_t Array::numel() const {
  return std::visit([](const auto& d) { return d.size(); }, data);
}

namespace {

std::uint64_t shape_numel(const std::vector<std::uint64_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

void check_doc(const std::string& path, const H5Doc& doc) {
  for (const auto& [name, a] : doc.datasets) {
    if (name.size() < 2 || name[0] != '/' || name.back() == '/') {
      throw InputError(path + ": " + name + ": dataset paths must be absolute, like /group/name");
    }
    if (shape_numel(a.shape) != a.numel()) {
      throw InputError(path + ": " + name + ": array of shape " + h5::shape_string(a.shape) +
                       " holds " + std::to_string(a.numel()) + " values");
    }
  }
  for (const auto& [object, attrs] : doc.attrs) {
    if (object.empty() || object[0] != '/') {
      throw InputError(path + ": " + object + ": object paths must be absolute, like /metrics");
    }
  }
}

// ---- reading: collect object names with H5Ovisit (callbacks must not throw) ----------

struct Visit {
  std::vector<std::string> groups;
  std::vector<std::string> datasets;
};

void note_object(const char* name, H5O_type_t type, Visit* v) {
  const std::string n = name;
  if (n == ".") return;  // the root group itself
  if (type == H5O_TYPE_GROUP) v->groups.push_back("/" + n);
  if (type == H5O_TYPE_DATASET) v->datasets.push_back("/" + n);
}

#if H5_VERSION_GE(1, 12, 0)
herr_t visit_cb(hid_t, const char* name, const H5O_info2_t* info, void* data) {
  note_object(name, info->type, static_cast<Visit*>(data));
  return 0;
}
herr_t visit_all(hid_t root, Visit* v) {
  return H5Ovisit3(root, H5_INDEX_NAME, H5_ITER_INC, &visit_cb, v, H5O_INFO_BASIC);
}
#elif H5_VERSION_GE(1, 10, 3)
herr_t visit_cb(hid_t, const char* name, const H5O_info_t* info, void* data) {
  note_object(name, info->type, static_cast<Visit*>(data));
  return 0;
}
herr_t visit_all(hid_t root, Visit* v) {
  return H5Ovisit2(root, H5_INDEX_NAME, H5_ITER_INC, &visit_cb, v, H5O_INFO_BASIC);
}
#else
herr_t visit_cb(hid_t, const char* name, const H5O_info_t* info, void* data) {
  note_object(name, info->type, static_cast<Visit*>(data));
  return 0;
}
herr_t visit_all(hid_t root, Visit* v) {
  return H5Ovisit(root, H5_INDEX_NAME, H5_ITER_INC, &visit_cb, v);
}
#endif

herr_t attr_name_cb(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

void read_attrs(hid_t obj, const std::string& object, const h5::Where& w, H5Doc& doc) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, &attr_name_cb, &names) < 0) {
    throw IoError(w.file + ": " + object + ": cannot list attributes (" + h5::last_error() + ")");
  }
  auto& out = doc.attrs[object];
  std::string unsupported;
  for (const auto& name : names) {
    AttrValue v;
    std::string why;
    if (h5::read_attr_value(obj, name, v, &why, w, object)) {
      out[name] = std::move(v);
    } else {
      unsupported += (unsupported.empty() ? "" : "; ") + name + ": " + why;
    }
  }
  if (!unsupported.empty()) out["<unsupported>"] = "attributes " + unsupported;
}

h5::Handle utf8_string_type() {
  h5::Handle t = h5::Handle::type(H5Tcopy(H5T_C_S1));
  if (!t || H5Tset_size(t.get(), H5T_VARIABLE) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0 ||
      H5Tset_strpad(t.get(), H5T_STR_NULLTERM) < 0)
    return {};
  return t;
}

/// A one-dimensional variable-length string dataset; false for any other string layout.
bool read_strings(const h5::DatasetHeader& h, std::vector<std::string>& out) {
  if (!h.type.variable || h.shape.size() != 1) return false;
  h5::Handle type = utf8_string_type();
  if (!type) return false;
  std::vector<char*> ptrs(h.numel, nullptr);
  if (h.numel > 0 && H5Dread(h.dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
    return false;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return true;
}

}  // namespace

void write_h5doc(const std::string& path, const H5Doc& doc, bool overwrite) {
  check_doc(path, doc);
  const h5::Where w{path, ""};
  h5::write_file_atomically(path, overwrite, [&](hid_t file) {
    for (const auto& [name, a] : doc.datasets) {
      if (const auto* d = std::get_if<std::vector<double>>(&a.data)) {
        h5::write_array(file, name, a.shape, d->data(), w);
      } else {
        h5::write_array(file, name, a.shape, std::get<std::vector<std::int64_t>>(a.data).data(), w);
      }
    }
    for (const auto& [name, v] : doc.strings) h5::write_strings(file, name, v, w);
    for (const auto& [object, attrs] : doc.attrs) {
      h5::Handle obj;
      if (doc.datasets.count(object) || doc.strings.count(object)) {
        obj = h5::Handle::object(H5Oopen(file, object.c_str(), H5P_DEFAULT));
        if (!obj) throw IoError(path + ": " + object + ": cannot open dataset");
      } else {
        obj = h5::require_group(file, object, w);
      }
      for (const auto& [name, v] : attrs) h5::write_attr(obj.get(), name, v, w, object);
    }
  });
}

H5Doc read_h5doc(const std::string& path) {
  h5::Handle file = h5::open_file(path);
  const h5::Where w{path, ""};
  h5::Handle root = h5::Handle::group(H5Gopen2(file.get(), "/", H5P_DEFAULT));
  if (!root) throw IoError(path + ": cannot open the root group (" + h5::last_error() + ")");

  Visit v;
  if (visit_all(root.get(), &v) < 0) {
    throw IoError(path + ": cannot walk the file (" + h5::last_error() + ")");
  }

  H5Doc doc;
  read_attrs(root.get(), "/", w, doc);
  for (const auto& g : v.groups) {
    h5::Handle obj = h5::Handle::group(H5Gopen2(file.get(), g.c_str(), H5P_DEFAULT));
    if (!obj) throw IoError(path + ": " + g + ": cannot open group (" + h5::last_error() + ")");
    read_attrs(obj.get(), g, w, doc);
  }
  for (const auto& name : v.datasets) {
    const h5::DatasetHeader h = h5::open_dataset(file.get(), name, w);
    read_attrs(h.dset.get(), name, w, doc);
    auto& attrs = doc.attrs[name];
    if (h.type.kind == h5::Kind::Float || h.type.kind == h5::Kind::Integer) {
      Array a;
      a.shape = h.shape;
      if (h.type.kind == h5::Kind::Float) {
        std::vector<double> d(h.numel);
        h5::read_values(h, d.data(), w);
        a.data = std::move(d);
      } else {
        std::vector<std::int64_t> d(h.numel);
        h5::read_values(h, d.data(), w);
        a.data = std::move(d);
      }
      doc.datasets[name] = std::move(a);
    } else if (std::vector<std::string> sv; h.type.kind == h5::Kind::String && read_strings(h, sv)) {
      doc.strings[name] = std::move(sv);
    } else {
      std::string text =
          "dataset of type " + h.type.name + " and shape " + h5::shape_string(h.shape);
      const auto it = attrs.find("<unsupported>");  // may also be a real attribute of any type
      if (it != attrs.end()) {
        if (const auto* s = std::get_if<std::string>(&it->second)) text += "; " + *s;
      }
      attrs["<unsupported>"] = std::move(text);
    }
    if (attrs.empty()) doc.attrs.erase(name);
  }
  return doc;
}

}  // namespace lsekit
