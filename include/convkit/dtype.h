#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace convkit {

// f32 holds data and parameters; f64 exists so that reference kernels and finite-difference
// gradient checks can run in double; i64 holds labels and indices; u8 holds raw images.
enum class DType : uint8_t { f32, f64, i64, u8 };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
inline bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::f64;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::u8;
}

}  // namespace convkit
