// Batch normalization (Ioffe & Szegedy 2015), per channel c over its M = N*H*W values:
//   training: mu = mean(x), var = biased variance(x)     eval: mu, var = running stats
//   y = (x - mu) * istd * gamma + beta,  istd = 1/sqrt(var + eps)
// Gradients (full derivation in docs/derivatives/norm.md):
//   dbeta = sum dy,  dgamma = sum dy * xhat
//   training: dx = gamma * istd / M * (M dy - dbeta - xhat * dgamma)
//   eval:     dx = gamma * istd * dy
// Saved: x, gamma, beta (only because oneDNN 2.6 insists on it), and the mu/var the forward used
// (the running stats are copied in eval so a later in-place update cannot change the backward).
#include "kernels/dnnl/batch_norm.h"

#include <algorithm>

#include "convkit/autograd.h"
#include "convkit/ops/norm.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/ref/batch_norm.h"

namespace convkit {

namespace {

void check_channel_vector(const Tensor& t, const char* name, const Tensor& x) {
  if (!t.defined()) return;
  CONVKIT_CHECK(t.ndim() == 1 && t.size(0) == x.size(1), "batch_norm: ", name, " must have shape [",
                x.size(1), "] (one value per channel of x), got ", t.shape().to_string(), " (x ",
                x.shape().to_string(), ")");
  CONVKIT_CHECK(t.dtype() == x.dtype(), "batch_norm: ", name, " has dtype ", dtype_name(t.dtype()),
                " but x has ", dtype_name(x.dtype()), " (x ", x.shape().to_string(), ", ", name,
                " ", t.shape().to_string(), ")");
}

void check_args(const Tensor& x, const Tensor& weight, const Tensor& bias,
                const Tensor& running_mean, const Tensor& running_var, bool training,
                double momentum, double eps) {
  CONVKIT_CHECK(x.defined(), "batch_norm: x is undefined");
  CONVKIT_CHECK(x.ndim() == 2 || x.ndim() == 4,
                "batch_norm: x must be [N, C, H, W] or [N, C], got ", x.shape().to_string());
  check_channel_vector(weight, "weight", x);
  check_channel_vector(bias, "bias", x);
  check_channel_vector(running_mean, "running_mean", x);
  check_channel_vector(running_var, "running_var", x);
  CONVKIT_CHECK(running_mean.defined() == running_var.defined(),
                "batch_norm: running_mean and running_var must be both given or both undefined (x ",
                x.shape().to_string(), ")");
  CONVKIT_CHECK(training || running_mean.defined(),
                "batch_norm: eval mode (training=false) needs running_mean and running_var (x ",
                x.shape().to_string(), "); pass them or use training=true");
  CONVKIT_CHECK(!training || x.numel() / std::max<int64_t>(x.size(1), 1) > 1,
                "batch_norm: expected more than 1 value per channel when training, got x ",
                x.shape().to_string());
  CONVKIT_CHECK(momentum >= 0 && momentum <= 1, "batch_norm: momentum must be in [0, 1], got ",
                momentum);
  CONVKIT_CHECK(eps >= 0, "batch_norm: eps must be >= 0, got ", eps);
}

// running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance
// (var * M / (M - 1)) as PyTorch does.
void update_running_stats(Tensor& running_mean, Tensor& running_var, const Tensor& mean,
                          const Tensor& var, int64_t M, double momentum) {
  detail::dispatch_floating(mean.dtype(), "batch_norm", [&]<class T>() {
    T* rm = running_mean.data<T>();
    T* rv = running_var.data<T>();
    const T* bm = mean.data<T>();
    const T* bv = var.data<T>();
    const double unbias = double(M) / double(M - 1);
    for (int64_t c = 0; c < mean.numel(); ++c) {
      rm[c] = T((1 - momentum) * rm[c] + momentum * bm[c]);
      rv[c] = T((1 - momentum) * rv[c] + momentum * bv[c] * unbias);
    }
  });
}

Tensor detached(const Tensor& t) { return t.defined() ? t.detach() : Tensor(); }

struct BatchNormSaved {
  Tensor x, weight, bias, mean, var;  // detached; mean/var are the statistics the forward used
  ref::BatchNormParams p;
};

TensorList batch_norm_backward(const Tensor& g, const std::vector<bool>& needs,
                               const BatchNormSaved& s) {
  // The dnnl primitive's flags follow from which of dweight/dbias exist, so both are computed
  // whenever the forward had weight/bias; unneeded ones are dropped at the end.
  Tensor dx = Tensor::empty(s.x.shape(), s.x.dtype());
  Tensor dw = s.weight.defined() ? Tensor::empty(s.weight.shape(), s.x.dtype()) : Tensor();
  Tensor db = s.bias.defined() ? Tensor::empty(s.bias.shape(), s.x.dtype()) : Tensor();
  detail::dispatch(
      "batch_norm_backward", s.x.dtype(),
      [&](std::string* why) { return onednn::batch_norm_accepts(s.x, why); },
      [&] {
        onednn::batch_norm_backward(dx, dw, db, g, s.x, s.mean, s.var, s.weight, s.bias, s.p);
      },
      [&]<class T>() {
        ref::batch_norm_backward<T>(dx, dw, db, g, s.x, s.mean, s.var, s.weight, s.p);
      });
  return TensorList{needs[0] ? dx : Tensor(), needs[1] ? dw : Tensor(), needs[2] ? db : Tensor()};
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum, double eps) {
  return batch_norm(x, weight, bias, running_mean, running_var,
                    BatchNormParams{training, momentum, eps});
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, const BatchNormParams& params) {
  const auto [training, momentum, eps] = params;
  check_args(x, weight, bias, running_mean, running_var, training, momentum, eps);
  const int64_t C = x.size(1);
  const ref::BatchNormParams p{eps, /*use_global_stats=*/!training};
  const Tensor xd = x.detach(), wd = detached(weight), bd = detached(bias);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor mean = training ? Tensor::empty({C}, x.dtype()) : running_mean.detach().clone();
  Tensor var = training ? Tensor::empty({C}, x.dtype()) : running_var.detach().clone();
  detail::dispatch(
      "batch_norm", x.dtype(), [&](std::string* why) { return onednn::batch_norm_accepts(x, why); },
      [&] { onednn::batch_norm_forward(y, mean, var, xd, wd, bd, p); },
      [&]<class T>() { ref::batch_norm_forward<T>(y, mean, var, xd, wd, bd, p); });
  if (training && running_mean.defined())
    update_running_stats(running_mean, running_var, mean, var, x.numel() / C, momentum);

  BatchNormSaved saved{xd, wd, bd, mean, var, p};
  autograd::record(y, "batch_norm", {x, weight, bias},
                   [saved](const Tensor& g, const std::vector<bool>& needs) {
                     return batch_norm_backward(g, needs, saved);
                   });
  if (detail::tracing())
    detail::trace_op("batch_norm", y, {x, weight, bias, running_mean, running_var}, params);
  return y;
}

}  // namespace convkit
