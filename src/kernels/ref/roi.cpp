// Reference RoI pooling and RoI Align, in torchvision's CPU kernels' arithmetic
// (torchvision/csrc/ops/cpu/roi_{pool,align}_kernel.cpp) so that outputs and gradients match.
#include "kernels/ref/roi.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace convkit::ref {

namespace {

// The bins of RoI max pooling for one box: feature-pixel bounds [hstart, hend) x [wstart, wend).
struct PoolBin {
  int64_t hstart, hend, wstart, wend;
};

template <class T>
PoolBin pool_bin(const T* roi, int64_t ph, int64_t pw, int64_t H, int64_t W, const RoiParams& p) {
  const int64_t x1 = int64_t(std::round(roi[1] * p.spatial_scale));
  const int64_t y1 = int64_t(std::round(roi[2] * p.spatial_scale));
  const int64_t x2 = int64_t(std::round(roi[3] * p.spatial_scale));
  const int64_t y2 = int64_t(std::round(roi[4] * p.spatial_scale));
  const int64_t roi_w = std::max<int64_t>(x2 - x1 + 1, 1),
                roi_h = std::max<int64_t>(y2 - y1 + 1, 1);
  const T bin_h = T(roi_h) / T(p.out_h), bin_w = T(roi_w) / T(p.out_w);
  auto clampi = [](int64_t v, int64_t hi) { return std::min(std::max<int64_t>(v, 0), hi); };
  return {clampi(int64_t(std::floor(T(ph) * bin_h)) + y1, H),
          clampi(int64_t(std::ceil(T(ph + 1) * bin_h)) + y1, H),
          clampi(int64_t(std::floor(T(pw) * bin_w)) + x1, W),
          clampi(int64_t(std::ceil(T(pw + 1) * bin_w)) + x1, W)};
}

// Walks the bilinear samples of output bin (ph, pw) of one box: calls f(weight, h, w) for each of
// the four taps of every sample inside the map, weight already divided by the sample count.
template <class T, class F>
void align_samples(const T* roi, int64_t ph, int64_t pw, int64_t H, int64_t W, const RoiParams& p,
                   F&& f) {
  const T offset = p.aligned ? T(0.5) : T(0);
  const T x1 = roi[1] * T(p.spatial_scale) - offset, y1 = roi[2] * T(p.spatial_scale) - offset;
  T roi_w = roi[3] * T(p.spatial_scale) - offset - x1;
  T roi_h = roi[4] * T(p.spatial_scale) - offset - y1;
  if (!p.aligned) {
    roi_w = std::max(roi_w, T(1));
    roi_h = std::max(roi_h, T(1));
  }
  const T bin_h = roi_h / T(p.out_h), bin_w = roi_w / T(p.out_w);
  const int64_t gh =
      p.sampling_ratio > 0 ? p.sampling_ratio : int64_t(std::ceil(roi_h / T(p.out_h)));
  const int64_t gw =
      p.sampling_ratio > 0 ? p.sampling_ratio : int64_t(std::ceil(roi_w / T(p.out_w)));
  const T count = T(std::max<int64_t>(gh * gw, 1));
  for (int64_t iy = 0; iy < gh; ++iy) {
    T y = y1 + T(ph) * bin_h + (T(iy) + T(0.5)) * bin_h / T(gh);
    for (int64_t ix = 0; ix < gw; ++ix) {
      T x = x1 + T(pw) * bin_w + (T(ix) + T(0.5)) * bin_w / T(gw);
      if (y < T(-1) || y > T(H) || x < T(-1) || x > T(W)) continue;  // outside: counts 0
      T yy = std::max(y, T(0)), xx = std::max(x, T(0));
      int64_t y_lo = int64_t(yy), x_lo = int64_t(xx), y_hi, x_hi;
      if (y_lo >= H - 1) {
        y_hi = y_lo = H - 1;
        yy = T(y_lo);
      } else {
        y_hi = y_lo + 1;
      }
      if (x_lo >= W - 1) {
        x_hi = x_lo = W - 1;
        xx = T(x_lo);
      } else {
        x_hi = x_lo + 1;
      }
      const T ly = yy - T(y_lo), lx = xx - T(x_lo), hy = T(1) - ly, hx = T(1) - lx;
      f(hy * hx / count, y_lo, x_lo);
      f(hy * lx / count, y_lo, x_hi);
      f(ly * hx / count, y_hi, x_lo);
      f(ly * lx / count, y_hi, x_hi);
    }
  }
}

}  // namespace

template <class T>
void roi_pool_forward(Tensor& y, Tensor& argmax, const Tensor& x, const Tensor& rois,
                      const RoiParams& p) {
  const int64_t K = rois.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t PH = p.out_h, PW = p.out_w;
  const T* X = x.data<T>();
  const T* R = rois.data<T>();
  T* Y = y.data<T>();
  int64_t* A = argmax.data<int64_t>();
  for (int64_t k = 0; k < K; ++k) {
    const T* roi = R + k * 5;
    const int64_t n = int64_t(roi[0]);
    for (int64_t ph = 0; ph < PH; ++ph)
      for (int64_t pw = 0; pw < PW; ++pw) {
        const PoolBin b = pool_bin(roi, ph, pw, H, W, p);
        const bool empty = b.hend <= b.hstart || b.wend <= b.wstart;
        for (int64_t c = 0; c < C; ++c) {
          const T* plane = X + (n * C + c) * H * W;
          T best = empty ? T(0) : std::numeric_limits<T>::lowest();
          int64_t at = -1;
          for (int64_t h = b.hstart; h < b.hend; ++h)
            for (int64_t w = b.wstart; w < b.wend; ++w)
              if (plane[h * W + w] > best) best = plane[h * W + w], at = h * W + w;
          const int64_t o = ((k * C + c) * PH + ph) * PW + pw;
          Y[o] = best;
          A[o] = at;
        }
      }
  }
}

template <class T>
void roi_pool_backward(Tensor& dx, const Tensor& dy, const Tensor& argmax, const Tensor& rois) {
  const int64_t K = dy.size(0), C = dy.size(1), P = dy.size(2) * dy.size(3);
  const int64_t HW = dx.size(2) * dx.size(3);
  std::fill_n(dx.data<T>(), dx.numel(), T(0));
  const T* G = dy.data<T>();
  const int64_t* A = argmax.data<int64_t>();
  T* D = dx.data<T>();
  for (int64_t k = 0; k < K; ++k) {
    const int64_t n = int64_t(rois.data<T>()[k * 5]);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < P; ++i) {
        const int64_t o = (k * C + c) * P + i;
        if (A[o] >= 0) D[(n * C + c) * HW + A[o]] += G[o];
      }
  }
}

namespace {

// Every box's bilinear taps, computed once and shared by all channels (torchvision's pre_calc):
// taps of box k, bin b are tap[begin[k * bins + b], begin[k * bins + b + 1]).
template <class T>
struct AlignTaps {
  std::vector<T> weight;
  std::vector<int32_t> offset;  // h * W + w within a plane
  std::vector<int64_t> begin;   // K * bins + 1
};

// Scratch buffers live per thread and keep their capacity: a detector's training step asks for tens
// of MB here every time, which fresh allocations would fault in page by page.
template <class T>
const AlignTaps<T>& align_taps(const Tensor& rois, int64_t H, int64_t W, const RoiParams& p) {
  const int64_t K = rois.size(0), bins = p.out_h * p.out_w;
  static thread_local AlignTaps<T> t;
  t.weight.clear();
  t.offset.clear();
  t.begin.clear();
  t.begin.reserve(size_t(K * bins + 1));
  t.begin.push_back(0);
  for (int64_t k = 0; k < K; ++k) {
    const T* roi = rois.data<T>() + k * 5;
    for (int64_t ph = 0; ph < p.out_h; ++ph)
      for (int64_t pw = 0; pw < p.out_w; ++pw) {
        align_samples(roi, ph, pw, H, W, p, [&](T wgt, int64_t h, int64_t w) {
          t.weight.push_back(wgt);
          t.offset.push_back(int32_t(h * W + w));
        });
        t.begin.push_back(int64_t(t.weight.size()));
      }
  }
  return t;
}

}  // namespace

// Both passes work on channels-last copies so that the innermost loop runs over contiguous
// channels; every sum keeps the reference order (taps in sample order; in the backward, boxes in
// order for each element), so results equal the one-loop form bit for bit. The forward runs boxes
// in parallel, the backward blocks of channels (each writes only its own).
template <class T>
void roi_align_forward(Tensor& y, const Tensor& x, const Tensor& rois, const RoiParams& p) {
  const int64_t K = rois.size(0), N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  const int64_t bins = p.out_h * p.out_w;
  const AlignTaps<T>& t = align_taps<T>(rois, x.size(2), x.size(3), p);
  static thread_local std::vector<T> xt;
  xt.resize(size_t(N * HW * C));
  const T* X = x.data<T>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) xt[size_t((n * HW + i) * C + c)] = X[(n * C + c) * HW + i];
  T* Y = y.data<T>();
  const T* XT = xt.data();  // thread_local: the team must use the calling thread's buffer
#pragma omp parallel if (K * C * bins > 32768)
  {
    std::vector<T> acc(static_cast<size_t>(C));
#pragma omp for
    for (int64_t k = 0; k < K; ++k) {
      const int64_t n = int64_t(rois.data<T>()[k * 5]);
      for (int64_t b = 0; b < bins; ++b) {
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t i = t.begin[size_t(k * bins + b)]; i < t.begin[size_t(k * bins + b + 1)];
             ++i) {
          const T w = t.weight[size_t(i)];
          const T* px = XT + (n * HW + t.offset[size_t(i)]) * C;
          for (int64_t c = 0; c < C; ++c) acc[size_t(c)] += w * px[c];
        }
        for (int64_t c = 0; c < C; ++c) Y[(k * C + c) * bins + b] = acc[size_t(c)];
      }
    }
  }
}

template <class T>
void roi_align_backward(Tensor& dx, const Tensor& dy, const Tensor& rois, const RoiParams& p) {
  const int64_t K = rois.size(0), N = dx.size(0), C = dx.size(1), HW = dx.size(2) * dx.size(3);
  const int64_t bins = p.out_h * p.out_w;
  const AlignTaps<T>& t = align_taps<T>(rois, dx.size(2), dx.size(3), p);
  static thread_local std::vector<T> dxt;
  dxt.assign(size_t(N * HW * C), T(0));
  const T* G = dy.data<T>();
  T* DT = dxt.data();  // thread_local: the team must use the calling thread's buffer
  constexpr int64_t kBlock = 16;
  const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for if (K * C * bins > 32768)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kBlock, c1 = std::min(C, c0 + kBlock);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t n = int64_t(rois.data<T>()[k * 5]);
      for (int64_t b = 0; b < bins; ++b) {
        const T* g = G + k * C * bins + b;  // g[c * bins]: channel c of this bin
        for (int64_t i = t.begin[size_t(k * bins + b)]; i < t.begin[size_t(k * bins + b + 1)];
             ++i) {
          const T w = t.weight[size_t(i)];
          T* pd = DT + (n * HW + t.offset[size_t(i)]) * C;
          for (int64_t c = c0; c < c1; ++c) pd[c] += w * g[c * bins];
        }
      }
    }
  }
  T* D = dx.data<T>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) D[(n * C + c) * HW + i] = dxt[size_t((n * HW + i) * C + c)];
}

#define CONVKIT_ROI_INSTANTIATE(T)                                                             \
  template void roi_pool_forward<T>(Tensor&, Tensor&, const Tensor&, const Tensor&,            \
                                    const RoiParams&);                                         \
  template void roi_pool_backward<T>(Tensor&, const Tensor&, const Tensor&, const Tensor&);    \
  template void roi_align_forward<T>(Tensor&, const Tensor&, const Tensor&, const RoiParams&); \
  template void roi_align_backward<T>(Tensor&, const Tensor&, const Tensor&, const RoiParams&);
CONVKIT_ROI_INSTANTIATE(float)
CONVKIT_ROI_INSTANTIATE(double)
#undef CONVKIT_ROI_INSTANTIATE

}  // namespace convkit::ref
