#pragma once
// oneDNN (v2.6) concat of plain float32 tensors along one dim. Oracle: ref::narrow_embed per input.
#include <string>

#include "convkit/autograd.h"
#include "convkit/tensor.h"

namespace convkit::onednn {

bool concat_accepts(const TensorList& xs, std::string* why);
// y: allocated with the concatenated shape; xs already checked to match except along dim.
void concat_forward(Tensor& y, const TensorList& xs, int dim);

}  // namespace convkit::onednn
