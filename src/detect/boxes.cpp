// Box formats, IoU, GIoU, NMS and soft-NMS (contract in include/convkit/detect/boxes.h).
//
// The arithmetic follows torchvision.ops in float32 step for step (area = w * h, inter = max(0,
// w) * max(0, h), iou = inter / (area_a + area_b - inter)) so that comparisons against a threshold
// fall the same way and the kept indices match exactly.
#include "convkit/detect/boxes.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "convkit/error.h"

namespace convkit::detect {

const char* box_format_name(BoxFormat f) {
  switch (f) {
    case BoxFormat::xyxy:
      return "xyxy";
    case BoxFormat::xywh:
      return "xywh";
    case BoxFormat::cxcywh:
      return "cxcywh";
  }
  return "?";
}

namespace {

float intersection(const Box& a, const Box& b) {
  const float w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  return w * h;
}

void check_n4(const Tensor& boxes, const char* op, const char* what) {
  CONVKIT_CHECK(boxes.dtype() == DType::f32 && boxes.ndim() == 2 && boxes.size(1) == 4, op, ": ",
                what, " must be float32 [N, 4], got ", dtype_name(boxes.dtype()), " ",
                boxes.shape().to_string());
}

void check_threshold(double t, const char* op) {
  CONVKIT_CHECK(t >= 0.0 && t <= 1.0, op, ": iou_threshold must be in [0, 1], got ", t);
}

// Scores as floats, checked against the box count and for finiteness (a NaN score has no place in
// a descending order).
std::vector<float> checked_scores(const Tensor& scores, int64_t n, const char* op) {
  CONVKIT_CHECK(scores.dtype() == DType::f32 && scores.ndim() == 1 && scores.size(0) == n, op,
                ": scores must be float32 [", n, "] (one per box), got ",
                dtype_name(scores.dtype()), " ", scores.shape().to_string());
  const float* s = scores.data<float>();
  for (int64_t i = 0; i < n; ++i)
    CONVKIT_CHECK(std::isfinite(s[i]), op, ": score ", i, " is ", s[i],
                  "; scores must be finite (check the model's output for divergence)");
  return std::vector<float>(s, s + n);
}

// Indices by decreasing score, equal scores by increasing index (torch.sort(stable=True)).
std::vector<int64_t> order_by_score(const std::vector<float>& s) {
  std::vector<int64_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
  return order;
}

Tensor index_tensor(const std::vector<int64_t>& idx) {
  return Tensor::from_vector(idx, Shape({int64_t(idx.size())}));
}

template <class F>
Tensor pairwise(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_n4(a, op, "boxes1");
  check_n4(b, op, "boxes2");
  const std::vector<Box> ba = to_boxes(a, "boxes1"), bb = to_boxes(b, "boxes2");
  Tensor out = Tensor::empty({a.size(0), b.size(0)});
  float* o = out.data<float>();
  for (std::size_t i = 0; i < ba.size(); ++i)
    for (std::size_t j = 0; j < bb.size(); ++j) o[i * bb.size() + j] = f(ba[i], bb[j]);
  return out;
}

}  // namespace

float iou(const Box& a, const Box& b) {
  const float inter = intersection(a, b);
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

float giou(const Box& a, const Box& b) {
  const float inter = intersection(a, b);
  const float uni = a.area() + b.area() - inter;
  const float i = uni > 0 ? inter / uni : 0.0f;
  const Box c{std::min(a.x1, b.x1), std::min(a.y1, b.y1), std::max(a.x2, b.x2),
              std::max(a.y2, b.y2)};
  const float enclosing = c.area();
  return enclosing > 0 ? i - (enclosing - uni) / enclosing : 0.0f;
}

std::vector<Box> to_boxes(const Tensor& boxes, const char* what) {
  check_n4(boxes, "to_boxes", what);
  const float* p = boxes.data<float>();
  std::vector<Box> out(boxes.size(0));
  for (int64_t i = 0; i < boxes.size(0); ++i) {
    const Box b{p[4 * i], p[4 * i + 1], p[4 * i + 2], p[4 * i + 3]};
    CONVKIT_CHECK(std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) &&
                      std::isfinite(b.y2) && b.x1 <= b.x2 && b.y1 <= b.y2,
                  what, ": box ", i, " is [", b.x1, ", ", b.y1, ", ", b.x2, ", ", b.y2,
                  "]; boxes must be finite xyxy with x1 <= x2 and y1 <= y2 (convert other formats "
                  "with box_convert)");
    out[i] = b;
  }
  return out;
}

Tensor to_tensor(const std::vector<Box>& boxes) {
  Tensor out = Tensor::empty({int64_t(boxes.size()), 4});
  float* p = out.data<float>();
  for (const Box& b : boxes) {
    *p++ = b.x1;
    *p++ = b.y1;
    *p++ = b.x2;
    *p++ = b.y2;
  }
  return out;
}

Tensor box_convert(const Tensor& boxes, BoxFormat in, BoxFormat out) {
  check_n4(boxes, "box_convert", "boxes");
  Tensor r = Tensor::empty(boxes.shape());
  const float* s = boxes.data<float>();
  float* d = r.data<float>();
  for (int64_t i = 0; i < boxes.size(0); ++i, s += 4, d += 4) {
    float x1 = s[0], y1 = s[1], x2 = s[2], y2 = s[3];  // to corners first
    if (in == BoxFormat::xywh) {
      x2 = s[0] + s[2];
      y2 = s[1] + s[3];
    } else if (in == BoxFormat::cxcywh) {
      x1 = s[0] - 0.5f * s[2];
      y1 = s[1] - 0.5f * s[3];
      x2 = s[0] + 0.5f * s[2];
      y2 = s[1] + 0.5f * s[3];
    }
    if (out == BoxFormat::xyxy) {
      d[0] = x1, d[1] = y1, d[2] = x2, d[3] = y2;
    } else if (out == BoxFormat::xywh) {
      d[0] = x1, d[1] = y1, d[2] = x2 - x1, d[3] = y2 - y1;
    } else {
      d[0] = (x1 + x2) / 2, d[1] = (y1 + y2) / 2, d[2] = x2 - x1, d[3] = y2 - y1;
    }
  }
  return r;
}

Tensor box_area(const Tensor& boxes) {
  check_n4(boxes, "box_area", "boxes");
  Tensor out = Tensor::empty({boxes.size(0)});
  const float* p = boxes.data<float>();
  float* o = out.data<float>();
  for (int64_t i = 0; i < boxes.size(0); ++i)
    o[i] = (p[4 * i + 2] - p[4 * i]) * (p[4 * i + 3] - p[4 * i + 1]);
  return out;
}

Tensor box_iou(const Tensor& a, const Tensor& b) { return pairwise(a, b, "box_iou", iou); }

Tensor generalized_box_iou(const Tensor& a, const Tensor& b) {
  return pairwise(a, b, "generalized_box_iou", giou);
}

Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold) {
  check_n4(boxes, "nms", "boxes");
  check_threshold(iou_threshold, "nms");
  const std::vector<float> s = checked_scores(scores, boxes.size(0), "nms");
  const std::vector<Box> b = to_boxes(boxes, "nms: boxes");
  const std::vector<int64_t> order = order_by_score(s);
  std::vector<char> suppressed(b.size(), 0);
  std::vector<int64_t> keep;
  for (std::size_t oi = 0; oi < order.size(); ++oi) {
    const int64_t i = order[oi];
    if (suppressed[i]) continue;
    keep.push_back(i);
    for (std::size_t oj = oi + 1; oj < order.size(); ++oj) {
      const int64_t j = order[oj];
      // A zero union (two zero-area boxes) never suppresses, as torchvision's NaN ratio.
      const float inter = intersection(b[i], b[j]);
      const float uni = b[i].area() + b[j].area() - inter;
      if (!suppressed[j] && uni > 0 && inter / uni > iou_threshold) suppressed[j] = 1;
    }
  }
  return index_tensor(keep);
}

Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes,
                   double iou_threshold) {
  check_n4(boxes, "batched_nms", "boxes");
  const int64_t n = boxes.size(0);
  CONVKIT_CHECK(classes.dtype() == DType::i64 && classes.ndim() == 1 && classes.size(0) == n,
                "batched_nms: classes must be int64 [", n, "] (one per box), got ",
                dtype_name(classes.dtype()), " ", classes.shape().to_string());
  const std::vector<float> s = checked_scores(scores, n, "batched_nms");
  const int64_t* c = classes.data<int64_t>();
  std::vector<int64_t> keep;
  std::vector<int64_t> distinct(c, c + n);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (int64_t cls : distinct) {
    std::vector<int64_t> members;
    for (int64_t i = 0; i < n; ++i)
      if (c[i] == cls) members.push_back(i);
    Tensor sub_boxes = Tensor::empty({int64_t(members.size()), 4});
    Tensor sub_scores = Tensor::empty({int64_t(members.size())});
    for (std::size_t k = 0; k < members.size(); ++k) {
      std::copy_n(boxes.data<float>() + 4 * members[k], 4, sub_boxes.data<float>() + 4 * k);
      sub_scores.data<float>()[k] = s[members[k]];
    }
    const Tensor kept = nms(sub_boxes, sub_scores, iou_threshold);
    for (int64_t k = 0; k < kept.numel(); ++k) keep.push_back(members[kept.data<int64_t>()[k]]);
  }
  std::stable_sort(keep.begin(), keep.end(),
                   [&](int64_t a, int64_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
  return index_tensor(keep);
}

SoftNmsResult soft_nms(const Tensor& boxes, const Tensor& scores, const SoftNmsOptions& opt) {
  check_n4(boxes, "soft_nms", "boxes");
  check_threshold(opt.iou_threshold, "soft_nms");
  CONVKIT_CHECK(opt.sigma > 0, "soft_nms: sigma must be > 0, got ", opt.sigma);
  std::vector<float> s = checked_scores(scores, boxes.size(0), "soft_nms");
  const std::vector<Box> b = to_boxes(boxes, "soft_nms: boxes");
  std::vector<int64_t> pending(b.size());
  std::iota(pending.begin(), pending.end(), 0);
  std::vector<int64_t> keep;
  std::vector<float> kept_scores;
  while (!pending.empty()) {
    // The highest remaining (decayed) score, lowest index on ties.
    auto best = std::min_element(pending.begin(), pending.end(), [&](int64_t x, int64_t y) {
      return s[x] > s[y] || (s[x] == s[y] && x < y);
    });
    const int64_t m = *best;
    pending.erase(best);
    if (s[m] < opt.score_threshold) break;  // every other pending score is lower still
    keep.push_back(m);
    kept_scores.push_back(s[m]);
    for (int64_t j : pending) {
      const double o = iou(b[m], b[j]);
      if (opt.method == SoftNmsMethod::linear) {
        if (o > opt.iou_threshold) s[j] = float(s[j] * (1.0 - o));
      } else {
        s[j] = float(s[j] * std::exp(-o * o / opt.sigma));
      }
    }
  }
  return {index_tensor(keep),
          Tensor::from_vector(kept_scores, Shape({int64_t(kept_scores.size())}))};
}

}  // namespace convkit::detect
