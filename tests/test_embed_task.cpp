// EmbeddingTask in the unchanged Trainer with a P x K loader: on blobs that a linear map can
// separate, training lowers the triplet loss and raises the validation AUC; a model whose output is
// not [B, d] is refused with the shapes.
#include <gtest/gtest.h>

#include "convkit/embed/embedding_task.h"
#include "convkit/embed/pk_sampler.h"
#include "convkit/nn/layers.h"
#include "convkit/ops/reduce.h"
#include "convkit/optim/sgd.h"
#include "convkit/train/trainer.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

// 6 classes, 40 examples each: a class mean in 8-d (norm 1, from a fixed seed) plus noise 0.2
// drawn from `seed`.
data::DatasetPtr blobs(uint64_t seed) {
  Generator mean_gen(77), gen(seed);
  Tensor means = Tensor::randn({6, 8}, &mean_gen);
  std::vector<float> x;
  std::vector<int64_t> y;
  for (int i = 0; i < 240; ++i) {
    const int c = i % 6;
    double norm = 0;
    for (int k = 0; k < 8; ++k) norm += means.at({c, k}) * means.at({c, k});
    for (int k = 0; k < 8; ++k)
      x.push_back(float(means.at({c, k}) / std::sqrt(norm) + gen.normal(0, 0.2)));
    y.push_back(c);
  }
  return std::make_shared<data::TensorDataset>(Tensor::from_vector(x, {240, 8}),
                                               Tensor::from_vector(y, {240}), 6);
}

TEST(EmbeddingTask, TrainerLowersTheLossAndRaisesValidationAuc) {
  auto train_set = blobs(1), val_set = blobs(2);  // same classes, other draws
  manual_seed(4);
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(8, 16), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(16, 4)});
  optim::SGD sgd({{.params = model->parameters(), .lr = 0.1}}, {.momentum = 0.9});
  embed::EmbeddingTask task({.mining = embed::Mining::all, .margin = 0.5}, /*eval_pairs=*/400);
  data::DataLoader loader(train_set,
                          {.workers = 1,
                           .sampler = std::make_shared<embed::PKSampler>(train_set->labels(),
                                                                         /*p=*/4, /*k=*/5, 2)});
  data::DataLoader val(val_set, {.batch_size = 64, .shuffle = false, .workers = 1});
  const double auc_before = task.evaluate(*model, val).at("auc");
  EXPECT_LT(auc_before, 0.95);  // so that reaching 0.97 below takes training
  train::Trainer trainer(*model, sgd, task, loader, &val, {.epochs = 8});
  ASSERT_TRUE(trainer.run());
  const auto& h = trainer.history();
  EXPECT_LT(h.back().train.at("loss"), h.front().train.at("loss"));
  EXPECT_GT(h.back().val.at("auc"), 0.97) << "before training: " << auc_before;
  EXPECT_GT(h.back().val.at("auc"), auc_before);
  EXPECT_GT(h.back().train.at("d_neg"), h.back().train.at("d_pos"));
}

// Sums each row: a [B] output, not embeddings.
struct RowSum : nn::Module {
  RowSum() : nn::Module("RowSum") {}
  Tensor forward(const Tensor& x) override { return sum(x, {1}); }
};

TEST(EmbeddingTask, ModelOutputMustBeEmbeddings) {
  auto ds = blobs(3);
  RowSum model;
  embed::EmbeddingTask task({});
  EXPECT_THROW_WITH(task.step(model, ds->get_batch({0, 1, 2})), "[B, d]", "[3,8]", "[3]");
}

}  // namespace
}  // namespace convkit
