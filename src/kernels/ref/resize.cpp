// Bilinear interpolation as PyTorch's upsample_bilinear2d (aten/src/ATen/native/UpSample.h,
// area_pixel_compute_source_index): per output index o along a dim of sizes in -> out,
//   align_corners: s = o * (in - 1) / (out - 1)   (0 when out == 1)
//   otherwise:     s = max((o + 0.5) * in / out - 0.5, 0)
//   i0 = floor(s), i1 = min(i0 + 1, in - 1), w1 = s - i0, w0 = 1 - w1
//   y[p, oh, ow] = sum over (ih, iw) in {h.i0, h.i1} x {w.i0, w.i1} of wh * ww * x[p, ih, iw]
// Forward and backward walk the same taps (Taps), so the backward is the forward's transpose.
#include "kernels/ref/resize.h"

#include <algorithm>
#include <vector>

namespace convkit::ref {

namespace {

struct Tap {
  int64_t i0, i1;
  double w0, w1;
};

// The two source rows and weights of every output index along one dim.
std::vector<Tap> taps(int64_t in, int64_t out, bool align_corners) {
  std::vector<Tap> t(out);
  for (int64_t o = 0; o < out; ++o) {
    double s;
    if (align_corners)
      s = out > 1 ? double(o) * double(in - 1) / double(out - 1) : 0.0;
    else
      s = std::max((double(o) + 0.5) * double(in) / double(out) - 0.5, 0.0);
    const int64_t i0 = std::min(int64_t(s), in - 1);
    const double w1 = s - double(i0);
    t[o] = {i0, std::min(i0 + 1, in - 1), 1.0 - w1, w1};
  }
  return t;
}

int64_t planes(const Tensor& t) { return t.numel() / (t.size(-2) * t.size(-1)); }

}  // namespace

template <class T>
void upsample_bilinear2d_forward(Tensor& y, const Tensor& x, bool align_corners) {
  const int64_t P = planes(x), IH = x.size(-2), IW = x.size(-1), OH = y.size(-2), OW = y.size(-1);
  const std::vector<Tap> th = taps(IH, OH, align_corners), tw = taps(IW, OW, align_corners);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t p = 0; p < P; ++p) {
    const T* plane = px + p * IH * IW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const Tap& h = th[oh];
      for (int64_t ow = 0; ow < OW; ++ow) {
        const Tap& w = tw[ow];
        const double v = h.w0 * (w.w0 * plane[h.i0 * IW + w.i0] + w.w1 * plane[h.i0 * IW + w.i1]) +
                         h.w1 * (w.w0 * plane[h.i1 * IW + w.i0] + w.w1 * plane[h.i1 * IW + w.i1]);
        py[(p * OH + oh) * OW + ow] = T(v);
      }
    }
  }
}

template <class T>
void upsample_bilinear2d_backward(Tensor& dx, const Tensor& dy, bool align_corners) {
  const int64_t P = planes(dx), IH = dx.size(-2), IW = dx.size(-1), OH = dy.size(-2),
                OW = dy.size(-1);
  const std::vector<Tap> th = taps(IH, OH, align_corners), tw = taps(IW, OW, align_corners);
  dx.fill_(0);
  T* pdx = dx.data<T>();
  const T* pdy = dy.data<T>();
  for (int64_t p = 0; p < P; ++p) {
    T* plane = pdx + p * IH * IW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const Tap& h = th[oh];
      for (int64_t ow = 0; ow < OW; ++ow) {
        const Tap& w = tw[ow];
        const double g = pdy[(p * OH + oh) * OW + ow];
        plane[h.i0 * IW + w.i0] += T(h.w0 * w.w0 * g);
        plane[h.i0 * IW + w.i1] += T(h.w0 * w.w1 * g);
        plane[h.i1 * IW + w.i0] += T(h.w1 * w.w0 * g);
        plane[h.i1 * IW + w.i1] += T(h.w1 * w.w1 * g);
      }
    }
  }
}

#define CONVKIT_INSTANTIATE(T)                                                \
  template void upsample_bilinear2d_forward<T>(Tensor&, const Tensor&, bool); \
  template void upsample_bilinear2d_backward<T>(Tensor&, const Tensor&, bool);
CONVKIT_INSTANTIATE(float)
CONVKIT_INSTANTIATE(double)
#undef CONVKIT_INSTANTIATE

}  // namespace convkit::ref
