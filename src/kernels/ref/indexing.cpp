#include "kernels/ref/indexing.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

namespace convkit::ref {

namespace {

// x viewed as [outer, n, inner] around dim.
struct Lines {
  int64_t outer = 1, n = 1, inner = 1;
};
Lines lines_around(const Shape& s, int dim) {
  Lines l;
  for (int d = 0; d < dim; ++d) l.outer *= s[d];
  l.n = s[dim];
  for (int d = dim + 1; d < s.ndim(); ++d) l.inner *= s[d];
  return l;
}

std::array<int64_t, Shape::kMaxDims> strides_of(const Shape& s) {
  std::array<int64_t, Shape::kMaxDims> st{};
  int64_t k = 1;
  for (int d = s.ndim() - 1; d >= 0; --d) st[d] = k, k *= s[d];
  return st;
}

// f(p, off): for every position p of `index` (row-major), the offset in x of the element gather
// reads, x[p with p[dim] = index[p]].
template <class F>
void for_each_gathered(const Shape& index_shape, const Shape& x_shape, int dim,
                       const int64_t* index, F&& f) {
  const int nd = index_shape.ndim();
  const auto xs = strides_of(x_shape);
  std::array<int64_t, Shape::kMaxDims> pos{};
  int64_t base = 0;  // x offset of pos without its dim term
  const int64_t n = index_shape.numel();
  for (int64_t p = 0; p < n; ++p) {
    f(p, base + index[p] * xs[dim]);
    for (int d = nd - 1; d >= 0; --d) {  // odometer increment
      if (d != dim) base += xs[d];
      if (++pos[d] < index_shape[d]) break;
      if (d != dim) base -= xs[d] * index_shape[d];
      pos[d] = 0;
    }
  }
}

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return std::isnan(v);
  else
    return false;
}

}  // namespace

void index_select_forward(Tensor& y, const Tensor& x, int dim, const Tensor& index) {
  const Lines l = lines_around(x.shape(), dim);
  const int64_t m = index.numel(), row = l.inner * int64_t(dtype_size(x.dtype()));
  const int64_t* idx = index.data<int64_t>();
  const char* xp = static_cast<const char*>(x.raw_data());
  char* yp = static_cast<char*>(y.raw_data());
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t j = 0; j < m; ++j)
      std::memcpy(yp + (o * m + j) * row, xp + (o * l.n + idx[j]) * row, row);
}

template <class T>
void index_select_backward(Tensor& dx, const Tensor& dy, int dim, const Tensor& index) {
  const Lines l = lines_around(dx.shape(), dim);
  const int64_t m = index.numel();
  const int64_t* idx = index.data<int64_t>();
  T* gx = dx.data<T>();
  const T* gy = dy.data<T>();
  std::fill(gx, gx + dx.numel(), T(0));
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t i = 0; i < l.inner; ++i)
        gx[(o * l.n + idx[j]) * l.inner + i] += gy[(o * m + j) * l.inner + i];
}

void gather_forward(Tensor& y, const Tensor& x, int dim, const Tensor& index) {
  const size_t es = dtype_size(x.dtype());
  const char* xp = static_cast<const char*>(x.raw_data());
  char* yp = static_cast<char*>(y.raw_data());
  for_each_gathered(index.shape(), x.shape(), dim, index.data<int64_t>(),
                    [&](int64_t p, int64_t off) { std::memcpy(yp + p * es, xp + off * es, es); });
}

template <class T>
void gather_backward(Tensor& dx, const Tensor& dy, int dim, const Tensor& index) {
  T* gx = dx.data<T>();
  const T* gy = dy.data<T>();
  std::fill(gx, gx + dx.numel(), T(0));
  for_each_gathered(index.shape(), dx.shape(), dim, index.data<int64_t>(),
                    [&](int64_t p, int64_t off) { gx[off] += gy[p]; });
}

void where_forward(Tensor& y, const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Shape& out = y.shape();
  const int nd = out.ndim();
  // Strides of each operand right-aligned to y's shape, 0 along broadcast dims.
  auto bstrides = [nd](const Shape& in) {
    std::array<int64_t, Shape::kMaxDims> st{};
    int64_t s = 1;
    for (int d = nd - 1, k = in.ndim() - 1; d >= 0; --d, --k) {
      const int64_t size = k >= 0 ? in[k] : 1;
      st[d] = size == 1 ? 0 : s;
      s *= size;
    }
    return st;
  };
  const auto sc = bstrides(cond.shape()), sa = bstrides(a.shape()), sb = bstrides(b.shape());
  const size_t es = dtype_size(y.dtype());
  const uint8_t* c = cond.data<uint8_t>();
  const char* ap = static_cast<const char*>(a.raw_data());
  const char* bp = static_cast<const char*>(b.raw_data());
  char* yp = static_cast<char*>(y.raw_data());
  std::array<int64_t, Shape::kMaxDims> pos{};
  int64_t ic = 0, ia = 0, ib = 0;
  const int64_t n = out.numel();
  for (int64_t o = 0; o < n; ++o) {
    std::memcpy(yp + o * es, c[ic] ? ap + ia * es : bp + ib * es, es);
    for (int d = nd - 1; d >= 0; --d) {
      ic += sc[d], ia += sa[d], ib += sb[d];
      if (++pos[d] < out[d]) break;
      ic -= sc[d] * out[d], ia -= sa[d] * out[d], ib -= sb[d] * out[d];
      pos[d] = 0;
    }
  }
}

template <class T>
void rank_indices(Tensor& indices, const Tensor& x, int dim, bool descending, bool sorted) {
  const Lines l = lines_around(x.shape(), dim);
  const int64_t k = indices.size(dim);
  const T* xp = x.data<T>();
  int64_t* out = indices.data<int64_t>();
  std::vector<int64_t> order(l.n);
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      const T* line = xp + o * l.n * l.inner + i;  // element r at line[r * inner]
      auto less = [&](int64_t r, int64_t s) {      // x[r] ranks before x[s] in ascending order
        const T a = line[r * l.inner], b = line[s * l.inner];
        return is_nan(b) ? !is_nan(a) : a < b;
      };
      std::iota(order.begin(), order.end(), int64_t(0));
      if (descending)
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t r, int64_t s) { return less(s, r); });
      else
        std::stable_sort(order.begin(), order.end(), less);
      if (!sorted) std::sort(order.begin(), order.begin() + k);
      for (int64_t j = 0; j < k; ++j) out[(o * k + j) * l.inner + i] = order[j];
    }
}

template void index_select_backward<float>(Tensor&, const Tensor&, int, const Tensor&);
template void index_select_backward<double>(Tensor&, const Tensor&, int, const Tensor&);
template void gather_backward<float>(Tensor&, const Tensor&, int, const Tensor&);
template void gather_backward<double>(Tensor&, const Tensor&, int, const Tensor&);
template void rank_indices<float>(Tensor&, const Tensor&, int, bool, bool);
template void rank_indices<double>(Tensor&, const Tensor&, int, bool, bool);
template void rank_indices<int64_t>(Tensor&, const Tensor&, int, bool, bool);
template void rank_indices<uint8_t>(Tensor&, const Tensor&, int, bool, bool);

}  // namespace convkit::ref
