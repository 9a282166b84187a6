// Max pooling:  y[n,c,oh,ow] = max over ih = oh*SH - PH + kh, iw = ow*SW - PW + kw inside the input
//   (padded taps are skipped, i.e. -inf). Ties: the first maximum in row-major window order wins;
//   a NaN always wins (NaN propagates), as in PyTorch.
// Avg pooling:  y = (sum over the window's taps inside the input) / divisor, where the window is
//   first clipped to the padded input [-PH, IH + PH) (which drops ceil_mode's overhang); divisor is
//   that clipped window's area (count_include_pad) or the number of real taps (otherwise).
// Adaptive avg: output row oh averages input rows [floor(oh*IH/OH), ceil((oh+1)*IH/OH)).
#include "kernels/ref/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace convkit::ref {

namespace {
// Rows of one window along one dim: [begin, end) clipped to the input, and the divisor length
// `padded` (clipped to the padded input only).
struct Span {
  int64_t begin, end, padded;
};
Span window(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad) {
  int64_t b = o * s - pad;
  int64_t e = std::min(b + k, in + pad);
  int64_t padded = e - b;
  return {std::max<int64_t>(b, 0), std::min(e, in), padded};
}

Span adaptive_window(int64_t o, int64_t in, int64_t out) {
  int64_t b = (o * in) / out;
  int64_t e = ((o + 1) * in + out - 1) / out;
  return {b, e, e - b};
}
}  // namespace

template <class T>
void max_pool2d_forward(Tensor& y, Tensor& argmax, const Tensor& x, const Pool2dParams& p) {
  const int64_t NC = x.size(0) * x.size(1), IH = x.size(2), IW = x.size(3);
  const int64_t OH = y.size(2), OW = y.size(3);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  int64_t* pa = argmax.data<int64_t>();
  for (int64_t nc = 0; nc < NC; ++nc) {
    const T* plane = px + nc * IH * IW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t ih0 = oh * p.stride_h - p.pad_h, iw0 = ow * p.stride_w - p.pad_w;
        int64_t ih1 = std::min(ih0 + p.kernel_h, IH), iw1 = std::min(iw0 + p.kernel_w, IW);
        ih0 = std::max<int64_t>(ih0, 0), iw0 = std::max<int64_t>(iw0, 0);
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_i = ih0 * IW + iw0;
        for (int64_t ih = ih0; ih < ih1; ++ih) {
          for (int64_t iw = iw0; iw < iw1; ++iw) {
            T v = plane[ih * IW + iw];
            if (v > best || std::isnan(v)) best = v, best_i = ih * IW + iw;
          }
        }
        const int64_t o = (nc * OH + oh) * OW + ow;
        py[o] = best;
        pa[o] = best_i;
      }
    }
  }
}

template <class T>
void max_pool2d_backward(Tensor& dx, const Tensor& argmax, const Tensor& dy) {
  const int64_t NC = dx.size(0) * dx.size(1), IHW = dx.size(2) * dx.size(3);
  const int64_t OHW = dy.size(2) * dy.size(3);
  dx.fill_(0);
  T* pdx = dx.data<T>();
  const T* pdy = dy.data<T>();
  const int64_t* pa = argmax.data<int64_t>();
  for (int64_t nc = 0; nc < NC; ++nc)
    for (int64_t o = 0; o < OHW; ++o) pdx[nc * IHW + pa[nc * OHW + o]] += pdy[nc * OHW + o];
}

template <class T>
void avg_pool2d_forward(Tensor& y, const Tensor& x, const Pool2dParams& p) {
  const int64_t NC = x.size(0) * x.size(1), IH = x.size(2), IW = x.size(3);
  const int64_t OH = y.size(2), OW = y.size(3);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t nc = 0; nc < NC; ++nc) {
    const T* plane = px + nc * IH * IW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      Span h = window(oh, IH, p.kernel_h, p.stride_h, p.pad_h);
      for (int64_t ow = 0; ow < OW; ++ow) {
        Span w = window(ow, IW, p.kernel_w, p.stride_w, p.pad_w);
        T sum = 0;
        for (int64_t ih = h.begin; ih < h.end; ++ih)
          for (int64_t iw = w.begin; iw < w.end; ++iw) sum += plane[ih * IW + iw];
        int64_t divisor =
            p.count_include_pad ? h.padded * w.padded : (h.end - h.begin) * (w.end - w.begin);
        py[(nc * OH + oh) * OW + ow] = divisor > 0 ? sum / T(divisor) : T(0);
      }
    }
  }
}

template <class T>
void avg_pool2d_backward(Tensor& dx, const Tensor& dy, const Pool2dParams& p) {
  const int64_t NC = dx.size(0) * dx.size(1), IH = dx.size(2), IW = dx.size(3);
  const int64_t OH = dy.size(2), OW = dy.size(3);
  dx.fill_(0);
  T* pdx = dx.data<T>();
  const T* pdy = dy.data<T>();
  for (int64_t nc = 0; nc < NC; ++nc) {
    T* plane = pdx + nc * IH * IW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      Span h = window(oh, IH, p.kernel_h, p.stride_h, p.pad_h);
      for (int64_t ow = 0; ow < OW; ++ow) {
        Span w = window(ow, IW, p.kernel_w, p.stride_w, p.pad_w);
        int64_t divisor =
            p.count_include_pad ? h.padded * w.padded : (h.end - h.begin) * (w.end - w.begin);
        if (divisor <= 0) continue;
        T g = pdy[(nc * OH + oh) * OW + ow] / T(divisor);
        for (int64_t ih = h.begin; ih < h.end; ++ih)
          for (int64_t iw = w.begin; iw < w.end; ++iw) plane[ih * IW + iw] += g;
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_forward(Tensor& y, const Tensor& x) {
  const int64_t NC = x.size(0) * x.size(1), IH = x.size(2), IW = x.size(3);
  const int64_t OH = y.size(2), OW = y.size(3);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t nc = 0; nc < NC; ++nc) {
    const T* plane = px + nc * IH * IW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      Span h = adaptive_window(oh, IH, OH);
      for (int64_t ow = 0; ow < OW; ++ow) {
        Span w = adaptive_window(ow, IW, OW);
        T sum = 0;
        for (int64_t ih = h.begin; ih < h.end; ++ih)
          for (int64_t iw = w.begin; iw < w.end; ++iw) sum += plane[ih * IW + iw];
        py[(nc * OH + oh) * OW + ow] = sum / T(h.padded * w.padded);
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_backward(Tensor& dx, const Tensor& dy) {
  const int64_t NC = dx.size(0) * dx.size(1), IH = dx.size(2), IW = dx.size(3);
  const int64_t OH = dy.size(2), OW = dy.size(3);
  dx.fill_(0);
  T* pdx = dx.data<T>();
  const T* pdy = dy.data<T>();
  for (int64_t nc = 0; nc < NC; ++nc) {
    T* plane = pdx + nc * IH * IW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      Span h = adaptive_window(oh, IH, OH);
      for (int64_t ow = 0; ow < OW; ++ow) {
        Span w = adaptive_window(ow, IW, OW);
        T g = pdy[(nc * OH + oh) * OW + ow] / T(h.padded * w.padded);
        for (int64_t ih = h.begin; ih < h.end; ++ih)
          for (int64_t iw = w.begin; iw < w.end; ++iw) plane[ih * IW + iw] += g;
      }
    }
  }
}

#define CONVKIT_INSTANTIATE(T)                                                               \
  template void max_pool2d_forward<T>(Tensor&, Tensor&, const Tensor&, const Pool2dParams&); \
  template void max_pool2d_backward<T>(Tensor&, const Tensor&, const Tensor&);               \
  template void avg_pool2d_forward<T>(Tensor&, const Tensor&, const Pool2dParams&);          \
  template void avg_pool2d_backward<T>(Tensor&, const Tensor&, const Pool2dParams&);         \
  template void adaptive_avg_pool2d_forward<T>(Tensor&, const Tensor&);                      \
  template void adaptive_avg_pool2d_backward<T>(Tensor&, const Tensor&);
CONVKIT_INSTANTIATE(float)
CONVKIT_INSTANTIATE(double)
#undef CONVKIT_INSTANTIATE

}  // namespace convkit::ref
