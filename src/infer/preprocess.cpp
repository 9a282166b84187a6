#include "convkit/infer/preprocess.h"

#include <opencv2/imgproc.hpp>

#include "convkit/data/augmented.h"

namespace convkit::infer {

namespace {
void check_stats(const data::ChannelStats& s, int64_t channels, const char* op) {
  CONVKIT_CHECK(
      s.mean.size() == s.std.size() && (s.mean.empty() || int64_t(s.mean.size()) == channels), op,
      ": standardization has ", s.mean.size(), " means and ", s.std.size(), " deviations for ",
      channels, " channels");
}
}  // namespace

Tensor preprocess_file(const ModelBundle& bundle, const std::string& path, int64_t max_pixels) {
  Tensor t = data::load_input_image(path, bundle.preprocessing, max_pixels);
  standardize(t, bundle.standardization);
  return t;
}

Tensor preprocess_image(const ModelBundle& bundle, const cv::Mat& image) {
  CONVKIT_CHECK(image.depth() == CV_8U && (image.channels() == 1 || image.channels() == 3),
                "preprocess_image: expected an 8-bit image with 1 or 3 channels (RGB order), got "
                "depth ",
                image.depth(), " with ", image.channels(), " channels");
  CONVKIT_CHECK(!image.empty(), "preprocess_image: the image is empty");
  const data::ImagePreprocessing& p = bundle.preprocessing;
  cv::Mat img = image;
  if (p.color == data::ColorMode::gray && img.channels() == 3)
    cv::cvtColor(img, img, cv::COLOR_RGB2GRAY);
  if (p.color == data::ColorMode::rgb && img.channels() == 1)
    cv::cvtColor(img, img, cv::COLOR_GRAY2RGB);
  // The steps of data::load_input_image after decoding.
  img = data::resize_shorter_side(img, p.effective_load_size());
  img = data::crop_center_square(data::resize_shorter_side(img, p.image_size), p.image_size);
  const int64_t c = img.channels(), h = img.rows, w = img.cols;
  Tensor t = Tensor::empty({c, h, w});
  float* chw = t.data<float>();
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* row = img.ptr<uint8_t>(int(y));
    for (int64_t x = 0; x < w; ++x)
      for (int64_t ch = 0; ch < c; ++ch)
        chw[(ch * h + y) * w + x] = float(row[x * c + ch]) * (1.0f / 255.0f);
  }
  standardize(t, bundle.standardization);
  return t;
}

Tensor stack_inputs(const std::vector<Tensor>& inputs) {
  CONVKIT_CHECK(!inputs.empty(), "stack_inputs: no inputs");
  const Shape ex = inputs[0].shape();
  std::vector<int64_t> dims{int64_t(inputs.size())};
  for (int64_t d : ex) dims.push_back(d);
  Tensor batch = Tensor::empty(Shape(dims));
  for (size_t i = 0; i < inputs.size(); ++i) {
    CONVKIT_CHECK(inputs[i].shape() == ex, "stack_inputs: input ", i, " is ",
                  inputs[i].shape().to_string(), ", input 0 ", ex.to_string());
    batch.select(int64_t(i)).copy_(inputs[i]);
  }
  return batch;
}

void standardize(Tensor& x, const data::ChannelStats& stats) {
  if (stats.mean.empty()) return;
  // One example [C, ...] is a batch of one.
  const bool single = x.ndim() == 3;
  const int64_t n = single ? 1 : x.size(0), c = single ? x.size(0) : x.size(1);
  check_stats(stats, c, "standardize");
  const int64_t per = x.numel() / std::max<int64_t>(n * c, 1);
  float* p = x.data<float>();
  for (int64_t k = 0; k < n; ++k)
    for (int64_t ch = 0; ch < c; ++ch) {
      // The float arithmetic of data::Normalized, so both paths give the same inputs bit for bit.
      const auto m = float(stats.mean[size_t(ch)]), inv = float(1.0 / stats.std[size_t(ch)]);
      float* q = p + (k * c + ch) * per;
      for (int64_t j = 0; j < per; ++j) q[j] = (q[j] - m) * inv;
    }
}

cv::Mat to_image(const ModelBundle& bundle, const Tensor& input) {
  CONVKIT_CHECK(input.defined() && input.ndim() == 3 && input.dtype() == DType::f32,
                "to_image: expected a float32 input [C, H, W], got ",
                input.defined() ? input.shape().to_string() : "undefined");
  const int64_t c = input.size(0), h = input.size(1), w = input.size(2);
  CONVKIT_CHECK(c == 1 || c == 3, "to_image: ", c, " channels; images have 1 or 3");
  const data::ChannelStats& s = bundle.standardization;
  check_stats(s, c, "to_image");
  Tensor raw = input.detach().clone();
  float* p = raw.data<float>();
  for (int64_t ch = 0; ch < c; ++ch) {
    const float sd = s.mean.empty() ? 1.f : float(s.std[size_t(ch)]);
    const float m = s.mean.empty() ? 0.f : float(s.mean[size_t(ch)]);
    for (int64_t j = 0; j < h * w; ++j) p[ch * h * w + j] = p[ch * h * w + j] * sd + m;
  }
  // convertTo saturates: values outside [0, 1] become 0 or 255.
  return data::chw_to_image(p, c, h, w);
}

}  // namespace convkit::infer
