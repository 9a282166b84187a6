#pragma once
// Images to model inputs and back, exactly as training prepared them (docs/inference.md):
//   file or cv::Mat -> decode / colour mode -> resize the shorter side to the load size -> centre
//   crop image_size x image_size -> float [C, S, S] in [0, 1] -> (x - mean[c]) / std[c].
// to_image inverts the last two steps, for showing an input (Grad-CAM overlays, style transfer).
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/infer/bundle.h"
#include "convkit/tensor.h"

namespace convkit::infer {

// A file -> the model input [C, S, S], standardized. Throws data::ImageFileError naming the path
// when the file cannot be decoded (or has more than `max_pixels` pixels).
Tensor preprocess_file(const ModelBundle& bundle, const std::string& path,
                       int64_t max_pixels = data::kDefaultMaxPixels);

// An 8-bit image (CV_8UC3 in RGB order, as data::read_image returns, or CV_8UC1 gray; converted to
// the bundle's colour mode) -> the model input [C, S, S], standardized. Throws naming the type
// for other depths or channel counts.
Tensor preprocess_image(const ModelBundle& bundle, const cv::Mat& image);

// Stacks [C, H, W] tensors of one shape into a batch [N, C, H, W].
Tensor stack_inputs(const std::vector<Tensor>& inputs);

// In place: (x - mean[c]) / std[c] for each channel of x [N, C, ...] (no-op for empty stats),
// in float32 exactly as data::Normalized computes it.
void standardize(Tensor& x, const data::ChannelStats& stats);

// The inverse for one input [C, H, W]: x * std[c] + mean[c], clamped to [0, 1], as an 8-bit
// image (CV_8UC3 RGB or CV_8UC1).
cv::Mat to_image(const ModelBundle& bundle, const Tensor& input);

}  // namespace convkit::infer
