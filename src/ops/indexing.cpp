// Indexing ops (docs/derivatives.md, indexing).
//   index_select(x, dim, idx): y[.., j, ..] = x[.., idx[j], ..]   dx = index_add(0, dim, idx, dy)
//   gather(x, dim, idx):       y[p] = x[p | p[dim] = idx[p]]      dx = scatter_add(0, dim, idx, dy)
//   where(c, a, b):            y = c ? a : b                       da = sum_to(where(c, dy, 0))
//                                                                  db = sum_to(where(c, 0, dy))
//   topk(x, k):                indices by a stable sort, values = gather(x, dim, indices), so its
//                              gradient is gather's
//   argsort(x):                indices only, no gradient
// Saved: the index tensors (small) and shapes; never the data.
#include "convkit/ops/indexing.h"

#include "convkit/ops/elementwise.h"
#include "core/trace.h"
#include "kernels/ref/indexing.h"

namespace convkit {

namespace {

void check_index(const Tensor& index, const char* op, const Tensor& x) {
  CONVKIT_CHECK(index.defined(), op, ": undefined index");
  CONVKIT_CHECK(index.dtype() == DType::i64, op, ": index must be int64, got ",
                dtype_name(index.dtype()), " ", index.shape().to_string(), " (input ",
                x.shape().to_string(), ")");
}

// Every index value in [0, n); names the first one outside.
void check_range(const Tensor& index, int64_t n, const char* op, int dim, const Tensor& x) {
  const int64_t* p = index.data<int64_t>();
  for (int64_t k = 0; k < index.numel(); ++k)
    CONVKIT_CHECK(p[k] >= 0 && p[k] < n, op, ": index ", p[k], " (element ", k,
                  " of the index) is out of range for dim ", dim, " of ", x.shape().to_string(),
                  " (valid: 0 to ", n - 1, ")");
}

// Calls f.template operator()<T>() for T = float or double (the backward kernels).
template <class F>
void floating(DType t, F&& f) {
  if (t == DType::f32)
    f.template operator()<float>();
  else
    f.template operator()<double>();
}

Tensor gather_unchecked(const Tensor& x, int d, const Tensor& index) {
  Tensor y = Tensor::empty(index.shape(), x.dtype());
  ref::gather_forward(y, x, d, index);
  if (is_floating(x.dtype())) {
    const Shape x_shape = x.shape();
    autograd::record(y, "gather", {x, index},
                     [x_shape, d, index](const Tensor& g, const std::vector<bool>& needs) {
                       TensorList grads(2);
                       if (!needs[0]) return grads;
                       grads[0] = Tensor::empty(x_shape, g.dtype());
                       floating(g.dtype(),
                                [&]<class T>() { ref::gather_backward<T>(grads[0], g, d, index); });
                       return grads;
                     });
  }
  return y;
}

}  // namespace

Tensor index_select(const Tensor& x, int dim, const Tensor& index) {
  CONVKIT_CHECK(x.defined(), "index_select: undefined input");
  check_index(index, "index_select", x);
  const int d = Shape::wrap_dim(dim, x.ndim(), "index_select");
  CONVKIT_CHECK(index.ndim() == 1, "index_select: index must be 1-D, got ",
                index.shape().to_string(), " (input ", x.shape().to_string(), ")");
  check_range(index, x.size(d), "index_select", d, x);
  Shape ys = x.shape();
  ys[d] = index.numel();
  Tensor y = Tensor::empty(ys, x.dtype());
  ref::index_select_forward(y, x, d, index);
  if (is_floating(x.dtype())) {
    const Shape x_shape = x.shape();
    autograd::record(y, "index_select", {x, index},
                     [x_shape, d, index](const Tensor& g, const std::vector<bool>& needs) {
                       TensorList grads(2);
                       if (!needs[0]) return grads;
                       grads[0] = Tensor::empty(x_shape, g.dtype());
                       floating(g.dtype(), [&]<class T>() {
                         ref::index_select_backward<T>(grads[0], g, d, index);
                       });
                       return grads;
                     });
  }
  if (detail::tracing()) detail::trace_op("index_select", y, {x, index}, IndexDimParams{d});
  return y;
}

Tensor gather(const Tensor& x, int dim, const Tensor& index) {
  CONVKIT_CHECK(x.defined(), "gather: undefined input");
  check_index(index, "gather", x);
  const int d = Shape::wrap_dim(dim, x.ndim(), "gather");
  bool fits = index.ndim() == x.ndim();
  for (int k = 0; k < x.ndim() && fits; ++k) fits = k == d || index.size(k) <= x.size(k);
  CONVKIT_CHECK(fits, "gather: index ", index.shape().to_string(), " must have the ndim of input ",
                x.shape().to_string(), " and no larger size in any dim but ", d);
  check_range(index, x.size(d), "gather", d, x);
  Tensor y = gather_unchecked(x, d, index);
  if (detail::tracing()) detail::trace_op("gather", y, {x, index}, IndexDimParams{d});
  return y;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CONVKIT_CHECK(cond.defined() && a.defined() && b.defined(), "where: undefined input");
  CONVKIT_CHECK(cond.dtype() == DType::u8, "where: cond must be uint8 (nonzero = true), got ",
                dtype_name(cond.dtype()), " ", cond.shape().to_string());
  CONVKIT_CHECK(a.dtype() == b.dtype(), "where: a is ", dtype_name(a.dtype()), " ",
                a.shape().to_string(), " but b is ", dtype_name(b.dtype()), " ",
                b.shape().to_string());
  const Shape ys =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor y = Tensor::empty(ys, a.dtype());
  ref::where_forward(y, cond, a, b);
  if (is_floating(a.dtype())) {
    const Shape a_shape = a.shape(), b_shape = b.shape();
    autograd::record(y, "where", {cond, a, b},
                     [cond, a_shape, b_shape](const Tensor& g, const std::vector<bool>& needs) {
                       TensorList grads(3);
                       const Tensor zero = Tensor::zeros({}, g.dtype());
                       if (needs[1]) grads[1] = sum_to(where(cond, g, zero), a_shape);
                       if (needs[2]) grads[2] = sum_to(where(cond, zero, g), b_shape);
                       return grads;
                     });
  }
  if (detail::tracing()) detail::trace_op("where", y, {cond, a, b});
  return y;
}

namespace {
// Indices of the first k of each line in rank order (ref::rank_indices), for the dtypes it takes.
Tensor ranked(const Tensor& x, int d, int64_t k, bool descending, bool sorted) {
  Shape is = x.shape();
  is[d] = k;
  Tensor indices = Tensor::empty(is, DType::i64);
  switch (x.dtype()) {
    case DType::f32:
      ref::rank_indices<float>(indices, x, d, descending, sorted);
      break;
    case DType::f64:
      ref::rank_indices<double>(indices, x, d, descending, sorted);
      break;
    case DType::i64:
      ref::rank_indices<int64_t>(indices, x, d, descending, sorted);
      break;
    case DType::u8:
      ref::rank_indices<uint8_t>(indices, x, d, descending, sorted);
      break;
  }
  return indices;
}
}  // namespace

TopK topk(const Tensor& x, const TopKParams& p) {
  CONVKIT_CHECK(x.defined(), "topk: undefined input");
  CONVKIT_CHECK(x.ndim() >= 1, "topk: input must have at least one dim, got ",
                x.shape().to_string());
  const int d = Shape::wrap_dim(p.dim, x.ndim(), "topk");
  CONVKIT_CHECK(p.k >= 0 && p.k <= x.size(d), "topk: k = ", p.k, " is out of range for dim ", d,
                " of ", x.shape().to_string(), " (0 to ", x.size(d), ")");
  TopK out;
  out.indices = ranked(x, d, p.k, p.largest, p.sorted);
  {
    detail::TraceGuard inner(nullptr);  // traced once below, as topk
    out.values = gather_unchecked(x, d, out.indices);
  }
  TopKParams resolved = p;
  resolved.dim = d;
  if (detail::tracing()) detail::trace_op("topk", out.values, {x}, resolved);
  return out;
}

Tensor argsort(const Tensor& x, const ArgsortParams& p) {
  CONVKIT_CHECK(x.defined(), "argsort: undefined input");
  CONVKIT_CHECK(x.ndim() >= 1, "argsort: input must have at least one dim, got ",
                x.shape().to_string());
  const int d = Shape::wrap_dim(p.dim, x.ndim(), "argsort");
  Tensor indices = ranked(x, d, x.size(d), p.descending, /*sorted=*/true);
  ArgsortParams resolved = p;
  resolved.dim = d;
  if (detail::tracing()) detail::trace_op("argsort", indices, {x}, resolved);
  return indices;
}

}  // namespace convkit
