#pragma once
// ONNX models in and out (docs/onnx.md).
//
// Import: load_onnx() turns a .onnx file into an OnnxModel, an nn::Module that runs the graph's
// nodes with convkit ops, so autograd records them and the imported network trains (fine-tuning).
// Weights keep their ONNX initializer names as dotted state-dict names ("layer1.0.conv1.weight"
// becomes child "layer1" -> "0" -> "conv1", parameter "weight"), so safetensors checkpoints of
// the same torchvision model load into it. Layers: node names scoped the way torch.onnx writes
// them ("/layer4/layer4.1/relu_1/Relu") make module paths ("layer4", "layer4.1",
// "layer4.1.relu_1"); each is a child module that the graph calls on its last node's output, so
// forward hooks on it see that layer's output and may replace it (viz, feature extraction). A
// node name without '/' is its own layer. A hooked layer's pre-hooks see that output too.
//
// Export: save_onnx() runs one forward pass of any Module while recording every op it calls,
// and writes those ops as ONNX nodes, with the module's parameters and buffers as initializers
// under their dotted names; node names carry the module path they ran in, as torch.onnx's do.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convkit/nn/module.h"

namespace convkit::io {

class OnnxModel : public nn::Module {
 public:
  struct Impl;
  explicit OnnxModel(std::unique_ptr<Impl> impl);
  ~OnnxModel() override;

  // The graph with one input: x -> the first graph output. Throws naming the inputs when the
  // graph has several. Errors inside a node name the node, its op type and the shapes.
  Tensor forward(const Tensor& x) override;
  // Every graph output by name; `inputs` must hold every graph input by name (extra names throw).
  std::map<std::string, Tensor> forward(const std::map<std::string, Tensor>& inputs);

  const std::vector<std::string>& input_names() const;
  const std::vector<std::string>& output_names() const;
  // The declared shape of a graph input; symbolic or unknown dims are -1. Empty when undeclared.
  std::vector<int64_t> input_shape(const std::string& name) const;
  int64_t opset() const;
  // Producer, its version, and the model's metadata_props (key -> value).
  std::string producer() const;
  const std::map<std::string, std::string>& metadata() const;

  struct NodeInfo {
    std::string name, op_type;
    std::vector<std::string> inputs, outputs;
  };
  const std::vector<NodeInfo>& nodes() const;
  // Runs forward(inputs) and reports each node's first output shape, in node order (summaries).
  std::vector<Shape> node_output_shapes(const std::map<std::string, Tensor>& inputs);

 private:
  std::unique_ptr<Impl> impl_;
};

struct OnnxLoadOptions {
  // Float initializers and constants are converted to this dtype. float64 runs the reference
  // kernels: for gradient checks and comparisons that float32 rounding would blur.
  DType float_dtype = DType::f32;
};

// Reads `path`. Throws convkit::Error naming the path and what is wrong: missing or unreadable
// file, not an ONNX protobuf (or truncated), no default-domain opset or one outside 7..18, an
// initializer of an unsupported type or with external data, a node reading a value nothing
// defines, and "onnx: node 'name' (OpType) is not supported; supported: ..." for ops outside the
// supported set (docs/onnx.md lists it).
std::shared_ptr<OnnxModel> load_onnx(const std::string& path, const OnnxLoadOptions& options = {});
// The same from the bytes of a model; `source` names it in messages.
std::shared_ptr<OnnxModel> load_onnx_bytes(const std::string& bytes,
                                           const std::string& source = "<memory>",
                                           const OnnxLoadOptions& options = {});

struct OnnxExportOptions {
  // 9..17. OpenCV 4.6's importer reads Clip (ReLU6) only in its opset <= 10 attribute form.
  int opset = 13;
  std::string input_name = "input";
  std::string output_name = "output";
  bool dynamic_batch = true;                    // dim 0 of input and output is the symbolic "N"
  std::map<std::string, std::string> metadata;  // written as metadata_props
};

// Traces model.forward on an input of `input_shape` (values do not matter: a fixed random
// tensor) in eval mode, restoring the module's mode afterwards, and writes the graph to `path`
// (atomically: temp file + rename). Parameters and buffers the forward reads become initializers
// under their dotted names; tensors the forward makes itself become constants.
// Throws when the forward calls an op without an ONNX export rule (the message names the op),
// an op's options have no ONNX equivalent at the opset (e.g. ceil_mode pooling before opset 10),
// or the file cannot be written.
void save_onnx(nn::Module& model, const Shape& input_shape, const std::string& path,
               const OnnxExportOptions& options = {});
// The serialized model instead of a file.
std::string onnx_bytes(nn::Module& model, const Shape& input_shape,
                       const OnnxExportOptions& options = {});

}  // namespace convkit::io
