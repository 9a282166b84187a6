// f'(x) rewritten in terms of y = f(x) where possible (as oneDNN's *_use_dst_for_bwd):
//   relu:     y > 0 ? 1 : alpha                    (alpha >= 0, so y > 0 <=> x > 0)
//   elu:      y > 0 ? 1 : alpha e^x = y + alpha
//   logistic: y (1 - y)
//   tanh:     1 - y^2
//   clip:     alpha < y < beta ? 1 : 0
#include "kernels/ref/eltwise.h"

#include <cmath>

namespace convkit::ref {

bool eltwise_backward_uses_dst(const EltwiseParams& p) {
  return !(p.alg == EltwiseAlg::relu && p.alpha < 0);
}

template <class T>
void eltwise_forward(Tensor& y, const Tensor& x, const EltwiseParams& p) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const T alpha = T(p.alpha), beta = T(p.beta);
  const int64_t n = x.numel();
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const T v = px[i];
    switch (p.alg) {
      case EltwiseAlg::relu:
        py[i] = v > 0 ? v : alpha * v;
        break;
      case EltwiseAlg::elu:
        py[i] = v > 0 ? v : alpha * std::expm1(v);
        break;
      case EltwiseAlg::logistic:
        py[i] = T(1) / (T(1) + std::exp(-v));
        break;
      case EltwiseAlg::tanh:
        py[i] = std::tanh(v);
        break;
      case EltwiseAlg::clip:
        py[i] = std::min(std::max(v, alpha), beta);
        break;
    }
  }
}

template <class T>
void eltwise_backward(Tensor& dx, const Tensor& dy, const Tensor& saved, const EltwiseParams& p) {
  const T* pdy = dy.data<T>();
  const T* ps = saved.data<T>();
  T* pdx = dx.data<T>();
  const T alpha = T(p.alpha), beta = T(p.beta);
  const int64_t n = dy.numel();
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const T s = ps[i];  // y, or x for relu with a negative slope
    T d = 0;
    switch (p.alg) {
      case EltwiseAlg::relu:
        d = s > 0 ? T(1) : alpha;
        break;
      case EltwiseAlg::elu:
        d = s > 0 ? T(1) : s + alpha;
        break;
      case EltwiseAlg::logistic:
        d = s * (T(1) - s);
        break;
      case EltwiseAlg::tanh:
        d = T(1) - s * s;
        break;
      case EltwiseAlg::clip:
        d = (s > alpha && s < beta) ? T(1) : T(0);
        break;
    }
    pdx[i] = pdy[i] * d;
  }
}

template void eltwise_forward<float>(Tensor&, const Tensor&, const EltwiseParams&);
template void eltwise_forward<double>(Tensor&, const Tensor&, const EltwiseParams&);
template void eltwise_backward<float>(Tensor&, const Tensor&, const Tensor&, const EltwiseParams&);
template void eltwise_backward<double>(Tensor&, const Tensor&, const Tensor&, const EltwiseParams&);

}  // namespace convkit::ref
