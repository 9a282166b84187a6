#pragma once
// Classification + localization: one object per image, a network whose output row holds the C
// class logits and then one box (bx, by, bw, bh) = (centre x, centre y, width, height) divided by
// the image size (Sermanet et al. 2014's localization head, in the notation of Ng's course).
//   loss = CE(logits, label) + box_weight * mean over the 4 box numbers of smooth_l1(box - box*)
// (smooth-L1 as Fast R-CNN, beta 1/9 there; here `beta`). Targets come from DetectionDataset
// batches: the first object of each image.
#include <memory>

#include "convkit/detect/backbone.h"
#include "convkit/detect/boxes.h"
#include "convkit/metrics/detection.h"
#include "convkit/train/task.h"

namespace convkit::detect {

struct LocalizationOptions {
  int64_t num_classes = 4;
  int64_t image_size = 64;  // pixels; boxes are divided by it
  double box_weight = 5.0;
  double beta = 0.05;  // smooth-L1 transition, in normalized units (about 3 px at 64)
};

// The network of `convkit train --task detect --arch localize`: a trunk (detect/backbone.h) to a
// grid x grid map, flattened, and one linear layer to C + 4 outputs (OverFeat's regression head
// reads the whole map, so the box can depend on where things are; a global pool would lose it).
// Children "0" trunk, "1" flatten, "2" the linear layer.
struct LocalizerConfig {
  int64_t image_size = 64, grid = 8, num_classes = 4;
};
std::shared_ptr<nn::Module> make_localizer(const LocalizerConfig& config,
                                           const BackboneSpec& backbone);
LocalizationOptions localization_options(const LocalizerConfig& config);
// One detection per image: the arg-max class with its softmax probability as the score, and the
// predicted box, when the score is >= conf. output [N, C + 4].
std::vector<metrics::Detection> localization_detections(const Tensor& output,
                                                        const LocalizationOptions& o, double conf);

// Normalized (cx, cy, w, h) [N, 4] of each image's first object from targets["boxes"] [N, M, 4]
// and targets["box_labels"] [N, M]; labels [N]. Throws naming the image when it has no object.
void localization_targets(const data::Batch& batch, const LocalizationOptions& o, Tensor* boxes,
                          Tensor* labels);
// The loss above; output [N, C + 4]. Gradients to output.
Tensor localization_loss(const Tensor& output, const Tensor& labels, const Tensor& boxes,
                         const LocalizationOptions& o);
// The predicted box of row i in image pixels, xyxy.
Box localization_box(const Tensor& output, int64_t row, const LocalizationOptions& o);

// step(): the loss; logs {"loss"}. evaluate(): {"loss", "acc" (class), "loc_acc" (IoU >= 0.5),
// "both" (right class and IoU >= 0.5)}. Best: "both".
class LocalizationTask : public train::Task {
 public:
  explicit LocalizationTask(LocalizationOptions options);
  train::StepResult step(nn::Module& model, const data::Batch& batch) override;
  train::Logs evaluate(nn::Module& model, data::DataLoader& loader) override;
  std::vector<std::string> metric_names() const override {
    return {"loss", "acc", "loc_acc", "both"};
  }
  std::string best_metric() const override { return "both"; }

 private:
  LocalizationOptions opt_;
};

}  // namespace convkit::detect
