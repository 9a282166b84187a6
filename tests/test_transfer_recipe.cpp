// The fine-tuning recipe (transfer/recipe.h): what each stage trains and what it leaves alone —
// frozen weights and frozen batch norms' running statistics stay bit-identical, the unfrozen top
// blocks train at the base's lower rate — and the from-scratch baseline trains everything.
#include <gtest/gtest.h>

#include "convkit/models/resnet_cifar.h"
#include "convkit/random.h"
#include "convkit/transfer/recipe.h"

using namespace convkit;

namespace {
std::vector<float> values(const Tensor& t) {
  return {t.data<float>(), t.data<float>() + t.numel()};
}

// Every tensor of the model's state, copied.
std::map<std::string, std::vector<float>> snapshot(const nn::Module& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, t] : m.state_dict())
    if (t.dtype() == DType::f32) out[name] = values(t);
  return out;
}

// The names under `prefix` whose values differ between the two snapshots.
int changed(const std::map<std::string, std::vector<float>>& a,
            const std::map<std::string, std::vector<float>>& b, const std::string& prefix) {
  int n = 0;
  for (const auto& [name, v] : a)
    if (nn::has_prefix(name, prefix) && b.at(name) != v) ++n;
  return n;
}

data::DatasetPtr tiny_set(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor x = Tensor::randn({n, 1, 8, 8}, &gen);
  std::vector<int64_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = i % 2;
    for (int64_t k = 0; k < 64; ++k) x.data<float>()[i * 64 + k] += float(y[i]) - 0.5f;
  }
  return std::make_shared<data::TensorDataset>(x, Tensor::from_vector(y, {n}), 2);
}

// A CIFAR ResNet of `depth` (8: one block per stage, cheap under the sanitizers) with a new head.
std::unique_ptr<transfer::TransferModel> make_model(uint64_t seed, int depth = 8) {
  manual_seed(seed);
  auto base = std::make_shared<models::CifarResNet>(depth, /*in_channels=*/1, /*num_classes=*/10);
  return std::make_unique<transfer::TransferModel>(
      std::make_shared<transfer::Truncated>(base, "avgpool", Shape{1, 8, 8}), 2);
}

transfer::StageOptions quick() {
  transfer::StageOptions o;
  o.epochs = 2;
  o.batch_size = 8;
  o.lr = 0.05;
  return o;
}
}  // namespace

TEST(TransferRecipe, UnfreezesTopBlocksByCountOrName) {
  auto m = make_model(1, /*depth=*/20);
  EXPECT_EQ(m->base->blocks(), (std::vector<std::string>{"conv1", "bn1", "layer1", "layer2",
                                                         "layer3"}));  // avgpool: no parameters
  EXPECT_EQ(m->num_parameters(/*trainable_only=*/true), 64 * 2 + 2);   // the head only
  EXPECT_EQ(transfer::unfreeze_top(*m, 2), (std::vector<std::string>{"layer3", "layer2"}));
  EXPECT_TRUE(m->base->child("layer2.0.conv1")->parameters()[0].requires_grad());
  EXPECT_FALSE(m->base->child("layer1.0.conv1")->parameters()[0].requires_grad());
  transfer::unfreeze_blocks(*m, {"layer1.2"});
  EXPECT_TRUE(m->base->child("layer1.2.conv1")->parameters()[0].requires_grad());
  EXPECT_FALSE(m->base->child("layer1.1.conv1")->parameters()[0].requires_grad());
  try {
    transfer::unfreeze_blocks(*m, {"fc"});  // after the cut: not in the model
    FAIL() << "no throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'fc'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("conv1, bn1, layer1, layer2, layer3"), std::string::npos) << msg;
  }
}

// Steps 3-5 on one model: the head stage moves only the head; after unfreezing layer3 the joint
// stage moves layer3 and the head, and every frozen batch norm keeps its running statistics.
TEST(TransferRecipe, FrozenPartsAndTheirBatchNormStatisticsStayPut) {
  auto m = make_model(2);
  const transfer::TransferData data{tiny_set(16, 3), tiny_set(8, 4), nullptr};
  const auto before = snapshot(*m);
  transfer::StageResult head = transfer::train_head(*m, data, quick());
  EXPECT_GE(head.val_acc, 0.0);
  const auto after_head = snapshot(*m);
  EXPECT_EQ(changed(before, after_head, "base"), 0);
  EXPECT_EQ(changed(before, after_head, "head"), 2);

  transfer::unfreeze_top(*m, 1);
  m->train();
  EXPECT_TRUE(m->base->child("layer3.0.bn1")->is_training());
  EXPECT_FALSE(m->base->child("layer2.0.bn1")->is_training());  // frozen: eval mode
  transfer::train_joint(*m, data, quick());
  const auto after = snapshot(*m);
  for (const char* frozen : {"base.conv1", "base.bn1", "base.layer1", "base.layer2"})
    EXPECT_EQ(changed(after_head, after, frozen), 0) << frozen;
  EXPECT_GT(changed(after_head, after, "base.layer3"), 0);
  EXPECT_NE(after.at("base.layer3.0.bn1.running_mean"),
            after_head.at("base.layer3.0.bn1.running_mean"));
  EXPECT_NE(after.at("base.layer3.0.conv1.weight"), after_head.at("base.layer3.0.conv1.weight"));
  EXPECT_EQ(changed(after_head, after, "head"), 2);
}

// base_lr_mult reaches the unfrozen blocks: at 0 their weights stay (their batch norms, in
// training mode, still update statistics), the head still trains.
TEST(TransferRecipe, BaseLearningRateMultiplierReachesTheUnfrozenBlocks) {
  auto m = make_model(3);
  const transfer::TransferData data{tiny_set(16, 5), nullptr, nullptr};
  transfer::unfreeze_top(*m, 1);
  transfer::StageOptions o = quick();
  o.base_lr_mult = 0.0;
  const auto before = snapshot(*m);
  transfer::StageResult r = transfer::train_joint(*m, data, o);
  EXPECT_EQ(r.val_acc, -1);
  const auto after = snapshot(*m);
  EXPECT_EQ(after.at("base.layer3.0.conv1.weight"), before.at("base.layer3.0.conv1.weight"));
  EXPECT_NE(after.at("base.layer3.0.bn1.running_mean"),
            before.at("base.layer3.0.bn1.running_mean"));
  EXPECT_EQ(changed(before, after, "head"), 2);

  o.block_lr_decay = 1.5;
  EXPECT_THROW(transfer::train_joint(*m, data, o), Error);
}

// Discriminative rates: with a vanishing block_lr_decay the second unfrozen block from the top
// trains at ~0 while the top one trains at the base rate.
TEST(TransferRecipe, BlockLearningRateDecayReachesLowerBlocks) {
  auto m = make_model(5);
  const transfer::TransferData data{tiny_set(16, 8), nullptr, nullptr};
  EXPECT_EQ(transfer::unfreeze_top(*m, 2), (std::vector<std::string>{"layer3", "layer2"}));
  transfer::StageOptions o = quick();
  o.base_lr_mult = 1.0;
  o.block_lr_decay = 1e-30;
  const auto before = snapshot(*m);
  transfer::train_joint(*m, data, o);
  const auto after = snapshot(*m);
  EXPECT_NE(after.at("base.layer3.0.conv1.weight"), before.at("base.layer3.0.conv1.weight"));
  EXPECT_EQ(after.at("base.layer2.0.conv1.weight"), before.at("base.layer2.0.conv1.weight"));
}

TEST(TransferRecipe, ScratchBaselineTrainsEveryParameter) {
  auto m = make_model(4);
  const transfer::TransferData data{tiny_set(16, 6), nullptr, tiny_set(8, 7)};
  const auto before = snapshot(*m);
  transfer::StageResult r = transfer::train_scratch(*m, data, quick());
  EXPECT_EQ(r.trainable, m->num_parameters());
  EXPECT_GE(r.test_acc, 0.0);
  EXPECT_GT(changed(before, snapshot(*m), "base.conv1"), 0);
  EXPECT_GT(changed(before, snapshot(*m), "base.layer1"), 0);
}
