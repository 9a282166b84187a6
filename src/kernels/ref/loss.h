#pragma once
// Reference loss kernels (no oneDNN counterpart: they are memory-bound loops next to the
// softmax, which is where oneDNN helps). Per-element / per-sample losses; reduction is the op's.
#include "convkit/tensor.h"
#include "kernels/ref/softmax.h"

namespace convkit::ref {

// Cross entropy with integer labels from log-probabilities logp = log_softmax(logits), laid out
// [outer=N, axis=C, inner] (SoftmaxParams):
//   loss[n, i] = -sum_c q_c logp_c,  q = (1 - eps) onehot(target[n, i]) + eps / C.
template <class T>
void cross_entropy_forward(Tensor& loss, const Tensor& logp, const Tensor& target, double eps,
                           const SoftmaxParams& p);
// dlogits[n, c, i] = g[n, i] (probs[n, c, i] - q_c)
template <class T>
void cross_entropy_backward(Tensor& dlogits, const Tensor& g, const Tensor& probs,
                            const Tensor& target, double eps, const SoftmaxParams& p);

// Soft targets t (logits' layout): loss[n, i] = -sum_c t_c logp_c.
template <class T>
void soft_cross_entropy_forward(Tensor& loss, const Tensor& logp, const Tensor& target,
                                const SoftmaxParams& p);
// dlogits = g (probs sum_c t_c - t);  dtarget = -g logp. Either output may be undefined.
template <class T>
void soft_cross_entropy_backward(Tensor& dlogits, Tensor& dtarget, const Tensor& g,
                                 const Tensor& probs, const Tensor& logp, const Tensor& target,
                                 const SoftmaxParams& p);

// Smooth L1 per element (d = pred - target): |d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta.
template <class T>
void smooth_l1_forward(Tensor& loss, const Tensor& pred, const Tensor& target, double beta);
// dpred = g * (|d| < beta ? d / beta : sign(d)); dtarget = -dpred.
template <class T>
void smooth_l1_backward(Tensor& dpred, const Tensor& g, const Tensor& pred, const Tensor& target,
                        double beta);

// Binary cross entropy with logits per element; pos_weight undefined or of logits' shape.
//   l = (1 - t) x + w softplus(-x),  w = 1 + (pos_weight - 1) t
template <class T>
void bce_with_logits_forward(Tensor& loss, const Tensor& x, const Tensor& t,
                             const Tensor& pos_weight);
//   dx = g ((1 - t) - w sigmoid(-x));  dt = g (-x + (pos_weight - 1) softplus(-x))
// Either output may be undefined (not needed).
template <class T>
void bce_with_logits_backward(Tensor& dx, Tensor& dt, const Tensor& g, const Tensor& x,
                              const Tensor& t, const Tensor& pos_weight);

}  // namespace convkit::ref
