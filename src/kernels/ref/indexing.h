#pragma once
// Reference kernels of the indexing ops (convkit/ops/indexing.h). Arguments were checked by the
// op (indices in range, shapes compatible); output shapes come from the output tensors. The
// forward copies move raw elements of any dtype; the backward ones are templated on float/double.
#include "convkit/tensor.h"

namespace convkit::ref {

// y[o, j, i] = x[o, index[j], i], x viewed as [outer, x.size(dim), inner].
void index_select_forward(Tensor& y, const Tensor& x, int dim, const Tensor& index);
// dx (overwritten) = 0, then dx[o, index[j], i] += dy[o, j, i].
template <class T>
void index_select_backward(Tensor& dx, const Tensor& dy, int dim, const Tensor& index);

// y[p] = x[p with p[dim] replaced by index[p]] for every position p of index (y.shape = index's).
void gather_forward(Tensor& y, const Tensor& x, int dim, const Tensor& index);
// dx (overwritten) = 0, then dx[p with p[dim] = index[p]] += dy[p].
template <class T>
void gather_backward(Tensor& dx, const Tensor& dy, int dim, const Tensor& index);

// y = cond != 0 ? a : b, the three broadcast to y's shape.
void where_forward(Tensor& y, const Tensor& cond, const Tensor& a, const Tensor& b);

// For every line of x along dim: the positions of its first indices.size(dim) elements in a
// stable sort (descending or ascending; NaN ranks as the largest value). With !sorted, those
// positions are listed in increasing order instead.
template <class T>
void rank_indices(Tensor& indices, const Tensor& x, int dim, bool descending, bool sorted);

}  // namespace convkit::ref
