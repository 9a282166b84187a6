// Local response normalization across channels (Krizhevsky et al. 2012, section 3.3), with
// PyTorch's window W(c) = [c - size/2, c + (size-1)/2] (zero outside [0, C)):
//   base_c = k + alpha/size * sum_{j in W(c)} x_j^2,   y_c = x_c * base_c^-beta
// Backward: y_c depends on x_j for every j in W(c), i.e. for c in [j - (size-1)/2, j + size/2]:
//   dx_j = dy_j * base_j^-beta - 2 alpha beta / size * x_j * sum_{c : j in W(c)} dy_c x_c
//   base_c^(-beta-1)
#include "kernels/ref/lrn.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace convkit::ref {

namespace {
int64_t spatial(const Tensor& x) {
  int64_t s = 1;
  for (int d = 2; d < x.ndim(); ++d) s *= x.size(d);
  return s;
}
}  // namespace

template <class T>
void lrn_forward(Tensor& y, Tensor& base, const Tensor& x, const LrnParams& p) {
  const int64_t N = x.size(0), C = x.size(1), S = spatial(x);
  const int64_t before = p.size / 2, after = (p.size - 1) / 2;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  T* pb = base.data<T>();
#pragma omp parallel for collapse(2) if (N * C * S > 65536)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t j0 = std::max<int64_t>(c - before, 0), j1 = std::min(c + after, C - 1);
      for (int64_t i = 0; i < S; ++i) {
        double sq = 0;
        for (int64_t j = j0; j <= j1; ++j) {
          const double v = px[(n * C + j) * S + i];
          sq += v * v;
        }
        const double b = p.k + p.alpha / double(p.size) * sq;
        const int64_t at = (n * C + c) * S + i;
        pb[at] = T(b);
        py[at] = T(px[at] * std::pow(b, -p.beta));
      }
    }
}

template <class T>
void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& base,
                  const LrnParams& p) {
  const int64_t N = x.size(0), C = x.size(1), S = spatial(x);
  const int64_t before = p.size / 2, after = (p.size - 1) / 2;
  const double coeff = 2.0 * p.alpha * p.beta / double(p.size);
  const T* px = x.data<T>();
  const T* pdy = dy.data<T>();
  const T* pb = base.data<T>();
  T* pdx = dx.data<T>();
#pragma omp parallel for if (N * C * S > 65536)
  for (int64_t n = 0; n < N; ++n) {
    // r_c = dy_c x_c base_c^(-beta-1), computed once per element rather than once per window.
    std::vector<double> r(C * S);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t at = (n * C + c) * S + i;
        r[c * S + i] = double(pdy[at]) * px[at] * std::pow(double(pb[at]), -p.beta - 1);
      }
    for (int64_t j = 0; j < C; ++j) {
      // Outputs c whose window holds j: c - before <= j <= c + after.
      const int64_t c0 = std::max<int64_t>(j - after, 0), c1 = std::min(j + before, C - 1);
      for (int64_t i = 0; i < S; ++i) {
        double acc = 0;
        for (int64_t c = c0; c <= c1; ++c) acc += r[c * S + i];
        const int64_t at = (n * C + j) * S + i;
        pdx[at] = T(pdy[at] * std::pow(double(pb[at]), -p.beta) - coeff * px[at] * acc);
      }
    }
  }
}

template void lrn_forward<float>(Tensor&, Tensor&, const Tensor&, const LrnParams&);
template void lrn_forward<double>(Tensor&, Tensor&, const Tensor&, const LrnParams&);
template void lrn_backward<float>(Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const LrnParams&);
template void lrn_backward<double>(Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                   const LrnParams&);

}  // namespace convkit::ref
