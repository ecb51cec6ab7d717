#include "tasks/tasks.hpp"

#include <cmath>

#include "core/errors.hpp"
#include "data/dataset.hpp"
#include "data/ot_instance.hpp"

namespace lsekit {

void check_dro_options(const std::string& path, const ProblemOptions& po, const char* pname) {
  if (!(po.lambda > 0.0) || !std::isfinite(po.lambda))
    throw InputError(path + ": `lambda` must be finite and > 0 (" + pname + ")");
  if (!(po.l2 >= 0.0) || !std::isfinite(po.l2))
    throw InputError(path + ": `l2` must be finite and >= 0 (" + pname + ")");
}

AnyTask load_task(const std::string& path, const ProblemOptions& po) {
  if (po.init != "zero" && po.init != "ls")
    throw InputError("`init`: unknown value '" + po.init + "' (choose zero or ls)");
  // The least-squares start is defined for DRO regression only.
  auto init_zero_only = [&](const char* pname) {
    if (po.init != "zero")
      throw InputError(path + ": `init=" + po.init + "` (least squares) applies to DRO regression only, not " +
                       pname);
  };
  const std::string format = file_format(path);
  if (format == "lsekit-dataset") {
    Dataset d = read_dataset(path);
    const char* pname = d.task == Task::Regression ? "DRO regression" : "DRO classification";
    if (d.task != Task::Regression) init_zero_only(pname);
    check_dro_options(path, po, pname);
    if (d.task == Task::Regression) return RegressionTask(std::move(d), po);
    return ClassificationTask(std::move(d), po);
  }
  if (format == "lsekit-ot") {
    if (!(po.epsilon >= 0.0) || !std::isfinite(po.epsilon))
      throw InputError(path + ": `epsilon` must be finite and > 0 (0 = the instance's) (entropic OT)");
    if (po.l2 != 0.0)
      throw InputError(path + ": `l2` does not apply to entropic OT (the semi-dual has no L2 term)");
    init_zero_only("entropic OT");
    return OtTask(read_ot_instance(path), po);
  }
  if (format.empty())
    throw InputError(path + ": no 'format' attribute at the root: not an lsekit dataset or OT instance");
  throw InputError(path + ": format '" + format + "' cannot be solved (expected lsekit-dataset or lsekit-ot)");
}

}  // namespace lsekit
