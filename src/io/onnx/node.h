#pragma once
// What an ONNX op handler sees: the node with its attributes already converted out of protobuf,
// and the few facts about the model it needs. Handlers (import_nn_ops.cpp, import_tensor_ops.cpp)
// turn one node into a Kernel at load time; the kernel runs convkit ops at every forward, so
// autograd records it like any hand-written model.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "convkit/autograd.h"
#include "convkit/nn/module.h"

namespace convkit::io::onnx_detail {

using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>, Tensor>;

// A node's attributes; each getter names the node and attribute when the type is wrong.
class Attrs {
 public:
  Attrs() = default;
  explicit Attrs(std::string where) : where_(std::move(where)) {}
  void set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  int64_t i(const std::string& name, int64_t fallback) const;
  double f(const std::string& name, double fallback) const;
  std::string s(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> fallback) const;
  std::vector<double> floats(const std::string& name, std::vector<double> fallback) const;
  Tensor t(const std::string& name) const;  // throws when absent
  std::vector<std::string> names() const;

 private:
  template <class T>
  const T* get(const std::string& name, const char* type) const;
  std::string where_;
  std::map<std::string, AttrValue> values_;
};

struct NodeDef {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;  // "" marks an omitted optional input or output
  Attrs attrs;
  // "node 'name' (OpType)": how every message names the node.
  std::string where() const { return "node '" + name + "' (" + op_type + ")"; }
};

struct NodeContext {
  const NodeDef& node;
  int64_t opset;                  // of the default (ai.onnx) domain
  const nn::Module* mode;         // its is_training() decides BatchNormalization and Dropout
  Tensor num_batches_tracked;     // BatchNormalization with torchvision-style names, else undefined
  std::vector<bool> output_used;  // per node output: read by a later node or a graph output
  DType float_dtype;              // floating constants and casts produce this dtype
  std::string source;             // the model file, named by every message
  // "model.onnx: node 'name' (OpType)"
  std::string where() const { return source + ": " + node.where(); }
  bool has_input(size_t i) const { return i < node.inputs.size() && !node.inputs[i].empty(); }
};

// Runs the node: inputs in the node's order (undefined where omitted), outputs likewise.
using Kernel = std::function<TensorList(const TensorList& inputs)>;
using Handler = std::function<Kernel(const NodeContext&)>;
using HandlerMap = std::map<std::string, Handler>;

void add_nn_handlers(HandlerMap& m);      // import_nn_ops.cpp
void add_tensor_handlers(HandlerMap& m);  // import_tensor_ops.cpp
void add_index_handlers(HandlerMap& m);   // import_index_ops.cpp
const HandlerMap& handlers();
std::string supported_ops();  // "Add, AveragePool, ..." for messages and docs

// What an initializer feeding input `i` of `op_type` is. Floating weights train: those of Conv,
// Gemm, MatMul, BatchNormalization and LayerNormalization (scale, B), and any non-scalar data
// operand (input 0 of any op, operands of Add/Sub/Mul/Div/Sum/Concat/Max/Min). BatchNormalization's
// mean and var are buffers. Everything else (shapes, pads, clip bounds, scalars, integer tensors)
// stays a constant outside the state dict.
enum class Role { constant, buffer, parameter };
Role initializer_role(const std::string& op_type, size_t i, const Tensor& value);

// "[1,2,3]" for messages (Shape::to_string refuses more than 6 values, pads have 8).
std::string ints_str(const std::vector<int64_t>& v);
// The element count of `dims` from a file or a shape tensor, refusing negative dims and counts
// beyond 2^40 elements (nothing real comes close; every later byte count stays far from
// overflow). `where` names the tensor.
int64_t checked_numel(const std::vector<int64_t>& dims, const std::string& where);

// The values of a 0-d or 1-d int64 tensor (shapes, axes, pads).
std::vector<int64_t> int_values(const Tensor& t, const std::string& what);
// The value of a one-element floating or integer tensor.
double scalar_value(const Tensor& t, const std::string& what);
// ONNX TensorProto.DataType -> convkit dtype (throws naming `where` for the unsupported ones).
DType dtype_from_onnx(int64_t onnx_type, const std::string& where);

}  // namespace convkit::io::onnx_detail
