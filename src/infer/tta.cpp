#include "convkit/infer/tta.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::infer {

namespace {
std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

double parse_number(const std::string& item, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  CONVKIT_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(v), "--tta: '",
                item, "' needs a number after '='");
  return v;
}

Tensor mirrored(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const int64_t w = x.size(3), rows = x.numel() / w;
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  for (int64_t r = 0; r < rows; ++r) std::reverse_copy(src + r * w, src + (r + 1) * w, dst + r * w);
  return y;
}
}  // namespace

std::vector<TtaView> tta_views(const TtaOptions& o) {
  CONVKIT_CHECK(o.crop_fraction > 0 && o.crop_fraction < 1,
                "TTA: the crop fraction must be in (0, 1), got ", o.crop_fraction);
  std::vector<TtaView> base{{0, 0, 1, false, "identity"}};
  if (o.five_crops) {
    const double s = o.crop_fraction, far = 1 - s, mid = (1 - s) / 2;
    base.push_back({0, 0, s, false, "crop top-left"});
    base.push_back({far, 0, s, false, "crop top-right"});
    base.push_back({0, far, s, false, "crop bottom-left"});
    base.push_back({far, far, s, false, "crop bottom-right"});
    base.push_back({mid, mid, s, false, "crop centre"});
  }
  for (double z : o.zooms) {
    CONVKIT_CHECK(z > 1 && z <= 4, "TTA: a zoom must be in (1, 4], got ", z);
    const double s = 1 / z;
    base.push_back({(1 - s) / 2, (1 - s) / 2, s, false, "zoom " + number(z)});
  }
  std::vector<TtaView> views = base;
  if (o.flip)
    for (TtaView v : base) {
      v.flip = true;
      v.name = v.name == "identity" ? "flip" : v.name + " flip";
      views.push_back(v);
    }
  return views;
}

TtaOptions parse_tta(const std::string& spec) {
  TtaOptions o;
  std::stringstream in(spec);
  std::string item;
  bool any = false;
  while (std::getline(in, item, ',')) {
    any = true;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "flip" && eq == std::string::npos) {
      o.flip = true;
    } else if (key == "5crop") {
      o.five_crops = true;
      if (eq != std::string::npos) o.crop_fraction = parse_number(item, value);
    } else if (key == "zoom" && eq != std::string::npos) {
      o.zooms.push_back(parse_number(item, value));
    } else {
      throw Error("--tta: unknown view '" + item +
                  "' (use a comma-separated list of flip, 5crop, 5crop=FRACTION, zoom=FACTOR)");
    }
  }
  CONVKIT_CHECK(any, "--tta: no views given (e.g. --tta flip,5crop)");
  tta_views(o);  // checks the numbers
  return o;
}

std::string describe(const TtaOptions& o) {
  std::vector<std::string> parts;
  if (o.flip) parts.push_back("flip");
  if (o.five_crops) parts.push_back("5 crops (" + number(o.crop_fraction) + ")");
  for (double z : o.zooms) parts.push_back("zoom " + number(z));
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : " + ") + p;
  return (s.empty() ? std::string("identity") : s) + ": " + std::to_string(tta_views(o).size()) +
         " views";
}

Tensor tta_view(const Tensor& batch, const TtaView& v) {
  CONVKIT_CHECK(batch.ndim() == 4 && batch.dtype() == DType::f32,
                "TTA: expected a float32 batch [N, C, H, W], got ", batch.shape().to_string());
  NoGradGuard no_grad;
  const int64_t h = batch.size(2), w = batch.size(3);
  Tensor x = batch;
  if (v.side < 1) {
    // The window in whole pixels, at least 1 x 1 and inside the image.
    const int64_t ch = std::clamp<int64_t>(std::llround(v.side * double(h)), 1, h);
    const int64_t cw = std::clamp<int64_t>(std::llround(v.side * double(w)), 1, w);
    const int64_t top = std::clamp<int64_t>(std::llround(v.y0 * double(h)), 0, h - ch);
    const int64_t left = std::clamp<int64_t>(std::llround(v.x0 * double(w)), 0, w - cw);
    x = narrow(narrow(x, 2, top, ch), 3, left, cw);
    x = upsample_bilinear2d(x, {.out_h = h, .out_w = w, .align_corners = false});
  }
  return v.flip ? mirrored(x) : (v.side < 1 ? x : x.clone());
}

}  // namespace convkit::infer
