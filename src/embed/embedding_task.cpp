#include "convkit/embed/embedding_task.h"

#include "convkit/autograd.h"
#include "convkit/embed/verification.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::embed {

namespace {
std::vector<int64_t> labels_of(const data::Batch& b) {
  CONVKIT_CHECK(b.labels.defined() && b.labels.dtype() == DType::i64 && b.labels.ndim() == 1,
                "embedding task: the batch needs int64 labels [B] (identities)");
  const int64_t* p = b.labels.data<int64_t>();
  return std::vector<int64_t>(p, p + b.labels.numel());
}

Tensor embed_batch(nn::Module& model, const Tensor& inputs) {
  Tensor out = model(inputs);
  CONVKIT_CHECK(out.ndim() == 2 && out.size(0) == inputs.size(0),
                "embedding task: the model must output embeddings [B, d]; for input ",
                inputs.shape().to_string(), " it gave ", out.shape().to_string());
  return l2_normalize(out);
}
}  // namespace

EmbeddedSet embed_loader(nn::Module& model, data::DataLoader& loader) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  EmbeddedSet s;
  TensorList parts;
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    parts.push_back(embed_batch(model, b->inputs).to(DType::f32));
    const std::vector<int64_t> l = labels_of(*b);
    s.labels.insert(s.labels.end(), l.begin(), l.end());
  }
  if (was_training) model.train();
  CONVKIT_CHECK(!parts.empty(), "embed_loader: the loader has no batches");
  s.embeddings = concat(parts, 0);
  return s;
}

EmbeddingTask::EmbeddingTask(EmbeddingLossOptions options, int64_t eval_pairs)
    : opt_(options), eval_pairs_(eval_pairs) {}

train::StepResult EmbeddingTask::step(nn::Module& model, const data::Batch& batch) {
  const std::vector<int64_t> labels = labels_of(batch);
  EmbeddingLoss l = embedding_loss(embed_batch(model, batch.inputs), labels, opt_);
  train::StepResult r;
  r.loss = l.loss;
  r.examples = int64_t(labels.size());
  r.logs = {{"loss", l.loss.item()},
            {"active", l.terms ? double(l.active) / double(l.terms) : 0.0},
            {"d_pos", l.positive_distance},
            {"d_neg", l.negative_distance}};
  return r;
}

train::Logs EmbeddingTask::evaluate(nn::Module& model, data::DataLoader& loader) {
  const EmbeddedSet s = embed_loader(model, loader);
  const Pairs pairs = balanced_pairs(s.labels, eval_pairs_, /*seed=*/12345);
  const std::vector<double> d = pair_distances(s.embeddings, pairs);
  const double t = best_accuracy_threshold(d, pairs.same);
  return {{"auc", verification_auc(d, pairs.same)},
          {"pair_acc", pair_accuracy(d, pairs.same, t)},
          {"threshold", t}};
}

}  // namespace convkit::embed
