#pragma once
// Embedding training as a Trainer task (train/task.h): the model maps an image to a vector of
// size d (any zoo model built with num_classes = d: its last linear layer is the embedding head),
// the task L2-normalises it and applies the triplet or contrastive loss of embed/batch_loss.h to
// the batch (use a PKSampler, embed/pk_sampler.h, for the training loader).
#include <cstdint>
#include <vector>

#include "convkit/embed/batch_loss.h"
#include "convkit/train/task.h"

namespace convkit::embed {

// Embeddings of every example of a loader, in loader order, with their labels.
struct EmbeddedSet {
  Tensor embeddings;  // float32 [N, d], L2-normalised
  std::vector<int64_t> labels;
};
// Runs `model` in eval mode without grad over every batch of `loader` (restoring its mode) and
// normalises the outputs. Throws when the model's output is not [B, d].
EmbeddedSet embed_loader(nn::Module& model, data::DataLoader& loader);

// step(): logs {"loss", "active" (fraction of triplets or pairs with a non-zero loss), "d_pos",
// "d_neg" (mean distances of same / different pairs in the batch)}.
// evaluate(): embeds the validation set, draws `eval_pairs` balanced pairs (seeded, the same every
// epoch) and reports {"auc", "pair_acc" (at the best-accuracy threshold of these pairs: an
// optimistic number, for model selection), "threshold"}. Best: "auc".
class EmbeddingTask : public train::Task {
 public:
  explicit EmbeddingTask(EmbeddingLossOptions options, int64_t eval_pairs = 2000);
  train::StepResult step(nn::Module& model, const data::Batch& batch) override;
  train::Logs evaluate(nn::Module& model, data::DataLoader& loader) override;
  std::vector<std::string> metric_names() const override {
    return {"auc", "pair_acc", "threshold"};
  }
  std::string best_metric() const override { return "auc"; }
  const EmbeddingLossOptions& options() const { return opt_; }

 private:
  EmbeddingLossOptions opt_;
  int64_t eval_pairs_;
};

}  // namespace convkit::embed
