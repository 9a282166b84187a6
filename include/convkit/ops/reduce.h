#pragma once
// Reductions over dimensions.
#include <vector>

#include "convkit/tensor.h"

namespace convkit {

// Sum over all elements: a 0-d tensor (shape []).
Tensor sum(const Tensor& x);
// Sum over `dims` (negative allowed, each at most once). keepdim keeps them as size 1.
// Every sum (mean is a sum times a scalar) is traced as SumParams, dims as given.
struct SumParams {
  std::vector<int64_t> dims;
  bool keepdim = false;
};
Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);

}  // namespace convkit
