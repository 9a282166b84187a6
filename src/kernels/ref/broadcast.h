#pragma once
// Walks an output shape and the matching flat offsets of two inputs broadcast to it.
#include <array>
#include <cstdint>

#include "convkit/shape.h"

namespace convkit::ref {

// Strides of `in` (right-aligned to an out_ndim shape), 0 along broadcast dimensions.
inline std::array<int64_t, Shape::kMaxDims> broadcast_strides(const Shape& in, int out_ndim) {
  std::array<int64_t, Shape::kMaxDims> st{};
  int64_t s = 1;
  for (int d = out_ndim - 1, k = in.ndim() - 1; d >= 0; --d, --k) {
    int64_t size = k >= 0 ? in[k] : 1;
    st[d] = size == 1 ? 0 : s;
    s *= size;
  }
  return st;
}

// f(out_index, a_index, b_index) for every element of `out`.
template <class F>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, F&& f) {
  const int nd = out.ndim();
  auto sa = broadcast_strides(a, nd), sb = broadcast_strides(b, nd);
  std::array<int64_t, Shape::kMaxDims> idx{};
  int64_t ia = 0, ib = 0;
  const int64_t n = out.numel();
  for (int64_t o = 0; o < n; ++o) {
    f(o, ia, ib);
    for (int d = nd - 1; d >= 0; --d) {  // odometer increment
      ia += sa[d];
      ib += sb[d];
      if (++idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

}  // namespace convkit::ref
