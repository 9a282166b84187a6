// First-layer weight tiles and activation maximization (include/convkit/viz/filters.h).
#include "convkit/viz/filters.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/shape_ops.h"
#include "convkit/random.h"
#include "convkit/viz/layer.h"
#include "convkit/viz/overlay.h"
#include "viz/frozen.h"

namespace convkit::viz {

cv::Mat weight_tiles(const Tensor& weight, int min_tile) {
  CONVKIT_CHECK(weight.ndim() == 4, "weight_tiles: expected conv weights [OC, IC, KH, KW], got ",
                weight.shape().to_string());
  const Tensor w = weight.detach().to(DType::f32);
  const int64_t OC = w.size(0), IC = w.size(1), KH = w.size(2), KW = w.size(3);
  const float* p = w.data<float>();
  const int scale =
      std::max<int>(1, (min_tile + int(std::min(KH, KW)) - 1) / int(std::min(KH, KW)));
  std::vector<cv::Mat> tiles;
  for (int64_t oc = 0; oc < OC; ++oc) {
    const float* f = p + oc * IC * KH * KW;
    float m = 0;
    for (int64_t i = 0; i < IC * KH * KW; ++i) m = std::max(m, std::abs(f[i]));
    cv::Mat tile(int(KH), int(KW), CV_8UC3);
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        cv::Vec3b& px = tile.at<cv::Vec3b>(int(kh), int(kw));
        for (int ch = 0; ch < 3; ++ch) {
          double v = 0;
          if (IC == 3) {
            v = f[(ch * KH + kh) * KW + kw];
          } else {
            for (int64_t ic = 0; ic < IC; ++ic) v += f[(ic * KH + kh) * KW + kw];
            v /= double(IC);
          }
          px[ch] = cv::saturate_cast<uint8_t>(255.0 * (m > 0 ? 0.5 + v / (2 * m) : 0.5));
        }
      }
    cv::Mat big;
    cv::resize(tile, big, cv::Size(int(KW) * scale, int(KH) * scale), 0, 0, cv::INTER_NEAREST);
    tiles.push_back(big);
  }
  return tile_grid(tiles);
}

namespace {

struct StopForward {};  // thrown by the hook: nothing after the layer needs to run

// x [N, C, H, W] shifted by (dy, dx) with wrap-around (a roll), as a new tensor.
Tensor roll(const Tensor& x, int64_t dy, int64_t dx) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor out = Tensor::empty(x.shape());
  const float* s = x.data<float>();
  float* d = out.data<float>();
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        d[(nc * H + ((h + dy) % H + H) % H) * W + ((w + dx) % W + W) % W] = s[(nc * H + h) * W + w];
  return out;
}

void blur(Tensor& x, double sigma) {
  const int64_t NC = x.size(0) * x.size(1);
  const int H = int(x.size(2)), W = int(x.size(3));
  for (int64_t i = 0; i < NC; ++i) {
    cv::Mat plane(H, W, CV_32F, x.data<float>() + i * H * W);
    cv::GaussianBlur(plane, plane, cv::Size(0, 0), sigma);
  }
}

}  // namespace

ActivationMaxResult maximize_activation(nn::Module& model, const std::string& layer,
                                        const std::vector<int64_t>& filters,
                                        const ActivationMaxOptions& o,
                                        const std::string& model_name) {
  CONVKIT_CHECK(!filters.empty(), "filters: no filter indices given");
  CONVKIT_CHECK(
      o.steps >= 1 && o.octaves >= 1 && o.octave_scale > 1 && o.size >= 1 && o.in_channels >= 1 &&
          o.step_size > 0 && o.jitter >= 0 && o.blur_every >= 0 && o.l2_decay >= 0 &&
          o.l2_decay < 1,
      "filters: options out of range (steps ", o.steps, ", octaves ", o.octaves, ", octave scale ",
      o.octave_scale, ", size ", o.size, ", step size ", o.step_size, ", jitter ", o.jitter,
      ", blur every ", o.blur_every, ", l2 decay ", o.l2_decay,
      "): steps, octaves and size >= 1, octave scale > 1, step size > 0, l2 decay in [0, 1)");
  nn::Module& target = find_layer(model, layer, model_name);
  const int64_t F = int64_t(filters.size());

  Tensor activation;
  nn::HookHandle hook =
      target.register_forward_hook([&](nn::Module&, const nn::TensorList&, nn::TensorList& out) {
        activation = out.at(0);
        throw StopForward{};
      });
  detail::FrozenParameters frozen(model);
  const bool prev_grad = autograd::grad_enabled();
  autograd::set_grad_enabled(true);
  // Runs to the layer; returns the mean of each image's filter channel and its gradient w.r.t. x.
  auto objective = [&](const Tensor& x, Tensor* grad) {
    Tensor leaf = x.detach();
    leaf.set_requires_grad(true);
    activation = Tensor();
    try {
      model(leaf);
    } catch (const StopForward&) {
    }
    CONVKIT_CHECK(activation.defined(), "filters: layer '", layer, "' of ", model_name,
                  " did not run in the forward pass");
    check_spatial_map(layer, activation.shape(), "filters");
    const int64_t K = activation.size(1), hw = activation.size(2) * activation.size(3);
    Tensor upstream = Tensor::zeros(activation.shape());
    const Tensor a = activation.detach().to(DType::f32);
    std::vector<double> values(F, 0.0);
    for (int64_t i = 0; i < F; ++i) {
      CONVKIT_CHECK(filters[i] >= 0 && filters[i] < K, "filters: filter ", filters[i],
                    " is out of range: layer '", layer, "' of ", model_name, " has ", K,
                    " channels (0..", K - 1, ")");
      const float* ap = a.data<float>() + (i * K + filters[i]) * hw;
      float* up = upstream.data<float>() + (i * K + filters[i]) * hw;
      for (int64_t j = 0; j < hw; ++j) {
        values[i] += ap[j] / double(hw);
        up[j] = 1.0f / float(hw);
      }
    }
    if (grad)
      *grad =
          autograd::grad({activation}, {leaf}, {upstream.to(activation.dtype())})[0].to(DType::f32);
    return values;
  };

  ActivationMaxResult r;
  try {
    int64_t s = std::max<int64_t>(
        1, std::llround(double(o.size) / std::pow(o.octave_scale, double(o.octaves - 1))));
    Generator gen(o.seed);
    Tensor x = mul(Tensor::randn({F, o.in_channels, s, s}, &gen), 0.1);
    r.initial = objective(x, nullptr);
    auto shift = [&] { return int64_t(gen.next_u64() % uint64_t(2 * o.jitter + 1)) - o.jitter; };
    for (int64_t oct = 0; oct < o.octaves; ++oct) {
      if (oct > 0) {
        s = oct + 1 == o.octaves ? o.size : std::llround(double(s) * o.octave_scale);
        x = upsample_bilinear2d(x, {s, s, /*align_corners=*/false});
      }
      for (int64_t step = 0; step < o.steps; ++step) {
        const int64_t dy = shift(), dx = shift();
        Tensor g;
        objective(roll(x, dy, dx), &g);
        g = roll(g, -dy, -dx);
        x = x.clone().detach();
        float* xp = x.data<float>();
        const float* gp = g.data<float>();
        const int64_t per = x.numel() / F;
        for (int64_t i = 0; i < F; ++i) {
          double mean_abs = 0;
          for (int64_t j = 0; j < per; ++j) mean_abs += std::abs(gp[i * per + j]);
          mean_abs /= double(per);
          const double k = o.step_size / (mean_abs + 1e-8);
          for (int64_t j = 0; j < per; ++j)
            xp[i * per + j] = float((1 - o.l2_decay) * xp[i * per + j] + k * gp[i * per + j]);
        }
        if (o.blur_every > 0 && (step + 1) % o.blur_every == 0) blur(x, o.blur_sigma);
      }
    }
    r.final = objective(x, nullptr);
    r.images = x;
  } catch (...) {
    autograd::set_grad_enabled(prev_grad);
    throw;
  }
  autograd::set_grad_enabled(prev_grad);
  return r;
}

cv::Mat input_to_image(const Tensor& input) {
  CONVKIT_CHECK(input.ndim() == 3 && (input.size(0) == 1 || input.size(0) == 3),
                "input_to_image: expected [1 or 3, H, W], got ", input.shape().to_string());
  const Tensor x = input.detach().to(DType::f32);
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2), n = x.numel();
  const float* p = x.data<float>();
  double mean = 0, sq = 0;
  for (int64_t i = 0; i < n; ++i) mean += p[i], sq += double(p[i]) * p[i];
  mean /= double(n);
  const double sd = std::sqrt(std::max(sq / double(n) - mean * mean, 0.0)) + 1e-8;
  cv::Mat out(int(H), int(W), C == 3 ? CV_8UC3 : CV_8UC1);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w)
      for (int64_t c = 0; c < C; ++c) {
        const double v = std::clamp(0.5 + 0.15 * (p[(c * H + h) * W + w] - mean) / sd, 0.0, 1.0);
        out.ptr<uint8_t>(int(h))[w * C + c] = cv::saturate_cast<uint8_t>(255.0 * v);
      }
  return out;
}

std::vector<int64_t> parse_index_ranges(const std::string& text) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, end - pos);
    try {
      size_t used = 0;
      const size_t dash = part.find('-', 1);
      const int64_t a = std::stoll(part.substr(0, dash), &used);
      CONVKIT_CHECK(used == (dash == std::string::npos ? part.size() : dash), "bad");
      int64_t b = a;
      if (dash != std::string::npos) {
        b = std::stoll(part.substr(dash + 1), &used);
        CONVKIT_CHECK(used == part.size() - dash - 1 && b >= a && a >= 0, "bad");
      }
      for (int64_t i = a; i <= b; ++i) out.push_back(i);
    } catch (const std::exception&) {
      throw Error("filters: cannot read '" + part + "' in '" + text +
                  "'; give indices and ranges like 0-63 or 3,5,9-11");
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace convkit::viz
