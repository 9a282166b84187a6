// Starting from weights: load_matching's report and strictness, read_state_dict for each file
// kind, and parameter groups with per-prefix learning-rate multipliers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "convkit/io/onnx.h"
#include "convkit/io/state_dict.h"
#include "convkit/nn/layers.h"
#include "convkit/nn/transfer.h"
#include "convkit/optim/sgd.h"
#include "convkit/random.h"
#include "convkit/train/checkpoint.h"
#include "support/gradcheck.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
// conv1 -> bn1 -> pool -> fc(num_classes): the shape of a torchvision classifier.
std::shared_ptr<nn::Sequential> classifier(int64_t num_classes) {
  auto net = std::make_shared<nn::Sequential>();
  net->add("conv1", std::make_shared<nn::Conv2d>(3, 4, 3));
  net->add("bn1", std::make_shared<nn::BatchNorm2d>(4));
  net->add("pool", std::make_shared<nn::GlobalAvgPool2d>());
  net->add("fc", std::make_shared<nn::Linear>(4, num_classes));
  return net;
}

fs::path temp_dir() {
  fs::path d =
      fs::temp_directory_path() / ("convkit_transfer_" + std::to_string(::getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST(LoadMatching, LoadsWhatMatchesAndReportsTheRest) {
  manual_seed(1);
  auto source = classifier(1000);
  std::map<std::string, Tensor> state = source->state_dict();
  state["aux.fc.weight"] = Tensor::ones({2, 2});  // not in the model
  state.erase("bn1.running_var");                 // not in the file
  manual_seed(2);
  auto model = classifier(5);
  const Tensor fc_init = model->child("fc")->parameters()[0].clone();

  nn::LoadReport r = nn::load_matching(*model, state, {.source = "r18.safetensors"});
  EXPECT_EQ(r.loaded.size(), 6u);  // conv1 w/b, bn1 w/b/mean/num_batches_tracked
  ASSERT_EQ(r.replaced.size(), 2u);
  EXPECT_EQ(r.replaced[0].name, "fc.bias");
  EXPECT_EQ(r.replaced[1].state, Shape({1000, 4}));
  EXPECT_EQ(r.replaced[1].model, Shape({5, 4}));
  EXPECT_EQ(r.skipped, std::vector<std::string>{"aux.fc.weight"});
  EXPECT_EQ(r.missing, std::vector<std::string>{"bn1.running_var"});
  for (const std::string& name : r.loaded)
    EXPECT_EQ(test::max_abs_diff(model->state_dict().at(name), state.at(name)), 0.0) << name;
  EXPECT_EQ(test::max_abs_diff(model->child("fc")->parameters()[0], fc_init), 0.0)
      << "a replaced tensor keeps the model's init";

  const std::string text = r.to_string();
  EXPECT_NE(text.find("init from r18.safetensors: loaded 6, replaced 2, skipped 1, missing 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("fc.weight [1000,4] -> [5,4]"), std::string::npos) << text;
  EXPECT_NE(text.find("skipped (not in the model): aux.fc.weight"), std::string::npos) << text;
  EXPECT_NE(text.find("missing (not in the file, init kept): bn1.running_var"), std::string::npos)
      << text;
}

TEST(LoadMatching, StrictOptionsThrowAndLeaveTheModelUntouched) {
  manual_seed(1);
  auto source = classifier(1000);
  std::map<std::string, Tensor> state = source->state_dict();
  auto model = classifier(5);
  const Tensor conv_before = model->child("conv1")->parameters()[0].clone();
  EXPECT_THROW_WITH(nn::load_matching(*model, state, {.allow_replaced = false, .source = "f"}),
                    "f: tensor 'fc.bias' has shape [1000] but Sequential expects [5]", "replaced 2",
                    "allow_replaced");
  EXPECT_EQ(test::max_abs_diff(model->child("conv1")->parameters()[0], conv_before), 0.0);

  state["extra"] = Tensor::ones({1});
  EXPECT_THROW_WITH(nn::load_matching(*model, state, {.allow_skipped = false}), "'extra'",
                    "allow_skipped");
  state.erase("conv1.bias");
  EXPECT_THROW_WITH(nn::load_matching(*model, state, {.allow_missing = false}), "'conv1.bias'",
                    "is missing", "allow_missing");
  state["bn1.num_batches_tracked"] = Tensor::zeros({});  // float where the model holds int64
  EXPECT_THROW_WITH(nn::load_matching(*model, state), "bn1.num_batches_tracked", "dtype");
  EXPECT_EQ(test::max_abs_diff(model->child("conv1")->parameters()[0], conv_before), 0.0);
}

TEST(ReadStateDict, ReadsCheckpointsTrainingStatesAndOnnxInitializers) {
  const fs::path dir = temp_dir();
  manual_seed(3);
  auto model = classifier(3);
  const std::map<std::string, Tensor> want = model->state_dict();
  auto expect_same = [&](const std::map<std::string, Tensor>& got) {
    for (const auto& [k, t] : want) {
      ASSERT_TRUE(got.count(k)) << k;
      EXPECT_EQ(test::max_abs_diff(got.at(k), t), 0.0) << k;
    }
    EXPECT_EQ(got.size(), want.size());
  };
  train::save_weights((dir / "w.safetensors").string(), *model);
  expect_same(io::read_state_dict((dir / "w.safetensors").string()));

  optim::SGD sgd(optim::single_group(*model, 0.1), {.momentum = 0.9});
  train::save_train_state((dir / "s.safetensors").string(), *model, sgd, {});
  expect_same(io::read_state_dict((dir / "s.safetensors").string()));

  io::save_onnx(*model, {1, 3, 8, 8}, (dir / "m.onnx").string());
  expect_same(io::read_state_dict((dir / "m.onnx").string()));

  EXPECT_THROW_WITH(io::read_state_dict((dir / "w.pt").string()), "w.pt",
                    "cannot read weights from a '.pt' file", ".safetensors", ".onnx");
  EXPECT_THROW_WITH(io::read_state_dict((dir / "none.safetensors").string()), "none.safetensors");
  fs::remove_all(dir);
}

TEST(ParamGroups, LrMultipliersFrozenParametersAndNoDecay) {
  auto model = classifier(3);
  model->freeze_prefix("conv1");
  optim::GroupOptions o;
  o.lr = 0.1;
  o.weight_decay = 1e-4;
  o.lr_mult = {{"fc", 10.0}, {"bn1", 0.5}, {"fc.bias", 0.0}};
  std::vector<optim::ParamGroup> g = optim::param_groups(*model, o);
  // bn1 (1-D: no decay) at 0.05; fc.weight (decayed) at 1.0; fc.bias: the longer prefix, at 0.
  ASSERT_EQ(g.size(), 3u);
  EXPECT_DOUBLE_EQ(g[0].lr, 1.0);
  EXPECT_DOUBLE_EQ(g[0].weight_decay, 1e-4);
  ASSERT_EQ(g[0].params.size(), 1u);
  EXPECT_EQ(g[0].params[0].shape(), Shape({3, 4}));
  EXPECT_DOUBLE_EQ(g[1].lr, 0.05);
  EXPECT_DOUBLE_EQ(g[1].weight_decay, 0.0);
  EXPECT_EQ(g[1].params.size(), 2u);
  EXPECT_DOUBLE_EQ(g[2].lr, 0.0);
  EXPECT_EQ(g[2].params.size(), 1u);
  size_t total = 0;
  for (const auto& grp : g) total += grp.params.size();
  EXPECT_EQ(total, 4u) << "frozen conv1 left out";

  // No multipliers: the same split as groups_no_decay_on_bias_and_bn.
  model->unfreeze();
  auto base = optim::param_groups(*model, {.lr = 0.1, .weight_decay = 1e-4, .lr_mult = {}});
  auto old = optim::groups_no_decay_on_bias_and_bn(*model, 0.1, 1e-4);
  ASSERT_EQ(base.size(), old.size());
  for (size_t i = 0; i < base.size(); ++i) EXPECT_EQ(base[i].params.size(), old[i].params.size());

  // An SGD step moves each group at its own rate: fc.bias (x0) stays, fc.weight moves 10x.
  model->freeze_prefix("conv1");
  g = optim::param_groups(*model, o);
  optim::SGD sgd(g);
  for (Tensor p : model->parameters()) p.set_grad(Tensor::ones(p.shape()));
  auto fc = std::dynamic_pointer_cast<nn::Linear>(model->child("fc"));
  const Tensor w0 = fc->weight.clone(), b0 = fc->bias.clone();
  sgd.step();
  EXPECT_NEAR(test::max_abs_diff(fc->weight, w0), 1.0 * (1 + 1e-4 * test::max_abs(w0)), 1e-3);
  EXPECT_EQ(test::max_abs_diff(fc->bias, b0), 0.0);
}

TEST(ParamGroups, BadPrefixesAndFactorsThrow) {
  auto model = classifier(3);
  model->freeze_prefix("conv1");
  EXPECT_THROW_WITH(optim::param_groups(*model, {.lr = 0.1, .lr_mult = {{"head", 10.0}}}),
                    "no trainable parameter name starts with 'head'");
  EXPECT_THROW_WITH(optim::param_groups(*model, {.lr = 0.1, .lr_mult = {{"conv1", 10.0}}}),
                    "'conv1'", "matches only frozen parameters");
  EXPECT_THROW_WITH(optim::param_groups(*model, {.lr = 0.1, .lr_mult = {{"fc", -1.0}}}),
                    "'fc' must be >= 0");
  model->freeze();
  EXPECT_THROW_WITH(optim::param_groups(*model, {.lr = 0.1, .lr_mult = {}}),
                    "no trainable parameter");
}
