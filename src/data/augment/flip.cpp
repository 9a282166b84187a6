#include <opencv2/core.hpp>

#include "common.h"

namespace convkit::data {

namespace {
class Flip : public Transform {
 public:
  // flip_code as cv::flip: 1 mirrors left-right, 0 top-bottom.
  Flip(double p, int flip_code) : p_(p), code_(flip_code) { detail::check_probability(p_, name()); }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, name());
    if (rng.uniform() >= p_) return image;
    cv::Mat out;
    cv::flip(image, out, code_);
    return out;
  }
  std::string describe() const override { return detail::concat(name(), "(p=", p_, ")"); }

 private:
  const char* name() const { return code_ == 1 ? "horizontal_flip" : "vertical_flip"; }
  double p_;
  int code_;
};
}  // namespace

TransformPtr horizontal_flip(double p) { return std::make_shared<Flip>(p, 1); }
TransformPtr vertical_flip(double p) { return std::make_shared<Flip>(p, 0); }

}  // namespace convkit::data
