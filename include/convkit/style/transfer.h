#pragma once
// Neural style transfer (Gatys, Ecker & Bethge, CVPR 2016): optimise the pixels of an image so
// that its VGG features match a content image's at one layer and its Gram matrices match a style
// image's at several, with a total-variation prior:
//   loss(x) = content_weight * content_loss(F_c(x), F_c(content))
//           + style_weight * sum_l w_l * style_loss(F_l(x), gram_matrix(F_l(style)))
//           + tv_weight * total_variation(x)                                 (style/losses.h)
// over pixels x in [0, 1] (clamped only when written out), by L-BFGS (optim/lbfgs.h, no line
// search, one loss evaluation per iteration, as the usual PyTorch scripts run it) or Adam.
// Multi-scale: `scales` passes from size / 2^(scales-1) up to size, each starting from the last
// one's result upsampled (bilinear), `iterations` iterations each.
// Colour preservation (Gatys et al., "Preserving Color in Neural Artistic Style Transfer", 2016,
// luminance-only transfer): content and style become their luminance Y (YCrCb), the style's Y
// matched to the content's mean and standard deviation; the result's Y is joined with the content's
// Cr and Cb.
#include <cstdint>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/style/features.h"

namespace convkit::style {

struct StyleLayer {
  std::string layer;  // a VggFeatures layer name, e.g. "relu3_1"
  double weight = 1;  // w_l above
};

enum class Solver { lbfgs, adam };
enum class Init { content, noise };
enum class Color { keep_style, luminance_only };

struct TransferOptions {
  int64_t size = 512;        // output size x size (content: shorter side resized, centre crop)
  int64_t iterations = 300;  // per scale
  int64_t scales = 1;        // coarse-to-fine passes
  std::string content_layer = "relu4_2";
  std::vector<StyleLayer> style_layers = {
      {"relu1_1", 0.2}, {"relu2_1", 0.2}, {"relu3_1", 0.2}, {"relu4_1", 0.2}, {"relu5_1", 0.2}};
  double content_weight = 1;
  double style_weight = 1e6;  // the Gram matrices are normalised by C H W (style/losses.h)
  double tv_weight = 1e-2;
  Solver solver = Solver::lbfgs;
  double lr = -1;              // 1 for L-BFGS, 0.02 for Adam when negative
  int64_t history_size = 100;  // L-BFGS pairs (torch's default)
  Init init = Init::content;
  Color color = Color::keep_style;
  uint64_t seed = 0;  // the noise of Init::noise
};

// After every iteration: where the run is and the three weighted losses of that evaluation.
struct TransferProgress {
  int64_t scale = 0, scales = 1, size = 0;  // scale counted from 0 (coarsest)
  int64_t iteration = 0, iterations = 0;    // iteration counted from 1 within the scale
  double content = 0, style = 0, tv = 0;    // weighted terms of the loss
  double seconds = 0;                       // since this scale started
};
using ProgressFn = std::function<void(const TransferProgress&)>;

struct TransferResult {
  cv::Mat image;                     // CV_8UC3 RGB, size x size
  int64_t iterations = 0;            // done, over every scale
  double seconds_per_iteration = 0;  // at the last (finest) scale run
  // The loss became non-finite: the run stopped there and `image` is the last image whose loss
  // was finite; `message` says where and what to change.
  bool diverged = false;
  std::string message;
};

// Runs the transfer. content and style: 8-bit RGB images (CV_8UC3; data::read_image gives them)
// of any size. Throws convkit::Error naming the option when an option is out of range, a layer
// name is unknown, or the coarsest scale is too small for the deepest layer used (each pooling
// halves the maps: a layer after p poolings needs a size of at least 2^p).
TransferResult transfer(VggFeatures& net, const cv::Mat& content, const cv::Mat& style,
                        const TransferOptions& options, const ProgressFn& progress = {});

}  // namespace convkit::style
