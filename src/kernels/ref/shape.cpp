#include "kernels/ref/shape.h"

#include <algorithm>
#include <cstring>

namespace convkit::ref {

namespace {
// E: an unsigned integer as wide as the dtype; only bits move.
template <class E>
void permute_elems(E* y, const E* x, const Shape& x_shape, const Shape& y_shape,
                   const std::vector<int>& order) {
  const int nd = x_shape.ndim();
  int64_t x_stride[Shape::kMaxDims], step[Shape::kMaxDims], idx[Shape::kMaxDims] = {};
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; --d) x_stride[d] = s, s *= x_shape[d];
  // Walking y in row-major order moves x's offset by step[d] per increment of y's dim d.
  for (int d = 0; d < nd; ++d) step[d] = x_stride[order[d]];
  const int64_t n = y_shape.numel();
  int64_t off = 0;
  for (int64_t o = 0; o < n; ++o) {
    y[o] = x[off];
    for (int d = nd - 1; d >= 0; --d) {
      off += step[d];
      if (++idx[d] < y_shape[d]) break;
      off -= step[d] * y_shape[d];
      idx[d] = 0;
    }
  }
}

// [outer, rows, inner] view around `dim`: the product of the dims before it, its size, and the
// bytes of one row (the product of the dims after it times the element size).
struct Rows {
  int64_t outer, inner_bytes;
};
Rows rows_around(const Tensor& t, int dim) {
  int64_t outer = 1, inner = int64_t(dtype_size(t.dtype()));
  for (int d = 0; d < dim; ++d) outer *= t.size(d);
  for (int d = dim + 1; d < t.ndim(); ++d) inner *= t.size(d);
  return {outer, inner};
}

// Source index along one padded dim of size n with `before` rows in front; -1 = the pad value.
int64_t pad_source(int64_t o, int64_t before, int64_t n, PadMode mode) {
  const int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::zeros:
      return -1;
    case PadMode::reflect:
      return i < 0 ? -i : 2 * (n - 1) - i;
    case PadMode::replicate:
      return std::clamp<int64_t>(i, 0, n - 1);
  }
  return -1;
}

// Number of [H, W] planes: the product of all dims but the last two.
int64_t planes(const Tensor& t) {
  return t.numel() == 0 ? 0 : t.numel() / (t.size(-2) * t.size(-1));
}
}  // namespace

void permute(Tensor& y, const Tensor& x, const std::vector<int>& order) {
  switch (dtype_size(x.dtype())) {
    case 1:
      return permute_elems(static_cast<uint8_t*>(y.raw_data()),
                           static_cast<const uint8_t*>(x.raw_data()), x.shape(), y.shape(), order);
    case 4:
      return permute_elems(static_cast<uint32_t*>(y.raw_data()),
                           static_cast<const uint32_t*>(x.raw_data()), x.shape(), y.shape(), order);
    case 8:
      return permute_elems(static_cast<uint64_t*>(y.raw_data()),
                           static_cast<const uint64_t*>(x.raw_data()), x.shape(), y.shape(), order);
  }
  throw Error(detail::concat("permute: unsupported element size ", dtype_size(x.dtype())));
}

void narrow_copy(Tensor& y, const Tensor& x, int dim, int64_t start) {
  const Rows r = rows_around(x, dim);
  const int64_t lx = x.size(dim), ly = y.size(dim);
  const char* px = static_cast<const char*>(x.raw_data());
  char* py = static_cast<char*>(y.raw_data());
  for (int64_t o = 0; o < r.outer; ++o)
    std::memcpy(py + o * ly * r.inner_bytes, px + (o * lx + start) * r.inner_bytes,
                ly * r.inner_bytes);
}

void narrow_embed(Tensor& y, const Tensor& x, int dim, int64_t start) {
  const Rows r = rows_around(x, dim);
  const int64_t lx = x.size(dim), ly = y.size(dim);
  const char* px = static_cast<const char*>(x.raw_data());
  char* py = static_cast<char*>(y.raw_data());
  for (int64_t o = 0; o < r.outer; ++o)
    std::memcpy(py + (o * ly + start) * r.inner_bytes, px + o * lx * r.inner_bytes,
                lx * r.inner_bytes);
}

template <class T>
void pad2d_forward(Tensor& y, const Tensor& x, const Pad2dParams& p) {
  const int64_t P = planes(y), IH = x.size(-2), IW = x.size(-1), OH = y.size(-2), OW = y.size(-1);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t n = 0; n < P; ++n) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t ih = pad_source(oh, p.top, IH, p.mode);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t iw = pad_source(ow, p.left, IW, p.mode);
        py[(n * OH + oh) * OW + ow] = ih < 0 || iw < 0 ? T(p.value) : px[(n * IH + ih) * IW + iw];
      }
    }
  }
}

template <class T>
void pad2d_backward(Tensor& dx, const Tensor& dy, const Pad2dParams& p) {
  const int64_t P = planes(dy), IH = dx.size(-2), IW = dx.size(-1), OH = dy.size(-2),
                OW = dy.size(-1);
  dx.fill_(0);
  T* pdx = dx.data<T>();
  const T* pdy = dy.data<T>();
  for (int64_t n = 0; n < P; ++n) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t ih = pad_source(oh, p.top, IH, p.mode);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t iw = pad_source(ow, p.left, IW, p.mode);
        if (ih >= 0 && iw >= 0) pdx[(n * IH + ih) * IW + iw] += pdy[(n * OH + oh) * OW + ow];
      }
    }
  }
}

template <class T>
void upsample_nearest2d_forward(Tensor& y, const Tensor& x) {
  const int64_t P = planes(y), IH = x.size(-2), IW = x.size(-1), OH = y.size(-2), OW = y.size(-1);
  const int64_t SH = OH / IH, SW = OW / IW;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t n = 0; n < P; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        py[(n * OH + oh) * OW + ow] = px[(n * IH + oh / SH) * IW + ow / SW];
}

template <class T>
void upsample_nearest2d_backward(Tensor& dx, const Tensor& dy) {
  const int64_t P = planes(dy), IH = dx.size(-2), IW = dx.size(-1), OH = dy.size(-2),
                OW = dy.size(-1);
  const int64_t SH = OH / IH, SW = OW / IW;
  dx.fill_(0);
  T* pdx = dx.data<T>();
  const T* pdy = dy.data<T>();
  for (int64_t n = 0; n < P; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        pdx[(n * IH + oh / SH) * IW + ow / SW] += pdy[(n * OH + oh) * OW + ow];
}

#define CONVKIT_INSTANTIATE(T)                                                 \
  template void pad2d_forward<T>(Tensor&, const Tensor&, const Pad2dParams&);  \
  template void pad2d_backward<T>(Tensor&, const Tensor&, const Pad2dParams&); \
  template void upsample_nearest2d_forward<T>(Tensor&, const Tensor&);         \
  template void upsample_nearest2d_backward<T>(Tensor&, const Tensor&);
CONVKIT_INSTANTIATE(float)
CONVKIT_INSTANTIATE(double)
#undef CONVKIT_INSTANTIATE

}  // namespace convkit::ref
