// The region-proposal network (contract in include/convkit/detect/rpn.h), line for line with
// torchvision 0.14's detection/{anchor_utils,rpn,_utils}.py on one feature map. Labels, matching
// and sampling are plain loops on floats; the loss is differentiable ops on the head's outputs.
#include "convkit/detect/rpn.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "convkit/autograd.h"
#include "convkit/detect/box_coder.h"
#include "convkit/error.h"
#include "convkit/nn/init.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/indexing.h"
#include "convkit/ops/loss.h"
#include "convkit/ops/reduce.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::detect {

void check_anchor_config(const AnchorGridConfig& c) {
  CONVKIT_CHECK(!c.sizes.empty() && !c.ratios.empty(), "anchors: at least one size and ratio");
  for (float s : c.sizes)
    CONVKIT_CHECK(std::isfinite(s) && s > 0, "anchors: size ", s, " must be finite and > 0");
  for (float r : c.ratios)
    CONVKIT_CHECK(std::isfinite(r) && r > 0, "anchors: ratio ", r, " must be finite and > 0");
  CONVKIT_CHECK(c.stride >= 1, "anchors: stride must be >= 1, got ", c.stride);
}

Tensor base_anchors(const AnchorGridConfig& c) {
  check_anchor_config(c);
  std::vector<float> v;
  for (float r : c.ratios) {
    // torchvision: h_ratios = sqrt(r), w_ratios = 1 / h_ratios, in float32; round() is to even.
    const float h_ratio = std::sqrt(r), w_ratio = 1.0f / h_ratio;
    for (float s : c.sizes) {
      const float w = w_ratio * s, h = h_ratio * s;
      for (float e : {-w, -h, w, h}) v.push_back(std::nearbyint(e / 2.0f));
    }
  }
  return Tensor::from_vector(v, Shape({c.per_position(), 4}));
}

Tensor grid_anchors(const AnchorGridConfig& c, int64_t H, int64_t W) {
  CONVKIT_CHECK(H >= 1 && W >= 1, "anchors: feature map ", H, " x ", W, " is empty");
  const Tensor base = base_anchors(c);
  const int64_t A = c.per_position();
  std::vector<float> v(size_t(H * W * A * 4));
  const float* b = base.data<float>();
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j)
      for (int64_t a = 0; a < A; ++a) {
        const float sx = float(j * c.stride), sy = float(i * c.stride);
        float* o = v.data() + ((i * W + j) * A + a) * 4;
        o[0] = b[a * 4] + sx, o[1] = b[a * 4 + 1] + sy, o[2] = b[a * 4 + 2] + sx;
        o[3] = b[a * 4 + 3] + sy;
      }
  return Tensor::from_vector(v, Shape({H * W * A, 4}));
}

std::vector<int64_t> match_boxes(const Tensor& iou, int64_t P, double high, double low,
                                 bool allow_low_quality) {
  CONVKIT_CHECK(low <= high, "match_boxes: low (", low, ") must be <= high (", high, ")");
  std::vector<int64_t> matches(size_t(P), kBelowLow);
  if (!iou.defined() || iou.numel() == 0) return matches;
  CONVKIT_CHECK(iou.ndim() == 2 && iou.size(1) == P && iou.dtype() == DType::f32,
                "match_boxes: iou must be float32 [G, ", P, "], got ", iou.shape().to_string());
  const int64_t G = iou.size(0);
  const float* q = iou.data<float>();
  std::vector<int64_t> argmax(size_t(P), 0);
  for (int64_t p = 0; p < P; ++p) {
    float best = q[p];
    for (int64_t g = 1; g < G; ++g)
      if (q[g * P + p] > best) best = q[g * P + p], argmax[size_t(p)] = g;
    matches[size_t(p)] = best < low ? kBelowLow : best < high ? kBetween : argmax[size_t(p)];
  }
  if (allow_low_quality)
    for (int64_t g = 0; g < G; ++g) {
      const float best = *std::max_element(q + g * P, q + (g + 1) * P);
      for (int64_t p = 0; p < P; ++p)
        if (q[g * P + p] == best) matches[size_t(p)] = argmax[size_t(p)];
    }
  return matches;
}

namespace {

// k of `from` without replacement, uniformly (a partial Fisher-Yates), returned increasing.
std::vector<int64_t> choose(std::vector<int64_t> from, int64_t k, Generator& gen) {
  if (int64_t(from.size()) > k) {
    for (int64_t i = 0; i < k; ++i)
      std::swap(from[size_t(i)], from[size_t(i) + gen.next_u64() % (from.size() - size_t(i))]);
    from.resize(size_t(k));
    std::sort(from.begin(), from.end());
  }
  return from;
}

std::vector<float> floats(const Tensor& t) {
  const Tensor f = t.detach().to(DType::f32);
  return {f.data<float>(), f.data<float>() + f.numel()};
}

Tensor index_tensor(const std::vector<int64_t>& v) {
  return Tensor::from_vector(v, Shape({int64_t(v.size())}));
}

Box clip(Box b, float w, float h) {
  return {std::clamp(b.x1, 0.0f, w), std::clamp(b.y1, 0.0f, h), std::clamp(b.x2, 0.0f, w),
          std::clamp(b.y2, 0.0f, h)};
}

}  // namespace

BalancedSample sample_balanced(const std::vector<int64_t>& labels, int64_t batch,
                               double positive_fraction, Generator& gen) {
  CONVKIT_CHECK(batch >= 1 && positive_fraction >= 0 && positive_fraction <= 1,
                "sample_balanced: batch (", batch, ") must be >= 1 and positive_fraction (",
                positive_fraction, ") in [0, 1]");
  std::vector<int64_t> pos, neg;
  for (int64_t i = 0; i < int64_t(labels.size()); ++i)
    if (labels[size_t(i)] > 0)
      pos.push_back(i);
    else if (labels[size_t(i)] == 0)
      neg.push_back(i);
  const int64_t n_pos =
      std::min<int64_t>(int64_t(pos.size()), int64_t(double(batch) * positive_fraction));
  const int64_t n_neg = std::min<int64_t>(int64_t(neg.size()), batch - n_pos);
  return {choose(std::move(pos), n_pos, gen), choose(std::move(neg), n_neg, gen)};
}

RpnHead::RpnHead(int64_t channels, int64_t A) : Module("RpnHead"), anchors_per_position(A) {
  CONVKIT_CHECK(channels >= 1 && A >= 1, "RpnHead: channels (", channels, ") and anchors (", A,
                ") must be >= 1");
  conv = register_module("conv", std::make_shared<nn::Conv2d>(channels, channels, 3, 1, 1));
  cls_logits = register_module("cls_logits", std::make_shared<nn::Conv2d>(channels, A, 1));
  bbox_pred = register_module("bbox_pred", std::make_shared<nn::Conv2d>(channels, 4 * A, 1));
  for (auto* c : {conv.get(), cls_logits.get(), bbox_pred.get()}) {
    nn::init::normal_(c->weight, 0.0, 0.01);
    nn::init::constant_(c->bias, 0.0);
  }
}

RpnHead::Output RpnHead::run(const Tensor& features) {
  CONVKIT_CHECK(features.ndim() == 4, "RpnHead: features must be [N, C, H, W], got ",
                features.shape().to_string());
  const Tensor t = relu((*conv)(features));
  const int64_t N = features.size(0), H = features.size(2), W = features.size(3);
  const int64_t A = anchors_per_position;
  // [N, A, H, W] -> [N, H, W, A]; [N, A 4, H, W] -> [N, A, 4, H, W] -> [N, H, W, A, 4].
  Output o;
  o.objectness = permute((*cls_logits)(t), {0, 2, 3, 1}).reshape({N, H * W * A});
  o.deltas = permute((*bbox_pred)(t).reshape({N, A, 4, H, W}), {0, 3, 4, 1, 2})
                 .reshape({N * H * W * A, 4});
  return o;
}

std::vector<ImageTargets> image_targets(const Tensor& boxes, const Tensor& labels) {
  CONVKIT_CHECK(boxes.dtype() == DType::f32 && boxes.ndim() == 3 && boxes.size(2) == 4,
                "detection targets: boxes must be float32 [N, M, 4], got ",
                boxes.shape().to_string());
  CONVKIT_CHECK(labels.dtype() == DType::i64 && labels.ndim() == 2 &&
                    labels.size(0) == boxes.size(0) && labels.size(1) == boxes.size(1),
                "detection targets: labels must be int64 [N, M] beside boxes ",
                boxes.shape().to_string(), ", got ", labels.shape().to_string());
  const int64_t N = boxes.size(0), M = boxes.size(1);
  std::vector<ImageTargets> out(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t lab = labels.data<int64_t>()[n * M + m];
      if (lab < 0) continue;
      const float* p = boxes.data<float>() + (n * M + m) * 4;
      const Box b{p[0], p[1], p[2], p[3]};
      CONVKIT_CHECK(std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) &&
                        std::isfinite(b.y2) && b.x2 > b.x1 && b.y2 > b.y1,
                    "detection targets: image ", n, " object ", m, " has box [", b.x1, ", ", b.y1,
                    ", ", b.x2, ", ", b.y2, "]; boxes need a positive width and height");
      out[size_t(n)].boxes.push_back(b);
      out[size_t(n)].labels.push_back(lab);
    }
  return out;
}

RpnLosses rpn_loss(const RpnHead::Output& out, const Tensor& anchors,
                   const std::vector<ImageTargets>& targets, const RpnOptions& o, Generator& gen) {
  const int64_t N = out.objectness.size(0), R = out.objectness.size(1);
  CONVKIT_CHECK(anchors.ndim() == 2 && anchors.size(0) == R && int64_t(targets.size()) == N &&
                    out.deltas.size(0) == N * R,
                "rpn_loss: ", N, " images of ", R, " anchors, but anchors ",
                anchors.shape().to_string(), ", deltas ", out.deltas.shape().to_string(), " and ",
                targets.size(), " targets");
  const std::vector<Box> anchor_boxes = to_boxes(anchors, "anchors");
  std::vector<int64_t> sampled, positive;  // rows of the flattened [N R] predictions
  std::vector<float> sampled_label;
  std::vector<Box> pos_gt, pos_anchor;
  for (int64_t n = 0; n < N; ++n) {
    const ImageTargets& t = targets[size_t(n)];
    std::vector<int64_t> matches(size_t(R), kBelowLow);
    if (!t.boxes.empty())
      matches = match_boxes(box_iou(to_tensor(t.boxes), anchors), R, o.fg_iou, o.bg_iou, true);
    std::vector<int64_t> labels(static_cast<size_t>(R));
    for (int64_t r = 0; r < R; ++r)
      labels[size_t(r)] = matches[size_t(r)] >= 0 ? 1 : matches[size_t(r)] == kBelowLow ? 0 : -1;
    const BalancedSample s = sample_balanced(labels, o.batch_per_image, o.positive_fraction, gen);
    for (int64_t r : s.positive) {
      sampled.push_back(n * R + r), sampled_label.push_back(1.0f), positive.push_back(n * R + r);
      pos_gt.push_back(t.boxes[size_t(matches[size_t(r)])]);
      pos_anchor.push_back(anchor_boxes[size_t(r)]);
    }
    for (int64_t r : s.negative) sampled.push_back(n * R + r), sampled_label.push_back(0.0f);
  }
  const DType dt = out.objectness.dtype();
  const int64_t S = int64_t(sampled.size());
  RpnLosses l;
  if (S == 0) {  // every anchor ignored: nothing to learn from this batch, a zero loss
    l.objectness = mul(sum(out.objectness), 0.0);
    l.box = mul(sum(out.deltas), 0.0);
    return l;
  }
  const Tensor logits = index_select(out.objectness.reshape({N * R}), 0, index_tensor(sampled));
  l.objectness = binary_cross_entropy_with_logits(
      logits, Tensor::from_vector(sampled_label, Shape({S})).to(dt), Reduction::mean);
  if (positive.empty()) {
    l.box = mul(sum(out.deltas), 0.0);  // keeps the graph (and a zero gradient) for the deltas
  } else {
    const Tensor target = BoxCoder().encode(to_tensor(pos_gt), to_tensor(pos_anchor)).to(dt);
    const Tensor pred = index_select(out.deltas, 0, index_tensor(positive));
    l.box = mul(smooth_l1_loss(pred, target, 1.0 / 9.0, Reduction::sum), 1.0 / double(S));
  }
  return l;
}

std::vector<Proposals> rpn_proposals(const RpnHead::Output& out, const Tensor& anchors,
                                     int64_t image_h, int64_t image_w, const RpnOptions& o) {
  NoGradGuard no_grad;
  const int64_t N = out.objectness.size(0), R = out.objectness.size(1);
  CONVKIT_CHECK(anchors.ndim() == 2 && anchors.size(0) == R && out.deltas.size(0) == N * R,
                "rpn_proposals: ", N, " images of ", R, " anchors, but anchors ",
                anchors.shape().to_string(), " and deltas ", out.deltas.shape().to_string());
  const std::vector<float> logit = floats(out.objectness);
  const std::vector<float> decoded = floats(BoxCoder().decode(
      out.deltas.detach().to(DType::f32), concat(TensorList(size_t(N), anchors), 0)));
  std::vector<Proposals> result;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<int64_t> order(static_cast<size_t>(R));
    std::iota(order.begin(), order.end(), 0);
    const float* z = logit.data() + n * R;
    const int64_t top = std::min(R, o.pre_nms_top_n);
    std::partial_sort(order.begin(), order.begin() + top, order.end(),
                      [&](int64_t a, int64_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
    std::vector<Box> boxes;
    std::vector<float> scores;
    for (int64_t k = 0; k < top; ++k) {
      const int64_t r = order[size_t(k)];
      const float* d = decoded.data() + (n * R + r) * 4;
      // A diverged head's NaN is no proposal (the non-finite guard reports the loss).
      if (!std::isfinite(z[r]) || !std::isfinite(d[0] + d[1] + d[2] + d[3])) continue;
      const Box b = clip({d[0], d[1], d[2], d[3]}, float(image_w), float(image_h));
      const float score = float(1.0 / (1.0 + std::exp(-double(z[r]))));
      if (b.width() < o.min_size || b.height() < o.min_size || score < o.score_threshold) continue;
      boxes.push_back(b), scores.push_back(score);
    }
    const Tensor score_t = Tensor::from_vector(scores, Shape({int64_t(scores.size())}));
    const Tensor keep = nms(to_tensor(boxes), score_t, o.nms_iou);
    const int64_t K = std::min(keep.numel(), o.post_nms_top_n);
    std::vector<Box> kept_boxes;
    std::vector<float> kept_scores;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t i = keep.data<int64_t>()[k];
      kept_boxes.push_back(boxes[size_t(i)]), kept_scores.push_back(scores[size_t(i)]);
    }
    result.push_back({to_tensor(kept_boxes), Tensor::from_vector(kept_scores, Shape({K}))});
  }
  return result;
}

}  // namespace convkit::detect
