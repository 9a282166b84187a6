// Affine warps: the fixed `affine` and Keras-style `random_affine`, each one cv::warpAffine.
#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>

#include "common.h"

namespace convkit::data {

// R is the counter-clockwise rotation as seen on screen (y points down; cv::getRotationMatrix2D's
// convention), Shear = [[1, tan s], [0, 1]]; the centre c = ((W-1)/2, (H-1)/2) stays in place.
std::vector<double> affine_matrix(int height, int width, const AffineParams& p) {
  const double rad = std::numbers::pi / 180.0;
  const double c = std::cos(p.rotation * rad), s = std::sin(p.rotation * rad);
  const double k = std::tan(p.shear * rad);
  // A = R * Shear * zoom, R = [[c, s], [-s, c]].
  const double a00 = c * p.zoom, a01 = (c * k + s) * p.zoom;
  const double a10 = -s * p.zoom, a11 = (-s * k + c) * p.zoom;
  const double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
  return {a00, a01, cx + p.shift_x - (a00 * cx + a01 * cy),
          a10, a11, cy + p.shift_y - (a10 * cx + a11 * cy)};
}

namespace {
cv::Mat warp(const cv::Mat& image, const AffineParams& p, const Fill& fill) {
  std::vector<double> m = affine_matrix(image.rows, image.cols, p);
  cv::Mat out;
  cv::warpAffine(image, out, cv::Mat(2, 3, CV_64F, m.data()), image.size(), cv::INTER_LINEAR,
                 detail::border_type(fill.mode), detail::fill_scalar(fill));
  return out;
}

class Affine : public Transform {
 public:
  Affine(AffineParams p, Fill fill) : p_(p), fill_(fill) {
    CONVKIT_CHECK(p_.zoom > 0, "affine: zoom must be positive, got ", p_.zoom);
  }
  cv::Mat apply(const cv::Mat& image, Generator&) const override {
    detail::check_image(image, "affine");
    return warp(image, p_, fill_);
  }
  std::string describe() const override {
    return detail::concat("affine(rotation=", p_.rotation, ", shift=[", p_.shift_x, ", ",
                          p_.shift_y, "], shear=", p_.shear, ", zoom=", p_.zoom, ", ",
                          detail::describe_fill(fill_), ")");
  }

 private:
  AffineParams p_;
  Fill fill_;
};

class RandomAffine : public Transform {
 public:
  explicit RandomAffine(AffineOptions o) : o_(o) {
    CONVKIT_CHECK(o_.rotation >= 0 && o_.rotation <= 180,
                  "random_affine: rotation must lie in [0, 180] degrees, got ", o_.rotation);
    CONVKIT_CHECK(
        o_.width_shift >= 0 && o_.width_shift < 1 && o_.height_shift >= 0 && o_.height_shift < 1,
        "random_affine: shifts are fractions of the size in [0, 1), got width_shift ",
        o_.width_shift, " and height_shift ", o_.height_shift);
    CONVKIT_CHECK(o_.shear >= 0 && o_.shear < 90,
                  "random_affine: shear must lie in [0, 90) degrees, got ", o_.shear);
    CONVKIT_CHECK(o_.zoom >= 0 && o_.zoom < 1, "random_affine: zoom must lie in [0, 1), got ",
                  o_.zoom);
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "random_affine");
    AffineParams p;
    p.rotation = rng.uniform(-o_.rotation, o_.rotation);
    p.shift_x = rng.uniform(-o_.width_shift, o_.width_shift) * image.cols;
    p.shift_y = rng.uniform(-o_.height_shift, o_.height_shift) * image.rows;
    p.shear = rng.uniform(-o_.shear, o_.shear);
    p.zoom = rng.uniform(1 - o_.zoom, 1 + o_.zoom);
    return warp(image, p, o_.fill);
  }
  std::string describe() const override {
    return detail::concat("random_affine(rotation=", o_.rotation, ", width_shift=", o_.width_shift,
                          ", height_shift=", o_.height_shift, ", shear=", o_.shear,
                          ", zoom=", o_.zoom, ", ", detail::describe_fill(o_.fill), ")");
  }

 private:
  AffineOptions o_;
};
}  // namespace

TransformPtr affine(AffineParams params, Fill fill) {
  return std::make_shared<Affine>(params, fill);
}
TransformPtr random_affine(AffineOptions options) {
  return std::make_shared<RandomAffine>(options);
}

}  // namespace convkit::data
