// ONNX import of malformed files: every refusal is a convkit::Error naming the model file, the
// node and its op type (or the tensor), never a crash. Each case here crashed, overflowed or was
// silently accepted before the importer checked it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "io/onnx/arity.h"
#include "support/gradcheck.h"
#include "support/onnx_graph.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

using test::OnnxGraph;
using Ints = std::vector<int64_t>;

// One node `n` of `op` reading x0, x1, ... (initializers, so every input exists).
OnnxGraph node_with_inputs(const std::string& op, int n_inputs, int opset) {
  OnnxGraph g(opset);
  g.input("x").output("y");
  std::vector<std::string> inputs;
  for (int i = 0; i < n_inputs; ++i) {
    inputs.push_back(i == 0 ? std::string("x") : detail::concat("c", i));
    if (i > 0) g.init(inputs.back(), Tensor::ones({1}));
  }
  g.node(op, inputs, {"y"}, {}, "n");
  return g;
}

TEST(OnnxHardening, EveryOpChecksItsArity) {
  using detail::concat;
  const auto& handlers = io::onnx_detail::handlers();
  ASSERT_GT(handlers.size(), 50u);
  for (int opset : {9, 11, 13, 18})
    for (const auto& [op, h] : handlers) {
      const io::onnx_detail::Arity a = io::onnx_detail::arity_of(op, opset);
      const std::string node = concat("node 'n' (", op, ")");
      SCOPED_TRACE(concat(op, " at opset ", opset));
      if (a.min_inputs > 0) {
        EXPECT_THROW_WITH(node_with_inputs(op, a.min_inputs - 1, opset).load(), "test graph",
                          concat(node, " has ", a.min_inputs - 1, " inputs; ", op, " at opset ",
                                 opset, " takes"));
        OnnxGraph g = node_with_inputs(op, a.min_inputs, opset);
        if (a.required_named() > 0) {
          g.proto().mutable_graph()->mutable_node(0)->set_input(a.required_named() - 1, "");
          EXPECT_THROW_WITH(g.load(),
                            concat(node, " leaves input ", a.required_named() - 1, " empty"));
        }
      }
      if (a.max_inputs < io::onnx_detail::kVariadic)
        EXPECT_THROW_WITH(node_with_inputs(op, a.max_inputs + 1, opset).load(), node, "takes");
      OnnxGraph g = node_with_inputs(op, a.min_inputs, opset);
      g.proto().mutable_graph()->mutable_node(0)->clear_output();
      EXPECT_THROW_WITH(g.load(), concat(node, " has 0 outputs"));
    }
}

// The table against ONNX's own schemas (the onnx Python package): never fewer required inputs
// than ONNX requires (a handler reads every required input), never more outputs than it defines.
TEST(OnnxHardening, ArityTableAgreesWithOnnxSchemas) {
  std::string why;
  if (!test::python_has("onnx", &why)) GTEST_SKIP() << why;
  std::string ops;
  for (const auto& [op, h] : io::onnx_detail::handlers()) ops += (ops.empty() ? "" : ",") + op;
  std::string out;
  ASSERT_EQ(
      test::run_python(
          "-c \"import onnx.defs as d\nfor op in '" + ops +
              "'.split(','):\n for o in (9, 11, 13, 18):\n  try: s = d.get_schema(op, o, '')\n"
              "  except Exception: continue\n  print(op, o, s.min_input, s.max_output)\"",
          &out),
      0)
      << out;
  std::istringstream lines(out);
  std::string op;
  int opset = 0, min_inputs = 0, max_outputs = 0, rows = 0;
  while (lines >> op >> opset >> min_inputs >> max_outputs) {
    const io::onnx_detail::Arity a = io::onnx_detail::arity_of(op, opset);
    EXPECT_GE(a.min_inputs, min_inputs) << op << " at opset " << opset;
    EXPECT_LE(a.max_outputs, max_outputs) << op << " at opset " << opset;
    ++rows;
  }
  EXPECT_GT(rows, 150) << out;
}

TEST(OnnxHardening, ElementCountsFromTheFileAreChecked) {
  // A MatMul weight whose element count wraps to 0 in 64 bits, with no data: it used to load as
  // an empty tensor that the kernel then wrote past.
  OnnxGraph g(13);
  g.input("x").output("y").node("MatMul", {"x", "w"}, {"y"}, {}, "mm");
  auto* w = g.proto().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(int64_t(1) << 62);
  w->add_dims(4);
  EXPECT_THROW_WITH(g.load(), "test graph: initializer 'w'", "[4611686018427387904,4]",
                    "exceeds 2^40");
  // Declared shape and stored values disagree: too few raw bytes, a partial value, float_data.
  w->clear_dims();
  w->add_dims(2);
  w->add_dims(3);
  w->set_raw_data(std::string(20, '\0'));
  EXPECT_THROW_WITH(g.load(), "initializer 'w' holds 5 values but its dims [2,3] need 6");
  w->set_raw_data(std::string(25, '\0'));
  EXPECT_THROW_WITH(g.load(), "initializer 'w' holds 25 bytes", "not a whole number of 4-byte");
  w->clear_raw_data();
  for (int i = 0; i < 7; ++i) w->add_float_data(1.0f);
  EXPECT_THROW_WITH(g.load(), "initializer 'w' holds 7 values but its dims [2,3] need 6");
  w->add_dims(-1);
  EXPECT_THROW_WITH(g.load(), "initializer 'w' has a negative dim");
  // Shapes computed at run time: ConstantOfShape of an overflowing shape.
  OnnxGraph c(13);
  c.input("x").output("y").node("ConstantOfShape", {"s"}, {"y"}, {}, "cos");
  c.init("s", Tensor::from_vector(Ints{int64_t(1) << 31, int64_t(1) << 31, 4}, {3}));
  EXPECT_THROW_WITH((*c.load())(Tensor::ones({1})), "test graph: node 'cos' (ConstantOfShape)",
                    "exceeds 2^40");
  // Sizes in attributes and pads: bounded before an output size is computed from them (a pad of
  // 2^62 used to wrap the padded size and write out of bounds).
  OnnxGraph p(9);
  p.input("x").output("y").node("Pad", {"x"}, {"y"},
                                {{"pads", Ints{0, 0, 0, int64_t(1) << 62, 0, 0, 0, 0}}}, "pad");
  EXPECT_THROW_WITH((*p.load())(Tensor::ones({1, 1, 2, 2})), "node 'pad' (Pad)", "exceed 2^40");
  p = OnnxGraph(9);
  p.input("x").output("y").init("w", Tensor::ones({1, 1, 1, 1}));
  p.node("Conv", {"x", "w"}, {"y"}, {{"pads", Ints{0, 0, int64_t(1) << 62, 0}}}, "conv");
  EXPECT_THROW_WITH(p.load(), "node 'conv' (Conv)",
                    "pads [0,0,4611686018427387904,0] in [0, 2^30]");
  p = OnnxGraph(9);
  p.input("x").output("y").init("s", Tensor::from_vector(std::vector<float>{1, 1, 1e9f, 1}, {4}));
  p.node("Upsample", {"x", "s"}, {"y"}, {}, "up");
  EXPECT_THROW_WITH((*p.load())(Tensor::ones({1, 1, 2, 2})), "node 'up' (Upsample)", "exceed 2^20");
}

TEST(OnnxHardening, MalformedGraphsAreRefused) {
  // An input with a negative dimension (used to reach OpenCV as an assertion).
  OnnxGraph g(13);
  g.input("x", {1, 3, 8, 8}).output("y").node("Relu", {"x"}, {"y"});
  g.proto()
      .mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(2)
      ->set_dim_value(-3);
  EXPECT_THROW_WITH(g.load(), "test graph: input 'x' declares dimension 2 as -3",
                    "size >= 0 or a symbolic name");
  // Two producers of one tensor.
  g = OnnxGraph(13);
  g.input("x")
      .output("y")
      .node("Relu", {"x"}, {"y"}, {}, "first")
      .node("Neg", {"x"}, {"y"}, {}, "second");
  EXPECT_THROW_WITH(g.load(), "node 'second' (Neg) writes 'y', which is already", "one producer");
  g = OnnxGraph(13);
  g.input("x").output("x").node("Relu", {"x"}, {"x"}, {}, "over");
  EXPECT_THROW_WITH(g.load(), "node 'over' (Relu) writes 'x'");
  // An initializer given twice.
  g = OnnxGraph(13);
  g.input("x").output("y").node("Add", {"x", "k"}, {"y"});
  g.init("k", Tensor::ones({2})).init("k", Tensor::ones({3}));
  EXPECT_THROW_WITH(g.load(), "initializer 'k' is given twice");
  // An Identity without outputs right after an initializer (read output(0) of an empty list).
  g = OnnxGraph(13);
  g.input("x").output("y").init("k", Tensor::ones({2})).node("Identity", {"k"}, {}, {}, "id");
  g.node("Relu", {"x"}, {"y"});
  EXPECT_THROW_WITH(g.load(), "node 'id' (Identity) has 0 outputs");
}

TEST(OnnxHardening, UnsupportedOpsAreAllListedWithCounts) {
  OnnxGraph g(13);
  g.input("x").output("y");
  g.node("Foo", {"x"}, {"a"}).node("Bar", {"a"}, {"b"}).node("Foo", {"b"}, {"c"});
  g.node("Relu", {"c"}, {"y"});
  EXPECT_THROW_WITH(g.load(), "test graph: 2 unsupported op types: Bar (1 node), Foo (2 nodes)",
                    "supported: ", "HardSwish");
}

TEST(OnnxHardening, RunTimeErrorsNameTheModelFileAndNode) {
  OnnxGraph g(13);
  g.input("x").output("y").node("Gather", {"x", "i"}, {"y"}, {{"axis", int64_t(1)}}, "pick");
  g.init("i", Tensor::from_vector(Ints{0, 5}, {2}));
  const std::string path = test::onnx_work_dir() + "/gather_out_of_range.onnx";
  std::ofstream(path, std::ios::binary) << g.bytes();
  auto model = io::load_onnx(path);
  EXPECT_THROW_WITH((*model)(Tensor::randn({2, 3})), "onnx: " + path + ": node 'pick' (Gather)",
                    "index 5 is out of range for axis 1 of [2,3]", "(inputs [2,3], [2])");
}

}  // namespace
}  // namespace convkit
