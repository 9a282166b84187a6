// Local response normalization across channels (Krizhevsky et al. 2012, section 3.3), PyTorch's
// window W(c) = [c - size/2, c + (size-1)/2], zero padded:
//   base_c = k + alpha/size * sum_{j in W(c)} x_j^2,   y_c = x_c * base_c^-beta
//   dx_j = dy_j base_j^-beta - 2 alpha beta/size * x_j * sum_{c : j in W(c)} dy_c x_c
//   base_c^(-beta-1)
// Saved: x, and either base (ref kernel) or oneDNN's workspace (dnnl kernel). The kernel that ran
// the forward also runs the backward, because only it understands what was saved.
#include "kernels/dnnl/lrn.h"

#include "convkit/autograd.h"
#include "convkit/ops/norm.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/ref/lrn.h"

namespace convkit {

namespace {

struct LrnSaved {
  Tensor x;             // detached input
  Tensor kernel_state;  // ref: base (x's shape); dnnl: oneDNN's workspace bytes
  LrnParams p;
  bool dnnl;  // which kernel ran the forward, and so must run the backward
};

Tensor lrn_backward(const Tensor& g, const LrnSaved& s) {
  Tensor dx = Tensor::empty(s.x.shape(), s.x.dtype());
  if (s.dnnl) {
    onednn::lrn_backward(dx, g, s.x, s.kernel_state, s.p);
  } else {
    detail::dispatch_floating(s.x.dtype(), "local_response_norm_backward", [&]<class T>() {
      ref::lrn_backward<T>(dx, g, s.x, s.kernel_state, s.p);
    });
  }
  return dx;
}

}  // namespace

Tensor local_response_norm(const Tensor& x, int64_t size, double alpha, double beta, double k) {
  return local_response_norm(x, LrnParams{size, alpha, beta, k});
}

Tensor local_response_norm(const Tensor& x, const LrnParams& p) {
  const auto [size, alpha, beta, k] = p;
  CONVKIT_CHECK(x.defined(), "local_response_norm: x is undefined");
  CONVKIT_CHECK(x.ndim() >= 3, "local_response_norm: x must have at least 3 dims [N, C, ...], got ",
                x.shape().to_string());
  CONVKIT_CHECK(size >= 1, "local_response_norm: size must be >= 1, got ", size, " (x ",
                x.shape().to_string(), ")");
  CONVKIT_CHECK(k > 0, "local_response_norm: k must be > 0 so that the base of the power stays ",
                "positive, got ", k, " (x ", x.shape().to_string(), ")");
  const Tensor xd = x.detach();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor kernel_state;  // base (ref) or workspace (dnnl)
  const bool wants_grad = autograd::grad_enabled() && x.requires_grad();
  bool dnnl = false;
  detail::dispatch(
      "local_response_norm", x.dtype(),
      [&](std::string* why) { return onednn::lrn_accepts(x, p, why); },
      [&] {
        dnnl = true;
        onednn::lrn_forward(y, kernel_state, xd, p, /*with_workspace=*/wants_grad);
      },
      [&]<class T>() {
        kernel_state = Tensor::empty(x.shape(), x.dtype());
        ref::lrn_forward<T>(y, kernel_state, xd, p);
      });
  LrnSaved saved{xd, kernel_state, p, dnnl};
  autograd::record(y, "local_response_norm", {x},
                   [saved](const Tensor& g, const std::vector<bool>&) {
                     return TensorList{lrn_backward(g, saved)};
                   });
  if (detail::tracing()) detail::trace_op("local_response_norm", y, {x}, p);
  return y;
}

}  // namespace convkit
