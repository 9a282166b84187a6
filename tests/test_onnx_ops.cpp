// ONNX import, op by op, on hand-built graphs: each checks how one op's attributes and opset
// forms (ONNX's defaults, pads layout, coerced softmax, inputs that used to be attributes) map
// onto convkit's ops, against those ops called directly with the parameters ONNX's spec implies.
// Also: the module structure of an imported model and every load-time and run-time error.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <limits>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "support/gradcheck.h"
#include "support/onnx_graph.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

using test::OnnxGraph;
using Ints = std::vector<int64_t>;

Tensor ints(const Ints& v) { return Tensor::from_vector(v, {int64_t(v.size())}); }

Tensor run(const OnnxGraph& g, const Tensor& x) {
  auto m = g.load();
  m->eval();
  NoGradGuard no_grad;
  return (*m)(x);
}

void expect_close(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_LE(test::max_abs_diff(got, want), 1e-5 * std::max(1.0, test::max_abs(want)));
}

// x -> op -> y with optional initializers.
OnnxGraph single(const std::string& op, const std::vector<std::string>& inputs,
                 const std::vector<std::pair<std::string, test::OnnxAttr>>& attrs, int opset = 13) {
  OnnxGraph g(opset);
  g.input("x").output("y").node(op, inputs, {"y"}, attrs, "the_node");
  return g;
}

TEST(OnnxOps, ConvPadsAndAutoPad) {
  const Tensor x = Tensor::randn({1, 4, 7, 8}), w = Tensor::randn({6, 2, 3, 3}),
               b = Tensor::randn({6});
  // SAME_UPPER: the odd padding pixel at the end, exactly Padding::same.
  OnnxGraph g = single(
      "Conv", {"x", "w", "b"},
      {{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}, {"group", int64_t(2)}});
  g.init("w", w).init("b", b);
  expect_close(run(g, x), conv2d(x, w, b, Conv2dParams().set_stride(2).set_groups(2).same()));
  // SAME_LOWER puts it at the beginning. For 7 rows, stride 2: total pad 2 -> 1/1; 8 columns: 1 ->
  // 1/0.
  g = single(
      "Conv", {"x", "w"},
      {{"auto_pad", std::string("SAME_LOWER")}, {"strides", Ints{2, 2}}, {"group", int64_t(2)}});
  g.init("w", w);
  expect_close(run(g, x), conv2d(pad2d(x, 1, 0, 1, 1), w, Tensor(),
                                 Conv2dParams().set_stride(2).set_groups(2)));
  // Explicit asymmetric pads [top, left, bottom, right] and dilation.
  g = single("Conv", {"x", "w", "b"},
             {{"pads", Ints{0, 1, 2, 1}}, {"dilations", Ints{2, 1}}, {"group", int64_t(2)}});
  g.init("w", w).init("b", b);
  expect_close(run(g, x),
               conv2d(pad2d(x, 1, 1, 0, 2), w, b, Conv2dParams().set_dilation(2, 1).set_groups(2)));
}

TEST(OnnxOps, PoolingDefaultsDifferFromPyTorch) {
  const Tensor x = Tensor::randn({2, 3, 6, 7});
  // ONNX's strides default to 1, not to the kernel.
  expect_close(run(single("MaxPool", {"x"}, {{"kernel_shape", Ints{3, 3}}}), x),
               max_pool2d(x, Pool2dParams(3, 1)));
  // AveragePool leaves the padding out of the divisor unless count_include_pad = 1.
  expect_close(
      run(single(
              "AveragePool", {"x"},
              {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}}),
          x),
      avg_pool2d(x, Pool2dParams(3, 2).set_padding(1).set_count_include_pad(false)));
  expect_close(run(single("AveragePool", {"x"},
                          {{"kernel_shape", Ints{3, 3}},
                           {"strides", Ints{2, 2}},
                           {"pads", Ints{1, 1, 1, 1}},
                           {"count_include_pad", int64_t(1)},
                           {"ceil_mode", int64_t(1)}}),
                   x),
               avg_pool2d(x, Pool2dParams(3, 2).set_padding(1).set_ceil_mode(true)));
  // Asymmetric max-pool pads: padded taps never win.
  expect_close(
      run(single(
              "MaxPool", {"x"},
              {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"pads", Ints{0, 0, 1, 1}}}),
          x),
      max_pool2d(pad2d(x, 0, 1, 0, 1, PadMode::zeros, -1e30), Pool2dParams(2)));
  expect_close(run(single("GlobalMaxPool", {"x"}, {}), x), max_pool2d(x, Pool2dParams(6, 7, 1, 1)));
  EXPECT_THROW_WITH(
      single("AveragePool", {"x"}, {{"kernel_shape", Ints{2, 2}}, {"pads", Ints{0, 0, 1, 1}}})
          .load()
          ->forward(x),
      "node 'the_node' (AveragePool)", "asymmetric");
}

TEST(OnnxOps, BatchNormFollowsTheModuleMode) {
  const Tensor x = Tensor::randn({4, 3, 2, 2});
  const Tensor w = Tensor::uniform({3}, 0.5, 1.5), b = Tensor::randn({3}), m = Tensor::randn({3}),
               v = Tensor::uniform({3}, 0.5, 1.5);
  OnnxGraph g = single("BatchNormalization",
                       {"x", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"},
                       {{"epsilon", 1e-3}, {"momentum", 0.7}});
  g.init("bn.weight", w).init("bn.bias", b).init("bn.running_mean", m).init("bn.running_var", v);
  auto model = g.load();
  // torchvision-style names get num_batches_tracked, so PyTorch's state dicts load strictly.
  std::map<std::string, Tensor> state = model->state_dict();
  ASSERT_EQ(state.size(), 5u);
  EXPECT_EQ(state.count("bn.num_batches_tracked"), 1u);
  EXPECT_EQ(model->child("bn")->type_name(), "BatchNormalization");
  EXPECT_TRUE(state["bn.weight"].requires_grad());
  EXPECT_FALSE(state["bn.running_mean"].requires_grad());

  model->train();
  Tensor rm = m.clone(), rv = v.clone();
  // ONNX's momentum 0.7 keeps 70% of the running value: PyTorch's momentum 0.3.
  const Tensor want = batch_norm(x, w, b, rm, rv, /*training=*/true, 0.3, 1e-3);
  expect_close((*model)(x), want);
  expect_close(state["bn.running_mean"], rm);
  expect_close(state["bn.running_var"], rv);
  EXPECT_EQ(state["bn.num_batches_tracked"].item(), 1);

  // Evaluating the batch norm's own scope freezes its statistics even while the model trains.
  model->child("bn")->eval();
  expect_close((*model)(x), batch_norm(x, w, b, rm, rv, /*training=*/false, 0.3, 1e-3));
  EXPECT_EQ(state["bn.num_batches_tracked"].item(), 1);

  // Other names: no counter.
  OnnxGraph h = single("BatchNormalization", {"x", "s", "b", "m", "v"}, {});
  h.init("s", w).init("b", b).init("m", m).init("v", v);
  EXPECT_EQ(h.load()->state_dict().size(), 4u);
}

TEST(OnnxOps, LrnSoftmaxAndActivations) {
  const Tensor x = Tensor::randn({2, 5, 3, 4});
  expect_close(run(single("LRN", {"x"},
                          {{"size", int64_t(3)}, {"alpha", 0.2}, {"beta", 0.6}, {"bias", 1.5}}),
                   x),
               local_response_norm(x, 3, 0.2, 0.6, 1.5));
  EXPECT_THROW_WITH(single("LRN", {"x"}, {{"size", int64_t(4)}}).load(), "node 'the_node' (LRN)",
                    "even size 4");
  // Before opset 13, Softmax normalizes over everything from the axis on.
  expect_close(run(single("Softmax", {"x"}, {{"axis", int64_t(1)}}, 11), x),
               softmax(x.reshape({2, 60}), 1).reshape(x.shape()));
  expect_close(run(single("Softmax", {"x"}, {{"axis", int64_t(1)}}, 13), x), softmax(x, 1));
  expect_close(run(single("LogSoftmax", {"x"}, {}, 13), x), log_softmax(x, -1));
  expect_close(run(single("LeakyRelu", {"x"}, {{"alpha", 0.2}}), x), leaky_relu(x, 0.2));
  expect_close(run(single("Elu", {"x"}, {}), x), elu(x, 1.0));
  expect_close(run(single("Sigmoid", {"x"}, {}), x), sigmoid(x));
}

TEST(OnnxOps, ClipBoundsAsAttributesOrInputs) {
  const Tensor x = Tensor::randn({3, 4}) * 4;
  Tensor want = x.clone();
  for (int64_t i = 0; i < want.numel(); ++i)
    want.data<float>()[i] = std::clamp(want.data<float>()[i], -1.0f, 0.5f);
  expect_close(run(single("Clip", {"x"}, {{"min", -1.0}, {"max", 0.5}}, 9), x), want);
  OnnxGraph g = single("Clip", {"x", "lo", "hi"}, {});
  g.init("lo", Tensor::full({}, -1.0)).init("hi", Tensor::full({}, 0.5));
  expect_close(run(g, x), want);
  g = single("Clip", {"x", "lo", "hi"}, {});
  g.init("lo", Tensor::full({}, 0.0)).init("hi", Tensor::full({}, 6.0));
  expect_close(run(g, x * 3), relu6(x * 3));
  g = single("Clip", {"x", "lo"}, {});
  g.init("lo", Tensor::full({}, 0.0));
  expect_close(run(g, x), relu(x));
}

TEST(OnnxOps, GemmAndMatMul) {
  const Tensor a = Tensor::randn({4, 3}), b = Tensor::randn({4, 5}), c = Tensor::randn({1, 5});
  OnnxGraph g =
      single("Gemm", {"x", "b", "c"}, {{"transA", int64_t(1)}, {"alpha", 0.5}, {"beta", 2.0}});
  g.init("b", b).init("c", c);
  expect_close(run(g, a), matmul(transpose(a, 0, 1), b) * 0.5 + c * 2.0);
  const Tensor x = Tensor::randn({2, 3, 4, 6}), w = Tensor::randn({6, 5});
  g = single("MatMul", {"x", "w"}, {});
  g.init("w", w);
  expect_close(run(g, x), matmul(x.reshape({24, 6}), w).reshape({2, 3, 4, 5}));
}

TEST(OnnxOps, PadReshapeFlattenTranspose) {
  const Tensor x = Tensor::randn({1, 2, 4, 5});
  OnnxGraph g = single("Pad", {"x", "p"}, {{"mode", std::string("reflect")}}, 11);
  g.init("p", ints({0, 0, 1, 2, 0, 0, 2,
                    1}));  // [x1_begin.., x1_end..]: top 1, left 2, bottom 2, right 1
  expect_close(run(g, x), pad2d(x, 2, 1, 1, 2, PadMode::reflect));
  expect_close(
      run(single("Pad", {"x"}, {{"pads", Ints{0, 0, 1, 0, 0, 0, 0, 3}}, {"value", 1.5}}, 9), x),
      pad2d(x, 0, 3, 1, 0, PadMode::zeros, 1.5));
  g = single("Reshape", {"x", "s"}, {});
  g.init("s", ints({0, -1, 2}));  // 0 copies the input's dim
  expect_close(run(g, x), x.reshape({1, 20, 2}));
  expect_close(run(single("Flatten", {"x"}, {{"axis", int64_t(2)}}), x), x.reshape({2, 20}));
  expect_close(run(single("Flatten", {"x"}, {{"axis", int64_t(0)}}), x), x.reshape({1, 40}));
  expect_close(run(single("Transpose", {"x"}, {{"perm", Ints{0, 3, 1, 2}}}), x),
               permute(x, {0, 3, 1, 2}));
}

// x.view(x.size(0), -1) as torch exports it: the batch size is read from the input at run time.
TEST(OnnxOps, ShapeChainKeepsTheBatchFree) {
  OnnxGraph g(11);
  g.input("x", {-1, 3, 2, 2}).output("y");
  g.node("Shape", {"x"}, {"s"});
  g.init("zero", Tensor::zeros({}, DType::i64)).init("minus_one", ints({-1}));
  g.node("Gather", {"s", "zero"}, {"n"}, {{"axis", int64_t(0)}});
  g.node("Unsqueeze", {"n"}, {"n1"}, {{"axes", Ints{0}}});
  g.node("Concat", {"n1", "minus_one"}, {"shape"}, {{"axis", int64_t(0)}});
  g.node("Reshape", {"x", "shape"}, {"y"});
  for (int64_t n : {1, 5}) {
    const Tensor x = Tensor::randn({n, 3, 2, 2});
    expect_close(run(g, x), x.reshape({n, 12}));
  }
}

TEST(OnnxOps, GatherSliceSqueezeUnsqueeze) {
  const Tensor x = Tensor::randn({2, 4, 3});
  OnnxGraph g = single("Gather", {"x", "i"}, {{"axis", int64_t(1)}});
  g.init("i", ints({3, -4}));
  Tensor want = Tensor::empty({2, 2, 3});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t k = 0; k < 3; ++k) {
      want.data<float>()[(n * 2 + 0) * 3 + k] = float(x.at({n, 3, k}));
      want.data<float>()[(n * 2 + 1) * 3 + k] = float(x.at({n, 0, k}));
    }
  expect_close(run(g, x), want);
  // Negative step: rows 3, 2, 1 of dim 1 (ends clamp to -1 when the step is negative).
  g = single("Slice", {"x", "st", "en", "ax", "sp"}, {});
  g.init("st", ints({-1})).init("en", ints({-4})).init("ax", ints({1})).init("sp", ints({-1}));
  expect_close(run(g, x), concat({narrow(x, 1, 3, 1), narrow(x, 1, 2, 1), narrow(x, 1, 1, 1)}, 1));
  g = single("Slice", {"x"}, {{"starts", Ints{1}}, {"ends", Ints{1000}}, {"axes", Ints{2}}}, 9);
  expect_close(run(g, x), narrow(x, 2, 1, 2));
  expect_close(run(single("Unsqueeze", {"x"}, {{"axes", Ints{0, -1}}}, 11), x),
               x.reshape({1, 2, 4, 3, 1}));
  g = single("Unsqueeze", {"x", "a"}, {});
  g.init("a", ints({1}));
  expect_close(run(g, x), x.reshape({2, 1, 4, 3}));
  expect_close(run(single("Squeeze", {"x"}, {}), x.reshape({1, 2, 1, 4, 3})), x);
}

TEST(OnnxOps, ReductionsResizeConstantsAndCasts) {
  const Tensor x = Tensor::randn({2, 3, 4, 5});
  expect_close(
      run(single("ReduceMean", {"x"}, {{"axes", Ints{2, 3}}, {"keepdims", int64_t(0)}}), x),
      mean(x, {2, 3}));
  OnnxGraph g = single("ReduceSum", {"x", "a"}, {});
  g.init("a", ints({1}));
  expect_close(run(g, x), sum(x, {1}, /*keepdim=*/true));
  g = single("Resize", {"x", "", "s"}, {{"mode", std::string("nearest")}});
  g.init("s", Tensor::from_vector(std::vector<float>{1, 1, 2, 3}, {4}));
  expect_close(run(g, x), upsample_nearest2d(x, 2, 3));
  g = single("Upsample", {"x", "s"}, {{"mode", std::string("nearest")}}, 9);
  g.init("s", Tensor::from_vector(std::vector<float>{1, 1, 2, 2}, {4}));
  expect_close(run(g, x), upsample_nearest2d(x, 2, 2));
  g = single("Resize", {"x", "", "s"}, {{"mode", std::string("linear")}});
  g.init("s", Tensor::from_vector(std::vector<float>{1, 1, 2, 2}, {4}));
  EXPECT_THROW_WITH(g.load(), "(Resize)", "mode 'linear'");
  // Constant -> Cast -> Mul, and Identity.
  g = OnnxGraph(13);
  g.input("x").output("y");
  g.node("Constant", {}, {"c"}, {{"value", Tensor::full({5}, 3.0, DType::f64)}});
  g.node("Cast", {"c"}, {"cf"}, {{"to", int64_t(1)}});
  g.node("Identity", {"x"}, {"xi"});
  g.node("Mul", {"xi", "cf"}, {"y"});
  expect_close(run(g, x), x * 3.0);
}

// An imported network is a Module tree named after its initializers, and it trains.
TEST(OnnxOps, ImportedModelTrains) {
  const Tensor w = Tensor::randn({4, 3, 3, 3}) * 0.3, b = Tensor::randn({4}),
               fw = Tensor::randn({2, 4}), fb = Tensor::randn({2});
  OnnxGraph g(13);
  g.input("x", {-1, 3, 5, 5}).output("y");
  g.init("features.0.weight", w)
      .init("features.0.bias", b)
      .init("fc.weight", fw)
      .init("fc.bias", fb);
  g.node("Conv", {"x", "features.0.weight", "features.0.bias"}, {"c"},
         {{"pads", Ints{1, 1, 1, 1}}});
  g.node("Relu", {"c"}, {"r"});
  g.node("GlobalAveragePool", {"r"}, {"p"});
  g.node("Flatten", {"p"}, {"f"});
  g.node("Gemm", {"f", "fc.weight", "fc.bias"}, {"y"}, {{"transB", int64_t(1)}});
  auto model = g.load();
  EXPECT_EQ(model->child("features.0")->type_name(), "Conv");
  EXPECT_EQ(model->child("fc")->type_name(), "Gemm");
  EXPECT_EQ(model->num_parameters(), w.numel() + b.numel() + fw.numel() + fb.numel());
  EXPECT_EQ(model->input_shape("x"), (Ints{-1, 3, 5, 5}));

  const Tensor x = Tensor::randn({2, 3, 5, 5}), up = Tensor::randn({2, 2});
  model->train();
  sum((*model)(x)*up).backward();
  // The same computation with convkit's ops directly.
  Tensor w2 = w.clone().set_requires_grad(), fw2 = fw.clone().set_requires_grad();
  Tensor y2 = linear(
      global_avg_pool2d(relu(conv2d(x, w2, b, Conv2dParams().set_padding(1)))).flatten(1), fw2, fb);
  sum(y2 * up).backward();
  const auto state = model->state_dict();
  expect_close(state.at("features.0.weight").grad(), w2.grad());
  expect_close(state.at("fc.weight").grad(), fw2.grad());

  // SGD moves the imported parameters.
  const Tensor before = state.at("fc.weight").clone();
  optim::SGD(optim::single_group(*model, 0.1)).step();
  expect_close(state.at("fc.weight"), before - fw2.grad() * 0.1);
}

// torch deduplicates equal initializers behind Identity nodes; each becomes its own tensor again.
TEST(OnnxOps, DeduplicatedInitializersAreSeparated) {
  OnnxGraph g(13);
  g.input("x").output("y");
  g.init("a.scale", Tensor::ones({3}));
  g.node("Identity", {"a.scale"}, {"b.scale"});
  g.node("Mul", {"x", "a.scale"}, {"t"});
  g.node("Mul", {"t", "b.scale"}, {"y"});
  auto model = g.load();
  auto state = model->state_dict();
  ASSERT_EQ(state.size(), 2u);
  state["a.scale"].fill_(2);
  expect_close(state["b.scale"], Tensor::ones({3}));
  EXPECT_TRUE(model->nodes().size() == 2) << "the Identity was resolved at load time";
}

TEST(OnnxOps, Float64Load) {
  OnnxGraph g = single("Mul", {"x", "k"}, {});
  g.init("k", Tensor::randn({2, 3}));
  auto model = g.load({DType::f64});
  EXPECT_EQ(model->state_dict().at("k").dtype(), DType::f64);
  const Tensor x = Tensor::randn({2, 3}, nullptr, DType::f64);
  EXPECT_EQ((*model)(x).dtype(), DType::f64);
}

TEST(OnnxOps, LoadErrorsNameTheProblem) {
  OnnxGraph g = single("FancyOp", {"x"}, {});
  EXPECT_THROW_WITH(g.load(), "test graph",
                    "1 unsupported op type: FancyOp (1 node); supported: ", "BatchNormalization",
                    "Conv");
  g = OnnxGraph(13);
  g.input("x").output("y");
  g.proto().mutable_graph()->add_node()->set_op_type("Relu");
  g.proto().mutable_graph()->mutable_node(0)->set_domain("com.example");
  g.proto().mutable_graph()->mutable_node(0)->add_input("x");
  g.proto().mutable_graph()->mutable_node(0)->add_output("y");
  EXPECT_THROW_WITH(g.load(), "unsupported op type: com.example:Relu (1 node)");
  g = single("Conv", {"x", "weights"}, {});
  EXPECT_THROW_WITH(g.load(), "node 'the_node' (Conv) reads 'weights'",
                    "not a graph input, an initializer or an output of an earlier node");
  EXPECT_THROW_WITH(single("Relu", {"x"}, {}, 6).load(), "opset 6 is not supported");
  g = single("Relu", {"x"}, {});
  g.proto().mutable_graph()->clear_output();
  g.output("nowhere");
  EXPECT_THROW_WITH(g.load(), "graph output 'nowhere' is not produced");
  g = OnnxGraph(13);
  g.input("x").output("y").node("MaxPool", {"x"}, {"y", "idx"}, {{"kernel_shape", Ints{2, 2}}},
                                "mp");
  g.output("idx");
  EXPECT_THROW_WITH(g.load(), "node 'mp' (MaxPool)", "Indices output is not supported");

  // Files: missing, empty, truncated.
  const std::string dir = test::onnx_work_dir();
  EXPECT_THROW_WITH(io::load_onnx(dir + "/no_such_model.onnx"), "cannot open",
                    "no_such_model.onnx");
  std::ofstream(dir + "/empty.onnx").close();
  EXPECT_THROW_WITH(io::load_onnx(dir + "/empty.onnx"), "empty.onnx", "empty");
  OnnxGraph full = single("Mul", {"x", "k"}, {});
  full.init("k", Tensor::randn({64, 64}));
  const std::string bytes = full.bytes();
  std::ofstream(dir + "/truncated.onnx", std::ios::binary)
      .write(bytes.data(), std::streamsize(bytes.size() / 2));
  EXPECT_THROW_WITH(io::load_onnx(dir + "/truncated.onnx"), "truncated.onnx",
                    "not a valid ONNX model");
}

TEST(OnnxOps, RunErrorsNameTheNodeAndShapes) {
  OnnxGraph g = single("Conv", {"x", "w"}, {});
  g.init("w", Tensor::randn({2, 3, 3, 3}));
  auto model = g.load();
  EXPECT_THROW_WITH((*model)(Tensor::randn({1, 4, 5, 5})),
                    "onnx: test graph: node 'the_node' (Conv)", "input has 4 channels",
                    "[1,4,5,5]");
  g = OnnxGraph(13);
  g.input("a").input("b").output("y").node("Add", {"a", "b"}, {"y"});
  model = g.load();
  EXPECT_THROW_WITH((*model)(Tensor::ones({2})), "2 inputs; call forward with a map");
  EXPECT_THROW_WITH(model->forward({{"a", Tensor::ones({2})}}), "input 'b' is not given");
  EXPECT_THROW_WITH(model->forward({{"c", Tensor::ones({2})}}), "no input 'c'");
  auto out = model->forward({{"a", Tensor::ones({2})}, {"b", Tensor::full({2}, 2.0)}});
  expect_close(out.at("y"), Tensor::full({2}, 3.0));
}

}  // namespace
}  // namespace convkit
