// Box-aware geometric augmentation (contract in include/convkit/data/detection.h): one affine map
// for the pixels and the boxes, so they cannot disagree.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "convkit/data/detection.h"
#include "convkit/error.h"

namespace convkit::data {

void check_box_augment_options(const BoxAugmentOptions& o) {
  CONVKIT_CHECK(o.hflip >= 0 && o.hflip <= 1,
                "box augmentation: hflip must be a probability in "
                "[0, 1], got ",
                o.hflip);
  CONVKIT_CHECK(o.scale_min > 0 && o.scale_min <= o.scale_max,
                "box augmentation: need 0 < scale_min <= scale_max, got ", o.scale_min, " and ",
                o.scale_max);
  CONVKIT_CHECK(o.translate >= 0 && o.translate < 1,
                "box augmentation: translate must be in [0, 1) (a fraction of the image), got ",
                o.translate);
  CONVKIT_CHECK(o.min_visible > 0 && o.min_visible <= 1,
                "box augmentation: min_visible must be in (0, 1], got ", o.min_visible);
}

void augment_with_boxes(cv::Mat& image, std::vector<ObjectBox>& objects, const BoxAugmentOptions& o,
                        Generator& gen) {
  const double W = image.cols, H = image.rows;
  const bool flip = gen.uniform() < o.hflip;
  const double s = gen.uniform(o.scale_min, o.scale_max);
  // Scale about the centre, then shift: x' = s (x - W/2) + W/2 + tx.
  const double tx = gen.uniform(-o.translate, o.translate) * W;
  const double ty = gen.uniform(-o.translate, o.translate) * H;
  const double a = flip ? -s : s;
  const double bx = flip ? s * W / 2 + W / 2 + tx : -s * W / 2 + W / 2 + tx;
  const double by = -s * H / 2 + H / 2 + ty;
  // Pixel centres sit at +0.5 in continuous coordinates: map centre to centre.
  const cv::Mat m = (cv::Mat_<double>(2, 3) << a, 0, bx + 0.5 * a - 0.5, 0, s, by + 0.5 * s - 0.5);
  cv::Mat out;
  cv::warpAffine(image, out, m, image.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar::all(o.fill));
  image = out;
  std::vector<ObjectBox> kept;
  for (ObjectBox ob : objects) {
    const double x1 = a * ob.box.x1 + bx, x2 = a * ob.box.x2 + bx;
    detect::Box t{float(std::min(x1, x2)), float(s * ob.box.y1 + by), float(std::max(x1, x2)),
                  float(s * ob.box.y2 + by)};
    const double full = double(t.area());
    t = {std::clamp(t.x1, 0.0f, float(W)), std::clamp(t.y1, 0.0f, float(H)),
         std::clamp(t.x2, 0.0f, float(W)), std::clamp(t.y2, 0.0f, float(H))};
    if (t.area() <= 0 || double(t.area()) < o.min_visible * full) continue;
    ob.box = t;
    kept.push_back(ob);
  }
  objects = std::move(kept);
}

}  // namespace convkit::data
