// Layout ops that copy (docs/derivatives/shape_ops.md).
//   permute(order): y[i] = x[i permuted back]          dx = permute(g, inverse(order))
//   transpose(d0, d1) = permute with d0, d1 swapped     dx = transpose(g, d0, d1)
//   narrow(dim, s, l): y = x[.., s:s+l, ..]             dx = zeros with g at rows [s, s+l)
//   concat(xs, dim): y = [x0; x1; ..] along dim         dx_i = narrow(g, dim, offset_i, size_i)
//   split: one narrow per piece (every op has a single output).
// Nothing but shapes and offsets is saved.
#include "convkit/ops/shape_ops.h"

#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/dnnl/concat.h"
#include "kernels/ref/shape.h"

namespace convkit {

namespace {
template <class V>
std::string list_str(const V& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

void check_defined(const Tensor& x, const char* op) {
  CONVKIT_CHECK(x.defined(), op, ": undefined input");
}

// The permute both transpose and permute run, under the caller's name.
Tensor permuted(const Tensor& x, const std::vector<int>& order, const char* op) {
  std::vector<int64_t> dims(order.size());
  for (size_t d = 0; d < order.size(); ++d) dims[d] = x.size(order[d]);
  Tensor y = Tensor::empty(Shape(dims), x.dtype());
  ref::permute(y, x, order);
  std::vector<int> inverse(order.size());
  for (size_t d = 0; d < order.size(); ++d) inverse[order[d]] = int(d);
  autograd::record(y, op, {x}, [inverse, op](const Tensor& g, const std::vector<bool>&) {
    return TensorList{permuted(g, inverse, op)};
  });
  if (detail::tracing())
    detail::trace_op("permute", y, {x},
                     PermuteParams{std::vector<int64_t>(order.begin(), order.end())});
  return y;
}
}  // namespace

Tensor transpose(const Tensor& x, int d0, int d1) {
  check_defined(x, "transpose");
  const int a = Shape::wrap_dim(d0, x.ndim(), "transpose");
  const int b = Shape::wrap_dim(d1, x.ndim(), "transpose");
  std::vector<int> order(x.ndim());
  for (int d = 0; d < x.ndim(); ++d) order[d] = d;
  std::swap(order[a], order[b]);
  return permuted(x, order, "transpose");
}

Tensor permute(const Tensor& x, const std::vector<int>& order) {
  check_defined(x, "permute");
  const bool right_length = int(order.size()) == x.ndim();
  std::vector<int> wrapped(order.size());
  std::vector<bool> seen(x.ndim(), false);
  bool is_permutation = right_length;
  for (size_t d = 0; d < order.size() && is_permutation; ++d) {
    const int w = order[d] < 0 ? order[d] + x.ndim() : order[d];
    is_permutation = w >= 0 && w < x.ndim() && !seen[w];
    if (is_permutation) seen[w] = true, wrapped[d] = w;
  }
  CONVKIT_CHECK(is_permutation, "permute: order ", list_str(order), " must list each of the ",
                x.ndim(), " dims of ", x.shape().to_string(), " exactly once");
  return permuted(x, wrapped, "permute");
}

Tensor narrow(const Tensor& x, int dim, int64_t start, int64_t length) {
  check_defined(x, "narrow");
  const int d = Shape::wrap_dim(dim, x.ndim(), "narrow");
  const int64_t size = x.size(d);
  CONVKIT_CHECK(start >= -size && start <= size, "narrow: start ", start,
                " is out of range for dimension ", dim, " of ", x.shape().to_string());
  const int64_t s = start < 0 ? start + size : start;
  CONVKIT_CHECK(length >= 0 && s + length <= size, "narrow: rows [", s, ", ", s + length,
                ") do not fit in dimension ", dim, " (size ", size, ") of ", x.shape().to_string());
  Shape ys = x.shape();
  ys[d] = length;
  Tensor y = Tensor::empty(ys, x.dtype());
  ref::narrow_copy(y, x, d, s);
  const Shape x_shape = x.shape();
  autograd::record(y, "narrow", {x}, [x_shape, d, s](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = Tensor::zeros(x_shape, g.dtype());
    ref::narrow_embed(dx, g, d, s);
    return TensorList{dx};
  });
  if (detail::tracing()) detail::trace_op("narrow", y, {x}, NarrowParams{d, s, length});
  return y;
}

TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int dim) {
  check_defined(x, "split");
  const int d = Shape::wrap_dim(dim, x.ndim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    CONVKIT_CHECK(s >= 0, "split: negative size in ", list_str(sizes), " (input ",
                  x.shape().to_string(), ")");
    total += s;
  }
  CONVKIT_CHECK(total == x.size(d), "split: sizes ", list_str(sizes), " sum to ", total,
                " but dimension ", dim, " of ", x.shape().to_string(), " has ", x.size(d));
  TensorList out;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, d, offset, s));
    offset += s;
  }
  return out;
}

TensorList split(const Tensor& x, int64_t chunk, int dim) {
  check_defined(x, "split");
  const int d = Shape::wrap_dim(dim, x.ndim(), "split");
  CONVKIT_CHECK(chunk >= 1, "split: chunk size ", chunk, " must be >= 1 (input ",
                x.shape().to_string(), ")");
  std::vector<int64_t> sizes;
  for (int64_t offset = 0; offset < x.size(d); offset += chunk)
    sizes.push_back(std::min(chunk, x.size(d) - offset));
  if (sizes.empty()) sizes.push_back(0);  // torch.split of an empty dim gives one empty piece
  return split(x, sizes, d);
}

Tensor concat(const TensorList& xs, int dim) {
  CONVKIT_CHECK(!xs.empty(), "concat: no inputs");
  for (size_t i = 0; i < xs.size(); ++i)
    CONVKIT_CHECK(xs[i].defined(), "concat: input ", i, " is undefined");
  const Tensor& x0 = xs[0];
  const int d = Shape::wrap_dim(dim, x0.ndim(), "concat");
  Shape ys = x0.shape();
  ys[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    bool match = x.ndim() == x0.ndim();
    for (int k = 0; k < x0.ndim() && match; ++k) match = k == d || x.size(k) == x0.size(k);
    CONVKIT_CHECK(match, "concat: input ", i, " has shape ", x.shape().to_string(),
                  " but input 0 has shape ", x0.shape().to_string(),
                  "; they must match in every dimension except ", dim);
    CONVKIT_CHECK(x.dtype() == x0.dtype(), "concat: input ", i, " has dtype ",
                  dtype_name(x.dtype()), " but input 0 has ", dtype_name(x0.dtype()), " (shapes ",
                  x.shape().to_string(), " and ", x0.shape().to_string(), ")");
    ys[d] += x.size(d);
  }
  Tensor y = Tensor::empty(ys, x0.dtype());
  detail::dispatch(
      "concat", [&](std::string* why) { return onednn::concat_accepts(xs, why); },
      [&] { onednn::concat_forward(y, xs, d); },
      [&] {
        int64_t offset = 0;
        for (const Tensor& x : xs) {
          ref::narrow_embed(y, x, d, offset);
          offset += x.size(d);
        }
      });
  std::vector<int64_t> sizes;
  for (const Tensor& x : xs) sizes.push_back(x.size(d));
  autograd::record(y, "concat", xs, [sizes, d](const Tensor& g, const std::vector<bool>& needs) {
    TensorList grads(sizes.size());
    int64_t offset = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (needs[i]) grads[i] = narrow(g, d, offset, sizes[i]);
      offset += sizes[i];
    }
    return grads;
  });
  if (detail::tracing()) detail::trace_op("concat", y, xs, ConcatParams{d});
  return y;
}

}  // namespace convkit
