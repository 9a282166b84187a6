#pragma once
// What one training step and one evaluation mean for a model: the Trainer's only model-specific
// part (docs/training.md). Classification and distillation are tasks (train/classification.h,
// train/distillation.h); a detector, an embedding net or a two-input model brings its own.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "convkit/data/loader.h"
#include "convkit/nn/module.h"

namespace convkit::train {

// Named numbers: a step's logs, an evaluation's metrics ("loss", "acc", "top5", ...).
using Logs = std::map<std::string, double>;

struct StepResult {
  Tensor loss;           // scalar with its graph: backward() starts here
  Logs logs;             // means over this batch's examples (e.g. {"loss", "acc"})
  int64_t examples = 0;  // rows of the batch: the weight of `logs` in the epoch's averages
};

class Task {
 public:
  virtual ~Task() = default;
  // The forward of one training batch: the model is in training mode and grad mode is on. The
  // Trainer runs backward, the callbacks and the optimizer step.
  virtual StepResult step(nn::Module& model, const data::Batch& batch) = 0;
  // Metrics of `model` over every batch of `loader`. Leaves the model's mode as it found it.
  virtual Logs evaluate(nn::Module& model, data::DataLoader& loader) = 0;
  // The names evaluate() returns, in the order logs print them.
  virtual std::vector<std::string> metric_names() const = 0;
  // The metric (of evaluate(), or of the step logs when there is no validation set) that picks
  // the best weights. Higher is better: a task whose best is a loss reports its negative.
  virtual std::string best_metric() const = 0;
};

}  // namespace convkit::train
