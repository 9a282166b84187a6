// Direct convolution, written to be read (the textbook's loops, oneDNN's letters).
// For output channel oc in group g = oc / OCg and input channel ic of that group:
//   y[n,oc,oh,ow] = b[oc] + sum_{ic,kh,kw} w[oc,ic,kh,kw] * x[n, g*ICg+ic, ih, iw]
//   ih = oh*SH - PT + kh*DH,   iw = ow*SW - PL + kw*DW   (taps outside the input are zeros)
// Backward walks the same index map: every (output, tap) pair that read x[ih,iw] with weight w
// sends dy * w back to dx[ih,iw] and dy * x to dw[oc,ic,kh,kw].
#include "kernels/ref/conv.h"

#include <algorithm>

namespace convkit::ref {

namespace {
// Flat offsets into the row-major NCHW / OIHW buffers.
struct Index {
  const detail::ConvProblem& p;
  int64_t x(int64_t n, int64_t c, int64_t ih, int64_t iw) const {
    return ((n * p.IC + c) * p.IH + ih) * p.IW + iw;
  }
  int64_t y(int64_t n, int64_t oc, int64_t oh, int64_t ow) const {
    return ((n * p.OC + oc) * p.OH + oh) * p.OW + ow;
  }
  int64_t w(int64_t oc, int64_t ic, int64_t kh, int64_t kw) const {
    return ((oc * p.ICg() + ic) * p.KH + kh) * p.KW + kw;
  }
};

// Visits every (n, oc, oh, ow, ic, kh, kw) whose tap lands inside the input, with the input
// channel and position it reads: f(n, oc, oh, ow, c, ih, iw, ic, kh, kw).
template <class F>
void for_each_tap(const detail::ConvProblem& p, F f) {
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oc = 0; oc < p.OC; ++oc) {
      const int64_t g = oc / p.OCg();
      for (int64_t oh = 0; oh < p.OH; ++oh)
        for (int64_t ow = 0; ow < p.OW; ++ow)
          for (int64_t ic = 0; ic < p.ICg(); ++ic)
            for (int64_t kh = 0; kh < p.KH; ++kh) {
              const int64_t ih = oh * p.SH - p.PT + kh * p.DH;
              if (ih < 0 || ih >= p.IH) continue;
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                const int64_t iw = ow * p.SW - p.PL + kw * p.DW;
                if (iw < 0 || iw >= p.IW) continue;
                f(n, oc, oh, ow, g * p.ICg() + ic, ih, iw, ic, kh, kw);
              }
            }
    }
}
}  // namespace

template <class T>
void conv2d_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                    const detail::ConvProblem& p) {
  const Index at{p};
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  T* py = y.data<T>();
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t oc = 0; oc < p.OC; ++oc) {
      const T bias = p.has_bias ? b.data<T>()[oc] : T(0);
      std::fill(py + at.y(n, oc, 0, 0), py + at.y(n, oc + 1, 0, 0), bias);
    }
  for_each_tap(p, [&](int64_t n, int64_t oc, int64_t oh, int64_t ow, int64_t c, int64_t ih,
                      int64_t iw, int64_t ic, int64_t kh, int64_t kw) {
    py[at.y(n, oc, oh, ow)] += pw[at.w(oc, ic, kh, kw)] * px[at.x(n, c, ih, iw)];
  });
}

template <class T>
void conv2d_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w,
                          const detail::ConvProblem& p) {
  const Index at{p};
  const T* pdy = dy.data<T>();
  const T* pw = w.data<T>();
  T* pdx = dx.data<T>();
  std::fill(pdx, pdx + dx.numel(), T(0));
  for_each_tap(p, [&](int64_t n, int64_t oc, int64_t oh, int64_t ow, int64_t c, int64_t ih,
                      int64_t iw, int64_t ic, int64_t kh, int64_t kw) {
    pdx[at.x(n, c, ih, iw)] += pdy[at.y(n, oc, oh, ow)] * pw[at.w(oc, ic, kh, kw)];
  });
}

template <class T>
void conv2d_backward_weights(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                             const detail::ConvProblem& p) {
  const Index at{p};
  const T* pdy = dy.data<T>();
  if (dw.defined()) {
    const T* px = x.data<T>();
    T* pdw = dw.data<T>();
    std::fill(pdw, pdw + dw.numel(), T(0));
    for_each_tap(p, [&](int64_t n, int64_t oc, int64_t oh, int64_t ow, int64_t c, int64_t ih,
                        int64_t iw, int64_t ic, int64_t kh, int64_t kw) {
      pdw[at.w(oc, ic, kh, kw)] += pdy[at.y(n, oc, oh, ow)] * px[at.x(n, c, ih, iw)];
    });
  }
  if (db.defined()) {
    T* pdb = db.data<T>();
    for (int64_t oc = 0; oc < p.OC; ++oc) {
      T s = 0;
      for (int64_t n = 0; n < p.N; ++n)
        for (int64_t i = at.y(n, oc, 0, 0); i < at.y(n, oc + 1, 0, 0); ++i) s += pdy[i];
      pdb[oc] = s;
    }
  }
}

#define CONVKIT_INSTANTIATE(T)                                                             \
  template void conv2d_forward<T>(Tensor&, const Tensor&, const Tensor&, const Tensor&,    \
                                  const detail::ConvProblem&);                             \
  template void conv2d_backward_data<T>(Tensor&, const Tensor&, const Tensor&,             \
                                        const detail::ConvProblem&);                       \
  template void conv2d_backward_weights<T>(Tensor&, Tensor&, const Tensor&, const Tensor&, \
                                           const detail::ConvProblem&);
CONVKIT_INSTANTIATE(float)
CONVKIT_INSTANTIATE(double)
#undef CONVKIT_INSTANTIATE

}  // namespace convkit::ref
