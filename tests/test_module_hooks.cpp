// Forward hooks by dotted module path, the current module path, errors annotated with the layer
// that threw, and frozen batch norm staying in eval mode.
#include <gtest/gtest.h>

#include "convkit/autograd.h"
#include "convkit/nn/layers.h"
#include "convkit/nn/module.h"
#include "convkit/nn/summary.h"
#include "convkit/ops.h"
#include "convkit/random.h"
#include "support/gradcheck.h"

using namespace convkit;

namespace {
// torchvision-like names: stem, layer1.{0,1}.{conv1,relu}, head. Blocks call their layers through
// operator(); Plain calls its layer with forward() directly (no frame of its own for it).
struct Block : nn::Module {
  std::shared_ptr<nn::Conv2d> conv1 =
      register_module("conv1", std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1));
  std::shared_ptr<nn::ReLU> relu = register_module("relu", std::make_shared<nn::ReLU>());
  Block() : Module("Block") {}
  Tensor forward(const Tensor& x) override { return (*relu)((*conv1)(x)) + x; }
};

struct Plain : nn::Module {
  std::shared_ptr<nn::Conv2d> conv =
      register_module("conv", std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1));
  Plain() : Module("Plain") {}
  Tensor forward(const Tensor& x) override { return conv->forward(x); }
};

struct Net : nn::Module {
  std::shared_ptr<nn::Conv2d> stem =
      register_module("stem", std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
  std::shared_ptr<nn::Sequential> layer1 =
      register_module("layer1", std::make_shared<nn::Sequential>());
  std::shared_ptr<Plain> plain = register_module("plain", std::make_shared<Plain>());
  std::shared_ptr<nn::GlobalAvgPool2d> pool =
      register_module("pool", std::make_shared<nn::GlobalAvgPool2d>());
  std::shared_ptr<nn::Linear> head = register_module("head", std::make_shared<nn::Linear>(4, 3));
  Net() : Module("Net") {
    layer1->add("0", std::make_shared<Block>());
    layer1->add("1", std::make_shared<Block>());
  }
  Tensor forward(const Tensor& x) override {
    return (*head)((*pool)((*plain)((*layer1)((*stem)(x)))));
  }
};

Tensor input(int64_t n = 2, int64_t hw = 6) {
  Generator gen(7);
  return Tensor::randn({n, 3, hw, hw}, &gen);
}
}  // namespace

TEST(ModuleHooks, HookSeesInputAndOutputAndCanReplaceTheOutput) {
  manual_seed(1);
  Net net;
  const Tensor x = input();
  const Tensor plain_out = net(x);
  Shape seen_in, seen_out;
  {
    nn::HookHandle h = nn::register_forward_hook(
        net, "layer1.1.conv1", [&](nn::Module& m, const nn::TensorList& in, nn::TensorList& out) {
          EXPECT_EQ(m.type_name(), "Conv2d");
          seen_in = in.at(0).shape();
          seen_out = out.at(0).shape();
          out[0] = out[0] * 0.0;  // the block becomes relu(0) + x: identity
        });
    Tensor y = net(x);
    EXPECT_EQ(seen_in, Shape({2, 4, 6, 6}));
    EXPECT_EQ(seen_out, Shape({2, 4, 6, 6}));
    EXPECT_GT(test::max_abs_diff(y, plain_out), 1e-4) << "the replacement must change the output";
    // The same net with that block bypassed by hand gives the hooked output.
    Tensor h0 = (*net.layer1->child("0"))((*net.stem)(x));
    Tensor expect = (*net.head)((*net.pool)((*net.plain)(h0)));
    EXPECT_LE(test::max_abs_diff(y, expect), 1e-6);
  }
  // Destroying the handle removed the hook.
  EXPECT_EQ(test::max_abs_diff(net(x), plain_out), 0.0);
}

TEST(ModuleHooks, HandleRemoveIsIdempotentAndMayOutliveTheModule) {
  int calls = 0;
  nn::HookHandle h;
  {
    auto relu = std::make_shared<nn::ReLU>();
    h = relu->register_forward_hook(
        [&](nn::Module&, const nn::TensorList&, nn::TensorList&) { ++calls; });
    nn::HookHandle h2 =
        relu->register_forward_pre_hook([&](nn::Module&, nn::TensorList&) { ++calls; });
    (*relu)(Tensor::ones({2}));
    EXPECT_EQ(calls, 2);
    h2.remove();
    h2.remove();
    (*relu)(Tensor::ones({2}));
    EXPECT_EQ(calls, 3);
    nn::HookHandle moved = std::move(h);
    h = std::move(moved);  // moves keep one owner
    (*relu)(Tensor::ones({2}));
    EXPECT_EQ(calls, 4);
  }
  h.remove();  // the module is gone: a no-op
}

TEST(ModuleHooks, PreHookReplacesTheInput) {
  nn::ReLU relu;
  nn::HookHandle h =
      relu.register_forward_pre_hook([](nn::Module&, nn::TensorList& in) { in[0] = -in[0]; });
  Tensor y = relu(Tensor::full({3}, -2.0));
  EXPECT_EQ(test::max_abs_diff(y, Tensor::full({3}, 2.0)), 0.0);
}

TEST(ModuleHooks, HookThatChangesTheOutputCountThrows) {
  nn::ReLU relu;
  nn::HookHandle h = relu.register_forward_hook(
      [](nn::Module&, const nn::TensorList&, nn::TensorList& out) { out.push_back(out[0]); });
  EXPECT_THROW_WITH(relu(Tensor::ones({2})), "in ReLU", "hook left 2 outputs where the call has 1");
}

// Grad-CAM's access: the feature map of a layer and the gradient of a class score with respect
// to it. Checked against the gradient of the same score with respect to a leaf that a hook puts
// in place of the feature map.
TEST(ModuleHooks, CapturedActivationKeepsItsGradient) {
  manual_seed(2);
  Net net;
  const Tensor x = input();
  Tensor feature;
  {
    nn::HookHandle h = nn::register_forward_hook(
        net, "layer1.1", [&](nn::Module&, const nn::TensorList&, nn::TensorList& out) {
          feature = out[0];
          feature.retain_grad();
        });
    Tensor score = sum(narrow(net(x), 1, 2, 1));
    score.backward();
  }
  ASSERT_TRUE(feature.grad().defined()) << "retain_grad() on a hooked activation";
  EXPECT_EQ(feature.grad().shape(), Shape({2, 4, 6, 6}));
  EXPECT_GT(test::max_abs(feature.grad()), 0.0);

  net.zero_grad();
  Tensor leaf;
  nn::HookHandle h = nn::register_forward_hook(
      net, "layer1.1", [&](nn::Module&, const nn::TensorList&, nn::TensorList& out) {
        leaf = out[0].detach().clone();
        leaf.set_requires_grad(true);
        out[0] = leaf;
      });
  sum(narrow(net(x), 1, 2, 1)).backward();
  EXPECT_LE(test::max_abs_diff(feature.grad(), leaf.grad()), 1e-6);
}

TEST(ModuleHooks, CurrentModulePathNamesTheRunningModule) {
  Net net;
  std::vector<std::string> paths;
  auto record = [&](nn::Module&, const nn::TensorList&, nn::TensorList&) {
    paths.push_back(nn::current_module_path());
  };
  std::vector<nn::HookHandle> hs;
  for (const char* p : {"layer1.0.conv1", "layer1.1.relu", "plain.conv", "head", ""})
    hs.push_back(nn::register_forward_hook(net, p, record));
  EXPECT_EQ(nn::current_module_path(), "");
  EXPECT_EQ(nn::current_module(), nullptr);
  net(input());
  // plain.conv is called with forward() directly: its hook does not run (hooks need operator()).
  EXPECT_EQ(paths, (std::vector<std::string>{"layer1.0.conv1", "layer1.1.relu", "head", ""}));
}

TEST(ModuleHooks, ErrorNamesTheInnermostModuleOnce) {
  Net net;
  // 5 channels where stem expects 3: the message names stem, once.
  try {
    Generator gen(1);
    net(Tensor::randn({1, 5, 6, 6}, &gen));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("in stem (Conv2d): conv2d: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find("in Net"), std::string::npos) << "annotated once: " << msg;
  }
  // A module that is not registered under its caller is named by its type.
  auto bad = std::make_shared<nn::Conv2d>(5, 4, 3, 1, 1);
  nn::Module* plain = net.plain.get();
  nn::HookHandle h = plain->register_forward_pre_hook([&](nn::Module&, nn::TensorList& in) {
    in[0] = (*bad)(in[0]);  // an unregistered module: named by its type
  });
  EXPECT_THROW_WITH(net(input()), "in plain.<Conv2d> (Conv2d): conv2d: ");
}

TEST(ModuleHooks, ChildErrorListsTheChildren) {
  Net net;
  EXPECT_THROW_WITH(
      (void)nn::register_forward_hook(net, "layer1.2.conv1",
                                      [](nn::Module&, const nn::TensorList&, nn::TensorList&) {}),
      "no child module 'layer1.2.conv1'", "Sequential has no child '2'", "its children: 0, 1");
  EXPECT_THROW_WITH(net.child("layer"), "its children: stem, layer1, plain, pool, head");
}

TEST(ModuleHooks, SummaryStillTracesEveryLayer) {
  Net net;
  nn::ModelInfo info = nn::trace(net, {1, 3, 6, 6});
  std::vector<std::string> names;
  for (const auto& l : info.layers) names.push_back(l.name);
  // plain.conv runs through forward() directly, so the trace cannot see it (and "plain", a
  // container without parameters of its own, is shown through its layers).
  EXPECT_EQ(names, (std::vector<std::string>{"stem", "layer1.0.conv1", "layer1.0.relu",
                                             "layer1.1.conv1", "layer1.1.relu", "pool", "head"}));
  EXPECT_EQ(info.output, Shape({1, 3}));
}

TEST(ModuleFreeze, PrefixesMatchWholeComponents) {
  EXPECT_TRUE(nn::has_prefix("layer1.0.weight", "layer1"));
  EXPECT_TRUE(nn::has_prefix("layer1.0.weight", "layer1.0."));
  EXPECT_TRUE(nn::has_prefix("fc", "fc"));
  EXPECT_TRUE(nn::has_prefix("fc.bias", ""));
  EXPECT_FALSE(nn::has_prefix("layer10.weight", "layer1"));
  EXPECT_FALSE(nn::has_prefix("fc2.weight", "fc"));
  EXPECT_FALSE(nn::has_prefix("fc", "fc.weight"));
}

TEST(ModuleFreeze, FrozenBatchNormStaysInEvalAndKeepsItsStatistics) {
  manual_seed(3);
  nn::Sequential net{std::make_shared<nn::Conv2d>(3, 4, 3), std::make_shared<nn::BatchNorm2d>(4),
                     std::make_shared<nn::Conv2d>(4, 4, 1), std::make_shared<nn::BatchNorm2d>(4)};
  auto bn1 = std::dynamic_pointer_cast<nn::BatchNorm2d>(net.child("1"));
  auto bn3 = std::dynamic_pointer_cast<nn::BatchNorm2d>(net.child("3"));
  EXPECT_EQ(net.freeze_prefix("0"), 2);
  EXPECT_EQ(net.freeze_prefix("1"), 2);
  net.train();
  EXPECT_TRUE(net.is_training());
  EXPECT_TRUE(net.child("0")->is_training());
  EXPECT_FALSE(bn1->is_training()) << "frozen batch norm stays in eval mode";
  EXPECT_TRUE(bn3->is_training());
  const Tensor mean1 = bn1->running_mean.clone(), mean3 = bn3->running_mean.clone();
  net(input());
  EXPECT_EQ(test::max_abs_diff(bn1->running_mean, mean1), 0.0);
  EXPECT_EQ(bn1->num_batches_tracked.data<int64_t>()[0], 0);
  EXPECT_GT(test::max_abs_diff(bn3->running_mean, mean3), 0.0);

  net.eval();
  net.train();  // toggling modes keeps the frozen one in eval
  EXPECT_FALSE(bn1->is_training());
  net.freeze_prefix("1", /*frozen=*/false);
  EXPECT_TRUE(bn1->is_training()) << "unfrozen: back to the requested mode";
  net(input());
  EXPECT_GT(test::max_abs_diff(bn1->running_mean, mean1), 0.0);
  net.freeze();
  EXPECT_FALSE(bn1->is_training());
  EXPECT_FALSE(bn3->is_training());
  EXPECT_TRUE(net.child("0")->is_training()) << "only batch norms switch mode";
}

TEST(ModuleFreeze, FreezePrefixDoesNotMatchInsideAComponent) {
  nn::Sequential net;
  for (int i = 0; i < 11; ++i) net.add(std::to_string(i), std::make_shared<nn::Linear>(2, 2));
  EXPECT_EQ(net.freeze_prefix("1"), 2) << "'1' must not match '10'";
  EXPECT_TRUE(net.child("10")->parameters()[0].requires_grad());
  EXPECT_THROW_WITH(net.freeze_prefix("11"), "no parameter name starts with '11'");
}
