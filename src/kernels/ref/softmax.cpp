// Sums in double so the float32 reference stays an oracle for oneDNN's kernel.
#include "kernels/ref/softmax.h"

#include <cmath>
#include <limits>

namespace convkit::ref {

template <class T>
void softmax_forward(Tensor& y, const Tensor& x, const SoftmaxParams& p) {
  const int64_t A = p.axis, I = p.inner;
  const T* px = x.data<T>();
  T* py = y.data<T>();
#pragma omp parallel for collapse(2) if (p.outer * A * I > 65536)
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < I; ++i) {
      const T* xs = px + o * A * I + i;  // the slice: xs[a * I], a in [0, A)
      T* ys = py + o * A * I + i;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t a = 0; a < A; ++a) m = std::max(m, double(xs[a * I]));
      double s = 0;
      for (int64_t a = 0; a < A; ++a) s += std::exp(double(xs[a * I]) - m);
      const double log_s = std::log(s);
      for (int64_t a = 0; a < A; ++a) {
        const double z = double(xs[a * I]) - m;
        ys[a * I] = T(p.log ? z - log_s : std::exp(z) / s);
      }
    }
  }
}

template <class T>
void softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, const SoftmaxParams& p) {
  const int64_t A = p.axis, I = p.inner;
  const T* pdy = dy.data<T>();
  const T* py = y.data<T>();
  T* pdx = dx.data<T>();
#pragma omp parallel for collapse(2) if (p.outer * A * I > 65536)
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < I; ++i) {
      const int64_t base = o * A * I + i;
      double s = 0;  // softmax: sum dy*y; log_softmax: sum dy
      for (int64_t a = 0; a < A; ++a) {
        const int64_t k = base + a * I;
        s += p.log ? double(pdy[k]) : double(pdy[k]) * double(py[k]);
      }
      for (int64_t a = 0; a < A; ++a) {
        const int64_t k = base + a * I;
        pdx[k] = p.log ? T(double(pdy[k]) - std::exp(double(py[k])) * s)
                       : T(double(py[k]) * (double(pdy[k]) - s));
      }
    }
  }
}

template void softmax_forward<float>(Tensor&, const Tensor&, const SoftmaxParams&);
template void softmax_forward<double>(Tensor&, const Tensor&, const SoftmaxParams&);
template void softmax_backward<float>(Tensor&, const Tensor&, const Tensor&, const SoftmaxParams&);
template void softmax_backward<double>(Tensor&, const Tensor&, const Tensor&, const SoftmaxParams&);

}  // namespace convkit::ref
