#include "convkit/train/multi_input.h"

#include <algorithm>

#include "convkit/autograd.h"
#include "convkit/metrics/classification.h"
#include "convkit/ops.h"

namespace convkit::train {

MultiInputClassificationTask::MultiInputClassificationTask(int64_t num_classes,
                                                           std::vector<std::string> extra_inputs)
    : num_classes_(num_classes), extra_(std::move(extra_inputs)) {}

nn::TensorList MultiInputClassificationTask::inputs(const data::Batch& batch) const {
  nn::TensorList in{batch.inputs};
  for (const std::string& name : extra_) {
    auto it = batch.extra_inputs.find(name);
    if (it == batch.extra_inputs.end()) {
      std::string have;
      for (const auto& [n, t] : batch.extra_inputs) have += (have.empty() ? "" : ", ") + n;
      throw Error("MultiInputClassificationTask: the batch has no input '" + name +
                  "' (it has: " + (have.empty() ? "none" : have) + ")");
    }
    in.push_back(it->second);
  }
  return in;
}

StepResult MultiInputClassificationTask::step(nn::Module& model, const data::Batch& batch) {
  Tensor logits = model(inputs(batch)).at(0);
  Tensor loss = cross_entropy(logits, batch.labels);
  const int64_t n = batch.labels.size(0);
  const double acc = double(metrics::topk_correct(logits, batch.labels, 1)) / double(n);
  return {loss, {{"loss", loss.item()}, {"acc", acc}}, n};
}

Logs MultiInputClassificationTask::evaluate(nn::Module& model, data::DataLoader& loader) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  double loss = 0;
  int64_t correct = 0, correct5 = 0, n = 0;
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    Tensor logits = model(inputs(*b)).at(0);
    const int64_t k = b->labels.size(0);
    loss += cross_entropy(logits, b->labels).item() * double(k);
    correct += metrics::topk_correct(logits, b->labels, 1);
    correct5 += metrics::topk_correct(logits, b->labels, std::min<int64_t>(5, num_classes_));
    n += k;
  }
  model.train(was_training);
  return {{"loss", n ? loss / double(n) : 0.0},
          {"acc", n ? double(correct) / double(n) : 0.0},
          {"top5", n ? double(correct5) / double(n) : 0.0}};
}

}  // namespace convkit::train
