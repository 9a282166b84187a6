#pragma once
// What a filter responds to (docs/visualization.md).
//
// First-layer weights as image tiles, and activation maximization (Erhan et al. 2009; the
// regularizers of Yosinski et al. 2015, "Understanding neural networks through deep
// visualization"; octaves as in DeepDream): for filter f of layer L, find an input x that
// maximizes the mean of L's output channel f, starting from small noise, with
//   x <- (1 - l2_decay) * x + step * g / (mean |g| + 1e-8)       (normalized gradient ascent)
// where g is the gradient at x shifted by a random jitter of up to `jitter` pixels (shifted back),
// a Gaussian blur (sigma `blur_sigma`) every `blur_every` steps, and after each of `octaves`
// rounds of `steps` steps the image enlarged by `octave_scale` (bilinear), ending at `size`.
// All filters run as one batch; the forward stops at the layer (nothing after it runs).
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/tensor.h"

namespace convkit::viz {

// Conv weights [OC, IC, KH, KW] as OC tiles (IC == 3: RGB; otherwise the mean over input channels,
// gray), each scaled symmetrically, 0.5 + w / (2 max|w|) (grey is zero), enlarged (nearest) to at
// least `min_tile` pixels a side, in a grid. Throws unless weight is 4-D.
cv::Mat weight_tiles(const Tensor& weight, int min_tile = 32);

struct ActivationMaxOptions {
  int64_t size = 64;          // final input height = width
  int64_t in_channels = 3;    // channels of the input
  int64_t steps = 48;         // gradient steps per octave (>= 1)
  int64_t octaves = 3;        // rounds, each octave_scale larger than the one before (>= 1)
  double octave_scale = 1.4;  // > 1
  double step_size = 0.05;    // of the normalized gradient, in standardized input units
  int64_t jitter = 2;         // pixels (0: off)
  int64_t blur_every = 4;     // steps between blurs (0: off)
  double blur_sigma = 0.5;    // pixels
  double l2_decay = 1e-3;     // per step
  uint64_t seed = 0;          // the start noise (std 0.1)
};

struct ActivationMaxResult {
  Tensor images;                // [F, in_channels, size, size], model input space (standardized)
  std::vector<double> initial;  // the objective (channel mean) at the start noise, per filter
  std::vector<double> final;    // and at the end
};

// Activation maximization of `filters` (channel indices of layer `layer`'s output). Throws
// (naming `model_name`) for an unknown layer (listing the valid names near it), a layer without a
// spatial output [N, K, h, w], a filter index outside [0, K), no filters, and options out of range.
ActivationMaxResult maximize_activation(nn::Module& model, const std::string& layer,
                                        const std::vector<int64_t>& filters,
                                        const ActivationMaxOptions& options,
                                        const std::string& model_name = "model");

// An input [C, H, W] for display: each image scaled by its own mean and std to mean 0.5 and
// std 0.15, clipped to [0, 1], as 8-bit RGB (C == 3) or gray (C == 1).
cv::Mat input_to_image(const Tensor& input);

// "0-63", "3,5,9-11" -> indices, in order. Throws naming the text when it is malformed.
std::vector<int64_t> parse_index_ranges(const std::string& text);

}  // namespace convkit::viz
