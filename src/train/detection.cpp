#include "convkit/train/detection.h"

#include <functional>
#include <utility>

#include "convkit/autograd.h"
#include "convkit/error.h"

namespace convkit::train {

namespace {

const Tensor& target(const data::Batch& b, const char* name) {
  auto it = b.targets.find(name);
  CONVKIT_CHECK(it != b.targets.end(), "DetectionTask: the batch has no target '", name,
                "' (detection data comes from data::DetectionDataset)");
  return it->second;
}

}  // namespace

DetectionTask::DetectionTask(detect::YoloConfig config, DetectionTaskOptions options)
    : config_(std::move(config)), opt_(options) {
  detect::check_yolo_config(config_);
}

StepResult DetectionTask::step(nn::Module& model, const data::Batch& batch) {
  const detect::YoloTargets t =
      detect::build_yolo_targets(config_, target(batch, "boxes"), target(batch, "box_labels"));
  Tensor loss = detect::yolo_loss(model(batch.inputs), config_, t, opt_.loss);
  const double value = loss.item();
  return {loss, {{"loss", value}}, batch.inputs.size(0)};
}

std::vector<metrics::GroundTruth> batch_ground_truth(const data::Batch& batch,
                                                     int64_t first_image) {
  const Tensor& boxes = target(batch, "boxes");
  const Tensor& labels = target(batch, "box_labels");
  const int64_t N = labels.size(0), M = labels.size(1);
  std::vector<metrics::GroundTruth> out;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t lab = labels.data<int64_t>()[n * M + m];
      if (lab < 0) continue;
      const float* p = boxes.data<float>() + (n * M + m) * 4;
      out.push_back({first_image + n, lab, {p[0], p[1], p[2], p[3]}});
    }
  return out;
}

namespace {

detect::FasterRcnn& as_frcnn(nn::Module& model) {
  auto* m = dynamic_cast<detect::FasterRcnn*>(&model);
  CONVKIT_CHECK(m, "FasterRcnnTask: the model is a ", model.type_name(), ", not a FasterRcnn");
  return *m;
}

}  // namespace

StepResult FasterRcnnTask::step(nn::Module& model, const data::Batch& batch) {
  const auto targets = detect::image_targets(target(batch, "boxes"), target(batch, "box_labels"));
  const detect::FasterRcnn::Losses l =
      as_frcnn(model).losses(batch.inputs, targets, default_generator());
  Tensor loss = l.total();
  return {loss,
          {{"loss", loss.item()},
           {"rpn_objectness", l.objectness.item()},
           {"rpn_box", l.rpn_box.item()},
           {"classifier", l.classifier.item()},
           {"box", l.box.item()}},
          batch.inputs.size(0)};
}

namespace {

// One batch's loss (mean over its images) and detections (images numbered from 0 in the batch).
using BatchEval =
    std::function<std::pair<double, std::vector<metrics::Detection>>(const data::Batch&)>;

// The evaluation both tasks share: the model in eval mode without gradients over every batch, the
// mean loss per image, VOC mAP@0.5 and COCO mAP over all detections.
Logs evaluate_detector(nn::Module& model, data::DataLoader& loader, int64_t num_classes,
                       const BatchEval& per_batch) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<metrics::Detection> dets;
  std::vector<metrics::GroundTruth> gts;
  double loss_sum = 0;
  int64_t images = 0;
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    const int64_t n = b->inputs.size(0);
    auto [loss, found] = per_batch(*b);
    loss_sum += loss * double(n);
    for (metrics::Detection d : found) {
      d.image += images;
      dets.push_back(d);
    }
    for (const auto& g : batch_ground_truth(*b, images)) gts.push_back(g);
    images += n;
  }
  model.train(was_training);
  return {{"loss", images ? loss_sum / double(images) : 0.0},
          {"map50", metrics::voc_map(dets, gts, num_classes).map},
          {"map", metrics::coco_map(dets, gts, num_classes).map}};
}

}  // namespace

Logs FasterRcnnTask::evaluate(nn::Module& model, data::DataLoader& loader) {
  detect::FasterRcnn& m = as_frcnn(model);
  Generator gen(0x5eed);  // the loss's samples, alike on every call
  return evaluate_detector(model, loader, m.config().num_classes, [&](const data::Batch& b) {
    const auto targets = detect::image_targets(target(b, "boxes"), target(b, "box_labels"));
    return std::make_pair(m.losses(b.inputs, targets, gen).total().item(),
                          m.detect(b.inputs, opt_.conf_threshold, opt_.nms_iou));
  });
}

Logs DetectionTask::evaluate(nn::Module& model, data::DataLoader& loader) {
  return evaluate_detector(model, loader, config_.num_classes, [&](const data::Batch& b) {
    const Tensor out = model(b.inputs);
    const detect::YoloTargets t =
        detect::build_yolo_targets(config_, target(b, "boxes"), target(b, "box_labels"));
    return std::make_pair(detect::yolo_loss(out, config_, t, opt_.loss).item(),
                          detect::yolo_decode(out, config_, opt_.conf_threshold, opt_.nms_iou));
  });
}

}  // namespace convkit::train
