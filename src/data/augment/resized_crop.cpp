// Crops at a random scale: random_resized_crop (Inception) and scale_jitter (VGG multi-scale).
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

#include "common.h"

namespace convkit::data {

namespace {
class RandomResizedCrop : public Transform {
 public:
  explicit RandomResizedCrop(RandomResizedCropOptions o) : o_(o) {
    detail::check_crop_size(o_.height, o_.width, "random_resized_crop");
    detail::check_range(o_.scale, 0, "random_resized_crop", "scale");
    CONVKIT_CHECK(o_.scale.second <= 1, "random_resized_crop: scale may not exceed 1, got ",
                  o_.scale.second);
    detail::check_range(o_.ratio, 0, "random_resized_crop", "ratio");
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "random_resized_crop");
    return detail::resize_to(image(window(image.rows, image.cols, rng)),
                             detail::output_size(image, o_.height, o_.width));
  }
  std::string describe() const override {
    return detail::concat("random_resized_crop(size=", detail::size_str(o_.height, o_.width),
                          ", scale=[", o_.scale.first, ", ", o_.scale.second, "], ratio=[",
                          o_.ratio.first, ", ", o_.ratio.second, "])");
  }

 private:
  // torchvision.transforms.RandomResizedCrop.get_params, drawn from our generator.
  cv::Rect window(int H, int W, Generator& rng) const {
    const double area = double(H) * double(W);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * rng.uniform(o_.scale.first, o_.scale.second);
      const double aspect = detail::log_uniform(rng, o_.ratio);
      const int w = int(std::lround(std::sqrt(target * aspect)));
      const int h = int(std::lround(std::sqrt(target / aspect)));
      if (w > 0 && h > 0 && w <= W && h <= H) {
        const int y = detail::uniform_int(rng, 0, H - h);
        const int x = detail::uniform_int(rng, 0, W - w);
        return {x, y, w, h};
      }
    }
    // Fallback: the whole image, narrowed to the nearest allowed aspect ratio, centred.
    const double in_ratio = double(W) / double(H);
    int w = W, h = H;
    if (in_ratio < o_.ratio.first)
      h = std::max(1, int(std::lround(W / o_.ratio.first)));
    else if (in_ratio > o_.ratio.second)
      w = std::max(1, int(std::lround(H * o_.ratio.second)));
    return {(W - w) / 2, (H - h) / 2, w, h};
  }
  RandomResizedCropOptions o_;
};

class ScaleJitter : public Transform {
 public:
  explicit ScaleJitter(ScaleJitterOptions o) : o_(o) {
    detail::check_crop_size(o_.height, o_.width, "scale_jitter");
    CONVKIT_CHECK(o_.min_side > 0 && o_.min_side <= o_.max_side,
                  "scale_jitter: need 0 < min_side <= max_side, got ", o_.min_side, " and ",
                  o_.max_side);
    CONVKIT_CHECK(o_.min_side >= std::max(o_.height, o_.width), "scale_jitter: min_side ",
                  o_.min_side, " is smaller than the ", o_.height, "x", o_.width, " crop");
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "scale_jitter");
    const cv::Size out = detail::output_size(image, o_.height, o_.width);
    const int side = detail::uniform_int(rng, o_.min_side, o_.max_side);
    const double s = double(side) / double(std::min(image.rows, image.cols));
    // The shorter side becomes exactly `side`; the longer keeps the aspect ratio.
    const cv::Size scaled = image.rows <= image.cols
                                ? cv::Size(std::max(side, int(std::lround(image.cols * s))), side)
                                : cv::Size(side, std::max(side, int(std::lround(image.rows * s))));
    CONVKIT_CHECK(out.height <= scaled.height && out.width <= scaled.width, "scale_jitter: a ",
                  out.height, "x", out.width, " crop does not fit in the ", scaled.height, "x",
                  scaled.width, " rescaled image; raise min_side");
    cv::Mat big = detail::resize_to(image, scaled);
    const int y = detail::uniform_int(rng, 0, big.rows - out.height);
    const int x = detail::uniform_int(rng, 0, big.cols - out.width);
    return big(cv::Rect(x, y, out.width, out.height)).clone();
  }
  std::string describe() const override {
    return detail::concat("scale_jitter(min_side=", o_.min_side, ", max_side=", o_.max_side,
                          ", size=", detail::size_str(o_.height, o_.width), ")");
  }

 private:
  ScaleJitterOptions o_;
};
}  // namespace

TransformPtr random_resized_crop(RandomResizedCropOptions options) {
  return std::make_shared<RandomResizedCrop>(options);
}
TransformPtr scale_jitter(ScaleJitterOptions options) {
  return std::make_shared<ScaleJitter>(options);
}

}  // namespace convkit::data
