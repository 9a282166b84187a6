#pragma once
// Classification: cross entropy on logits [N, classes] against labels [N]; top-1 / top-5.
#include "convkit/metrics/classification.h"
#include "convkit/train/task.h"

namespace convkit::train {

struct EvalResult {
  double loss = 0, top1 = 0, top5 = 0;
  metrics::ConfusionMatrix confusion{1};
};

// Loss and accuracies of `model` (switched to eval mode, no grad) over every batch of `loader`.
EvalResult evaluate(nn::Module& model, data::DataLoader& loader, int64_t num_classes,
                    double label_smoothing = 0.0);

struct ClassificationOptions {
  double label_smoothing = 0.0;  // epsilon of cross_entropy (ops/loss.h)
  // Weight of each auxiliary classifier's loss for models that have them (GoogLeNet with
  // aux_logits, in training mode): loss = CE(main) + w * (CE(aux1) + CE(aux2)). 0.3 is the paper's
  // (Szegedy et al. 2015, section 5) and torchvision's training reference's.
  double aux_weight = 0.3;
};

// step(): logits = model(batch.inputs) (for GoogLeNet also its auxiliary logits), loss as above;
// logs {"loss": the loss, "acc": top-1 of the main logits}. evaluate(): {"loss", "acc"} of the
// main logits, and "top5" with more than 5 classes (with 5 or fewer it is always 1). Best: "acc".
class ClassificationTask : public Task {
 public:
  explicit ClassificationTask(int64_t num_classes, ClassificationOptions options = {});
  StepResult step(nn::Module& model, const data::Batch& batch) override;
  Logs evaluate(nn::Module& model, data::DataLoader& loader) override;
  std::vector<std::string> metric_names() const override;
  std::string best_metric() const override { return "acc"; }
  const ClassificationOptions& options() const { return opt_; }

 protected:
  // The loss of the main logits (a distillation task adds its teacher term here).
  virtual Tensor main_loss(const Tensor& logits, const data::Batch& batch);

  int64_t num_classes_;
  ClassificationOptions opt_;
};

}  // namespace convkit::train
