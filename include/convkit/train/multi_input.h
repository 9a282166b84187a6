#pragma once
// Classification for models with several inputs (models/image_metadata.h): the model's
// forward_many takes {batch.inputs, batch.extra_inputs[name] for each name, in order} and returns
// {logits [B, classes]}; cross entropy and top-1 as ClassificationTask. evaluate(): {"loss",
// "acc", "top5"}; best: "acc".
#include <string>
#include <vector>

#include "convkit/train/task.h"

namespace convkit::train {

class MultiInputClassificationTask : public Task {
 public:
  MultiInputClassificationTask(int64_t num_classes, std::vector<std::string> extra_inputs);
  StepResult step(nn::Module& model, const data::Batch& batch) override;
  Logs evaluate(nn::Module& model, data::DataLoader& loader) override;
  std::vector<std::string> metric_names() const override { return {"loss", "acc", "top5"}; }
  std::string best_metric() const override { return "acc"; }
  // The model's inputs of `batch`; throws naming a missing extra input and the ones it has.
  nn::TensorList inputs(const data::Batch& batch) const;

 private:
  int64_t num_classes_;
  std::vector<std::string> extra_;
};

}  // namespace convkit::train
