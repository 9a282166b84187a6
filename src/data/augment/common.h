#pragma once
// Helpers shared by the transform families: argument checks and random draws.
#include <cmath>
#include <opencv2/core.hpp>
#include <string>
#include <utility>

#include "convkit/data/augment.h"
#include "convkit/error.h"

namespace convkit::data::detail {

using convkit::detail::concat;

int border_type(FillMode mode);
cv::Scalar fill_scalar(const Fill& fill);
std::string describe_fill(const Fill& fill);

// Throws unless `image` is CV_8UC1 or CV_8UC3, naming the transform.
void check_image(const cv::Mat& image, const char* transform);
// "28x32" style (height x width), "input" for 0.
std::string size_str(int height, int width);
// (height, width) with zeros replaced by the image's own size.
cv::Size output_size(const cv::Mat& image, int height, int width);

inline int uniform_int(Generator& rng, int lo, int hi) {  // inclusive
  int v = lo + int(rng.uniform() * double(hi - lo + 1));
  return v > hi ? hi : v;
}
inline double log_uniform(Generator& rng, std::pair<double, double> range) {
  return std::exp(rng.uniform(std::log(range.first), std::log(range.second)));
}
// Resizes to `size`: area averaging when shrinking both sides (no aliasing), bilinear otherwise.
cv::Mat resize_to(const cv::Mat& image, cv::Size size);
// Throws unless height and width are both positive or both 0 (the input's size).
void check_crop_size(int height, int width, const char* transform);
void check_probability(double p, const char* transform);
void check_range(std::pair<double, double> r, double lo, const char* transform, const char* name);

}  // namespace convkit::data::detail
