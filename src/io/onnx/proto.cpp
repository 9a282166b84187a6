#include "io/onnx/proto.h"

#include <cstring>

namespace convkit::io::onnx_detail {

namespace {
template <class Src, class Dst>
void copy_values(const Src& values, Dst* out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = static_cast<Dst>(values[int(k)]);
}
}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where) {
  CONVKIT_CHECK(t.data_location() != onnx::TensorProto::EXTERNAL, "onnx: ", where,
                " keeps its data in an external file, which is not supported");
  CONVKIT_CHECK(t.dims_size() <= Shape::kMaxDims, "onnx: ", where, " has ", t.dims_size(),
                " dims; convkit tensors have at most ", Shape::kMaxDims);
  const std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  const int64_t n = checked_numel(dims, "onnx: " + where);
  const DType dtype = dtype_from_onnx(t.data_type(), where);
  // The stored values must be exactly what the shape declares, checked before allocating: a small
  // file must not make us allocate (or write) by its declared shape alone.
  const bool raw = t.has_raw_data();
  const std::size_t raw_elem = t.data_type() == onnx::TensorProto::INT32 ? 4 : dtype_size(dtype);
  int64_t found = 0;
  if (raw) {
    CONVKIT_CHECK(t.raw_data().size() % raw_elem == 0, "onnx: ", where, " holds ",
                  t.raw_data().size(), " bytes of raw data, not a whole number of ", raw_elem,
                  "-byte values (the file is malformed)");
    found = int64_t(t.raw_data().size() / raw_elem);
  } else {
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        found = t.float_data_size();
        break;
      case onnx::TensorProto::DOUBLE:
        found = t.double_data_size();
        break;
      case onnx::TensorProto::INT64:
        found = t.int64_data_size();
        break;
      default:  // INT32, UINT8, BOOL: one int32 each
        found = t.int32_data_size();
    }
  }
  CONVKIT_CHECK(found == n, "onnx: ", where, " holds ", found, " values but its dims ",
                ints_str(dims), " need ", n, " (the file is malformed)");
  Tensor out = Tensor::empty(Shape(dims), dtype);
  if (raw && t.data_type() == onnx::TensorProto::INT32) {
    std::vector<int32_t> v(n);
    std::memcpy(v.data(), t.raw_data().data(), n * 4);
    copy_values(v, out.data<int64_t>(), n);
  } else if (raw) {
    std::memcpy(out.raw_data(), t.raw_data().data(), out.nbytes());
  } else {
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        copy_values(t.float_data(), out.data<float>(), n);
        break;
      case onnx::TensorProto::DOUBLE:
        copy_values(t.double_data(), out.data<double>(), n);
        break;
      case onnx::TensorProto::INT64:
        copy_values(t.int64_data(), out.data<int64_t>(), n);
        break;
      case onnx::TensorProto::INT32:
        copy_values(t.int32_data(), out.data<int64_t>(), n);
        break;
      default:
        copy_values(t.int32_data(), out.data<uint8_t>(), n);
    }
  }
  return out;
}

int32_t onnx_type_of(DType t) {
  switch (t) {
    case DType::f32:
      return onnx::TensorProto::FLOAT;
    case DType::f64:
      return onnx::TensorProto::DOUBLE;
    case DType::i64:
      return onnx::TensorProto::INT64;
    case DType::u8:
      return onnx::TensorProto::UINT8;
  }
  return onnx::TensorProto::UNDEFINED;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* out) {
  out->set_name(name);
  out->set_data_type(onnx_type_of(t.dtype()));
  for (int d = 0; d < t.ndim(); ++d) out->add_dims(t.size(d));
  out->set_raw_data(t.raw_data(), t.nbytes());
}

AttrValue attr_from_proto(const onnx::AttributeProto& a, const std::string& where) {
  switch (a.type()) {
    case onnx::AttributeProto::INT:
      return int64_t(a.i());
    case onnx::AttributeProto::FLOAT:
      return double(a.f());
    case onnx::AttributeProto::STRING:
      return a.s();
    case onnx::AttributeProto::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS:
      return std::vector<double>(a.floats().begin(), a.floats().end());
    case onnx::AttributeProto::TENSOR:
      return tensor_from_proto(a.t(), where + " attribute '" + a.name() + "'");
    default:
      break;
  }
  throw Error(detail::concat("onnx: ", where, ": attribute '", a.name(), "' has type ",
                             onnx::AttributeProto::AttributeType_Name(a.type()),
                             ", which is not supported"));
}

}  // namespace convkit::io::onnx_detail
