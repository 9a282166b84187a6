// ONNX import of the indexing, comparison, padding, detection and transformer-style ops
// (src/io/onnx/import_index_ops.cpp) on hand-built graphs, against loops that spell out ONNX's
// definition of each op.
#include <gtest/gtest.h>

#include <cmath>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "support/gradcheck.h"
#include "support/onnx_graph.h"

namespace convkit {
namespace {

using test::OnnxGraph;
using Ints = std::vector<int64_t>;
using Attrs = std::vector<std::pair<std::string, test::OnnxAttr>>;

Tensor ints(const Ints& v) { return Tensor::from_vector(v, {int64_t(v.size())}); }

TensorList run(const OnnxGraph& g, const std::map<std::string, Tensor>& inputs) {
  auto m = g.load();
  m->eval();
  NoGradGuard no_grad;
  auto out = m->forward(inputs);
  TensorList ys;
  for (const std::string& name : m->output_names()) ys.push_back(out.at(name));
  return ys;
}

void expect_close(const Tensor& got, const Tensor& want, double tol = 1e-6) {
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.dtype(), want.dtype());
  EXPECT_LE(test::max_abs_diff(got, want), tol);
}

// y[o] = x[src(o)] per dim, src from ONNX's Pad definition; `value` outside for constant.
Tensor pad_reference(const Tensor& x, const Ints& pads, const std::string& mode, double value) {
  const int r = x.ndim();
  std::vector<int64_t> out(r);
  for (int d = 0; d < r; ++d) out[d] = x.size(d) + pads[d] + pads[d + r];
  Tensor y = Tensor::empty(Shape(out), DType::f64);
  std::vector<int64_t> o(r, 0);
  for (int64_t k = 0; k < y.numel(); ++k) {
    int64_t off = 0, stride = 1;
    bool inside = true;
    for (int d = r - 1; d >= 0; --d) {
      const int64_t n = x.size(d);
      int64_t i = o[d] - pads[d];
      if (mode == "edge") i = std::clamp<int64_t>(i, 0, n - 1);
      if (mode == "reflect") i = i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
      inside = inside && i >= 0 && i < n;
      off += i * stride, stride *= n;
    }
    y.data<double>()[k] = inside ? x.data<double>()[off] : value;
    for (int d = r - 1; d >= 0; --d) {
      if (++o[d] < out[d]) break;
      o[d] = 0;
    }
  }
  return y;
}

TEST(OnnxSelectOps, PadEveryAxisAndMode) {
  const Tensor x = Tensor::randn({2, 3, 4, 5}, nullptr, DType::f64);
  // Channel and batch axes too, every mode; the last case pads only H and W (pad2d's path).
  for (const std::string mode : {"constant", "reflect", "edge"})
    for (const Ints& pads : {Ints{0, 2, 1, 0, 1, 1, 0, 3}, Ints{1, 0, 0, 0, 0, 2, 0, 0},
                             Ints{0, 0, 3, 1, 0, 0, 1, 4}}) {
      SCOPED_TRACE(mode + " " + std::to_string(pads[1]) + "," + std::to_string(pads[5]));
      OnnxGraph g(13);
      g.input("x").output("y").init("p", ints(pads)).init("v", Tensor::full({}, 0.5));
      g.node("Pad", {"x", "p", "v"}, {"y"}, {{"mode", mode}}, "pad");
      auto m = g.load({DType::f64});
      m->eval();
      expect_close((*m)(x), pad_reference(x, pads, mode, mode == "constant" ? 0.5 : 0.0), 1e-12);
      // The gradient sums each output back into the input element it copied.
      EXPECT_TRUE(test::gradcheck([&](const TensorList& in) { return (*m)(in[0]); },
                                  {test::rand_var({2, 3, 4, 5}, 7)}));
    }
  // Opset 9 attributes, negative pads (crops) and opset 18's axes input.
  const Tensor xf = x.to(DType::f32);
  OnnxGraph g(9);
  g.input("x").output("y").node("Pad", {"x"}, {"y"},
                                {{"pads", Ints{0, -1, 0, 2, 0, 0, 0, 0}}, {"value", 2.0}});
  expect_close(
      run(g, {{"x", xf}})[0],
      pad_reference(narrow(x, 1, 1, 2), {0, 0, 0, 2, 0, 0, 0, 0}, "constant", 2.0).to(DType::f32));
  g = OnnxGraph(18);
  g.input("x").output("y").init("p", ints({1, 2})).init("a", ints({1}));
  g.node("Pad", {"x", "p", "", "a"}, {"y"}, {{"mode", std::string("edge")}});
  expect_close(run(g, {{"x", xf}})[0],
               pad_reference(x, {0, 1, 0, 0, 0, 2, 0, 0}, "edge", 0).to(DType::f32));
  // Wrong pads count: the message lists all 8 values (it used to fail formatting them).
  g = OnnxGraph(13);
  g.input("x").output("y").init("p", ints({0, 1, 0, 0, 0, 1, 0, 0}));
  g.node("Pad", {"x", "p"}, {"y"}, {}, "pad");
  EXPECT_THROW_WITH(run(g, {{"x", Tensor::ones({2, 3})}}), "node 'pad' (Pad)",
                    "pads [0,1,0,0,0,1,0,0] must have 2 x 2 values", "[2,3]");
  g = OnnxGraph(13);
  g.input("x").output("y").init("p", ints({0, 3, 0, 0, 0, 0, 0, 0}));
  g.node("Pad", {"x", "p"}, {"y"}, {{"mode", std::string("reflect")}}, "pad");
  EXPECT_THROW_WITH(run(g, {{"x", Tensor::ones({2, 3, 4, 5})}}), "reflect pads 3, 0 of axis 1",
                    "smaller than its size 3");
}

TEST(OnnxSelectOps, Activations) {
  const Tensor x = Tensor::uniform({4, 50}, -5, 5);
  OnnxGraph g(13);
  g.input("x").output("hs").output("hw").output("e");
  g.node("HardSigmoid", {"x"}, {"hs"}, {{"alpha", 0.3}, {"beta", 0.4}});
  g.node("HardSwish", {"x"}, {"hw"}).node("Erf", {"x"}, {"e"});
  const TensorList y = run(g, {{"x", x}});
  Tensor hs = Tensor::empty(x.shape()), hw = hs.clone(), e = hs.clone();
  for (int64_t k = 0; k < x.numel(); ++k) {
    const double v = x.data<float>()[k];
    hs.data<float>()[k] = float(std::clamp(0.3f * float(v) + 0.4f, 0.0f, 1.0f));
    hw.data<float>()[k] = float(v * std::clamp(v / 6 + 0.5, 0.0, 1.0));
    e.data<float>()[k] = float(std::erf(v));
  }
  expect_close(y[0], hs), expect_close(y[1], hw), expect_close(y[2], e);
  EXPECT_TRUE(test::gradcheck([](const TensorList& in) { return erf(in[0]); },
                              {test::rand_var({3, 4}, 3)}));
}

TEST(OnnxSelectOps, GatherWhereEqualExpandRange) {
  const Tensor x = Tensor::randn({3, 4, 2});
  OnnxGraph g(13);
  g.input("x").output("g").output("s").output("ge").init("i", ints({-1, 0, 0}));
  g.init("i2", Tensor::from_vector(Ints{2, 1}, {2, 1}))
      .init("zero", Tensor::full({}, 0.0, DType::i64));
  g.init("ei", Tensor::from_vector(Ints{0, 2, 1, 1, 0, 0}, {1, 3, 2}));
  g.node("Gather", {"x", "i2"}, {"g"}, {{"axis", int64_t(1)}});
  g.node("Gather", {"x", "zero"}, {"s"});  // a scalar index drops the axis
  g.node("GatherElements", {"x", "ei"}, {"ge"}, {{"axis", int64_t(1)}});
  TensorList y = run(g, {{"x", x}});
  expect_close(y[0], index_select(x, 1, ints({2, 1})).reshape({3, 2, 1, 2}));
  expect_close(y[1], narrow(x, 0, 0, 1).reshape({4, 2}));
  expect_close(y[2], gather(x, 1, Tensor::from_vector(Ints{0, 2, 1, 1, 0, 0}, {1, 3, 2})));

  g = OnnxGraph(13);
  g.input("a").input("b").output("eq").output("w").output("ex").output("r").output("ri");
  g.init("shape", ints({2, 1, 3}))
      .init("r0", Tensor::full({}, 1.0))
      .init("r1", Tensor::full({}, 2.0));
  g.init("r2", Tensor::full({}, 0.25)).init("i0", Tensor::full({}, 10.0, DType::i64));
  g.init("i1", Tensor::full({}, 1.0, DType::i64)).init("i2", Tensor::full({}, -4.0, DType::i64));
  g.node("Equal", {"a", "b"}, {"eq"}).node("Where", {"eq", "a", "b"}, {"w"});
  g.node("Expand", {"a", "shape"}, {"ex"}).node("Range", {"r0", "r1", "r2"}, {"r"});
  g.node("Range", {"i0", "i1", "i2"}, {"ri"});
  const Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
  const Tensor b = Tensor::from_vector(std::vector<float>{1, 5, 3, 0, 2, 7}, {2, 3});
  y = run(g, {{"a", a}, {"b", b}});
  expect_close(y[0], Tensor::from_vector(std::vector<uint8_t>{1, 0, 1, 0, 1, 0}, {2, 3}));
  expect_close(y[1], Tensor::from_vector(std::vector<float>{1, 5, 3, 0, 2, 7}, {2, 3}));
  expect_close(y[2], Tensor::from_vector(std::vector<float>{1, 2, 3, 1, 2, 3}, {2, 1, 3}));
  expect_close(y[3], Tensor::from_vector(std::vector<float>{1, 1.25, 1.5, 1.75}, {4}));
  expect_close(y[4], ints({10, 6, 2}));
}

TEST(OnnxSelectOps, TopKNmsLayerNorm) {
  const Tensor x = Tensor::randn({3, 6});
  OnnxGraph g(11);
  g.input("x").output("v").output("i").init("k", ints({2}));
  g.node("TopK", {"x", "k"}, {"v", "i"}, {{"axis", int64_t(1)}, {"largest", int64_t(0)}});
  TensorList y = run(g, {{"x", x}});
  const TopK want = topk(x, TopKParams().set_k(2).set_dim(1).set_largest(false));
  expect_close(y[0], want.values), expect_close(y[1], want.indices);

  // Three boxes of one class: box 1 overlaps box 0 (IoU 0.74), box 2 is apart; the second class
  // keeps at most 2 above the score threshold 0.3.
  g = OnnxGraph(13);
  g.input("boxes").input("scores").output("sel");
  g.init("max", ints({2})).init("iou", Tensor::full({1}, 0.5)).init("smin", Tensor::full({1}, 0.3));
  g.node("NonMaxSuppression", {"boxes", "scores", "max", "iou", "smin"}, {"sel"});
  const Tensor boxes = Tensor::from_vector(
      std::vector<float>{0, 0, 10, 10, 1, 1, 11, 10, 20, 20, 30, 30}, {1, 3, 4});
  const Tensor scores =
      Tensor::from_vector(std::vector<float>{0.9f, 0.8f, 0.7f, 0.2f, 0.6f, 0.5f}, {1, 2, 3});
  y = run(g, {{"boxes", boxes}, {"scores", scores}});
  expect_close(y[0], Tensor::from_vector(Ints{0, 0, 0, 0, 0, 2, 0, 1, 1, 0, 1, 2}, {4, 3}));

  g = OnnxGraph(17);
  g.input("x").output("y").init("s", Tensor::randn({6})).init("b", Tensor::randn({6}));
  g.node("LayerNormalization", {"x", "s", "b"}, {"y"}, {{"epsilon", 1e-3}});
  auto m = g.load({DType::f64});
  const Tensor xd = x.to(DType::f64);
  const Tensor c = xd - mean(xd, {1}, true);
  const Tensor ln =
      c / sqrt(mean(c * c, {1}, true) + 1e-3) * m->state_dict().at("s") + m->state_dict().at("b");
  expect_close((*m)(xd), ln, 1e-9);
}

}  // namespace
}  // namespace convkit
