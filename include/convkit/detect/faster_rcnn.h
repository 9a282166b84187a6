#pragma once
// A two-stage detector, Faster R-CNN (Ren et al. 2015) on one feature map: a trunk
// (detect/backbone.h: Darknet-style, or a zoo model cut at a layer) down to stride image_size /
// grid, the region-proposal network (detect/rpn.h) and the RoI head (detect/roi_heads.h), trained
// end to end with the sum of the four losses (torchvision's GeneralizedRCNN: proposals are
// constants for the second stage; its gradient reaches the trunk through RoI Align).
// docs/detection.md has the lineage and the defaults.
#include <cstdint>
#include <memory>
#include <vector>

#include "convkit/detect/backbone.h"
#include "convkit/detect/roi_heads.h"
#include "convkit/detect/rpn.h"
#include "convkit/nn/layers.h"

namespace convkit::detect {

struct FasterRcnnConfig {
  int64_t image_size = 64;  // input height = width
  int64_t grid = 8;         // feature map side; image_size / grid is a power of two
  int64_t num_classes = 4;  // C, without the background
  BackboneSpec backbone;    // darknet of width 16 by default
  std::vector<float> anchor_sizes{16, 32, 64};
  std::vector<float> anchor_ratios{0.5f, 1.f, 2.f};
  int64_t representation = 256;  // fc6 / fc7 width
  int64_t pool_size = 7;         // RoI Align output side
  // Scaled down from torchvision's (2000/2000 proposals, 512 RoIs) for images of a few objects.
  RpnOptions rpn_train{.pre_nms_top_n = 600, .post_nms_top_n = 150};
  RpnOptions rpn_test{.pre_nms_top_n = 300, .post_nms_top_n = 100};
  RoiHeadsOptions roi{.batch_per_image = 64};
  int64_t stride() const { return image_size / grid; }
  AnchorGridConfig anchors() const { return {anchor_sizes, anchor_ratios, stride()}; }
};
// Throws naming the field when the configuration is inconsistent.
void check_faster_rcnn_config(const FasterRcnnConfig& c);

class FasterRcnn : public nn::Module {
 public:
  explicit FasterRcnn(FasterRcnnConfig config);
  // The trunk's features, [N, F, grid, grid]. Throws unless x is [N, 3, image_size, image_size].
  Tensor forward(const Tensor& x) override;

  struct Losses {
    Tensor objectness, rpn_box, classifier, box;
    Tensor total() const;
  };
  // Training: the four losses for images [N, 3, S, S] and their ground truth (`gen` draws the
  // anchor and RoI samples).
  Losses losses(const Tensor& images, const std::vector<ImageTargets>& targets, Generator& gen);
  // Inference (no gradient): detections with class probability >= score_threshold after NMS per
  // class at nms_iou; Detection::image is the row in the batch, boxes in input pixels.
  std::vector<metrics::Detection> detect(const Tensor& images, double score_threshold,
                                         double nms_iou);
  const FasterRcnnConfig& config() const { return config_; }

  std::shared_ptr<nn::Module> backbone;
  std::shared_ptr<RpnHead> rpn;
  std::shared_ptr<BoxHead> roi_heads;

 private:
  FasterRcnnConfig config_;
  Tensor anchors_;  // grid_anchors at grid x grid
};

}  // namespace convkit::detect
