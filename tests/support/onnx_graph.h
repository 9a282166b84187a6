#pragma once
// Hand-built ONNX models for the op-level import tests, through the protobuf classes directly.
#include <onnx/onnx_pb.h>

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "convkit/io/onnx.h"

namespace convkit::test {

using OnnxAttr =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>, Tensor>;

class OnnxGraph {
 public:
  explicit OnnxGraph(int opset = 13);
  // A float graph input; dims < 0 are symbolic.
  OnnxGraph& input(const std::string& name, const std::vector<int64_t>& dims = {});
  OnnxGraph& output(const std::string& name);
  OnnxGraph& init(const std::string& name, const Tensor& value);
  OnnxGraph& node(const std::string& op_type, const std::vector<std::string>& inputs,
                  const std::vector<std::string>& outputs,
                  const std::vector<std::pair<std::string, OnnxAttr>>& attrs = {},
                  const std::string& name = "");
  onnx::ModelProto& proto() { return model_; }
  std::string bytes() const;
  std::shared_ptr<io::OnnxModel> load(const io::OnnxLoadOptions& options = {}) const;

 private:
  onnx::ModelProto model_;
};

}  // namespace convkit::test
