#pragma once
// The ops an inference plan replays (infer/plan.h): the traced op's name and options, applied to
// new inputs through the same public convkit op.
#include <any>
#include <string>

#include "convkit/autograd.h"

namespace convkit::infer::detail {

// Whether `op` can be replayed.
bool replayable(const std::string& op);
// Runs `op` on `inputs` with its traced `params`; `out_shape` / `out_dtype` are what the traced
// call produced (reshape and to replay to them).
Tensor replay(const std::string& op, const std::any& params, const TensorList& inputs,
              const Shape& out_shape, DType out_dtype);

}  // namespace convkit::infer::detail
