#include "convkit/train/anomaly.h"

#include <cmath>

#include "convkit/autograd.h"

namespace convkit::train {

namespace {
template <class T>
std::string kind_of(const T* p, int64_t n) {
  bool inf = false;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(p[i])) return "NaN";
    if (std::isinf(p[i])) inf = true;
  }
  return inf ? "inf" : "";
}
}  // namespace

std::string non_finite_kind(const Tensor& t) {
  if (!t.defined() || t.numel() == 0) return "";
  if (t.dtype() == DType::f32) return kind_of(t.data<float>(), t.numel());
  if (t.dtype() == DType::f64) return kind_of(t.data<double>(), t.numel());
  return "";
}

AnomalyDetector::AnomalyDetector(nn::Module& model) {
  for (auto& [path, m] : model.named_modules()) paths_[m] = path;
  autograd::set_op_observer([this](const autograd::OpValue& v) {
    if (!pending_.empty()) return;  // the first one is the cause; later ones follow from it
    // Ops that backward functions run (grad mode off) are judged by the gradient they return.
    if (!v.backward && !autograd::grad_enabled()) return;
    const std::string kind = non_finite_kind(v.value);
    if (kind.empty()) return;
    if (v.backward)
      throw Error(detail::concat("anomaly: the backward of op '", v.op, "' produced ", kind,
                                 " in the gradient of its input ", v.input, " (shape ",
                                 v.value.shape().to_string(), ")"));
    pending_ = detail::concat("op '", v.op, "' produced ", kind, " (output shape ",
                              v.value.shape().to_string(), ")");
  });
  nn::set_forward_observer([this](const nn::Module& m, const Shape&, const Shape&) {
    if (pending_.empty()) return;
    auto it = paths_.find(&m);
    const std::string where = it == paths_.end()   ? "a module outside the model"
                              : it->second.empty() ? "the model itself"
                                                   : "module '" + it->second + "'";
    throw Error("anomaly: " + pending_ + " in " + where + " (" + m.type_name() + ")");
  });
}

AnomalyDetector::~AnomalyDetector() {
  autograd::set_op_observer(nullptr);
  nn::set_forward_observer(nullptr);
}

void AnomalyDetector::check_outside_modules() {
  if (!pending_.empty())
    throw Error("anomaly: " + pending_ +
                " outside the model's modules (in the task's loss, or in a forward not called "
                "through Module::operator())");
}

}  // namespace convkit::train
