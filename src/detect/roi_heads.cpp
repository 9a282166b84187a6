// The Faster R-CNN box head (contract in include/convkit/detect/roi_heads.h), following
// torchvision 0.14's detection/roi_heads.py: select_training_samples, fastrcnn_loss and
// postprocess_detections on one feature map.
#include "convkit/detect/roi_heads.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/detect/box_coder.h"
#include "convkit/detect/class_nms.h"
#include "convkit/error.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/indexing.h"
#include "convkit/ops/loss.h"
#include "convkit/ops/reduce.h"

namespace convkit::detect {

namespace {

const BoxCoderWeights kRoiWeights{10, 10, 5, 5};

Tensor index_tensor(const std::vector<int64_t>& v) {
  return Tensor::from_vector(v, Shape({int64_t(v.size())}));
}

}  // namespace

RoiSamples sample_rois(const std::vector<Proposals>& proposals,
                       const std::vector<ImageTargets>& targets, const RoiHeadsOptions& o,
                       Generator& gen) {
  CONVKIT_CHECK(proposals.size() == targets.size(), "sample_rois: ", proposals.size(),
                " images of proposals but ", targets.size(), " of targets");
  const BoxCoder coder(kRoiWeights);
  std::vector<float> rois, box_targets;
  std::vector<int64_t> labels_out;
  RoiSamples s;
  for (size_t n = 0; n < proposals.size(); ++n) {
    const ImageTargets& t = targets[n];
    std::vector<Box> boxes =
        proposals[n].boxes.numel() ? to_boxes(proposals[n].boxes, "proposals") : std::vector<Box>{};
    boxes.insert(boxes.end(), t.boxes.begin(), t.boxes.end());  // the ground truth as proposals
    const int64_t P = int64_t(boxes.size());
    std::vector<int64_t> matches(size_t(P), kBelowLow), labels(size_t(P), 0);
    if (!t.boxes.empty()) {
      matches =
          match_boxes(box_iou(to_tensor(t.boxes), to_tensor(boxes)), P, o.fg_iou, o.bg_iou, false);
      for (int64_t p = 0; p < P; ++p) {
        const int64_t m = matches[size_t(p)];
        labels[size_t(p)] = m >= 0 ? t.labels[size_t(m)] + 1 : m == kBelowLow ? 0 : -1;
      }
    }
    const BalancedSample b = sample_balanced(labels, o.batch_per_image, o.positive_fraction, gen);
    std::vector<int64_t> keep = b.positive;
    keep.insert(keep.end(), b.negative.begin(), b.negative.end());
    std::sort(keep.begin(), keep.end());
    std::vector<Box> pos_gt, pos_box;
    std::vector<size_t> pos_row;
    for (int64_t p : keep) {
      const Box& r = boxes[size_t(p)];
      rois.insert(rois.end(), {float(n), r.x1, r.y1, r.x2, r.y2});
      labels_out.push_back(labels[size_t(p)]);
      if (labels[size_t(p)] > 0) {
        pos_gt.push_back(t.boxes[size_t(matches[size_t(p)])]);
        pos_box.push_back(r);
        pos_row.push_back(labels_out.size() - 1);
      }
    }
    box_targets.resize(labels_out.size() * 4, 0.0f);
    if (!pos_gt.empty()) {
      const Tensor enc = coder.encode(to_tensor(pos_gt), to_tensor(pos_box));
      for (size_t k = 0; k < pos_row.size(); ++k)
        std::copy_n(enc.data<float>() + k * 4, 4, box_targets.data() + pos_row[k] * 4);
    }
    s.per_image.push_back(int64_t(keep.size()));
  }
  const int64_t K = int64_t(labels_out.size());
  s.rois = Tensor::from_vector(rois, Shape({K, 5}));
  s.labels = Tensor::from_vector(labels_out, Shape({K}));
  s.box_targets = Tensor::from_vector(box_targets, Shape({K, 4}));
  return s;
}

BoxHead::BoxHead(int64_t channels, int64_t C, int64_t representation, int64_t pool)
    : Module("BoxHead"), num_classes(C), pool_size(pool) {
  CONVKIT_CHECK(channels >= 1 && C >= 1 && representation >= 1 && pool >= 1, "BoxHead: channels (",
                channels, "), classes (", C, "), representation (", representation,
                ") and pool size (", pool, ") must be >= 1");
  fc6 =
      register_module("fc6", std::make_shared<nn::Linear>(channels * pool * pool, representation));
  fc7 = register_module("fc7", std::make_shared<nn::Linear>(representation, representation));
  cls_score = register_module("cls_score", std::make_shared<nn::Linear>(representation, C + 1));
  bbox_pred =
      register_module("bbox_pred", std::make_shared<nn::Linear>(representation, 4 * (C + 1)));
}

BoxHead::Output BoxHead::run(const Tensor& features, const Tensor& rois, double spatial_scale) {
  RoiParams p;
  p.out_h = p.out_w = pool_size;
  p.spatial_scale = spatial_scale;
  p.sampling_ratio = 2;
  const Tensor pooled = roi_align(features, rois, p);  // [K, F, P, P]
  const int64_t K = pooled.size(0);
  const Tensor h = relu(
      (*fc7)(relu((*fc6)(pooled.reshape({K, pooled.size(1) * pooled.size(2) * pooled.size(3)})))));
  return {(*cls_score)(h), (*bbox_pred)(h)};
}

RoiLosses roi_loss(const BoxHead::Output& out, const RoiSamples& s) {
  const int64_t K = s.labels.numel(), C1 = out.class_logits.size(1);
  RoiLosses l;
  if (K == 0) {  // no proposal and no ground truth in the batch: a zero loss
    l.classifier = mul(sum(out.class_logits), 0.0);
    l.box = mul(sum(out.box_regression), 0.0);
    return l;
  }
  CONVKIT_CHECK(out.class_logits.size(0) == K && out.box_regression.size(0) == K &&
                    out.box_regression.size(1) == 4 * C1,
                "roi_loss: ", K, " samples, but class logits ",
                out.class_logits.shape().to_string(), " and box regression ",
                out.box_regression.shape().to_string());
  l.classifier = cross_entropy(out.class_logits, s.labels);
  std::vector<int64_t> rows, pos;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t c = s.labels.data<int64_t>()[k];
    if (c > 0) rows.push_back(k * C1 + c), pos.push_back(k);
  }
  if (rows.empty()) {
    l.box = mul(sum(out.box_regression), 0.0);
  } else {
    const Tensor pred =
        index_select(out.box_regression.reshape({K * C1, 4}), 0, index_tensor(rows));
    const Tensor target =
        index_select(s.box_targets, 0, index_tensor(pos)).to(out.box_regression.dtype());
    l.box = mul(smooth_l1_loss(pred, target, 1.0 / 9.0, Reduction::sum), 1.0 / double(K));
  }
  return l;
}

std::vector<metrics::Detection> roi_detections(const BoxHead::Output& out,
                                               const std::vector<Proposals>& proposals,
                                               int64_t image_h, int64_t image_w,
                                               const RoiHeadsOptions& o) {
  NoGradGuard no_grad;
  const int64_t C1 = out.class_logits.size(1), K = out.class_logits.size(0);
  int64_t total = 0;
  for (const Proposals& p : proposals) total += p.boxes.size(0);
  CONVKIT_CHECK(
      total == K && out.box_regression.size(0) == K && out.box_regression.size(1) == 4 * C1,
      "roi_detections: ", total, " proposals, but class logits ",
      out.class_logits.shape().to_string(), " and box regression ",
      out.box_regression.shape().to_string());
  const Tensor prob = softmax(out.class_logits.detach().to(DType::f32), 1);
  // Each proposal repeated per class, decoded against its class's deltas.
  std::vector<float> repeated;
  repeated.reserve(size_t(K * C1 * 4));
  for (const Proposals& p : proposals)
    for (int64_t k = 0; k < p.boxes.size(0); ++k)
      for (int64_t c = 0; c < C1; ++c)
        repeated.insert(repeated.end(), p.boxes.data<float>() + k * 4,
                        p.boxes.data<float>() + k * 4 + 4);
  const Tensor decoded =
      K ? BoxCoder(kRoiWeights)
              .decode(out.box_regression.detach().to(DType::f32).reshape({K * C1, 4}),
                      Tensor::from_vector(repeated, Shape({K * C1, 4})))
        : Tensor::zeros(Shape({0, 4}));
  const float* pr = prob.data<float>();
  const float* d = decoded.data<float>();
  const float w = float(image_w), h = float(image_h);
  std::vector<metrics::Detection> result;
  int64_t row = 0;
  for (size_t n = 0; n < proposals.size(); ++n) {
    std::vector<metrics::Detection> cand;
    for (int64_t k = 0; k < proposals[n].boxes.size(0); ++k, ++row)
      for (int64_t c = 1; c < C1; ++c) {
        const float score = pr[row * C1 + c];
        if (!(score > o.score_threshold)) continue;  // NaN too
        const float* b = d + (row * C1 + c) * 4;
        if (!std::isfinite(b[0] + b[1] + b[2] + b[3])) continue;
        const Box box{std::clamp(b[0], 0.0f, w), std::clamp(b[1], 0.0f, h),
                      std::clamp(b[2], 0.0f, w), std::clamp(b[3], 0.0f, h)};
        if (box.width() < o.min_size || box.height() < o.min_size) continue;
        cand.push_back({int64_t(n), c - 1, score, box});
      }
    for (const metrics::Detection& d : nms_by_class(cand, o.nms_iou, o.detections_per_image))
      result.push_back(d);
  }
  return result;
}

}  // namespace convkit::detect
