#include "io/onnx/node.h"

#include <set>
#include <sstream>

namespace convkit::io::onnx_detail {

template <class T>
const T* Attrs::get(const std::string& name, const char* type) const {
  auto it = values_.find(name);
  if (it == values_.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  CONVKIT_CHECK(v != nullptr, "onnx: ", where_, ": attribute '", name, "' is not ", type);
  return v;
}

int64_t Attrs::i(const std::string& name, int64_t fallback) const {
  const int64_t* v = get<int64_t>(name, "an int");
  return v ? *v : fallback;
}

double Attrs::f(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it != values_.end())
    if (const int64_t* v = std::get_if<int64_t>(&it->second)) return double(*v);
  const double* v = get<double>(name, "a float");
  return v ? *v : fallback;
}

std::string Attrs::s(const std::string& name, const std::string& fallback) const {
  const std::string* v = get<std::string>(name, "a string");
  return v ? *v : fallback;
}

std::vector<int64_t> Attrs::ints(const std::string& name, std::vector<int64_t> fallback) const {
  const auto* v = get<std::vector<int64_t>>(name, "a list of ints");
  return v ? *v : fallback;
}

std::vector<double> Attrs::floats(const std::string& name, std::vector<double> fallback) const {
  const auto* v = get<std::vector<double>>(name, "a list of floats");
  return v ? *v : fallback;
}

Tensor Attrs::t(const std::string& name) const {
  const Tensor* v = get<Tensor>(name, "a tensor");
  CONVKIT_CHECK(v != nullptr, "onnx: ", where_, ": attribute '", name, "' is missing");
  return *v;
}

std::vector<std::string> Attrs::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_) out.push_back(k);
  return out;
}

const HandlerMap& handlers() {
  static const HandlerMap m = [] {
    HandlerMap h;
    add_nn_handlers(h);
    add_tensor_handlers(h);
    add_index_handlers(h);
    return h;
  }();
  return m;
}

std::string supported_ops() {
  std::ostringstream os;
  for (const auto& [name, h] : handlers()) os << (os.tellp() > 0 ? ", " : "") << name;
  return os.str();
}

Role initializer_role(const std::string& op, size_t i, const Tensor& value) {
  if (!is_floating(value.dtype())) return Role::constant;
  if (op == "Conv" || op == "Gemm" || op == "MatMul") return Role::parameter;
  if (op == "LayerNormalization") return i == 1 || i == 2 ? Role::parameter : Role::constant;
  if (op == "BatchNormalization")
    return i == 1 || i == 2 ? Role::parameter : i == 3 || i == 4 ? Role::buffer : Role::constant;
  // Data operands: input 0 of any op (a weight reshaped or sliced before use) and every operand of
  // the n-ary arithmetic; other inputs are options (shapes, pads, bounds, scales, exponents).
  static const std::set<std::string> nary{"Add", "Sub",    "Mul", "Div",
                                          "Sum", "Concat", "Max", "Min"};
  if (value.numel() > 1 && (i == 0 || nary.count(op))) return Role::parameter;
  return Role::constant;
}

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

int64_t checked_numel(const std::vector<int64_t>& dims, const std::string& where) {
  constexpr int64_t kMaxElements = int64_t(1) << 40;
  int64_t n = 1;
  for (int64_t d : dims) {
    CONVKIT_CHECK(d >= 0, where, " has a negative dim in ", ints_str(dims));
    CONVKIT_CHECK(d == 0 || n <= kMaxElements / d, where, " has dims ", ints_str(dims),
                  " whose element count exceeds 2^40");
    n *= d;
  }
  return n;
}

std::vector<int64_t> int_values(const Tensor& t, const std::string& what) {
  CONVKIT_CHECK(t.defined() && t.ndim() <= 1 && t.dtype() == DType::i64, what,
                " must be a 0-d or 1-d int64 tensor, got ",
                t.defined() ? dtype_name(t.dtype()) + std::string(" ") + t.shape().to_string()
                            : std::string("nothing"));
  const int64_t* p = t.data<int64_t>();
  return {p, p + t.numel()};
}

double scalar_value(const Tensor& t, const std::string& what) {
  CONVKIT_CHECK(t.defined() && t.numel() == 1, what, " must hold one value, got shape ",
                t.defined() ? t.shape().to_string() : std::string("(none)"));
  return t.item();
}

DType dtype_from_onnx(int64_t onnx_type, const std::string& where) {
  // TensorProto.DataType: FLOAT=1 UINT8=2 INT8=3 INT32=6 INT64=7 BOOL=9 DOUBLE=11
  switch (onnx_type) {
    case 1:
      return DType::f32;
    case 11:
      return DType::f64;
    case 6:
    case 7:
      return DType::i64;
    case 2:
    case 9:
      return DType::u8;
    default:
      break;
  }
  throw Error(detail::concat("onnx: ", where, ": element type ", onnx_type,
                             " is not supported (float, double, int32, int64, uint8, bool)"));
}

}  // namespace convkit::io::onnx_detail
