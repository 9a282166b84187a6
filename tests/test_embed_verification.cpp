// Verification: pairs, thresholds (best accuracy, at a false-accept rate), TAR@FAR, AUC, one-shot
// episodes and the gallery file, on hand-made distances and embeddings.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "convkit/embed/gallery.h"
#include "convkit/embed/verification.h"
#include "convkit/io/safetensors.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

TEST(Verification, BalancedPairsAreHalfSameAndNeverSelfPairs) {
  std::vector<int64_t> y;
  for (int i = 0; i < 30; ++i) y.push_back(i % 3);
  const embed::Pairs p = embed::balanced_pairs(y, 200, 5);
  ASSERT_EQ(p.size(), 200);
  int same = 0;
  for (int64_t k = 0; k < p.size(); ++k) {
    EXPECT_NE(p.first[size_t(k)], p.second[size_t(k)]);
    EXPECT_EQ(p.same[size_t(k)],
              int(y[size_t(p.first[size_t(k)])] == y[size_t(p.second[size_t(k)])]));
    same += p.same[size_t(k)];
  }
  EXPECT_EQ(same, 100);
  EXPECT_EQ(embed::balanced_pairs(y, 200, 5).first, p.first);  // seeded
  EXPECT_THROW_WITH(embed::balanced_pairs(y, 7, 5), "even");
  EXPECT_THROW_WITH(embed::balanced_pairs({0, 1, 2}, 4, 5), "3 classes, 0 of them");
}

TEST(Verification, ThresholdsAndRates) {
  //                        same pairs: 0.1 0.2 0.5 0.55;  different: 0.3 0.6 0.7 0.8
  const std::vector<double> d = {0.1, 0.3, 0.2, 0.6, 0.5, 0.7, 0.8, 0.55};
  const std::vector<int> s = {1, 0, 1, 0, 1, 0, 0, 1};
  // Accepting <= 0.575 gets 7 of 8 right (only 0.3 is wrong); nothing does as well.
  const double t = embed::best_accuracy_threshold(d, s);
  EXPECT_NEAR(embed::pair_accuracy(d, s, t), 7.0 / 8.0, 1e-12);
  EXPECT_GT(t, 0.55);
  EXPECT_LT(t, 0.6);
  // FAR 0: reject every different pair -> below 0.3; TAR = 2/4.
  EXPECT_LT(embed::threshold_at_far(d, s, 0.0), 0.3);
  EXPECT_NEAR(embed::tar_at_far(d, s, 0.0), 0.5, 1e-12);
  // FAR 0.25 accepts one of the four different pairs (0.3) -> threshold in [0.3, 0.6): TAR 1.
  EXPECT_NEAR(embed::tar_at_far(d, s, 0.25), 1.0, 1e-12);
  EXPECT_LT(embed::threshold_at_far(d, s, 0.25), 0.6);
  EXPECT_GT(embed::threshold_at_far(d, s, 0.25), 0.55);  // accepts every pair below 0.6
  // AUC: of 16 (same, different) pairs, (0.5, 0.3) and (0.55, 0.3) are misordered -> 14/16.
  EXPECT_NEAR(embed::verification_auc(d, s), 14.0 / 16.0, 1e-12);
  // Ties straddling the cut are rejected together.
  EXPECT_LT(embed::threshold_at_far({0.4, 0.4, 0.1}, {0, 0, 1}, 0.5), 0.4);
  EXPECT_THROW_WITH(embed::threshold_at_far(d, s, 1.5), "[0, 1]");
  EXPECT_THROW_WITH(embed::threshold_at_far({0.1}, {1}, 0.1), "no different-identity pair");
  EXPECT_THROW_WITH(embed::pair_accuracy(d, {1, 0}, 0.5), "8 distances", "2 same");
}

TEST(Verification, OneShotIsPerfectOnSeparatedClustersAndChanceOnNoise) {
  std::vector<float> e;
  std::vector<int64_t> y;
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 5; ++i) {
      for (int k = 0; k < 4; ++k) e.push_back(k == c ? 1.0f : 0.01f * float(i));
      y.push_back(c);
    }
  Tensor emb = Tensor::from_vector(e, {20, 4});
  EXPECT_EQ(embed::one_shot_accuracy(emb, y, 3, 200, 1), 1.0);
  // Random embeddings, random classes: chance, 1/3 (400 points, so the estimate is close to it).
  Generator gen(3);
  std::vector<int64_t> random_labels;
  for (int i = 0; i < 400; ++i) random_labels.push_back(i % 4);
  const double noise =
      embed::one_shot_accuracy(Tensor::randn({400, 8}, &gen), random_labels, 3, 3000, 1);
  EXPECT_NEAR(noise, 1.0 / 3.0, 0.04);
  EXPECT_THROW_WITH(embed::one_shot_accuracy(emb, y, 5, 10, 1), "5-way", "there are 4");
}

TEST(Gallery, EnrolIdentifyAndRoundTrip) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "convkit_gallery_test";
  fs::create_directories(dir);
  const std::string path = (dir / "g.safetensors").string();
  embed::Gallery g(0.5, "model.safetensors");
  g.enrol("ann", Tensor::from_vector<float>({1, 0, 0, 2, 0.1f, 0}, {2, 3}));
  g.enrol("bob", Tensor::from_vector<float>({0, 1, 0}, {1, 3}));
  auto who = g.identify(Tensor::from_vector<float>({0.9f, 0.1f, 0}, {3}));
  EXPECT_TRUE(who.known);
  EXPECT_EQ(who.name, "ann");
  auto stranger = g.identify(Tensor::from_vector<float>({0, 0, 1}, {3}));
  EXPECT_FALSE(stranger.known);
  EXPECT_EQ(stranger.name, "unknown");
  EXPECT_GT(stranger.distance, 0.5);
  g.save(path);
  embed::Gallery back = embed::Gallery::load(path);
  EXPECT_EQ(back.names(), g.names());
  EXPECT_EQ(back.threshold(), 0.5);
  EXPECT_EQ(back.model(), "model.safetensors");
  EXPECT_NEAR(back.identify(Tensor::from_vector<float>({0.9f, 0.1f, 0}, {3})).distance,
              who.distance, 1e-6);
  EXPECT_THROW_WITH(g.identify(Tensor::zeros({4})), "[4]", "size 3");
  EXPECT_THROW_WITH(g.enrol("cy", Tensor::zeros({1, 5})), "size 5", "size 3");
  fs::remove_all(dir);
}

// One planted bad file per check of Gallery::load; the message names the file and the field.
TEST(Gallery, BadFilesAreRefusedWithTheReason) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "convkit_gallery_bad";
  fs::create_directories(dir);
  const std::string p = (dir / "bad.safetensors").string();
  const Tensor c = Tensor::from_vector<float>({1, 0, 0, 1}, {2, 2});
  const Tensor n = Tensor::from_vector<int64_t>({1, 2}, {2});
  std::map<std::string, std::string> good = {{"format", "convkit-gallery"},
                                             {"version", "1"},
                                             {"names", R"(["a","b"])"},
                                             {"threshold", "0.7"},
                                             {"model", "m"}};
  auto plant = [&](std::map<std::string, Tensor> t, std::map<std::string, std::string> m) {
    io::save_safetensors(p, t, m);
  };
  auto with = [&](const std::string& k, const std::string& v) {
    auto m = good;
    m[k] = v;
    return m;
  };
  plant({{"centroids", c}, {"counts", n}}, good);
  EXPECT_EQ(embed::Gallery::load(p).names().size(), 2u);
  plant({{"centroids", c}, {"counts", n}}, with("format", "other"));
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "format");
  plant({{"centroids", c}, {"counts", n}}, with("version", "2"));
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "version 2");
  plant({{"centroids", c}, {"counts", n}}, with("names", R"(["a","a"])"));
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "'a' appears twice");
  plant({{"centroids", c}, {"counts", n}}, with("names", "[1, 2]"));
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "non-empty string");
  plant({{"centroids", c}, {"counts", n}}, with("threshold", "-1"));
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "threshold '-1'");
  auto no_thr = good;
  no_thr.erase("threshold");
  plant({{"centroids", c}, {"counts", n}}, no_thr);
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "'threshold' is missing");
  plant({{"counts", n}}, good);
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "'centroids' is missing");
  plant({{"centroids", Tensor::zeros({3, 2})}, {"counts", n}}, good);
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "[2, d] for 2 names");
  plant({{"centroids", c}, {"counts", Tensor::from_vector<int64_t>({1, 0}, {2})}}, good);
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "'b' has 0 images");
  plant({{"centroids", mul(c, 2.0)}, {"counts", n}}, good);
  EXPECT_THROW_WITH(embed::Gallery::load(p), p, "length 2");
  EXPECT_THROW_WITH(embed::Gallery::load((dir / "none.safetensors").string()), "none.safetensors");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace convkit
