#include "convkit/shape.h"

#include <algorithm>

#include "convkit/error.h"

namespace convkit {

Shape::Shape(std::initializer_list<int64_t> dims) {
  CONVKIT_CHECK(dims.size() <= kMaxDims, "Shape: ", dims.size(), " dimensions given, at most ",
                kMaxDims, " supported");
  for (int64_t d : dims) push_back(d);
}

Shape::Shape(const std::vector<int64_t>& dims) {
  CONVKIT_CHECK(dims.size() <= kMaxDims, "Shape: ", dims.size(), " dimensions given, at most ",
                kMaxDims, " supported");
  for (int64_t d : dims) push_back(d);
}

void Shape::push_back(int64_t d) {
  CONVKIT_CHECK(ndim_ < kMaxDims, "Shape: more than ", kMaxDims, " dimensions");
  dims_[ndim_++] = d;
}

int Shape::wrap_dim(int d, int ndim, const char* op) {
  CONVKIT_CHECK(d >= -ndim && d < ndim, op, ": dimension ", d, " is out of range for a ", ndim,
                "-d tensor");
  return d < 0 ? d + ndim : d;
}

int64_t Shape::dim(int i) const { return dims_[wrap_dim(i, ndim_, "Shape::dim")]; }

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

int64_t Shape::checked_numel() const {
  for (int i = 0; i < ndim_; ++i)
    CONVKIT_CHECK(dims_[i] >= 0, "negative dimension in ", to_string());
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i)
    CONVKIT_CHECK(dims_[i] == 0 || !__builtin_mul_overflow(n, dims_[i], &n), "element count of ",
                  to_string(), " overflows int64");
  return std::find(begin(), end(), int64_t(0)) != end() ? 0 : n;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) {
    if (i) s += ",";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.ndim_ != b.ndim_) return false;
  for (int i = 0; i < a.ndim_; ++i)
    if (a.dims_[i] != b.dims_[i]) return false;
  return true;
}

}  // namespace convkit
