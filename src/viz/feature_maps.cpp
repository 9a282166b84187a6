// Feature-map capture, per-channel numbers and grids (include/convkit/viz/feature_maps.h).
#include "convkit/viz/feature_maps.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/viz/layer.h"
#include "convkit/viz/overlay.h"

namespace convkit::viz {

std::map<std::string, Tensor> capture_layers(nn::Module& model, const Tensor& inputs,
                                             const std::vector<std::string>& layers,
                                             const std::string& model_name) {
  std::map<std::string, Tensor> captured;
  std::map<std::string, int> calls;
  std::vector<nn::HookHandle> hooks;
  for (const std::string& path : layers)
    hooks.push_back(
        find_layer(model, path, model_name)
            .register_forward_hook(
                [&captured, &calls, path](nn::Module&, const nn::TensorList&, nn::TensorList& out) {
                  if (++calls[path] == 1 && !out.empty()) captured[path] = out[0].detach();
                }));
  NoGradGuard no_grad;
  model(inputs);
  for (const std::string& path : layers)
    CONVKIT_CHECK(calls[path] == 1, "viz: layer '", path, "' of ", model_name, " ran ", calls[path],
                  " times in one forward pass; choose a layer that runs exactly once");
  return captured;
}

std::vector<ChannelSummary> channel_summaries(const Tensor& feature_map) {
  CONVKIT_CHECK(feature_map.ndim() == 3, "channel_summaries: expected [C, H, W], got ",
                feature_map.shape().to_string());
  const Tensor f = feature_map.detach().to(DType::f32);
  const int64_t C = f.size(0), HW = f.size(1) * f.size(2);
  std::vector<ChannelSummary> out(C);
  for (int64_t c = 0; c < C; ++c) {
    const float* p = f.data<float>() + c * HW;
    ChannelSummary& s = out[c];
    double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
    int64_t n = 0, zeros = 0;
    for (int64_t i = 0; i < HW; ++i) {
      if (!std::isfinite(p[i])) {
        ++s.non_finite;
        continue;
      }
      ++n;
      sum += p[i];
      sq += double(p[i]) * p[i];
      lo = std::min(lo, double(p[i]));
      hi = std::max(hi, double(p[i]));
      zeros += p[i] == 0.0f;
    }
    if (n == 0) continue;
    s.mean = sum / double(n);
    s.std = std::sqrt(std::max(sq / double(n) - s.mean * s.mean, 0.0));
    s.min = lo;
    s.max = hi;
    s.zero_fraction = double(zeros) / double(n);
  }
  return out;
}

cv::Mat feature_grid(const Tensor& feature_map, int64_t max_channels, int min_tile, int colormap) {
  CONVKIT_CHECK(feature_map.ndim() == 3, "feature_grid: expected [C, H, W], got ",
                feature_map.shape().to_string());
  const Tensor f = feature_map.detach().to(DType::f32);
  const int64_t C = std::min(f.size(0), std::max<int64_t>(max_channels, 1));
  const int64_t H = f.size(1), W = f.size(2);
  const int scale = std::max<int>(1, (min_tile + int(std::min(H, W)) - 1) / int(std::min(H, W)));
  std::vector<cv::Mat> tiles;
  for (int64_t c = 0; c < C; ++c) {
    const float* p = f.data<float>() + c * H * W;
    float lo = INFINITY, hi = -INFINITY;
    bool finite = true;
    for (int64_t i = 0; i < H * W; ++i) {
      finite = finite && std::isfinite(p[i]);
      lo = std::min(lo, p[i]);
      hi = std::max(hi, p[i]);
    }
    Tensor unit = Tensor::zeros({H, W});
    if (finite && hi > lo)
      for (int64_t i = 0; i < H * W; ++i) unit.data<float>()[i] = (p[i] - lo) / (hi - lo);
    cv::Mat tile;
    cv::resize(colorize(unit, colormap), tile, cv::Size(int(W) * scale, int(H) * scale), 0, 0,
               cv::INTER_NEAREST);
    tiles.push_back(tile);
  }
  return tile_grid(tiles);
}

}  // namespace convkit::viz
