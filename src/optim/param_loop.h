#pragma once
// Shared by the optimizers: the walk over parameters that have a gradient, and state loading.
#include <map>
#include <string>
#include <vector>

#include "convkit/optim/optimizer.h"

namespace convkit::optim::detail {

// Calls f(group index, param index, group, param, grad) for every parameter with a gradient.
template <class F>
void for_each_param_with_grad(std::vector<ParamGroup>& groups, F&& f) {
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    ParamGroup& g = groups[gi];
    for (size_t pi = 0; pi < g.params.size(); ++pi) {
      Tensor grad = g.params[pi].grad();
      if (grad.defined()) f(gi, pi, g, g.params[pi], grad);
    }
  }
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
