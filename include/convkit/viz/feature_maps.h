#pragma once
// Feature maps (docs/visualization.md): what named intermediate layers produce for an input,
// captured by forward hooks on dotted module paths, summarized per channel and drawn as a grid.
#include <cstdint>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/tensor.h"

namespace convkit::viz {

// Runs `model` once (no grad) on inputs [N, C, H, W] and returns each named layer's output (its
// first output, detached). Throws (naming `model_name`) for an unknown layer, listing the valid
// names near it, and for a layer that does not run or runs more than once in the forward pass.
std::map<std::string, Tensor> capture_layers(nn::Module& model, const Tensor& inputs,
                                             const std::vector<std::string>& layers,
                                             const std::string& model_name = "model");

struct ChannelSummary {
  double mean = 0, std = 0, min = 0, max = 0;
  double zero_fraction = 0;  // share of exactly-zero values (dead units after a ReLU)
  int64_t non_finite = 0;    // NaN or infinite values (left out of the other numbers)
};
// One summary per channel of a feature map [C, H, W] (population std).
std::vector<ChannelSummary> channel_summaries(const Tensor& feature_map);

// The first `max_channels` channels of [C, H, W], each scaled to [0, 1] on its own (min-max; a
// constant or non-finite channel is drawn as zeros), coloured with `colormap`, enlarged (nearest)
// by an integer factor to at least `min_tile` pixels a side, tiled about square. Returns CV_8UC3
// RGB. Throws unless feature_map is 3-D.
cv::Mat feature_grid(const Tensor& feature_map, int64_t max_channels = 64, int min_tile = 32,
                     int colormap = cv::COLORMAP_VIRIDIS);

}  // namespace convkit::viz
