// Map scaling, colouring, blending and tiling (include/convkit/viz/overlay.h).
#include "convkit/viz/overlay.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>

#include "convkit/error.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::viz {

Tensor normalize_map(const Tensor& map, int64_t out_h, int64_t out_w) {
  CONVKIT_CHECK(map.ndim() == 2, "normalize_map: expected a map [h, w], got ",
                map.shape().to_string());
  const int64_t h = map.size(0), w = map.size(1);
  // [h, w] -> [1, 1, h, w] -> bilinear -> [out_h, out_w]
  Tensor up = upsample_bilinear2d(map.to(DType::f32).detach().reshape({1, 1, h, w}),
                                  {out_h, out_w, /*align_corners=*/false})
                  .reshape({out_h, out_w})
                  .clone();
  float* p = up.data<float>();
  const int64_t n = up.numel();
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    CONVKIT_CHECK(std::isfinite(p[i]), "normalize_map: the map holds a non-finite value");
    lo = std::min(lo, p[i]);
    hi = std::max(hi, p[i]);
  }
  const float range = hi - lo;
  for (int64_t i = 0; i < n; ++i) p[i] = range > 0 ? (p[i] - lo) / range : 0.0f;
  return up;
}

cv::Mat colorize(const Tensor& unit_map, int colormap) {
  CONVKIT_CHECK(unit_map.ndim() == 2, "colorize: expected a map [h, w], got ",
                unit_map.shape().to_string());
  const Tensor m = unit_map.to(DType::f32);
  const int h = static_cast<int>(m.size(0)), w = static_cast<int>(m.size(1));
  cv::Mat gray(h, w, CV_8UC1);
  const float* p = m.data<float>();
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      gray.at<uint8_t>(y, x) = cv::saturate_cast<uint8_t>(
          std::lround(255.0 * std::clamp(p[static_cast<int64_t>(y) * w + x], 0.0f, 1.0f)));
  cv::Mat bgr, rgb;
  cv::applyColorMap(gray, bgr, colormap);  // OpenCV colormaps are BGR
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat overlay(const cv::Mat& image, const Tensor& unit_map, double alpha, int colormap) {
  const cv::Mat color = colorize(unit_map, colormap);
  CONVKIT_CHECK(image.type() == CV_8UC3 || image.type() == CV_8UC1,
                "overlay: the image must be 8-bit RGB or gray, got OpenCV type ", image.type());
  CONVKIT_CHECK(image.rows == color.rows && image.cols == color.cols, "overlay: image is ",
                image.cols, "x", image.rows, " but the map is ", color.cols, "x", color.rows,
                "; upsample the map to the image first (normalize_map)");
  cv::Mat rgb = image;
  if (image.channels() == 1) cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
  cv::Mat out;
  cv::addWeighted(rgb, 1.0 - alpha, color, alpha, 0.0, out);
  return out;
}

cv::Mat tile_grid(const std::vector<cv::Mat>& tiles, int columns, int gap) {
  CONVKIT_CHECK(!tiles.empty(), "tile_grid: no tiles");
  const cv::Size size = tiles[0].size();
  const int type = tiles[0].type();
  for (size_t i = 0; i < tiles.size(); ++i)
    CONVKIT_CHECK(tiles[i].size() == size && tiles[i].type() == type, "tile_grid: tile ", i, " is ",
                  tiles[i].cols, "x", tiles[i].rows, " (type ", tiles[i].type(), ") but tile 0 is ",
                  size.width, "x", size.height, " (type ", type, ")");
  const int n = static_cast<int>(tiles.size());
  const int cols =
      columns > 0 ? columns : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  const int rows = (n + cols - 1) / cols;
  cv::Mat grid(rows * size.height + (rows - 1) * gap, cols * size.width + (cols - 1) * gap, type,
               cv::Scalar::all(255));
  for (int i = 0; i < n; ++i) {
    const int r = i / cols, c = i % cols;
    tiles[i].copyTo(
        grid(cv::Rect(c * (size.width + gap), r * (size.height + gap), size.width, size.height)));
  }
  return grid;
}

void write_png(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr = rgb;
  if (rgb.channels() == 3) cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bool ok = false;
  try {
    ok = cv::imwrite(path, bgr);
  } catch (const cv::Exception& e) {
    throw Error("write_png: cannot write " + path + ": " + e.what());
  }
  CONVKIT_CHECK(ok, "write_png: cannot write ", path,
                "; check that its folder exists and is writable");
}

}  // namespace convkit::viz
