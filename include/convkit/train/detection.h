#pragma once
// Detection with a YOLO v2-style model (detect/yolo.h): batches carry targets["boxes"] [N, M, 4]
// and targets["box_labels"] [N, M] (data/detection.h's DetectionDataset).
#include "convkit/detect/faster_rcnn.h"
#include "convkit/detect/yolo.h"
#include "convkit/train/task.h"

namespace convkit::train {

struct DetectionTaskOptions {
  detect::YoloLossOptions loss;
  double conf_threshold = 0.01;  // evaluation: low, so that AP sees the whole P-R curve
  double nms_iou = 0.45;
};

// step(): output = model(batch.inputs), loss = yolo_loss; logs {"loss"}. evaluate(): {"loss",
// "map50" (VOC mAP@0.5), "map" (COCO mAP@[.5:.95])} over the loader. Best: "map50". Throws naming
// the missing target when a batch lacks "boxes" or "box_labels".
class DetectionTask : public Task {
 public:
  explicit DetectionTask(detect::YoloConfig config, DetectionTaskOptions options = {});
  StepResult step(nn::Module& model, const data::Batch& batch) override;
  Logs evaluate(nn::Module& model, data::DataLoader& loader) override;
  std::vector<std::string> metric_names() const override { return {"loss", "map50", "map"}; }
  std::string best_metric() const override { return "map50"; }
  const detect::YoloConfig& config() const { return config_; }

 private:
  detect::YoloConfig config_;
  DetectionTaskOptions opt_;
};

// Detection with a Faster R-CNN (detect/faster_rcnn.h); the model given to step() and evaluate()
// must be that FasterRcnn. step(): the sum of its four losses; logs {"loss", "rpn_objectness",
// "rpn_box", "classifier", "box"}. evaluate(): {"loss", "map50", "map"} as DetectionTask, the loss
// with samples drawn from a generator seeded alike on every call. `seed` seeds the training
// samples.
class FasterRcnnTask : public Task {
 public:
  explicit FasterRcnnTask(DetectionTaskOptions options = {{}, 0.01, 0.5}) : opt_(options) {}
  StepResult step(nn::Module& model, const data::Batch& batch) override;
  Logs evaluate(nn::Module& model, data::DataLoader& loader) override;
  std::vector<std::string> metric_names() const override { return {"loss", "map50", "map"}; }
  std::string best_metric() const override { return "map50"; }

 private:
  DetectionTaskOptions opt_;
};

// Ground truth of a batch's padded targets, image ids offset by `first_image`.
std::vector<metrics::GroundTruth> batch_ground_truth(const data::Batch& batch, int64_t first_image);

}  // namespace convkit::train
