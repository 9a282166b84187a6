#pragma once
// Sliding-window detection, two ways (OverFeat, Sermanet et al. 2014):
//  - naive: crop every window x window patch at stride `stride`, run the classifier on each;
//  - convolutional: run the classifier's convolutionalized form (models::convolutionalize) once
//    over the whole image; position (i, j) of its score map is the window at (i * S, j * S), S the
//    features' total stride.
// Both return scores [N, classes, OH, OW] with OH = (H - window) / stride + 1 (the same for W), and
// agree at every position when the features have no padding (tests/test_sliding_window.cpp).
// Several scales: resize the image first (resize_image) and call again.
#include <cstdint>

#include "convkit/nn/module.h"
#include "convkit/tensor.h"

namespace convkit::detect {

// Windows per side: (size - window) / stride + 1.
int64_t sliding_window_positions(int64_t size, int64_t window, int64_t stride);

// Runs `classifier` (logits [B, classes] from [B, C, window, window]) on every window of image
// [N, C, H, W], `batch` windows per forward, in eval mode without gradients (the mode is restored).
// Scores come back as float32.
// Throws when the image is smaller than the window or window / stride < 1.
Tensor sliding_window_naive(nn::Module& classifier, const Tensor& image, int64_t window,
                            int64_t stride, int64_t batch = 64);

// One forward of the convolutional form (eval mode, no gradients): [N, classes, OH, OW].
Tensor sliding_window_conv(nn::Module& conv_classifier, const Tensor& image);

// image [N, C, H, W] scaled by `scale` (bilinear), for a multi-scale search.
Tensor resize_image(const Tensor& image, double scale);

}  // namespace convkit::detect
