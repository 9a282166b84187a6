#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "convkit/models/registry.h"
#include "convkit/optim/sgd.h"
#include "convkit/train/checkpoint.h"
#include "support/gradcheck.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("convkit_ckpt_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& p) const { return (dir_ / p).string(); }
  fs::path dir_;
};

std::shared_ptr<nn::Module> make(const std::string& name, uint64_t seed) {
  manual_seed(seed);
  return models::create_model(name, {1, 10, 28});
}

train::Metadata meta_for(const std::string& name) {
  return {{"model", name}, {"config", R"({"in_channels":1,"num_classes":10,"image_size":28})"}};
}
}  // namespace

TEST_F(Checkpoint, WeightsRoundTripGivesTheSameOutputs) {
  auto a = make("resnet20", 1), b = make("resnet20", 2);
  a->eval();
  b->eval();
  Tensor x = Tensor::randn({2, 1, 8, 8});  // small: this also runs on the reference backend
  train::save_weights(path("w.safetensors"), *a, meta_for("resnet20"));
  EXPECT_GT(test::max_abs_diff((*a)(x), (*b)(x)), 1e-3);
  train::load_weights(path("w.safetensors"), *b);
  EXPECT_EQ(test::max_abs_diff((*a)(x), (*b)(x)), 0.0);
  auto loaded = train::load_model(path("w.safetensors"));
  loaded.model->eval();
  EXPECT_EQ(test::max_abs_diff((*a)(x), (*loaded.model)(x)), 0.0);
  // torchvision-style names
  EXPECT_TRUE(a->state_dict().count("layer2.0.downsample.1.running_var"));
}

TEST_F(Checkpoint, TrainStateRoundTrip) {
  auto m = make("lenet5-modern", 3);
  optim::SGD opt(optim::single_group(*m, 0.1), {.momentum = 0.9});
  for (auto& p : m->parameters()) p.set_grad(Tensor::ones(p.shape()));
  opt.step();
  train::TrainState s;
  s.epoch = 4;
  s.next_batch = 17;
  s.step = 333;
  s.best_metric = 0.875;
  s.rng_state = default_generator().state();
  train::save_train_state(path("s.safetensors"), *m, opt, s);
  auto m2 = make("lenet5-modern", 4);
  optim::SGD opt2(optim::single_group(*m2, 0.5), {.momentum = 0.9});
  train::TrainState r = train::load_train_state(path("s.safetensors"), *m2, opt2);
  EXPECT_EQ(r.epoch, 4);
  EXPECT_EQ(r.next_batch, 17);
  EXPECT_EQ(r.step, 333);
  EXPECT_EQ(r.best_metric, 0.875);
  EXPECT_EQ(opt2.param_groups()[0].lr, 0.1);
  for (auto& [k, v] : opt.state()) EXPECT_EQ(test::max_abs_diff(v, opt2.state().at(k)), 0.0) << k;
  EXPECT_THROW_WITH(train::load_weights(path("s.safetensors"), *m2), "s.safetensors",
                    "expected a weights checkpoint", "train_state");
}

TEST_F(Checkpoint, BadFilesNameTheFileAndTheTensor) {
  auto m = make("lenet5-modern", 1);
  train::save_weights(path("ok.safetensors"), *m, meta_for("lenet5-modern"));
  // Truncated: cut the file in half.
  auto size = fs::file_size(path("ok.safetensors"));
  fs::copy_file(path("ok.safetensors"), path("cut.safetensors"));
  fs::resize_file(path("cut.safetensors"), size / 2);
  EXPECT_THROW_WITH(train::load_weights(path("cut.safetensors"), *m), "cut.safetensors");
  // Corrupted header bytes.
  fs::copy_file(path("ok.safetensors"), path("bad.safetensors"));
  {
    std::fstream f(path("bad.safetensors"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12);
    f.write("\x01\x02\xff\xfe", 4);
  }
  EXPECT_THROW_WITH(train::load_weights(path("bad.safetensors"), *m), "bad.safetensors");
  // A foreign file.
  { std::ofstream(path("foreign.safetensors")) << "PK\x03\x04 this is a zip, not a checkpoint"; }
  EXPECT_THROW_WITH(train::load_weights(path("foreign.safetensors"), *m), "foreign.safetensors");
  // Another model's weights: the first mismatching tensor is named.
  auto other = make("lenet5", 1);
  EXPECT_THROW_WITH(train::load_weights(path("ok.safetensors"), *make("small-cnn", 1)),
                    "ok.safetensors");
  train::save_weights(path("other.safetensors"), *other, meta_for("lenet5"));
  auto small = models::create_model("small-cnn", {1, 10, 28});
  EXPECT_THROW_WITH(train::load_weights(path("other.safetensors"), *small), "other.safetensors",
                    "0.bias", "[6]", "[32]");
  EXPECT_THROW_WITH(train::load_weights(path("missing.safetensors"), *m), "missing.safetensors");
  // The good file still loads after all that.
  EXPECT_NO_THROW(train::load_weights(path("ok.safetensors"), *m));
}
