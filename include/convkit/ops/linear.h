#pragma once
// Matrix products: matmul and the fully connected layer (linear).
#include "convkit/tensor.h"

namespace convkit {

// Matrix product c = a @ b.
//   a [M,K]   @ b [K,N]   -> [M,N]
//   a [B,M,K] @ b [B,K,N] -> [B,M,N]
// Batch broadcasting: a 2-D operand, or a 3-D one with batch 1, is shared by every batch of the
// other ([M,K] @ [B,K,N] -> [B,M,N]; [1,M,K] @ [B,K,N] -> [B,M,N]); its gradient is summed over
// the batch. Both operands must have the same floating dtype.
// Throws convkit::Error ("matmul" and both shapes) when ranks are not 2 or 3, inner sizes differ
// (K), batch sizes differ and neither is 1, or dtypes differ.
// Kernels: oneDNN matmul (float32), reference loops otherwise.
Tensor matmul(const Tensor& a, const Tensor& b);

// Fully connected layer in PyTorch's layout: y = x w^T + b.
//   x [N, in] (or [..., in]: leading dims are flattened and restored), w [out, in],
//   b [out] or undefined (no bias) -> y [N, out] (or [..., out]).
// Throws convkit::Error ("linear" and the shapes) when w is not 2-D, x's last dim differs from
// w's second dim, b is not [out], or dtypes differ.
// Kernels: oneDNN inner_product forward / backward-data / backward-weights (float32), reference
// loops otherwise.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

}  // namespace convkit
