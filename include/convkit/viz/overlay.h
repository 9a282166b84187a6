#pragma once
// Showing maps (docs/visualization.md): scaling a map to [0, 1], colouring it with an OpenCV
// colormap, blending it over an image, and tiling many maps into one grid image.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::viz {

// map [h, w] -> [out_h, out_w] bilinear (as F.interpolate(align_corners=False)), then
// (x - min) / (max - min); a constant map gives zeros. Throws unless map is 2-D and finite.
Tensor normalize_map(const Tensor& map, int64_t out_h, int64_t out_w);

// A map with values in [0, 1] [h, w] -> CV_8UC3 RGB through `colormap` (cv::COLORMAP_*).
cv::Mat colorize(const Tensor& unit_map, int colormap = cv::COLORMAP_JET);

// (1 - alpha) * image + alpha * colorize(unit_map), image CV_8UC3 RGB or CV_8UC1 of the map's
// size (gray is expanded). Throws naming both sizes when they differ.
cv::Mat overlay(const cv::Mat& image, const Tensor& unit_map, double alpha = 0.5,
                int colormap = cv::COLORMAP_JET);

// Tiles of one size and type in a grid of `columns` (<= 0: about square), `gap` pixels apart on
// a white background. Throws when tiles is empty or they differ in size or type.
cv::Mat tile_grid(const std::vector<cv::Mat>& tiles, int columns = 0, int gap = 2);

// Writes `rgb` (CV_8UC3 RGB or CV_8UC1) as a PNG; throws naming the path when it cannot.
void write_png(const std::string& path, const cv::Mat& rgb);

}  // namespace convkit::viz
