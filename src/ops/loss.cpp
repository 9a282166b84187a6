// Losses (docs/derivatives/dense.md). Each computes unreduced losses with one node whose backward
// is hand-written (or, for mse, composed of differentiable ops), then reduces with sum/mean, whose
// own backward spreads the upstream gradient (1/count for mean) over the unreduced losses.
//   cross_entropy:      l = -sum_c q_c log p_c        dlogits = g (p - q)        saves p, target
//   soft_cross_entropy: l = -sum_c t_c log p_c        dlogits = g (p sum t - t), dt = -g log p
//                                                     saves p, log p, t
//   mse_loss:           l = (x - t)^2                 composed: sub, mul
//   smooth_l1_loss:     see loss.h                    dx = g dl/dd, dt = -dx     saves x, t
//   bce_with_logits:    see loss.h                    dx, dt in kernels/ref/loss.h
//                                                     saves x, t, expanded pos_weight
#include "convkit/ops/loss.h"

#include "convkit/autograd.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/reduce.h"
#include "core/dispatch.h"
#include "kernels/ref/loss.h"
#include "ops/softmax.h"

namespace convkit {

namespace {

Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::none:
      return loss;
    case Reduction::sum:
      return sum(loss);
    case Reduction::mean:
      return mean(loss);
  }
  return loss;
}

// Shape of the per-sample losses: logits' shape without dim 1 (the classes).
Shape without_class_dim(const Shape& logits) {
  std::vector<int64_t> dims = logits.vec();
  dims.erase(dims.begin() + 1);
  return Shape(dims);
}

// "[n,h,w]" for the flat index k of a tensor of shape s.
std::string index_str(int64_t k, const Shape& s) {
  std::vector<int64_t> idx(s.ndim());
  for (int d = s.ndim() - 1; d >= 0; --d) {
    idx[d] = k % s[d];
    k /= s[d];
  }
  return Shape(idx).to_string();
}

// probs = softmax(logits), logp = log_softmax(logits) over dim 1, both by the softmax kernels
// (oneDNN's are vectorized; computing exp(logp) in a scalar loop costs several times more).
// The fused backwards need no softmax backward primitive, so both passes run as inference.
ref::SoftmaxParams softmax_and_log_softmax(const Tensor& logits, Tensor& probs, Tensor& logp,
                                           const char* op) {
  ref::SoftmaxParams p = detail::softmax_params(logits, 1, /*log=*/false, op);
  probs = detail::softmax_raw(logits, p, /*training=*/false, op);
  p.log = true;
  logp = detail::softmax_raw(logits, p, /*training=*/false, op);
  return p;
}

void check_same(const Tensor& a, const Tensor& b, const char* op, const char* an, const char* bn) {
  CONVKIT_CHECK(a.defined() && b.defined(), op, ": undefined ", an, " or ", bn);
  CONVKIT_CHECK(a.shape() == b.shape(), op, ": ", an, " and ", bn, " shapes differ (", an, " ",
                a.shape().to_string(), ", ", bn, " ", b.shape().to_string(), ")");
  CONVKIT_CHECK(a.dtype() == b.dtype(), op, ": ", an, " and ", bn, " dtypes differ (",
                dtype_name(a.dtype()), " vs ", dtype_name(b.dtype()), ")");
}

void check_logits(const Tensor& logits, const char* op) {
  CONVKIT_CHECK(logits.defined(), op, ": undefined logits");
  CONVKIT_CHECK(logits.ndim() >= 2, op, ": logits must be [N, C] or [N, C, d1, ...], got ",
                logits.shape().to_string());
}

void check_labels(const Tensor& logits, const Tensor& target) {
  CONVKIT_CHECK(target.defined(), "cross_entropy: undefined target");
  CONVKIT_CHECK(target.dtype() == DType::i64, "cross_entropy: target must hold int64 class labels,",
                " got ", dtype_name(target.dtype()), " (logits ", logits.shape().to_string(),
                ", target ", target.shape().to_string(), "); use soft_cross_entropy for ",
                "probabilities");
  CONVKIT_CHECK(target.shape() == without_class_dim(logits.shape()), "cross_entropy: target shape ",
                target.shape().to_string(), " does not match logits ", logits.shape().to_string(),
                " (expected ", without_class_dim(logits.shape()).to_string(), ")");
  const int64_t C = logits.size(1);
  const int64_t* pt = target.data<int64_t>();
  for (int64_t k = 0; k < target.numel(); ++k)
    CONVKIT_CHECK(pt[k] >= 0 && pt[k] < C, "cross_entropy: label ", pt[k], " at target",
                  index_str(k, target.shape()), " is out of range [0, ", C, ") (logits ",
                  logits.shape().to_string(), ")");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing,
                     Reduction r) {
  check_logits(logits, "cross_entropy");
  check_labels(logits, target);
  CONVKIT_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
                "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  Tensor probs, logp;
  ref::SoftmaxParams p = softmax_and_log_softmax(logits, probs, logp, "cross_entropy");
  Tensor loss = Tensor::empty(target.shape(), logits.dtype());
  detail::dispatch_floating(logits.dtype(), "cross_entropy", [&]<class T>() {
    ref::cross_entropy_forward<T>(loss, logp, target, label_smoothing, p);
  });
  autograd::record(loss, "cross_entropy", {logits},
                   [probs, target = target.detach(), label_smoothing, p](const Tensor& g,
                                                                         const std::vector<bool>&) {
                     Tensor dlogits = Tensor::empty(probs.shape(), probs.dtype());
                     detail::dispatch_floating(g.dtype(), "cross_entropy", [&]<class T>() {
                       ref::cross_entropy_backward<T>(dlogits, g, probs, target, label_smoothing,
                                                      p);
                     });
                     return TensorList{dlogits};
                   });
  return reduce(loss, r);
}

Tensor soft_cross_entropy(const Tensor& logits, const Tensor& soft_targets, Reduction r) {
  check_logits(logits, "soft_cross_entropy");
  check_same(logits, soft_targets, "soft_cross_entropy", "logits", "soft_targets");
  Tensor probs, logp;
  ref::SoftmaxParams p = softmax_and_log_softmax(logits, probs, logp, "soft_cross_entropy");
  Tensor loss = Tensor::empty(without_class_dim(logits.shape()), logits.dtype());
  detail::dispatch_floating(logits.dtype(), "soft_cross_entropy", [&]<class T>() {
    ref::soft_cross_entropy_forward<T>(loss, logp, soft_targets, p);
  });
  autograd::record(
      loss, "soft_cross_entropy", {logits, soft_targets},
      [probs, logp, t = soft_targets.detach(), p](const Tensor& g, const std::vector<bool>& needs) {
        Tensor dlogits = needs[0] ? Tensor::empty(logp.shape(), logp.dtype()) : Tensor();
        Tensor dt = needs[1] ? Tensor::empty(logp.shape(), logp.dtype()) : Tensor();
        detail::dispatch_floating(g.dtype(), "soft_cross_entropy", [&]<class T>() {
          ref::soft_cross_entropy_backward<T>(dlogits, dt, g, probs, logp, t, p);
        });
        return TensorList{dlogits, dt};
      });
  return reduce(loss, r);
}

Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction r) {
  check_same(pred, target, "mse_loss", "pred", "target");
  Tensor d = sub(pred, target);
  return reduce(mul(d, d), r);
}

Tensor smooth_l1_loss(const Tensor& pred, const Tensor& target, double beta, Reduction r) {
  check_same(pred, target, "smooth_l1_loss", "pred", "target");
  CONVKIT_CHECK(beta >= 0, "smooth_l1_loss: beta must be >= 0, got ", beta, " (pred ",
                pred.shape().to_string(), ")");
  Tensor loss = Tensor::empty(pred.shape(), pred.dtype());
  detail::dispatch_floating(pred.dtype(), "smooth_l1_loss", [&]<class T>() {
    ref::smooth_l1_forward<T>(loss, pred, target, beta);
  });
  autograd::record(loss, "smooth_l1_loss", {pred, target},
                   [x = pred.detach(), t = target.detach(), beta](const Tensor& g,
                                                                  const std::vector<bool>& needs) {
                     Tensor dx = Tensor::empty(x.shape(), x.dtype());
                     detail::dispatch_floating(g.dtype(), "smooth_l1_loss", [&]<class T>() {
                       ref::smooth_l1_backward<T>(dx, g, x, t, beta);
                     });
                     return TensorList{needs[0] ? dx : Tensor(), needs[1] ? neg(dx) : Tensor()};
                   });
  return reduce(loss, r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction r,
                                        const Tensor& pos_weight) {
  check_same(logits, target, "binary_cross_entropy_with_logits", "logits", "target");
  Tensor pw;  // pos_weight broadcast to logits' shape, so the kernels index it like the logits
  if (pos_weight.defined()) {
    CONVKIT_CHECK(pos_weight.dtype() == logits.dtype(),
                  "binary_cross_entropy_with_logits: ", "pos_weight dtype ",
                  dtype_name(pos_weight.dtype()), " differs from logits dtype ",
                  dtype_name(logits.dtype()));
    const Shape b =
        broadcast_shapes(pos_weight.shape(), logits.shape(), "binary_cross_entropy_with_logits");
    CONVKIT_CHECK(b == logits.shape(), "binary_cross_entropy_with_logits: pos_weight ",
                  pos_weight.shape().to_string(), " does not broadcast to logits ",
                  logits.shape().to_string());
    NoGradGuard no_grad;  // PyTorch gives pos_weight no gradient either
    pw = add(pos_weight.detach(), Tensor::zeros(logits.shape(), logits.dtype()));
  }
  Tensor loss = Tensor::empty(logits.shape(), logits.dtype());
  detail::dispatch_floating(logits.dtype(), "binary_cross_entropy_with_logits", [&]<class T>() {
    ref::bce_with_logits_forward<T>(loss, logits, target, pw);
  });
  autograd::record(loss, "binary_cross_entropy_with_logits", {logits, target},
                   [x = logits.detach(), t = target.detach(), pw](const Tensor& g,
                                                                  const std::vector<bool>& needs) {
                     Tensor dx = needs[0] ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
                     Tensor dt = needs[1] ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
                     detail::dispatch_floating(
                         g.dtype(), "binary_cross_entropy_with_logits",
                         [&]<class T>() { ref::bce_with_logits_backward<T>(dx, dt, g, x, t, pw); });
                     return TensorList{dx, dt};
                   });
  return reduce(loss, r);
}

}  // namespace convkit
