// Feature extraction: a base cut at a named layer, the memory-mapped feature cache (round trip,
// stale caches rebuilt, corrupt ones refused with the path), and the head trained on cached
// features matching the head trained through the frozen base.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "convkit/autograd.h"
#include "convkit/models/resnet_cifar.h"
#include "convkit/ops/reduce.h"
#include "convkit/random.h"
#include "convkit/transfer/feature_cache.h"
#include "convkit/transfer/recipe.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path d =
      fs::temp_directory_path() / ("convkit_features_" + std::to_string(::getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// ResNet-8 (one basic block per stage): the smallest CIFAR ResNet, cheap under the sanitizers.
std::shared_ptr<nn::Module> resnet8(uint64_t seed) {
  manual_seed(seed);
  return std::make_shared<models::CifarResNet>(/*depth=*/8, /*in_channels=*/1, /*num_classes=*/10);
}

// n examples [1, 8, 8]; class c has mean brightness c - 0.5 (learnable from pooled features).
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

std::vector<float> values(const Tensor& t) {
  return {t.data<float>(), t.data<float>() + t.numel()};
}
}  // namespace

TEST(Truncated, ReturnsTheCutLayersOutputAndKeepsOnlyTheLayersBeforeIt) {
  auto base = resnet8(1);
  transfer::Truncated cut(base, "layer2", {1, 8, 8});
  EXPECT_EQ(cut.blocks(), (std::vector<std::string>{"conv1", "bn1", "layer1", "layer2"}));
  EXPECT_EQ(cut.feature_shape(), Shape({32, 4, 4}));
  const auto state = cut.state_dict();
  EXPECT_TRUE(state.count("layer2.0.conv1.weight"));  // the base's own names
  EXPECT_FALSE(state.count("layer3.0.conv1.weight"));
  EXPECT_FALSE(state.count("fc.weight"));

  base->eval();
  cut.eval();
  NoGradGuard no_grad;
  Tensor x = Tensor::randn({2, 1, 8, 8});
  Tensor hooked;
  {
    nn::HookHandle h = nn::register_forward_hook(
        *base, "layer2",
        [&](nn::Module&, const nn::TensorList&, nn::TensorList& out) { hooked = out[0]; });
    (*base)(x);
  }
  EXPECT_EQ(values(cut(x)), values(hooked));
}

// Pooled: the cut layer's map averaged over its positions, gradients reaching the layers below.
TEST(Truncated, PooledAveragesTheMapAndRefusesAVector) {
  auto base = resnet8(1);
  transfer::Truncated map(base, "layer2", {1, 8, 8});
  transfer::Truncated pooled(base, "layer2", {1, 8, 8}, /*pool=*/true);
  EXPECT_EQ(pooled.feature_shape(), Shape({32}));
  EXPECT_EQ(pooled.blocks(), map.blocks());
  base->eval();
  Tensor x = Tensor::randn({2, 1, 8, 8});
  Tensor m, p;
  {
    NoGradGuard no_grad;
    m = map(x);
    p = pooled(x);
  }
  ASSERT_EQ(p.shape(), Shape({2, 32}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 32; ++c) {
      double sum = 0;
      for (int64_t k = 0; k < 16; ++k) sum += m.data<float>()[(n * 32 + c) * 16 + k];
      EXPECT_NEAR(p.data<float>()[n * 32 + c], sum / 16, 1e-5);
    }
  sum(pooled(x)).backward();
  Tensor g;
  for (const auto& [name, t] : base->named_parameters())
    if (name == "layer1.0.conv1.weight") g = t.grad();
  ASSERT_TRUE(g.defined());
  double mass = 0;
  for (float v : values(g)) mass += std::abs(v);
  EXPECT_GT(mass, 0);

  try {
    transfer::Truncated(resnet8(1), "fc", {1, 8, 8}, /*pool=*/true);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'fc' of CifarResNet gives [10] per example"),
              std::string::npos)
        << e.what();
  }
}

TEST(Truncated, RefusesUnknownLayersNamingThem) {
  try {
    transfer::Truncated(resnet8(1), "layer9", {1, 8, 8});
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer9"), std::string::npos) << e.what();
  }
}

TEST(FeatureCache, RoundTripsThroughAMappedFile) {
  const fs::path dir = temp_dir();
  Tensor f = Tensor::randn({5, 3, 2});
  Tensor y = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 1, 0}, {5});
  const transfer::FeatureKey key{"layer3", "0123456789abcdef", "data"};
  transfer::write_feature_cache((dir / "a.ckfeat").string(), key, f, y);
  transfer::FeatureCacheFile file = transfer::read_feature_cache((dir / "a.ckfeat").string(), 3);
  EXPECT_EQ(file.key, key);
  data::Batch b = file.dataset->get_batch({0, 1, 2, 3, 4});
  EXPECT_EQ(b.inputs.shape(), Shape({5, 3, 2}));
  EXPECT_EQ(values(b.inputs), values(f));
  EXPECT_EQ(file.dataset->labels(), (std::vector<int64_t>{0, 1, 2, 1, 0}));
  EXPECT_EQ(fs::file_size(dir / "a.ckfeat") % 4, 0u);
  fs::remove_all(dir);
}

TEST(FeatureCache, RefusesCorruptAndTruncatedFilesWithThePath) {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "a.ckfeat").string();
  transfer::write_feature_cache(path, {"l", "c", "d"}, Tensor::randn({4, 8}),
                                Tensor::from_vector(std::vector<int64_t>{0, 1, 0, 1}, {4}));
  auto expect_refused = [&](const std::string& what) {
    try {
      transfer::read_feature_cache(path);
      FAIL() << "no throw for " << what;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
  };
  fs::resize_file(path, fs::file_size(path) - 8);  // the last label cut off
  expect_refused("bytes but the file has");
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.write("NOTFEATS", 8);
  }
  expect_refused("bad magic");
  std::ofstream(path, std::ios::trunc) << "CKF";
  expect_refused("only 3 bytes");
  fs::remove(path);
  expect_refused("cannot open");
  fs::remove_all(dir);
}

TEST(FeatureCache, IsReusedWhenCurrentAndRebuiltWhenTheBaseChanges) {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "train.ckfeat").string();
  auto base = resnet8(1);
  transfer::Truncated cut(base, "avgpool", {1, 8, 8});
  auto ds = tiny_set(10, 3);
  int64_t forwards = 0;
  nn::HookHandle count = nn::register_forward_hook(
      *base, "layer1",
      [&](nn::Module&, const nn::TensorList&, nn::TensorList& out) { forwards += out[0].size(0); });

  transfer::CachedFeatures a = transfer::cached_features(path, cut, ds, "tiny", /*batch_size=*/4);
  EXPECT_TRUE(a.built);
  EXPECT_EQ(a.reason, "no cache");
  EXPECT_EQ(forwards, 10);
  EXPECT_EQ(a.dataset->example_shape(), Shape({64}));

  transfer::CachedFeatures b = transfer::cached_features(path, cut, ds, "tiny", 4);
  EXPECT_FALSE(b.built);
  EXPECT_EQ(forwards, 10);  // read back, the base did not run
  EXPECT_EQ(values(b.dataset->get_batch({3, 7}).inputs),
            values(a.dataset->get_batch({3, 7}).inputs));

  base->child("layer1.0.conv1")->named_parameters()[0].second.data<float>()[0] += 1.0f;
  transfer::CachedFeatures c = transfer::cached_features(path, cut, ds, "tiny", 4);
  EXPECT_TRUE(c.built);
  EXPECT_NE(c.reason.find("weights changed"), std::string::npos) << c.reason;
  EXPECT_EQ(forwards, 20);

  transfer::CachedFeatures d = transfer::cached_features(path, cut, ds, "other data", 4);
  EXPECT_EQ(d.reason, "stale: the data changed");
  fs::remove_all(dir);
}

// The head trained on cached features is the head trained through the frozen base (same
// examples, same order, batch norms in eval mode), while the base runs once instead of every epoch.
TEST(FeatureCache, HeadOnCachedFeaturesEqualsHeadThroughTheFrozenBase) {
  const fs::path dir = temp_dir();
  const transfer::TransferData data{tiny_set(24, 5), tiny_set(10, 6), nullptr};
  transfer::StageOptions o;
  o.epochs = 3;
  o.batch_size = 8;
  o.lr = 0.05;

  auto base_a = resnet8(2);
  manual_seed(9);
  transfer::TransferModel through(
      std::make_shared<transfer::Truncated>(base_a, "avgpool", Shape{1, 8, 8}), 2);
  int64_t forwards = 0;
  nn::HookHandle count = nn::register_forward_hook(
      *base_a, "layer1",
      [&](nn::Module&, const nn::TensorList&, nn::TensorList& out) { forwards += out[0].size(0); });
  transfer::StageResult r1 = transfer::train_head(through, data, o);
  EXPECT_EQ(forwards, 3 * 24 + 10);  // every epoch, then validation

  auto base_b = resnet8(2);
  manual_seed(9);
  transfer::TransferModel cached(
      std::make_shared<transfer::Truncated>(base_b, "avgpool", Shape{1, 8, 8}), 2);
  o.cache_dir = (dir / "cache").string();
  o.data_source = "tiny";
  transfer::StageResult r2 = transfer::train_head(cached, data, o);
  EXPECT_GT(r2.extract_seconds, 0.0);
  EXPECT_TRUE(fs::exists(dir / "cache" / "train.ckfeat"));

  const std::vector<float> wa = values(through.head->named_parameters()[0].second);
  const std::vector<float> wb = values(cached.head->named_parameters()[0].second);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_NEAR(wa[i], wb[i], 1e-4) << i;
  EXPECT_NEAR(r1.val_acc, r2.val_acc, 1e-9);
  fs::remove_all(dir);
}
