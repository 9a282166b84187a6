#include "convkit/train/classification.h"

#include "convkit/autograd.h"
#include "convkit/models/googlenet.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/loss.h"

namespace convkit::train {

EvalResult evaluate(nn::Module& model, data::DataLoader& loader, int64_t num_classes,
                    double label_smoothing) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  EvalResult r;
  r.confusion = metrics::ConfusionMatrix(num_classes);
  metrics::RunningMetrics m;
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    Tensor logits = model(b->inputs);
    double loss = cross_entropy(logits, b->labels, label_smoothing).item();
    m.add(loss, logits, b->labels);
    r.confusion.add(logits, b->labels);
  }
  model.train(was_training);
  r.loss = m.loss();
  r.top1 = m.top1();
  r.top5 = m.top5();
  return r;
}

ClassificationTask::ClassificationTask(int64_t num_classes, ClassificationOptions options)
    : num_classes_(num_classes), opt_(options) {
  CONVKIT_CHECK(num_classes > 0, "ClassificationTask: need at least one class, got ", num_classes);
  CONVKIT_CHECK(opt_.aux_weight >= 0, "ClassificationTask: negative auxiliary loss weight ",
                opt_.aux_weight);
}

Tensor ClassificationTask::main_loss(const Tensor& logits, const data::Batch& batch) {
  return cross_entropy(logits, batch.labels, opt_.label_smoothing);
}

StepResult ClassificationTask::step(nn::Module& model, const data::Batch& batch) {
  Tensor logits, loss;
  auto* googlenet = dynamic_cast<models::GoogLeNet*>(&model);
  if (googlenet && googlenet->aux1 && model.is_training()) {
    models::GoogLeNetOutputs out = googlenet->forward_with_aux(batch.inputs);
    logits = out.logits;
    // torchvision's references/classification: loss = main + 0.3 * aux1 + 0.3 * aux2.
    loss = main_loss(logits, batch) +
           cross_entropy(out.aux1, batch.labels, opt_.label_smoothing) * opt_.aux_weight +
           cross_entropy(out.aux2, batch.labels, opt_.label_smoothing) * opt_.aux_weight;
  } else {
    logits = model(batch.inputs);
    loss = main_loss(logits, batch);
  }
  const int64_t n = logits.size(0);
  const double correct = double(metrics::topk_correct(logits.detach(), batch.labels, 1));
  return {loss, {{"loss", loss.item()}, {"acc", n ? correct / double(n) : 0.0}}, n};
}

Logs ClassificationTask::evaluate(nn::Module& model, data::DataLoader& loader) {
  EvalResult r = train::evaluate(model, loader, num_classes_, opt_.label_smoothing);
  Logs logs = {{"loss", r.loss}, {"acc", r.top1}};
  if (num_classes_ > 5) logs["top5"] = r.top5;
  return logs;
}

std::vector<std::string> ClassificationTask::metric_names() const {
  if (num_classes_ > 5) return {"loss", "acc", "top5"};
  return {"loss", "acc"};
}

}  // namespace convkit::train
