#pragma once
// Conversions between protobuf's ONNX types and convkit's; the only header that includes the
// generated protobuf classes (kept out of the public API).
#include <onnx/onnx_pb.h>

#include <string>

#include "io/onnx/node.h"

namespace convkit::io::onnx_detail {

// `where` names the tensor in messages ("initializer 'fc.weight'").
Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where);
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* out);
int32_t onnx_type_of(DType t);
AttrValue attr_from_proto(const onnx::AttributeProto& a, const std::string& where);

}  // namespace convkit::io::onnx_detail
