// Pointwise activations (docs/derivatives/dense.md). dx = dy * f'(x), with f' written in terms of
// the output y wherever it can be (see kernels/ref/eltwise.cpp), so the node saves y and x may be
// freed: relu, elu, sigmoid, tanh and relu6 save y; leaky_relu saves y for slope >= 0, x otherwise.
#include "convkit/ops/activation.h"

#include <string_view>

#include "convkit/autograd.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/dnnl/eltwise.h"
#include "kernels/ref/eltwise.h"

namespace convkit {

namespace {

auto eltwise_accepts(const Tensor& x) {
  return [&x](std::string* why) { return onednn::eltwise_accepts(x, why); };
}

Tensor eltwise(const Tensor& x, const ref::EltwiseParams& p, const char* op) {
  CONVKIT_CHECK(x.defined(), op, ": undefined input");
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const bool training = autograd::grad_enabled() && x.requires_grad();
  detail::dispatch(
      op, x.dtype(), eltwise_accepts(x), [&] { onednn::eltwise_forward(y, x, p, training); },
      [&]<class T>() { ref::eltwise_forward<T>(y, x, p); });
  Tensor saved = ref::eltwise_backward_uses_dst(p) ? y.detach() : x.detach();
  autograd::record(y, op, {x}, [saved, p, op](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype());
    detail::dispatch(
        op, g.dtype(), eltwise_accepts(g), [&] { onednn::eltwise_backward(dx, g, saved, p); },
        [&]<class T>() { ref::eltwise_backward<T>(dx, g, saved, p); });
    return TensorList{dx};
  });
  if (detail::tracing()) {
    if (std::string_view(op) == "leaky_relu" || std::string_view(op) == "elu")
      detail::trace_op(op, y, {x}, ActivationParams{p.alpha});
    else
      detail::trace_op(op, y, {x});
  }
  return y;
}

}  // namespace

Tensor relu(const Tensor& x) { return eltwise(x, {ref::EltwiseAlg::relu}, "relu"); }

Tensor leaky_relu(const Tensor& x, double slope) {
  return eltwise(x, {ref::EltwiseAlg::relu, slope}, "leaky_relu");
}

Tensor elu(const Tensor& x, double alpha) {
  // The backward uses y + alpha = alpha e^x for x <= 0, valid for alpha >= 0 only (as PyTorch,
  // which rejects a negative alpha when it differentiates through the result).
  CONVKIT_CHECK(alpha >= 0, "elu: alpha must be >= 0, got ", alpha, " (input ",
                x.defined() ? x.shape().to_string() : "undefined", ")");
  return eltwise(x, {ref::EltwiseAlg::elu, alpha}, "elu");
}

Tensor sigmoid(const Tensor& x) { return eltwise(x, {ref::EltwiseAlg::logistic}, "sigmoid"); }

Tensor tanh(const Tensor& x) { return eltwise(x, {ref::EltwiseAlg::tanh}, "tanh"); }

Tensor relu6(const Tensor& x) { return eltwise(x, {ref::EltwiseAlg::clip, 0.0, 6.0}, "relu6"); }

}  // namespace convkit
