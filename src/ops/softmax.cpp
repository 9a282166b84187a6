// Softmax and log-softmax along one dimension (docs/derivatives/dense.md).
//   softmax:     y = exp(x - m) / sum exp(x - m)   dx = y (g - sum(g y))
//   log_softmax: y = x - m - log sum exp(x - m)    dx = g - exp(y) sum(g)
// Both save only the output y.
#include "ops/softmax.h"

#include "convkit/autograd.h"
#include "convkit/ops/activation.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/dnnl/softmax.h"

namespace convkit {

namespace detail {

ref::SoftmaxParams softmax_params(const Tensor& x, int dim, bool log, const char* op) {
  CONVKIT_CHECK(x.defined(), op, ": undefined input");
  CONVKIT_CHECK(x.ndim() >= 1, op, ": expected at least 1 dimension, got shape ",
                x.shape().to_string());
  CONVKIT_CHECK(dim >= -x.ndim() && dim < x.ndim(), op, ": dimension ", dim,
                " is out of range for shape ", x.shape().to_string());
  const int d = dim < 0 ? dim + x.ndim() : dim;
  ref::SoftmaxParams p;
  p.log = log;
  for (int k = 0; k < d; ++k) p.outer *= x.size(k);
  p.axis = x.size(d);
  for (int k = d + 1; k < x.ndim(); ++k) p.inner *= x.size(k);
  return p;
}

Tensor softmax_raw(const Tensor& x, const ref::SoftmaxParams& p, bool training, const char* op) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch(
      op, x.dtype(), [&](std::string* why) { return onednn::softmax_accepts(x, why); },
      [&] { onednn::softmax_forward(y, x, p, training); },
      [&]<class T>() { ref::softmax_forward<T>(y, x, p); });
  return y;
}

}  // namespace detail

namespace {

Tensor softmax_op(const Tensor& x, int dim, bool log, const char* op) {
  const ref::SoftmaxParams p = detail::softmax_params(x, dim, log, op);
  Tensor y = detail::softmax_raw(x, p, autograd::grad_enabled() && x.requires_grad(), op);
  autograd::record(y, op, {x}, [y = y.detach(), p, op](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype());
    detail::dispatch(
        op, g.dtype(), [&](std::string* why) { return onednn::softmax_accepts(g, why); },
        [&] { onednn::softmax_backward(dx, g, y, p); },
        [&]<class T>() { ref::softmax_backward<T>(dx, g, y, p); });
    return TensorList{dx};
  });
  if (detail::tracing())
    detail::trace_op(op, y, {x}, SoftmaxParams{dim < 0 ? dim + x.ndim() : dim});
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int dim) { return softmax_op(x, dim, /*log=*/false, "softmax"); }

Tensor log_softmax(const Tensor& x, int dim) {
  return softmax_op(x, dim, /*log=*/true, "log_softmax");
}

}  // namespace convkit
