#pragma once
// Shape: the dimensions of a tensor, logical row-major (NCHW for images). Inline storage, no heap.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace convkit {

class Shape {
 public:
  static constexpr int kMaxDims = 6;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int ndim() const { return ndim_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  // Dimension i, negative counting from the back (-1 = last). Throws when out of range.
  int64_t dim(int i) const;
  // Normalizes a possibly negative dimension index for an ndim-dimensional tensor; throws naming
  // op.
  static int wrap_dim(int d, int ndim, const char* op);
  // Product of the dimensions; the caller vouches that it fits (shapes built by the library).
  int64_t numel() const;
  // numel() for dimensions that come from outside (a file header, a model file): throws
  // convkit::Error "element count of [dims] overflows int64" when the product of the non-zero
  // dimensions does not fit (a tensor's strides are such products, even when a zero dimension
  // makes it empty), or "negative dimension in [dims]". File readers call this before building a
  // Tensor and prefix the file name to the message.
  int64_t checked_numel() const;
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + ndim_; }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  void push_back(int64_t d);
  std::string to_string() const;  // "[8,3,32,32]"

  friend bool operator==(const Shape& a, const Shape& b);

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

}  // namespace convkit
