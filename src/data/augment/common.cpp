#include "common.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace convkit::data {

FillMode parse_fill_mode(const std::string& name) {
  if (name == "constant") return FillMode::constant;
  if (name == "nearest") return FillMode::nearest;
  if (name == "reflect") return FillMode::reflect;
  if (name == "wrap") return FillMode::wrap;
  throw Error("fill mode '" + name + "' is not one of constant, nearest, reflect, wrap");
}

std::string to_string(FillMode mode) {
  switch (mode) {
    case FillMode::constant:
      return "constant";
    case FillMode::nearest:
      return "nearest";
    case FillMode::reflect:
      return "reflect";
    case FillMode::wrap:
      return "wrap";
  }
  return "?";
}

namespace detail {

int border_type(FillMode mode) {
  switch (mode) {
    case FillMode::constant:
      return cv::BORDER_CONSTANT;
    case FillMode::nearest:
      return cv::BORDER_REPLICATE;
    case FillMode::reflect:
      return cv::BORDER_REFLECT;
    case FillMode::wrap:
      return cv::BORDER_WRAP;
  }
  return cv::BORDER_CONSTANT;
}

cv::Scalar fill_scalar(const Fill& fill) { return cv::Scalar::all(fill.value); }

std::string describe_fill(const Fill& fill) {
  if (fill.mode != FillMode::constant || fill.value == 0) return "fill=" + to_string(fill.mode);
  return concat("fill=constant, fill_value=", fill.value);
}

void check_image(const cv::Mat& image, const char* transform) {
  CONVKIT_CHECK(
      !image.empty() && image.depth() == CV_8U && (image.channels() == 1 || image.channels() == 3),
      transform, ": expected a non-empty 8-bit image with 1 or 3 channels, got ", image.rows, "x",
      image.cols, " with ", image.channels(), " channels of depth ", image.depth());
}

std::string size_str(int height, int width) {
  if (height == 0 && width == 0) return "input";
  return concat(height, "x", width);
}

cv::Size output_size(const cv::Mat& image, int height, int width) {
  return {width > 0 ? width : image.cols, height > 0 ? height : image.rows};
}

cv::Mat resize_to(const cv::Mat& image, cv::Size size) {
  if (image.size() == size) return image.isContinuous() ? image : image.clone();
  const bool shrink = size.width <= image.cols && size.height <= image.rows;
  cv::Mat out;
  cv::resize(image, out, size, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

void check_probability(double p, const char* transform) {
  CONVKIT_CHECK(p >= 0 && p <= 1, transform, ": probability p must lie in [0, 1], got ", p);
}

void check_range(std::pair<double, double> r, double lo, const char* transform, const char* name) {
  CONVKIT_CHECK(r.first > lo && r.first <= r.second, transform, ": ", name,
                " must be an interval (min, max) with ", lo, " < min <= max, got (", r.first, ", ",
                r.second, ")");
}

}  // namespace detail
}  // namespace convkit::data
