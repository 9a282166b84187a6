// Classification + localization (contract in include/convkit/detect/localization.h).
#include "convkit/detect/localization.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/nn/layers.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/loss.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::detect {

std::shared_ptr<nn::Module> make_localizer(const LocalizerConfig& c, const BackboneSpec& backbone) {
  CONVKIT_CHECK(c.num_classes >= 1, "localizer: num_classes must be >= 1, got ", c.num_classes);
  const Backbone trunk = make_backbone(backbone, c.image_size, c.grid);
  auto net = std::make_shared<nn::Sequential>();
  net->add(trunk.module);
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Linear>(trunk.channels * c.grid * c.grid, c.num_classes + 4));
  return net;
}

LocalizationOptions localization_options(const LocalizerConfig& c) {
  LocalizationOptions o;
  o.num_classes = c.num_classes;
  o.image_size = c.image_size;
  return o;
}

std::vector<metrics::Detection> localization_detections(const Tensor& output,
                                                        const LocalizationOptions& o, double conf) {
  CONVKIT_CHECK(output.ndim() == 2 && output.size(1) == o.num_classes + 4, "localization: output ",
                output.shape().to_string(), " is not [N, ", o.num_classes + 4, "] (", o.num_classes,
                " classes + 4 box numbers)");
  const Tensor o32 = output.detach().to(DType::f32);
  std::vector<metrics::Detection> out;
  for (int64_t i = 0; i < o32.size(0); ++i) {
    const float* row = o32.data<float>() + i * o32.size(1);
    const int64_t cls = std::max_element(row, row + o.num_classes) - row;
    double denom = 0;
    for (int64_t k = 0; k < o.num_classes; ++k) denom += std::exp(double(row[k] - row[cls]));
    const double score = 1.0 / denom;
    if (score >= conf) out.push_back({i, cls, float(score), localization_box(o32, i, o)});
  }
  return out;
}

void localization_targets(const data::Batch& b, const LocalizationOptions& o, Tensor* boxes,
                          Tensor* labels) {
  auto bt = b.targets.find("boxes");
  auto lt = b.targets.find("box_labels");
  CONVKIT_CHECK(bt != b.targets.end() && lt != b.targets.end(),
                "localization: the batch has no 'boxes' / 'box_labels' targets (use "
                "data::DetectionDataset)");
  const int64_t N = lt->second.size(0), M = lt->second.size(1);
  *boxes = Tensor::empty({N, 4});
  *labels = Tensor::empty({N}, DType::i64);
  const double s = double(o.image_size);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t lab = lt->second.data<int64_t>()[n * M];
    CONVKIT_CHECK(lab >= 0, "localization: image ", b.indices.empty() ? n : b.indices[size_t(n)],
                  " has no object; a localization head needs exactly one per image");
    const float* p = bt->second.data<float>() + n * M * 4;
    float* t = boxes->data<float>() + n * 4;
    t[0] = float((p[0] + p[2]) / 2 / s);
    t[1] = float((p[1] + p[3]) / 2 / s);
    t[2] = float((p[2] - p[0]) / s);
    t[3] = float((p[3] - p[1]) / s);
    labels->data<int64_t>()[n] = lab;
  }
}

Tensor localization_loss(const Tensor& output, const Tensor& labels, const Tensor& boxes,
                         const LocalizationOptions& o) {
  CONVKIT_CHECK(output.ndim() == 2 && output.size(1) == o.num_classes + 4,
                "localization_loss: output must be [N, ", o.num_classes, " classes + 4], got ",
                output.shape().to_string());
  const Tensor logits = narrow(output, 1, 0, o.num_classes);
  const Tensor box = narrow(output, 1, o.num_classes, 4);
  return add(cross_entropy(logits, labels),
             mul(smooth_l1_loss(box, boxes.to(output.dtype()), o.beta), o.box_weight));
}

Box localization_box(const Tensor& output, int64_t row, const LocalizationOptions& o) {
  const Tensor r = output.to(DType::f32);
  const float* p = r.data<float>() + row * r.size(1) + o.num_classes;
  const float s = float(o.image_size);
  const float w = std::max(p[2], 0.0f) * s, h = std::max(p[3], 0.0f) * s;
  return {p[0] * s - w / 2, p[1] * s - h / 2, p[0] * s + w / 2, p[1] * s + h / 2};
}

LocalizationTask::LocalizationTask(LocalizationOptions options) : opt_(options) {
  CONVKIT_CHECK(opt_.num_classes >= 1 && opt_.image_size >= 1,
                "LocalizationTask: num_classes and image_size must be >= 1");
}

train::StepResult LocalizationTask::step(nn::Module& model, const data::Batch& batch) {
  Tensor boxes, labels;
  localization_targets(batch, opt_, &boxes, &labels);
  Tensor loss = localization_loss(model(batch.inputs), labels, boxes, opt_);
  return {loss, {{"loss", loss.item()}}, batch.inputs.size(0)};
}

train::Logs LocalizationTask::evaluate(nn::Module& model, data::DataLoader& loader) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  double loss = 0;
  int64_t n = 0, right = 0, found = 0, both = 0;
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    Tensor boxes, labels;
    localization_targets(*b, opt_, &boxes, &labels);
    const Tensor out = model(b->inputs);
    const int64_t N = out.size(0);
    loss += localization_loss(out, labels, boxes, opt_).item() * double(N);
    const Tensor o32 = out.to(DType::f32);
    for (int64_t i = 0; i < N; ++i) {
      const float* row = o32.data<float>() + i * o32.size(1);
      const int64_t cls = std::max_element(row, row + opt_.num_classes) - row;
      const float* t = boxes.data<float>() + i * 4;
      const float s = float(opt_.image_size);
      const Box truth{(t[0] - t[2] / 2) * s, (t[1] - t[3] / 2) * s, (t[0] + t[2] / 2) * s,
                      (t[1] + t[3] / 2) * s};
      const bool ok_cls = cls == labels.data<int64_t>()[i];
      const bool ok_box = iou(localization_box(o32, i, opt_), truth) >= 0.5f;
      right += ok_cls;
      found += ok_box;
      both += ok_cls && ok_box;
    }
    n += N;
  }
  model.train(was_training);
  const double d = n ? double(n) : 1.0;
  return {{"loss", loss / d}, {"acc", right / d}, {"loc_acc", found / d}, {"both", both / d}};
}

}  // namespace convkit::detect
