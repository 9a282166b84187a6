#pragma once
// Gradient saliency (docs/visualization.md): which input pixels the class score is most sensitive
// to.
//
//   vanilla gradient (Simonyan et al. 2014):  G = dy_c/dx                      [N, C, H, W]
//   SmoothGrad (Smilkov et al. 2017): G = 1/n sum_i dy_c/dx at x + e_i, e_i ~ N(0, sigma^2) per
//     pixel, sigma = noise_level * (max(x_n) - min(x_n)) per image; e_i = Tensor::randn(x.shape,
//     gen) * sigma in sample order from Generator(seed).
//   guided backprop (Springenberg et al. 2015): dy_c/dx with every ReLU's backward replaced by
//     dx = [x > 0] * max(dy, 0) (only positive gradients through positive inputs). Done by a
//     gradient hook on each relu op's output while the forward runs (autograd::set_op_observer),
//     so the model and the ops stay untouched; ReLU6, leaky ReLU and ELU keep their plain backward.
//   saliency map: max over channels of |G|                                    [N, H, W]
// The parameters are frozen for the call (no weight gradients). Put the model in eval mode first.
#include <cstdint>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/tensor.h"

namespace convkit::viz {

enum class SaliencyMethod { gradient, smooth_grad, guided_backprop };
// "gradient", "smoothgrad", "guided"; parse throws listing the three.
SaliencyMethod parse_saliency_method(const std::string& name);

struct SaliencyOptions {
  SaliencyMethod method = SaliencyMethod::gradient;
  int64_t samples = 25;       // SmoothGrad: noisy copies averaged (>= 1)
  double noise_level = 0.15;  // SmoothGrad: sigma as a fraction of each image's value range (>= 0)
  uint64_t seed = 0;          // SmoothGrad: the noise generator's seed
};

// dy_c/dx for inputs [N, C, H, W], one class per image (classes.size() == N; each in
// [0, num_classes)), as float32 [N, C, H, W]. Throws naming the problem for other input ranks, a
// class count that differs from N, a class out of range (with the model's class count), a model
// whose output is not [N, num_classes], samples < 1 or noise_level < 0. Leaves no hook or
// observer behind, also when it throws. Not usable together with anomaly detection
// (train/anomaly.h): guided backprop takes the thread's op observer.
Tensor input_gradient(nn::Module& model, const Tensor& inputs, const std::vector<int64_t>& classes,
                      const SaliencyOptions& options = {});

// max_c |g| for g [N, C, H, W] -> [N, H, W].
Tensor saliency_map(const Tensor& gradient);

}  // namespace convkit::viz
