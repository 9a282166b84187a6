#include "convkit/style/transfer.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <opencv2/imgproc.hpp>

#include "convkit/autograd.h"
#include "convkit/data/augmented.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/shape_ops.h"
#include "convkit/optim/adam.h"
#include "convkit/optim/lbfgs.h"
#include "convkit/random.h"
#include "convkit/style/losses.h"

namespace convkit::style {

namespace {

// Shorter side resized to `size`, then the centre size x size crop.
cv::Mat square(const cv::Mat& rgb, int64_t size) {
  const double scale = double(size) / std::min(rgb.cols, rgb.rows);
  cv::Mat resized;
  cv::resize(rgb, resized,
             {std::max<int>(int(size), int(std::lround(rgb.cols * scale))),
              std::max<int>(int(size), int(std::lround(rgb.rows * scale)))},
             0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
  const int x0 = (resized.cols - int(size)) / 2, y0 = (resized.rows - int(size)) / 2;
  return resized(cv::Rect(x0, y0, int(size), int(size))).clone();
}

// RGB image -> [1, 3, H, W] float32 in [0, 1].
Tensor to_tensor(const cv::Mat& rgb) {
  Tensor t = Tensor::empty({1, 3, rgb.rows, rgb.cols});
  data::image_to_chw(rgb, t.data<float>());
  return t;
}

// Luminance-only transfer (Gatys et al. 2016, colour preservation): Y of YCrCb as three equal
// channels, with the style's Y standardised to the content's mean and standard deviation.
cv::Mat luminance(const cv::Mat& rgb, const cv::Mat* match_to = nullptr) {
  cv::Mat ycc, y;
  cv::cvtColor(rgb, ycc, cv::COLOR_RGB2YCrCb);
  cv::extractChannel(ycc, y, 0);
  if (match_to) {
    cv::Mat ty;
    cv::cvtColor(*match_to, ycc, cv::COLOR_RGB2YCrCb);
    cv::extractChannel(ycc, ty, 0);
    cv::Scalar m, s, tm, ts;
    cv::meanStdDev(y, m, s);
    cv::meanStdDev(ty, tm, ts);
    y.convertTo(y, CV_8U, ts[0] / std::max(s[0], 1e-6),
                tm[0] - m[0] * ts[0] / std::max(s[0], 1e-6));
  }
  cv::Mat out;
  cv::cvtColor(y, out, cv::COLOR_GRAY2RGB);
  return out;
}

// The result's luminance with the content's chroma.
cv::Mat with_content_color(const cv::Mat& result_rgb, const cv::Mat& content_rgb) {
  cv::Mat r, c, out;
  cv::cvtColor(result_rgb, r, cv::COLOR_RGB2YCrCb);
  cv::cvtColor(content_rgb, c, cv::COLOR_RGB2YCrCb);
  std::vector<cv::Mat> rc, cc;
  cv::split(r, rc);
  cv::split(c, cc);
  cv::merge(std::vector<cv::Mat>{rc[0], cc[1], cc[2]}, out);
  cv::cvtColor(out, out, cv::COLOR_YCrCb2RGB);
  return out;
}

cv::Mat to_image(const Tensor& x) {
  Tensor c = x.detach().select(0).to(DType::f32);
  return data::chw_to_image(c.data<float>(), 3, c.size(1), c.size(2));
}

void check_options(const TransferOptions& o) {
  CONVKIT_CHECK(o.size >= 2, "style: --size must be at least 2, got ", o.size);
  CONVKIT_CHECK(o.iterations >= 1, "style: --iters must be at least 1, got ", o.iterations);
  CONVKIT_CHECK(o.scales >= 1 && o.scales <= 8, "style: --scales must be 1 to 8, got ", o.scales);
  CONVKIT_CHECK(!o.style_layers.empty(), "style: no style layer given");
  CONVKIT_CHECK(o.content_weight >= 0 && o.style_weight >= 0 && o.tv_weight >= 0,
                "style: loss weights must be >= 0, got content ", o.content_weight, ", style ",
                o.style_weight, ", tv ", o.tv_weight);
  for (const StyleLayer& l : o.style_layers)
    CONVKIT_CHECK(l.weight >= 0, "style: style layer ", l.layer, " has negative weight ", l.weight);
  CONVKIT_CHECK(o.history_size >= 1, "style: --history must be at least 1, got ", o.history_size);
}

// Each layer's maps must be at least 1x1 at the coarsest scale (and TV needs 2x2).
void check_layers_fit(const VggFeatures& net, const std::vector<int64_t>& layers,
                      const TransferOptions& o) {
  const int64_t coarsest = o.size >> (o.scales - 1);
  for (int64_t i : layers) {
    const int64_t need = std::max<int64_t>(2, int64_t(1) << net.poolings_before(i));
    CONVKIT_CHECK(coarsest >= need, "style: --size ", o.size,
                  o.scales > 1 ? detail::concat(" with ", o.scales, " scales starts at ", coarsest,
                                                " pixels, too small")
                               : std::string(" is too small"),
                  " for layer ", net.name_of(i), " (after ", net.poolings_before(i),
                  " poolings it needs at least ", need,
                  " pixels); raise --size, lower --scales or choose shallower layers");
  }
}

// What the image is pulled towards at one scale: the content's features at the content layer and
// the style's Gram matrices at the style layers.
struct Targets {
  Tensor content;
  std::vector<Tensor> grams;
};
Targets make_targets(VggFeatures& net, const std::vector<int64_t>& layers, const Tensor& content,
                     const Tensor& style) {
  NoGradGuard no_grad;
  Targets t;
  t.content = net.features(content, {layers[0]})[0];
  for (const Tensor& f : net.features(style, {layers.begin() + 1, layers.end()}))
    t.grams.push_back(gram_matrix(f));
  return t;
}

// One scale: `iterations` solver iterations on x (in place). Returns false when the loss became
// non-finite; x then holds the last image whose loss was finite.
bool run_scale(VggFeatures& net, const std::vector<int64_t>& layers, const Targets& targets,
               const TransferOptions& o, Tensor& x, TransferProgress& p,
               const ProgressFn& progress) {
  x.set_requires_grad(true);
  Tensor last_finite = x.detach().clone();
  bool finite = true;
  auto closure = [&] {
    x.zero_grad();
    TensorList f = net.features(x, layers);
    Tensor c = content_loss(f[0], targets.content) * o.content_weight;
    Tensor st = Tensor::zeros({}, x.dtype());
    for (size_t l = 0; l < targets.grams.size(); ++l)
      st =
          st + style_loss(f[l + 1], targets.grams[l]) * (o.style_weight * o.style_layers[l].weight);
    Tensor tv = total_variation(x) * o.tv_weight;
    Tensor total = c + st + tv;
    p.content = c.item();
    p.style = st.item();
    p.tv = tv.item();
    const double loss = total.item();
    finite = std::isfinite(loss);
    if (!finite) return loss;
    last_finite.copy_(x.detach());
    total.backward();
    return loss;
  };
  // L-BFGS as the usual PyTorch scripts run it: one closure call per step (max_iter 1), no line
  // search, tolerances off, the history kept across steps.
  std::unique_ptr<optim::LBFGS> lbfgs;
  std::unique_ptr<optim::Adam> adam;
  if (o.solver == Solver::lbfgs) {
    lbfgs = std::make_unique<optim::LBFGS>(std::vector<Tensor>{x},
                                           optim::LBFGSOptions{.lr = o.lr > 0 ? o.lr : 1,
                                                               .max_iter = 1,
                                                               .tolerance_grad = 0,
                                                               .tolerance_change = 0,
                                                               .history_size = o.history_size});
  } else {
    optim::ParamGroup g;
    g.params = {x};
    g.lr = o.lr > 0 ? o.lr : 0.02;
    adam = std::make_unique<optim::Adam>(std::vector<optim::ParamGroup>{g});
  }
  const auto start = std::chrono::steady_clock::now();
  for (p.iteration = 1; p.iteration <= o.iterations; ++p.iteration) {
    if (lbfgs) {
      lbfgs->step(closure);
    } else if (closure(); finite) {
      adam->step();
    }
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!finite) {
      x = last_finite;
      return false;
    }
    if (progress) progress(p);
  }
  return true;
}

}  // namespace

TransferResult transfer(VggFeatures& net, const cv::Mat& content, const cv::Mat& style,
                        const TransferOptions& o, const ProgressFn& progress) {
  check_options(o);
  CONVKIT_CHECK(
      content.type() == CV_8UC3 && style.type() == CV_8UC3 && !content.empty() && !style.empty(),
      "style: content and style must be 8-bit RGB images");
  // Layer indices: the content layer first, then the style layers.
  std::vector<int64_t> layers{net.index_of(o.content_layer)};
  for (const StyleLayer& l : o.style_layers) layers.push_back(net.index_of(l.layer));
  check_layers_fit(net, layers, o);

  const cv::Mat content_full = square(content, o.size);
  const cv::Mat style_full = square(style, o.size);
  const bool lum = o.color == Color::luminance_only;
  TransferResult result;
  Tensor x;  // the image being optimised, [1, 3, s, s] in [0, 1] (values may leave it)
  for (int64_t k = 0; k < o.scales; ++k) {
    const int64_t s = o.size >> (o.scales - 1 - k);
    cv::Mat c_img = square(content_full, s), s_img = square(style_full, s);
    if (lum) {
      s_img = luminance(s_img, &c_img);
      c_img = luminance(c_img);
    }
    const Tensor content_t = to_tensor(c_img);
    const Targets targets = make_targets(net, layers, content_t, to_tensor(s_img));
    if (k > 0) {
      x = upsample_bilinear2d(x.detach(), {.out_h = s, .out_w = s});
    } else if (o.init == Init::noise) {
      Generator gen(o.seed);
      x = Tensor::uniform({1, 3, s, s}, 0, 1, &gen);
    } else {
      x = content_t.clone();
    }
    TransferProgress p{.scale = k, .scales = o.scales, .size = s, .iterations = o.iterations};
    const bool finite = run_scale(net, layers, targets, o, x, p, progress);
    const int64_t done = p.iteration - 1;  // the iteration that diverged does not count
    result.iterations += done;
    result.seconds_per_iteration = p.seconds / double(std::max<int64_t>(done, 1));
    if (!finite) {
      result.diverged = true;
      result.message = detail::concat(
          "style: the loss became non-finite at iteration ", p.iteration, " of scale ", k + 1, "/",
          o.scales, " (", s, "x", s, "; content ", p.content, ", style ", p.style, ", tv ", p.tv,
          "); kept the last image with a finite loss. Lower the learning rate (--lr) or the loss ",
          "weights.");
      break;
    }
  }
  cv::Mat out = to_image(x);
  result.image = lum ? with_content_color(out, content_full) : out;
  return result;
}

}  // namespace convkit::style
