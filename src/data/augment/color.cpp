// Photometric jitter: color_jitter (brightness, contrast, saturation) and channel_shift.
#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "common.h"

namespace convkit::data {

namespace {
class ColorJitter : public Transform {
 public:
  explicit ColorJitter(ColorJitterOptions o) : o_(o) {
    CONVKIT_CHECK(o_.brightness >= 0 && o_.contrast >= 0 && o_.saturation >= 0,
                  "color_jitter: brightness, contrast and saturation must be non-negative, got ",
                  o_.brightness, ", ", o_.contrast, ", ", o_.saturation);
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "color_jitter");
    // torchvision draws the order first, then one factor per adjustment in that order.
    int order[3] = {0, 1, 2};
    for (int i = 2; i > 0; --i) std::swap(order[i], order[detail::uniform_int(rng, 0, i)]);
    const double amount[3] = {o_.brightness, o_.contrast, o_.saturation};
    // Each step writes a new Mat: `out` starts as the caller's image, which must stay untouched.
    cv::Mat out = image;
    for (int which : order) {
      if (amount[which] <= 0) continue;
      const double f = rng.uniform(std::max(0.0, 1 - amount[which]), 1 + amount[which]);
      cv::Mat next;
      if (which == 0) {
        out.convertTo(next, -1, f, 0);
      } else if (which == 1) {
        out.convertTo(next, -1, f, (1 - f) * cv::mean(grey(out))[0]);
      } else if (out.channels() == 3) {
        cv::Mat grey3;
        cv::cvtColor(grey(out), grey3, cv::COLOR_GRAY2RGB);
        cv::addWeighted(out, f, grey3, 1 - f, 0, next);
      } else {
        continue;  // saturation of a grey image: nothing to blend
      }
      out = next;
    }
    return out;
  }
  std::string describe() const override {
    return detail::concat("color_jitter(brightness=", o_.brightness, ", contrast=", o_.contrast,
                          ", saturation=", o_.saturation, ")");
  }

 private:
  static cv::Mat grey(const cv::Mat& image) {
    if (image.channels() == 1) return image;
    cv::Mat g;
    cv::cvtColor(image, g, cv::COLOR_RGB2GRAY);
    return g;
  }
  ColorJitterOptions o_;
};

class ChannelShift : public Transform {
 public:
  explicit ChannelShift(double range) : range_(range) {
    CONVKIT_CHECK(range_ >= 0 && range_ <= 255, "channel_shift: range must lie in [0, 255], got ",
                  range_);
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "channel_shift");
    cv::Scalar shift;
    for (int c = 0; c < image.channels(); ++c) shift[c] = rng.uniform(-range_, range_);
    cv::Mat out;
    cv::add(image, shift, out);  // saturates at 0 and 255
    return out;
  }
  std::string describe() const override {
    return detail::concat("channel_shift(range=", range_, ")");
  }

 private:
  double range_;
};
}  // namespace

TransformPtr color_jitter(ColorJitterOptions options) {
  return std::make_shared<ColorJitter>(options);
}
TransformPtr channel_shift(double range) { return std::make_shared<ChannelShift>(range); }

}  // namespace convkit::data
