// YOLO v2-style detector pieces (contract and formulas in include/convkit/detect/yolo.h). The loss
// is composed of differentiable ops (sigmoid, log_softmax, index_select, BCE), so its gradient
// needs no hand-written backward; tests/test_detect_yolo.cpp checks it by finite differences.
#include "convkit/detect/yolo.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/detect/boxes.h"
#include "convkit/detect/class_nms.h"
#include "convkit/detect/darknet.h"
#include "convkit/error.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/indexing.h"
#include "convkit/ops/loss.h"
#include "convkit/ops/reduce.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::detect {

void check_yolo_config(const YoloConfig& c) {
  CONVKIT_CHECK(c.grid >= 1 && c.image_size >= c.grid && c.image_size % c.grid == 0,
                "yolo: image_size (", c.image_size, ") must be a multiple of grid (", c.grid, ")");
  CONVKIT_CHECK(c.num_classes >= 1, "yolo: num_classes must be >= 1, got ", c.num_classes);
  CONVKIT_CHECK(!c.anchors.empty(), "yolo: at least one anchor is needed");
  for (std::size_t b = 0; b < c.anchors.size(); ++b)
    CONVKIT_CHECK(c.anchors[b].w > 0 && c.anchors[b].h > 0, "yolo: anchor ", b, " is ",
                  c.anchors[b].w, " x ", c.anchors[b].h, "; sizes must be > 0");
}

std::shared_ptr<nn::Sequential> make_yolo_darknet(const YoloConfig& config, int64_t width) {
  check_yolo_config(config);
  const int pools = pools_for(config.image_size / config.grid, "yolo darknet");
  auto net = std::make_shared<nn::Sequential>();
  const int64_t in = add_darknet_trunk(*net, width, pools);
  net->add(std::make_shared<nn::Conv2d>(in, config.channels(), 1));
  return net;
}

std::shared_ptr<nn::Module> make_yolo(const YoloConfig& config, const BackboneSpec& backbone) {
  if (backbone.name == "darknet") return make_yolo_darknet(config, backbone.width);
  check_yolo_config(config);
  const Backbone trunk = make_backbone(backbone, config.image_size, config.grid);
  auto net = std::make_shared<nn::Sequential>();
  net->add(trunk.module);
  net->add(std::make_shared<nn::Conv2d>(trunk.channels, config.channels(), 1));
  return net;
}

namespace {

// [N, B (5 + C), S, S] -> [N S S B, 5 + C]: one row per prediction.
Tensor prediction_rows(const Tensor& output, const YoloConfig& c) {
  const int64_t N = output.size(0), B = c.num_anchors(), S = c.grid, K = 5 + c.num_classes;
  // [N, B, K, S, S] -> [N, S, S, B, K]
  return permute(output.reshape({N, B, K, S, S}), {0, 3, 4, 1, 2}).reshape({N * S * S * B, K});
}

void check_output(const Tensor& output, const YoloConfig& c, const char* op) {
  check_yolo_config(c);
  CONVKIT_CHECK(output.ndim() == 4 && output.size(1) == c.channels() && output.size(2) == c.grid &&
                    output.size(3) == c.grid,
                op, ": output ", output.shape().to_string(), " does not match [N, ", c.channels(),
                ", ", c.grid, ", ", c.grid, "] (", c.num_anchors(), " anchors x (5 + ",
                c.num_classes, " classes), grid ", c.grid, ")");
}

double sigmoid1(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The box of prediction row r ([N, S, S, B] order) from its raw numbers p.
Box decode_row(const float* p, int64_t r, const YoloConfig& c) {
  const int64_t B = c.num_anchors(), S = c.grid;
  const int64_t b = r % B, j = (r / B) % S, i = (r / (B * S)) % S;
  const double cell = c.cell();
  const double cx = (double(j) + sigmoid1(p[0])) * cell, cy = (double(i) + sigmoid1(p[1])) * cell;
  const double w = c.anchors[b].w * std::exp(std::min<double>(p[2], 10.0));
  const double h = c.anchors[b].h * std::exp(std::min<double>(p[3], 10.0));
  return {float(cx - w / 2), float(cy - h / 2), float(cx + w / 2), float(cy + h / 2)};
}

}  // namespace

YoloTargets build_yolo_targets(const YoloConfig& c, const Tensor& boxes, const Tensor& labels) {
  check_yolo_config(c);
  CONVKIT_CHECK(boxes.dtype() == DType::f32 && boxes.ndim() == 3 && boxes.size(2) == 4,
                "yolo targets: boxes must be float32 [N, M, 4], got ", boxes.shape().to_string());
  CONVKIT_CHECK(labels.dtype() == DType::i64 && labels.ndim() == 2 &&
                    labels.size(0) == boxes.size(0) && labels.size(1) == boxes.size(1),
                "yolo targets: labels must be int64 [N, M] beside boxes ",
                boxes.shape().to_string(), ", got ", labels.shape().to_string());
  const int64_t N = boxes.size(0), M = boxes.size(1), B = c.num_anchors(), S = c.grid;
  const double cell = c.cell();
  std::vector<float> t(size_t(N * S * S * B) * 4);
  std::vector<int64_t> label(size_t(N * S * S * B), -1);
  YoloTargets out;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t lab = labels.data<int64_t>()[n * M + m];
      if (lab < 0) continue;  // padding
      const float* p = boxes.data<float>() + (n * M + m) * 4;
      const Box g{p[0], p[1], p[2], p[3]};
      CONVKIT_CHECK(lab < c.num_classes, "yolo targets: image ", n, " object ", m, " has label ",
                    lab, ", outside [0, ", c.num_classes, ")");
      CONVKIT_CHECK(g.x2 > g.x1 && g.y2 > g.y1, "yolo targets: image ", n, " object ", m,
                    " has box [", g.x1, ", ", g.y1, ", ", g.x2, ", ", g.y2,
                    "]; boxes need a positive width and height");
      out.gt_boxes.push_back(g);
      out.gt_image.push_back(n);
      const double cx = (g.x1 + g.x2) / 2.0, cy = (g.y1 + g.y2) / 2.0;
      const int64_t j = std::clamp<int64_t>(int64_t(std::floor(cx / cell)), 0, S - 1);
      const int64_t i = std::clamp<int64_t>(int64_t(std::floor(cy / cell)), 0, S - 1);
      int64_t best = 0;
      float best_iou = -1;
      for (int64_t b = 0; b < B; ++b) {
        const float v = centred_iou({g.width(), g.height()}, c.anchors[b]);
        if (v > best_iou) best = b, best_iou = v;
      }
      const int64_t r = ((n * S + i) * S + j) * B + best;
      float* tr = t.data() + r * 4;
      tr[0] = float(cx / cell - double(j));
      tr[1] = float(cy / cell - double(i));
      tr[2] = std::log(g.width() / c.anchors[best].w);
      tr[3] = std::log(g.height() / c.anchors[best].h);
      label[size_t(r)] = lab;
    }
  std::vector<float> kept;
  std::vector<int64_t> kept_label;
  for (int64_t r = 0; r < int64_t(label.size()); ++r)
    if (label[size_t(r)] >= 0) {
      out.object_rows.push_back(r);
      kept.insert(kept.end(), t.begin() + r * 4, t.begin() + r * 4 + 4);
      kept_label.push_back(label[size_t(r)]);
    }
  const int64_t K = int64_t(out.object_rows.size());
  out.box = Tensor::from_vector(kept, Shape({K, 4}));
  out.label = Tensor::from_vector(kept_label, Shape({K}));
  return out;
}

Tensor yolo_loss(const Tensor& output, const YoloConfig& c, const YoloTargets& targets,
                 const YoloLossOptions& o) {
  check_output(output, c, "yolo_loss");
  const int64_t N = output.size(0), R = N * c.grid * c.grid * c.num_anchors();
  const DType dt = output.dtype();
  const Tensor rows = prediction_rows(output, c);  // [R, 5 + C]
  // Objectness weights: 1 where an object is, lambda_noobj where none is and no ground truth
  // overlaps the decoded box by more than ignore_iou, 0 otherwise.
  std::vector<double> weight(static_cast<size_t>(R)), target(static_cast<size_t>(R), 0.0);
  {
    const Tensor raw = rows.detach().to(DType::f32);
    const float* p = raw.data<float>();
    const int64_t per_image = R / N;
    for (int64_t r = 0; r < R; ++r) {
      const Box pb = decode_row(p + r * raw.size(1), r, c);
      double best = 0;
      for (std::size_t g = 0; g < targets.gt_boxes.size(); ++g)
        if (targets.gt_image[g] == r / per_image)
          best = std::max<double>(best, iou(pb, targets.gt_boxes[g]));
      weight[size_t(r)] = best > o.ignore_iou ? 0.0 : o.lambda_noobj;
    }
    for (int64_t r : targets.object_rows) weight[size_t(r)] = 1.0, target[size_t(r)] = 1.0;
  }
  const Tensor obj_logit = narrow(rows, 1, 4, 1);  // [R, 1]
  Tensor loss =
      sum(mul(binary_cross_entropy_with_logits(
                  obj_logit, Tensor::from_vector(target, Shape({R, 1})).to(dt), Reduction::none),
              Tensor::from_vector(weight, Shape({R, 1})).to(dt)));
  if (!targets.object_rows.empty()) {
    const int64_t K = int64_t(targets.object_rows.size());
    const Tensor obj = index_select(rows, 0, Tensor::from_vector(targets.object_rows, Shape({K})));
    const Tensor t = targets.box.to(dt);
    const Tensor xy = sub(sigmoid(narrow(obj, 1, 0, 2)), narrow(t, 1, 0, 2));
    const Tensor wh = sub(narrow(obj, 1, 2, 2), narrow(t, 1, 2, 2));
    const Tensor coord = add(sum(mul(xy, xy)), sum(mul(wh, wh)));
    const Tensor logp = log_softmax(narrow(obj, 1, 5, c.num_classes), 1);  // [K, C]
    const Tensor cls = neg(sum(gather(logp, 1, targets.label.reshape({K, 1}))));
    loss = add(add(loss, mul(coord, o.lambda_coord)), cls);
  }
  return mul(loss, 1.0 / double(N));
}

std::vector<metrics::Detection> yolo_decode(const Tensor& output, const YoloConfig& c,
                                            double conf_threshold, double iou_threshold) {
  check_output(output, c, "yolo_decode");
  NoGradGuard no_grad;
  const Tensor rows = prediction_rows(output, c).to(DType::f32);
  const int64_t N = output.size(0), R = rows.size(0), K = rows.size(1), C = c.num_classes;
  const float* p = rows.data<float>();
  const float side = float(c.image_size);
  std::vector<metrics::Detection> out;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<metrics::Detection> cand;
    for (int64_t r = n * (R / N); r < (n + 1) * (R / N); ++r) {
      const float* q = p + r * K;
      int64_t best = 0;
      double zmax = q[5];
      for (int64_t k = 1; k < C; ++k)
        if (q[5 + k] > zmax) zmax = q[5 + k], best = k;
      double denom = 0;
      for (int64_t k = 0; k < C; ++k) denom += std::exp(q[5 + k] - zmax);
      const double conf = sigmoid1(q[4]) / denom;  // softmax of the best class is 1 / denom
      if (conf < conf_threshold) continue;
      Box b = decode_row(q, r, c);
      b = {std::clamp(b.x1, 0.0f, side), std::clamp(b.y1, 0.0f, side), std::clamp(b.x2, 0.0f, side),
           std::clamp(b.y2, 0.0f, side)};
      cand.push_back({n, best, float(conf), b});
    }
    for (const metrics::Detection& d : nms_by_class(cand, iou_threshold)) out.push_back(d);
  }
  return out;
}

}  // namespace convkit::detect
