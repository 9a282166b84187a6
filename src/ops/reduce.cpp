// Reductions.
//   sum:  y = sum_{dims} x          dx = broadcast(g) to x's shape
//   mean: y = sum_{dims} x / n      dx = broadcast(g) / n
#include "convkit/ops/reduce.h"

#include <algorithm>

#include "convkit/autograd.h"
#include "convkit/ops/elementwise.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/ref/elementwise.h"

namespace convkit {

namespace {
// x's shape with size 1 on each reduced dim.
Shape kept_shape(const Tensor& x, const std::vector<int>& dims, const char* op) {
  Shape s = x.shape();
  std::vector<bool> seen(x.ndim(), false);
  for (int d : dims) {
    int w = Shape::wrap_dim(d, x.ndim(), op);
    CONVKIT_CHECK(!seen[w], op, ": dimension ", d, " listed twice for shape ",
                  x.shape().to_string());
    seen[w] = true;
    s[w] = 1;
  }
  return s;
}

Shape dropped_shape(const Tensor& x, const Shape& kept, const std::vector<int>& dims) {
  std::vector<int64_t> out;
  for (int d = 0; d < x.ndim(); ++d) {
    bool reduced = std::any_of(dims.begin(), dims.end(),
                               [&](int r) { return Shape::wrap_dim(r, x.ndim(), "sum") == d; });
    if (!reduced) out.push_back(kept[d]);
  }
  return Shape(out);
}

// Broadcasts g (shape `kept`) back to `full`: g + zeros(full).
Tensor expand_to(const Tensor& g, const Shape& full) {
  return add(g, Tensor::zeros(full, g.dtype()));
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  Shape kept = kept_shape(x, dims, "sum");
  Tensor y = Tensor::empty(kept, x.dtype());
  detail::dispatch_floating(x.dtype(), "sum", [&]<class T>() { ref::reduce_sum<T>(y, x); });
  Shape out_shape = keepdim ? kept : dropped_shape(x, kept, dims);
  y = y.reshape(out_shape);
  Shape in_shape = x.shape();
  autograd::record(y, "sum", {x}, [in_shape, kept](const Tensor& g, const std::vector<bool>&) {
    return TensorList{expand_to(g.reshape(kept), in_shape)};
  });
  if (detail::tracing())
    detail::trace_op("sum", y, {x},
                     SumParams{std::vector<int64_t>(dims.begin(), dims.end()), keepdim});
  return y;
}

Tensor sum(const Tensor& x) {
  std::vector<int> all(x.ndim());
  for (int d = 0; d < x.ndim(); ++d) all[d] = d;
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  Shape kept = kept_shape(x, dims, "mean");
  int64_t n = kept.numel() == 0 ? 0 : x.numel() / kept.numel();
  return mul(sum(x, dims, keepdim), 1.0 / double(n));
}

Tensor mean(const Tensor& x) { return mul(sum(x), 1.0 / double(x.numel())); }

}  // namespace convkit
