#include <gtest/gtest.h>

#include "convkit/nn/module.h"
#include "support/gradcheck.h"

using namespace convkit;

namespace {
// A stand-in layer: y = x * scale + shift, with a buffer.
struct Affine : nn::Module {
  Tensor scale, shift, count;
  explicit Affine(int64_t n) : Module("Affine") {
    scale = register_parameter("weight", Tensor::ones({n}));
    shift = register_parameter("bias", Tensor::zeros({n}));
    count = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
  }
  Tensor forward(const Tensor& x) override { return x * scale + shift; }
};

struct Block : nn::Module {
  std::shared_ptr<Affine> conv1 = register_module("conv1", std::make_shared<Affine>(3));
  std::shared_ptr<Affine> bn1 = register_module("bn1", std::make_shared<Affine>(3));
  Block() : Module("Block") {}
  Tensor forward(const Tensor& x) override { return bn1->forward(conv1->forward(x)) + x; }
};

struct Net : nn::Module {
  std::shared_ptr<Affine> stem = register_module("stem", std::make_shared<Affine>(3));
  std::shared_ptr<nn::Module> layer1 =
      register_module("layer1", std::make_shared<nn::Module>("Sequential"));
  Net() : Module("Net") {
    layer1->register_module("0", std::make_shared<Block>());
    layer1->register_module("1", std::make_shared<Block>());
  }
};
}  // namespace

TEST(Module, DottedNamesMatchTorchvisionStyle) {
  Net net;
  std::vector<std::string> names;
  for (auto& [n, p] : net.named_parameters()) names.push_back(n);
  std::vector<std::string> want = {
      "stem.weight",         "stem.bias",         "layer1.0.conv1.weight", "layer1.0.conv1.bias",
      "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.1.conv1.weight", "layer1.1.conv1.bias",
      "layer1.1.bn1.weight", "layer1.1.bn1.bias"};
  EXPECT_EQ(names, want);
  EXPECT_EQ(net.named_buffers()[1].first, "layer1.0.conv1.num_batches_tracked");
  EXPECT_EQ(net.num_parameters(), 30);
  EXPECT_EQ(net.child("layer1.1.bn1")->type_name(), "Affine");
  EXPECT_THROW_WITH(net.child("layer1.2"), "layer1.2", "no child '2'");
  EXPECT_EQ(net.state_dict().size(), 15u);
}

TEST(Module, TrainEvalAndFreezing) {
  Net net;
  net.eval();
  EXPECT_FALSE(net.child("layer1.0.bn1")->is_training());
  net.train();
  EXPECT_TRUE(net.child("layer1.0.bn1")->is_training());
  EXPECT_EQ(net.freeze_prefix("layer1.0."), 4);
  EXPECT_EQ(net.num_parameters(/*trainable_only=*/true), 18);
  EXPECT_THROW_WITH(net.freeze_prefix("layer9"), "layer9");
  net.child("stem")->freeze();
  EXPECT_EQ(net.num_parameters(true), 12);
  net.unfreeze();
  EXPECT_EQ(net.num_parameters(true), 30);
}

TEST(Module, LoadStateDictCopiesInPlaceAndNamesMismatches) {
  Net a, b;
  for (auto& [n, p] : a.named_parameters()) p.fill_(0.5);
  b.load_state_dict(a.state_dict());
  auto blk = std::dynamic_pointer_cast<Block>(b.child("layer1.1"));
  EXPECT_EQ(blk->bn1->scale.at({2}), 0.5);  // the member handle sees the loaded value

  auto sd = a.state_dict();
  sd["layer1.0.bn1.weight"] = Tensor::ones({4});
  EXPECT_THROW_WITH(b.load_state_dict(sd, true, "model.safetensors"), "model.safetensors",
                    "layer1.0.bn1.weight", "[4]", "[3]");
  sd = a.state_dict();
  sd.erase("stem.bias");
  EXPECT_THROW_WITH(b.load_state_dict(sd), "stem.bias", "missing");
  b.load_state_dict(sd, /*strict=*/false);
  sd = a.state_dict();
  sd["fc.weight"] = Tensor::ones({1});
  EXPECT_THROW_WITH(b.load_state_dict(sd), "unexpected", "fc.weight");
}

TEST(Module, RegistrationErrors) {
  Affine m(2);
  EXPECT_THROW_WITH(m.register_parameter("weight", Tensor::ones({1})), "Affine",
                    "already registered");
  EXPECT_THROW_WITH(m.register_buffer("a.b", Tensor::ones({1})), "contain no '.'");
  EXPECT_THROW_WITH(nn::Module("Plain").forward(Tensor::ones({1})), "Plain", "does not take");
}

TEST(Module, GradientsReachParametersThroughChildren) {
  Block blk;
  Tensor x = Tensor::randn({4, 3});
  sum(blk.forward(x)).backward();
  for (auto& [n, p] : blk.named_parameters()) EXPECT_TRUE(p.grad().defined()) << n;
  blk.zero_grad();
  for (auto& [n, p] : blk.named_parameters()) EXPECT_FALSE(p.grad().defined()) << n;
}
