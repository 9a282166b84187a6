#pragma once
// Synchronized batch norm: in training, each channel's mean and variance over the batches of every
// rank, as one process would compute them over the combined batch (PyTorch's SyncBatchNorm). For
// small per-rank batches, where one rank's statistics are too noisy (docs/distributed.md).
#include "convkit/dist/communicator.h"
#include "convkit/nn/module.h"

namespace convkit::dist {

// Sums x over the ranks (every rank gets the sum) as an autograd op: the gradient of each rank's
// input is the sum of the ranks' output gradients, so the data-parallel average of the parameters'
// gradients is the gradient of the mean of the ranks' losses. f32 or f64.
Tensor allreduce_sum(const Tensor& x, const CommunicatorPtr& comm, const std::string& what);

// batch_norm in training mode with statistics over every rank's x ([N, C, H, W] or [N, C]; the
// ranks' N may differ): two-pass mean and biased variance, the running statistics updated with the
// unbiased variance over all M values per channel, as batch_norm does for one process.
Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor& running_mean, Tensor& running_var, double momentum, double eps,
                       const CommunicatorPtr& comm);

// Makes every BatchNorm2d / BatchNorm1d under `model` use sync_batch_norm in training (evaluation
// is unchanged: the running statistics). Returns how many it converted.
int convert_sync_batch_norm(nn::Module& model, const CommunicatorPtr& comm);

}  // namespace convkit::dist
