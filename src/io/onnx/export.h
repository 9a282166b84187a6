#pragma once
// save_onnx internals: the graph being written, as the per-op emitters (export_ops.cpp) see it.
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/trace.h"
#include "io/onnx/proto.h"

namespace convkit::io::onnx_detail {

class ExportGraph {
 public:
  // value_name(t): the ONNX value an op input refers to (graph input, earlier node output,
  // initializer or a new constant). Set up by export.cpp.
  std::function<std::string(const Tensor&)> value_name;

  ExportGraph(onnx::GraphProto* graph, int opset) : g_(graph), opset_(opset) {}
  int opset() const { return opset_; }

  // A new initializer holding `t` (copied), named after `hint`.
  std::string constant(const Tensor& t, const std::string& hint);
  std::string ints(const std::vector<int64_t>& values, const std::string& hint);
  // A 0-d constant of `dtype` (the dtype of the tensor it combines with).
  std::string scalar(double value, DType dtype, const std::string& hint);
  // A fresh value name for an intermediate of a multi-node emission.
  std::string fresh(const std::string& hint);

  // The module path ("layer1.0.conv1") of the op being written: its nodes are named
  // "/layer1/layer1.0/layer1.0.conv1/Conv", the way torch.onnx scopes them, so that an importer
  // can hook layers by module path.
  void set_scope(const std::string& module_path);

  onnx::NodeProto* node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::string& output);
  static void attr(onnx::NodeProto* n, const std::string& name, int64_t v);
  static void attr(onnx::NodeProto* n, const std::string& name, double v);
  static void attr(onnx::NodeProto* n, const std::string& name, const std::string& v);
  static void attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v);

 private:
  onnx::GraphProto* g_;
  int opset_;
  std::string scope_prefix_;  // "/layer1/layer1.0/" or ""
  std::unordered_map<std::string, int> used_;
};

// Writes the nodes of one traced op so that they compute `out` from the op's inputs. Throws when
// the op's options have no ONNX equivalent.
using Emitter = void (*)(const detail::TracedOp& op, ExportGraph& g, const std::string& out);
const std::map<std::string, Emitter>& emitters();

}  // namespace convkit::io::onnx_detail
