#pragma once
// Loss functions with PyTorch's semantics (torch.nn.functional of the same names).
//
// Reduction: `none` returns the unreduced losses (per element; per sample, or per pixel, for the
// cross entropies), `sum` their sum, `mean` their mean (a 0-d tensor for sum and mean).
// Every loss throws convkit::Error naming the op and the shapes when the inputs do not match.
#include "convkit/tensor.h"

namespace convkit {

enum class Reduction { mean, sum, none };

// Cross entropy of class logits against integer labels, fused with log_softmax over dim 1:
//   loss_n = -sum_c q_nc log softmax(logits_n)_c,  q_n = (1 - eps) onehot(target_n) + eps / C
// (label smoothing eps as in PyTorch, Szegedy et al. 2016, section 7).
//   logits [N, C] with target [N], or per pixel: logits [N, C, d1, ...] with target [N, d1, ...].
//   target: int64 labels in [0, C). label_smoothing: in [0, 1].
//   none -> target's shape; mean divides by the number of labels (N, or N*d1*...).
// Gradient (to logits only): (softmax(logits) - q) times the upstream gradient of each loss.
// Throws when target is not int64, shapes do not match, a label is out of range (the message
// names the label and its index), or label_smoothing is outside [0, 1].
// No ignore_index: PyTorch's default -100 label is an error here.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                     Reduction r = Reduction::mean);

// Cross entropy against class probabilities (PyTorch's cross_entropy with a float target; used by
// distillation): loss_n = -sum_c t_nc log softmax(logits_n)_c.
//   logits and soft_targets have the same shape ([N, C] or [N, C, d1, ...]) and dtype; rows of
//   soft_targets need not sum to 1. none -> shape [N] (or [N, d1, ...]).
// Gradients: logits: softmax * sum_c t_c - t; soft_targets: -log softmax(logits).
Tensor soft_cross_entropy(const Tensor& logits, const Tensor& soft_targets,
                          Reduction r = Reduction::mean);

// Knowledge distillation (Hinton, Vinyals & Dean 2015), the student's loss against a teacher's
// softened outputs and the hard labels:
//   alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, target)
// KL is averaged over the batch (PyTorch's KLDivLoss(reduction='batchmean')); the T^2 factor keeps
// the soft term's gradient scale independent of T. label_smoothing applies to the hard term.
// student_logits, teacher_logits: [N, C], same dtype; target: int64 [N]. T > 0, alpha in [0, 1].
// Gradients to student_logits only (the teacher is a constant).
Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits,
                         const Tensor& target, double temperature, double alpha,
                         double label_smoothing = 0.0);

// Mean squared error: (pred - target)^2 per element. Same shape and dtype required.
// Gradients to pred and target.
Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction r = Reduction::mean);

// Smooth L1 (Huber-like, Girshick 2015), per element with d = pred - target:
//   |d| < beta: 0.5 d^2 / beta,  otherwise |d| - 0.5 beta.   beta = 0 gives the L1 loss.
// Same shape and dtype required; beta >= 0. Gradients to pred and target.
Tensor smooth_l1_loss(const Tensor& pred, const Tensor& target, double beta = 1.0,
                      Reduction r = Reduction::mean);

// Binary cross entropy on logits x with targets t in [0, 1], computed stably (no log of a
// sigmoid that underflowed):  l = (1 - t) x + w (log(1 + exp(-|x|)) + max(-x, 0)),
// w = 1 + (pos_weight - 1) t  (w = 1 without pos_weight).
//   target: logits' shape and dtype; pos_weight (optional): broadcastable to logits' shape,
//   typically [C] for logits [N, C]. Gradients to logits and target (none to pos_weight, as
//   PyTorch).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction r = Reduction::mean,
                                        const Tensor& pos_weight = Tensor());

}  // namespace convkit
