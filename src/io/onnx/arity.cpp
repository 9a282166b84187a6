#include "io/onnx/arity.h"

#include <map>

namespace convkit::io::onnx_detail {

Arity arity_of(const std::string& op, int64_t opset) {
  // Opset-dependent forms first: the attribute became an input.
  if (op == "Slice") return opset < 10 ? Arity{1, 1, 1} : Arity{3, 5, 1};
  if (op == "Pad") return opset < 11 ? Arity{1, 1, 1} : Arity{2, 4, 1};
  if (op == "TopK") return opset < 10 ? Arity{1, 1, 2} : Arity{2, 2, 2};
  if (op == "Upsample") return opset < 9 ? Arity{1, 1, 1} : Arity{2, 2, 1};
  // Resize 11-12: roi and scales have slots but may be empty (scales when sizes is given, roi
  // unless tf_crop_and_resize); convkit's own exporter writes roi empty.
  if (op == "Resize")
    return opset < 11 ? Arity{2, 2, 1} : opset < 13 ? Arity{3, 4, 1, 1} : Arity{1, 4, 1};
  if (op == "Gemm") return opset < 11 ? Arity{3, 3, 1} : Arity{2, 3, 1};
  if (op == "Unsqueeze") return opset < 13 ? Arity{1, 1, 1} : Arity{2, 2, 1};
  if (op == "Squeeze") return opset < 13 ? Arity{1, 1, 1} : Arity{1, 2, 1};
  // Opset 15 dropped the saved mean and variance outputs of training mode.
  if (op == "BatchNormalization") return opset < 15 ? Arity{5, 5, 5} : Arity{5, 5, 3};
  static const std::map<std::string, Arity> table{
      {"Abs", {1, 1, 1}},
      {"Add", {2, 2, 1}},
      {"AveragePool", {1, 1, 1}},
      {"Cast", {1, 1, 1}},
      {"Clip", {1, 3, 1}},
      {"Concat", {1, kVariadic, 1}},
      {"Constant", {0, 0, 1}},
      {"ConstantOfShape", {1, 1, 1}},
      {"Conv", {2, 3, 1}},
      {"Div", {2, 2, 1}},
      {"Dropout", {1, 3, 2}},
      {"Elu", {1, 1, 1}},
      {"Equal", {2, 2, 1}},
      {"Erf", {1, 1, 1}},
      {"Exp", {1, 1, 1}},
      {"Expand", {2, 2, 1}},
      {"Flatten", {1, 1, 1}},
      {"Gather", {2, 2, 1}},
      {"GatherElements", {2, 2, 1}},
      {"GlobalAveragePool", {1, 1, 1}},
      {"GlobalMaxPool", {1, 1, 1}},
      {"HardSigmoid", {1, 1, 1}},
      {"HardSwish", {1, 1, 1}},
      {"Identity", {1, 1, 1}},
      {"LRN", {1, 1, 1}},
      {"LayerNormalization", {2, 3, 3}},
      {"LeakyRelu", {1, 1, 1}},
      {"Log", {1, 1, 1}},
      {"LogSoftmax", {1, 1, 1}},
      {"MatMul", {2, 2, 1}},
      {"MaxPool", {1, 1, 2}},
      {"Mul", {2, 2, 1}},
      {"Neg", {1, 1, 1}},
      {"NonMaxSuppression", {2, 5, 1}},
      {"Pow", {2, 2, 1}},
      {"Range", {3, 3, 1}},
      {"Reciprocal", {1, 1, 1}},
      {"ReduceMean", {1, 2, 1}},
      {"ReduceSum", {1, 2, 1}},
      {"Relu", {1, 1, 1}},
      {"Reshape", {2, 2, 1}},
      {"Shape", {1, 1, 1}},
      {"Sigmoid", {1, 1, 1}},
      {"Softmax", {1, 1, 1}},
      {"Sqrt", {1, 1, 1}},
      {"Sub", {2, 2, 1}},
      {"Sum", {1, kVariadic, 1}},
      {"Tanh", {1, 1, 1}},
      {"Transpose", {1, 1, 1}},
      {"Where", {3, 3, 1}},
  };
  auto it = table.find(op);
  CONVKIT_CHECK(it != table.end(), "onnx: internal: no arity for op ", op);
  return it->second;
}

void check_arity(const NodeDef& d, int64_t opset, const std::string& source) {
  const Arity a = arity_of(d.op_type, opset);
  const int n_in = int(d.inputs.size()), n_out = int(d.outputs.size());
  auto range = [](int lo, int hi) {
    if (hi >= kVariadic) return std::to_string(lo) + " or more";
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
  };
  CONVKIT_CHECK(n_in >= a.min_inputs && n_in <= a.max_inputs, "onnx: ", source, ": ", d.where(),
                " has ", n_in, " inputs; ", d.op_type, " at opset ", opset, " takes ",
                range(a.min_inputs, a.max_inputs), " (the file is malformed)");
  for (int i = 0; i < a.required_named(); ++i)
    CONVKIT_CHECK(!d.inputs[i].empty(), "onnx: ", source, ": ", d.where(), " leaves input ", i,
                  " empty, but ", d.op_type, " requires it (the file is malformed)");
  CONVKIT_CHECK(n_out >= 1 && n_out <= a.max_outputs && !d.outputs[0].empty(), "onnx: ", source,
                ": ", d.where(), " has ", n_out, " outputs; ", d.op_type, " produces ",
                range(1, a.max_outputs), ", the first one named (the file is malformed)");
}

}  // namespace convkit::io::onnx_detail
