// Embedding losses: the triplet loss under each mining rule and the contrastive loss against a
// PyTorch reference on the same embeddings (tests/golden/gen_embed.py), their gradients by finite
// differences, the mining rules on hand-made distances, and the bad inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "convkit/embed/batch_loss.h"
#include "convkit/ops.h"
#include "convkit/ops/metric_loss.h"
#include "support/golden.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

using embed::EmbeddingLossOptions;
using embed::LossKind;
using embed::Mining;

std::vector<int64_t> to_vector(const Tensor& t) {
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.numel());
}

Tensor loss_of(const Tensor& x, const std::vector<int64_t>& y, const EmbeddingLossOptions& o) {
  return embed::embedding_loss(embed::l2_normalize(x), y, o).loss;
}

TEST(EmbedLoss, TripletAndContrastiveMatchPyTorch) {
  auto f = test::load_golden("embed_losses");
  const std::vector<int64_t> y = to_vector(test::golden_tensor(f, "labels"));
  auto check = [&](const std::string& name, const EmbeddingLossOptions& o) {
    Tensor x = test::golden_tensor(f, "x").clone().set_requires_grad(true);
    Tensor loss = loss_of(x, y, o);
    EXPECT_LE(test::rel_error(loss, test::golden_tensor(f, name + ".loss")), 1e-4) << name;
    loss.backward();
    EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, name + ".dx")), 1e-4) << name;
  };
  for (Mining m : {Mining::all, Mining::hard, Mining::semihard})
    for (double margin : {0.2, 1.0})
      for (bool squared : {false, true}) {
        char name[64];
        std::snprintf(name, sizeof name, "triplet_%s_%g%s", embed::mining_name(m).c_str(), margin,
                      squared ? "_sq" : "");
        check(name, {.loss = LossKind::triplet, .mining = m, .margin = margin, .squared = squared});
      }
  for (double margin : {0.5, 1.5}) {
    char name[64];
    std::snprintf(name, sizeof name, "contrastive_%g", margin);
    check(name, {.loss = LossKind::contrastive, .margin = margin});
  }
}

// The semi-hard negatives themselves, pair by pair in PyTorch's (anchor, positive) row-major order.
TEST(EmbedLoss, SemiHardNegativesMatchPyTorch) {
  auto f = test::load_golden("embed_losses");
  const std::vector<int64_t> y = to_vector(test::golden_tensor(f, "labels"));
  Tensor d = pairwise_distances(embed::l2_normalize(test::golden_tensor(f, "x")));
  const embed::Triplets t = embed::mine_triplets(d, y, Mining::semihard);
  EXPECT_EQ(t.negative, to_vector(test::golden_tensor(f, "semihard_negative")));
}

TEST(EmbedLoss, MiningRulesOnHandMadeDistances) {
  // Rows 0, 1 are class 0; rows 2, 3 class 1. Distances from anchor 0: to 1 (positive) 0.5,
  // to 2: 0.3 (harder than the positive), to 3: 0.7 (semi-hard band).
  Tensor d = Tensor::from_vector<double>({0, .5, .3, .7,  //
                                          .5, 0, .9, .2,  //
                                          .3, .9, 0, .4,  //
                                          .7, .2, .4, 0},
                                         {4, 4});
  const std::vector<int64_t> y = {0, 0, 1, 1};
  embed::Triplets all = embed::mine_triplets(d, y, Mining::all);
  EXPECT_EQ(all.size(), 8);  // 4 anchors x 1 positive x 2 negatives
  embed::Triplets hard = embed::mine_triplets(d, y, Mining::hard);
  ASSERT_EQ(hard.size(), 4);
  EXPECT_EQ(hard.negative[0], 2);  // nearest negative of anchor 0
  EXPECT_EQ(hard.negative[1], 3);
  embed::Triplets semi = embed::mine_triplets(d, y, Mining::semihard);
  ASSERT_EQ(semi.size(), 4);
  EXPECT_EQ(semi.negative[0], 3);  // 0.7 > 0.5: the nearest negative farther than the positive
  // Anchor 1 (positive at 0.5): negatives at 0.9 and 0.2 -> 0.9.
  EXPECT_EQ(semi.negative[1], 2);
  // Anchor 2 (positive 3 at 0.4): negatives 0 (0.3), 1 (0.9) -> 1.
  EXPECT_EQ(semi.negative[2], 1);
  // Anchor 3 (positive 2 at 0.4): negatives 0 (0.7), 1 (0.2) -> 0 (nearest above 0.4).
  EXPECT_EQ(semi.negative[3], 0);
  // No farther negative: the farthest one.
  Tensor d2 = Tensor::from_vector<double>(
      {0, .9, .3, .5, .9, 0, .2, .1, .3, .2, 0, .1, .5, .1, .1, 0}, {4, 4});
  EXPECT_EQ(embed::mine_triplets(d2, y, Mining::semihard).negative[0], 3);
  // A class without positives gives no anchors under any rule.
  EXPECT_EQ(embed::mine_triplets(d, {0, 1, 2, 3}, Mining::hard).size(), 0);
  EXPECT_EQ(embed::mine_triplets(d, {0, 1, 2, 3}, Mining::all).size(), 0);
}

TEST(EmbedLoss, GradientsMatchFiniteDifferences) {
  using test::gradcheck;
  using test::rand_var;
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return pairwise_distances(in[0]); },
                        {rand_var({5, 3}, 1)}));
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return pairwise_distances(in[0], true); },
                        {rand_var({5, 3}, 2)}));
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return embed::l2_normalize(in[0]); },
                        {rand_var({4, 3}, 3)}));
  Tensor same = Tensor::from_vector<uint8_t>({1, 0, 0, 1}, {4});
  EXPECT_TRUE(
      gradcheck([&](const TensorList& in) { return contrastive_loss(abs(in[0]) + 0.1, same, 1.0); },
                {rand_var({4}, 4, 0.5)}));
  const std::vector<int64_t> y = {0, 0, 1, 1, 2, 2, 0, 1};
  for (Mining m : {Mining::all, Mining::hard, Mining::semihard})
    for (bool squared : {false, true})
      EXPECT_TRUE(gradcheck(
          [&](const TensorList& in) {
            return loss_of(in[0], y, {.mining = m, .margin = 0.5, .squared = squared});
          },
          {rand_var({8, 4}, 5)}))
          << embed::mining_name(m) << (squared ? " squared" : "");
  EXPECT_TRUE(gradcheck(
      [&](const TensorList& in) {
        return loss_of(in[0], y, {.loss = LossKind::contrastive, .margin = 1.0});
      },
      {rand_var({8, 4}, 6)}));
}

TEST(EmbedLoss, LossIsZeroWhenClassesAreFarApart) {
  // Two tight clusters at opposite poles: every triplet satisfies the margin.
  Tensor x = Tensor::from_vector<float>({1, 0, 1, 0.01f, -1, 0, -1, 0.01f}, {4, 2});
  for (Mining m : {Mining::all, Mining::hard, Mining::semihard})
    EXPECT_NEAR(loss_of(x, {0, 0, 1, 1}, {.mining = m, .margin = 0.5}).item(), 0.0, 1e-6);
}

TEST(EmbedLoss, BadArgumentsAreNamed) {
  Tensor x = Tensor::zeros({4, 3});
  EXPECT_THROW_WITH(pairwise_distances(Tensor::zeros({4})), "pairwise_distances", "[4]");
  EXPECT_THROW_WITH(embed::embedding_loss(x, {0, 1}, {}), "4", "2 labels");
  Tensor d = Tensor::zeros({3});
  EXPECT_THROW_WITH(contrastive_loss(d, Tensor::zeros({2}, DType::u8), 1.0), "contrastive_loss",
                    "[3]", "[2]");
  EXPECT_THROW_WITH(contrastive_loss(d, Tensor::zeros({3}, DType::u8), 0.0), "margin");
  EXPECT_THROW_WITH(contrastive_loss(d, Tensor::zeros({3}), 1.0), "uint8 or int64");
  EXPECT_THROW_WITH(triplet_margin_loss(Tensor::zeros({3, 3}), {0}, {1}, {7}, 0.2), "triplet 0",
                    "7", "3 rows");
  EXPECT_THROW_WITH(triplet_margin_loss(Tensor::zeros({3, 3}), {0}, {1}, {}, 0.2), "1 anchors",
                    "0 negatives");
  EXPECT_THROW_WITH(embed::parse_mining("easy"), "easy", "semihard");
  EXPECT_THROW_WITH(embed::parse_loss("arcface"), "arcface", "contrastive");
}

}  // namespace
}  // namespace convkit
