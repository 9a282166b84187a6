// Faster R-CNN on one feature map (include/convkit/detect/faster_rcnn.h): torchvision's
// GeneralizedRCNN.forward without its transform (images arrive at the configured size).
#include "convkit/detect/faster_rcnn.h"

#include <cmath>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/ops/elementwise.h"

namespace convkit::detect {

void check_faster_rcnn_config(const FasterRcnnConfig& c) {
  CONVKIT_CHECK(c.grid >= 1 && c.image_size >= c.grid && c.image_size % c.grid == 0,
                "frcnn: image_size (", c.image_size, ") must be a multiple of grid (", c.grid, ")");
  CONVKIT_CHECK(c.num_classes >= 1, "frcnn: num_classes must be >= 1, got ", c.num_classes);
  CONVKIT_CHECK(c.representation >= 1 && c.pool_size >= 1, "frcnn: representation (",
                c.representation, ") and pool size (", c.pool_size, ") must be >= 1");
  check_anchor_config(c.anchors());
}

FasterRcnn::FasterRcnn(FasterRcnnConfig config) : Module("FasterRcnn"), config_(std::move(config)) {
  check_faster_rcnn_config(config_);
  const Backbone trunk = make_backbone(config_.backbone, config_.image_size, config_.grid);
  backbone = register_module("backbone", trunk.module);
  const int64_t channels = trunk.channels;
  rpn =
      register_module("rpn", std::make_shared<RpnHead>(channels, config_.anchors().per_position()));
  roi_heads = register_module(
      "roi_heads", std::make_shared<BoxHead>(channels, config_.num_classes, config_.representation,
                                             config_.pool_size));
  anchors_ = grid_anchors(config_.anchors(), config_.grid, config_.grid);
}

Tensor FasterRcnn::forward(const Tensor& x) {
  const int64_t S = config_.image_size;
  CONVKIT_CHECK(x.ndim() == 4 && x.size(1) == 3 && x.size(2) == S && x.size(3) == S,
                "frcnn: input must be [N, 3, ", S, ", ", S, "], got ", x.shape().to_string());
  return (*backbone)(x);
}

Tensor FasterRcnn::Losses::total() const {
  return add(add(objectness, rpn_box), add(classifier, box));
}

FasterRcnn::Losses FasterRcnn::losses(const Tensor& images,
                                      const std::vector<ImageTargets>& targets, Generator& gen) {
  CONVKIT_CHECK(int64_t(targets.size()) == images.size(0), "frcnn: ", images.size(0),
                " images but ", targets.size(), " targets");
  const Tensor features = forward(images);
  const RpnHead::Output r = rpn->run(features);
  const RpnLosses rl = rpn_loss(r, anchors_, targets, config_.rpn_train, gen);
  const std::vector<Proposals> proposals =
      rpn_proposals(r, anchors_, config_.image_size, config_.image_size, config_.rpn_train);
  const RoiSamples s = sample_rois(proposals, targets, config_.roi, gen);
  const BoxHead::Output h = roi_heads->run(features, s.rois, 1.0 / double(config_.stride()));
  const RoiLosses hl = roi_loss(h, s);
  return {rl.objectness, rl.box, hl.classifier, hl.box};
}

std::vector<metrics::Detection> FasterRcnn::detect(const Tensor& images, double score_threshold,
                                                   double nms_iou) {
  NoGradGuard no_grad;
  const Tensor features = forward(images);
  const RpnHead::Output r = rpn->run(features);
  const std::vector<Proposals> proposals =
      rpn_proposals(r, anchors_, config_.image_size, config_.image_size, config_.rpn_test);
  std::vector<float> rois;
  for (size_t n = 0; n < proposals.size(); ++n)
    for (int64_t k = 0; k < proposals[n].boxes.size(0); ++k) {
      const float* b = proposals[n].boxes.data<float>() + k * 4;
      rois.insert(rois.end(), {float(n), b[0], b[1], b[2], b[3]});
    }
  const int64_t K = int64_t(rois.size() / 5);
  if (K == 0) return {};
  const BoxHead::Output h = roi_heads->run(features, Tensor::from_vector(rois, Shape({K, 5})),
                                           1.0 / double(config_.stride()));
  RoiHeadsOptions o = config_.roi;
  o.score_threshold = score_threshold;
  o.nms_iou = nms_iou;
  return roi_detections(h, proposals, config_.image_size, config_.image_size, o);
}

}  // namespace convkit::detect
