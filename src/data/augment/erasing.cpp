// Occlusion: random_erasing (Zhong et al. 2020) and cutout (DeVries & Taylor 2017).
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

#include "common.h"

namespace convkit::data {

namespace {
class RandomErasing : public Transform {
 public:
  explicit RandomErasing(RandomErasingOptions o) : o_(o) {
    detail::check_probability(o_.p, "random_erasing");
    detail::check_range(o_.scale, 0, "random_erasing", "scale");
    CONVKIT_CHECK(o_.scale.second < 1, "random_erasing: scale must stay below 1, got ",
                  o_.scale.second);
    detail::check_range(o_.ratio, 0, "random_erasing", "ratio");
    CONVKIT_CHECK(o_.value >= 0 && o_.value <= 255,
                  "random_erasing: value must lie in [0, 255], got ", o_.value);
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "random_erasing");
    if (rng.uniform() >= o_.p) return image;
    const double area = double(image.rows) * double(image.cols);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * rng.uniform(o_.scale.first, o_.scale.second);
      const double aspect = detail::log_uniform(rng, o_.ratio);
      const int h = int(std::lround(std::sqrt(target * aspect)));
      const int w = int(std::lround(std::sqrt(target / aspect)));
      if (h < 1 || w < 1 || h >= image.rows || w >= image.cols) continue;
      const int y = detail::uniform_int(rng, 0, image.rows - h);
      const int x = detail::uniform_int(rng, 0, image.cols - w);
      cv::Mat out = image.clone();
      cv::Mat patch = out(cv::Rect(x, y, w, h));
      if (o_.random_value) {
        cv::RNG noise(rng.next_u64());  // OpenCV's filler, seeded from our stream
        noise.fill(patch, cv::RNG::UNIFORM, 0, 256);
      } else {
        patch.setTo(cv::Scalar::all(o_.value));
      }
      return out;
    }
    return image;
  }
  std::string describe() const override {
    return detail::concat(
        "random_erasing(p=", o_.p, ", scale=[", o_.scale.first, ", ", o_.scale.second, "], ratio=[",
        o_.ratio.first, ", ", o_.ratio.second, "], ",
        o_.random_value ? std::string("value=random") : detail::concat("value=", o_.value), ")");
  }

 private:
  RandomErasingOptions o_;
};

class Cutout : public Transform {
 public:
  Cutout(int size, double p, double value) : size_(size), p_(p), value_(value) {
    CONVKIT_CHECK(size_ > 0, "cutout: size must be positive, got ", size_);
    detail::check_probability(p_, "cutout");
    CONVKIT_CHECK(value_ >= 0 && value_ <= 255, "cutout: value must lie in [0, 255], got ", value_);
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "cutout");
    if (rng.uniform() >= p_) return image;
    const int cy = detail::uniform_int(rng, 0, image.rows - 1);
    const int cx = detail::uniform_int(rng, 0, image.cols - 1);
    // The square may hang over the border (the paper's choice: smaller effective patches there).
    const cv::Rect square(cx - size_ / 2, cy - size_ / 2, size_, size_);
    const cv::Rect inside = square & cv::Rect(0, 0, image.cols, image.rows);
    cv::Mat out = image.clone();
    out(inside).setTo(cv::Scalar::all(value_));
    return out;
  }
  std::string describe() const override {
    return detail::concat("cutout(size=", size_, ", p=", p_, ", value=", value_, ")");
  }

 private:
  int size_;
  double p_, value_;
};
}  // namespace

TransformPtr random_erasing(RandomErasingOptions options) {
  return std::make_shared<RandomErasing>(options);
}
TransformPtr cutout(int size, double p, double value) {
  return std::make_shared<Cutout>(size, p, value);
}

}  // namespace convkit::data
