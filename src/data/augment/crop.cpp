// Fixed-size crops and resizes: resize, center_crop, random_crop (pad, then crop).
#include <opencv2/core.hpp>

#include "common.h"

namespace convkit::data {

namespace {
void check_size(int height, int width, bool zero_ok, const char* transform) {
  CONVKIT_CHECK((height > 0 && width > 0) || (zero_ok && height == 0 && width == 0), transform,
                ": size must be positive", zero_ok ? " (or 0 for the input's size)" : "", ", got ",
                height, "x", width);
}

class Resize : public Transform {
 public:
  Resize(int h, int w) : h_(h), w_(w) { check_size(h, w, false, "resize"); }
  cv::Mat apply(const cv::Mat& image, Generator&) const override {
    detail::check_image(image, "resize");
    return detail::resize_to(image, {w_, h_});
  }
  std::string describe() const override { return "resize(size=" + detail::size_str(h_, w_) + ")"; }

 private:
  int h_, w_;
};

class CenterCrop : public Transform {
 public:
  CenterCrop(int h, int w) : h_(h), w_(w) { check_size(h, w, false, "center_crop"); }
  cv::Mat apply(const cv::Mat& image, Generator&) const override {
    detail::check_image(image, "center_crop");
    CONVKIT_CHECK(h_ <= image.rows && w_ <= image.cols, "center_crop: a ", h_, "x", w_,
                  " crop does not fit in a ", image.rows, "x", image.cols, " image");
    return image(cv::Rect((image.cols - w_) / 2, (image.rows - h_) / 2, w_, h_)).clone();
  }
  std::string describe() const override {
    return "center_crop(size=" + detail::size_str(h_, w_) + ")";
  }

 private:
  int h_, w_;
};

class RandomCrop : public Transform {
 public:
  explicit RandomCrop(RandomCropOptions o) : o_(o) {
    check_size(o_.height, o_.width, true, "random_crop");
    CONVKIT_CHECK(o_.padding >= 0, "random_crop: padding must be non-negative, got ", o_.padding);
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "random_crop");
    const cv::Size out = detail::output_size(image, o_.height, o_.width);
    const int p = o_.padding;
    CONVKIT_CHECK(out.height <= image.rows + 2 * p && out.width <= image.cols + 2 * p,
                  "random_crop: a ", out.height, "x", out.width, " crop does not fit in a ",
                  image.rows, "x", image.cols, " image padded by ", p);
    cv::Mat padded = image;
    if (p > 0)
      cv::copyMakeBorder(image, padded, p, p, p, p, detail::border_type(o_.fill.mode),
                         detail::fill_scalar(o_.fill));
    const int y = detail::uniform_int(rng, 0, padded.rows - out.height);
    const int x = detail::uniform_int(rng, 0, padded.cols - out.width);
    return padded(cv::Rect(x, y, out.width, out.height)).clone();
  }
  std::string describe() const override {
    return detail::concat("random_crop(size=", detail::size_str(o_.height, o_.width),
                          ", padding=", o_.padding, ", ", detail::describe_fill(o_.fill), ")");
  }

 private:
  RandomCropOptions o_;
};
}  // namespace

TransformPtr resize(int height, int width) { return std::make_shared<Resize>(height, width); }
TransformPtr center_crop(int height, int width) {
  return std::make_shared<CenterCrop>(height, width);
}
TransformPtr random_crop(RandomCropOptions options) {
  return std::make_shared<RandomCrop>(options);
}

namespace detail {
void check_crop_size(int height, int width, const char* transform) {
  check_size(height, width, true, transform);
}
}  // namespace detail

}  // namespace convkit::data
