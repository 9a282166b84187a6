#pragma once
// Indexing ops: pick elements by integer indices (index_select, gather), by a mask (where), or by
// rank (topk, argsort). Derivatives: docs/derivatives.md (indexing).
//
// Indices are int64 tensors; dims may be negative (counted from the back, -1 = last). Data may be
// of any dtype (float32, float64, int64, uint8): shape computations in imported ONNX graphs index
// int64 tensors. Gradients flow to floating data only; indices and masks get none. Every op throws
// convkit::Error naming the op, the shapes and the offending dim, index or dtype.
#include <cstdint>

#include "convkit/autograd.h"
#include "convkit/tensor.h"

namespace convkit {

// Rows of x along `dim` picked by a 1-D `index` (torch.index_select):
//   y.shape = x.shape with size(dim) replaced by index.numel();
//   y[.., j, ..] = x[.., index[j], ..]  with 0 <= index[j] < x.size(dim) (repeats allowed).
// Gradient: dx = zeros(x.shape) with dy's rows added at their indices (index_add).
// Throws when index is not 1-D int64 or holds a value outside [0, x.size(dim)).
Tensor index_select(const Tensor& x, int dim, const Tensor& index);

// Elements of x along `dim` picked per position (torch.gather): index has x's ndim and
// index.size(d) <= x.size(d) for d != dim; y.shape = index.shape and, for dim = 1 of a 3-D x,
//   y[i][j][k] = x[i][index[i][j][k]][k]  with 0 <= index[..] < x.size(dim).
// Gradient: dx = zeros(x.shape) with dy added where each element was read (scatter_add).
Tensor gather(const Tensor& x, int dim, const Tensor& index);

// cond ? a : b elementwise, with NumPy broadcasting of all three (torch.where). cond is uint8
// (nonzero = true); a and b have one dtype, the output's. Gradients: da = sum_to(where(cond, dy,
// 0)), db = sum_to(where(cond, 0, dy)).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Options of topk (torch.topk).
struct TopKParams {
  int64_t k = 1;        // 0 <= k <= x.size(dim)
  int dim = -1;         // the dim ranked
  bool largest = true;  // the k largest (else the k smallest)
  bool sorted = true;   // values in rank order; else in the order of their indices in x
  TopKParams& set_k(int64_t v) { return k = v, *this; }
  TopKParams& set_dim(int v) { return dim = v, *this; }
  TopKParams& set_largest(bool v) { return largest = v, *this; }
  TopKParams& set_sorted(bool v) { return sorted = v, *this; }
};

struct TopK {
  Tensor values;   // x's dtype, x.shape with size(dim) = k
  Tensor indices;  // int64, same shape: values = gather(x, dim, indices)
};

// The k largest (or smallest) elements along p.dim and their indices. NaN ranks above every
// number (as in PyTorch); equal values keep their index order (lower index first). Gradient of
// values: dy scattered back to the picked positions (gather's); indices have none. Floating and
// int64 data.
TopK topk(const Tensor& x, const TopKParams& p);

// Options of argsort (torch.argsort with stable=True).
struct ArgsortParams {
  int dim = -1;
  bool descending = false;
  ArgsortParams& set_dim(int v) { return dim = v, *this; }
  ArgsortParams& set_descending(bool v) { return descending = v, *this; }
};

// The int64 indices that sort x along p.dim (a stable sort: equal values keep their order; NaN
// sorts as the largest value). No gradient.
Tensor argsort(const Tensor& x, const ArgsortParams& p = {});

// The one option of index_select and gather, as they are traced (core/trace.h).
struct IndexDimParams {
  int dim;
};

}  // namespace convkit
