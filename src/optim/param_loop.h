#pragma once
// Runs an update over the elements of one parameter in float or double.
#include "convkit/tensor.h"

namespace convkit::optim::detail {

template <class F>
void for_each_float(const Tensor& p, F&& f) {
  if (p.dtype() == DType::f32)
    f.template operator()<float>();
  else
    f.template operator()<double>();
}

// Loads state entry `key` into `dst` (same shape as the parameter), naming the optimizer on error.
inline Tensor load_slot(const std::map<std::string, Tensor>& state, const std::string& key,
                        const Tensor& param, const char* opt) {
  auto it = state.find(key);
  if (it == state.end()) return Tensor();
  CONVKIT_CHECK(it->second.shape() == param.shape(), opt, ": state '", key, "' has shape ",
                it->second.shape().to_string(), " but the parameter has ",
                param.shape().to_string());
  return it->second.to(param.dtype()).clone();
}

}  // namespace convkit::optim::detail
