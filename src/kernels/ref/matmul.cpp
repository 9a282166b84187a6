// Textbook loops; accumulation in double so the float32 reference is a trustworthy oracle for the
// oneDNN kernels (which accumulate in float with a different order).
#include "kernels/ref/matmul.h"

namespace convkit::ref {

template <class T>
void matmul_forward(Tensor& c, const Tensor& a, const Tensor& b, const MatmulParams& p) {
  const int64_t B = p.B, M = p.M, N = p.N, K = p.K;
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = c.data<T>();
  const int64_t a_stride = p.a_batched ? M * K : 0;
  const int64_t b_stride = p.b_batched ? K * N : 0;
#pragma omp parallel for collapse(2) if (B * M * N * K > 65536)
  for (int64_t bi = 0; bi < B; ++bi) {
    for (int64_t m = 0; m < M; ++m) {
      const T* A = pa + bi * a_stride;
      const T* Bm = pb + bi * b_stride;
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          const T av = p.trans_a ? A[k * M + m] : A[m * K + k];
          const T bv = p.trans_b ? Bm[n * K + k] : Bm[k * N + n];
          acc += double(av) * double(bv);
        }
        pc[(bi * M + m) * N + n] = T(acc);
      }
    }
  }
}

template <class T>
void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias) {
  const int64_t N = x.size(0), IC = x.size(1), OC = w.size(0);
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  const T* pbias = bias.defined() ? bias.data<T>() : nullptr;
  T* py = y.data<T>();
#pragma omp parallel for collapse(2) if (N * IC * OC > 65536)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t oc = 0; oc < OC; ++oc) {
      double acc = pbias ? double(pbias[oc]) : 0.0;
      for (int64_t ic = 0; ic < IC; ++ic) acc += double(px[n * IC + ic]) * double(pw[oc * IC + ic]);
      py[n * OC + oc] = T(acc);
    }
  }
}

template <class T>
void linear_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w) {
  const int64_t N = dy.size(0), OC = w.size(0), IC = w.size(1);
  const T* pdy = dy.data<T>();
  const T* pw = w.data<T>();
  T* pdx = dx.data<T>();
#pragma omp parallel for collapse(2) if (N * IC * OC > 65536)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t ic = 0; ic < IC; ++ic) {
      double acc = 0;
      for (int64_t oc = 0; oc < OC; ++oc)
        acc += double(pdy[n * OC + oc]) * double(pw[oc * IC + ic]);
      pdx[n * IC + ic] = T(acc);
    }
  }
}

template <class T>
void linear_backward_weights(Tensor& dw, Tensor& dbias, const Tensor& dy, const Tensor& x) {
  const int64_t N = x.size(0), IC = x.size(1), OC = dy.size(1);
  const T* pdy = dy.data<T>();
  const T* px = x.data<T>();
  T* pdw = dw.data<T>();
#pragma omp parallel for collapse(2) if (N * IC * OC > 65536)
  for (int64_t oc = 0; oc < OC; ++oc) {
    for (int64_t ic = 0; ic < IC; ++ic) {
      double acc = 0;
      for (int64_t n = 0; n < N; ++n) acc += double(pdy[n * OC + oc]) * double(px[n * IC + ic]);
      pdw[oc * IC + ic] = T(acc);
    }
  }
  if (!dbias.defined()) return;
  T* pdb = dbias.data<T>();
  for (int64_t oc = 0; oc < OC; ++oc) {
    double acc = 0;
    for (int64_t n = 0; n < N; ++n) acc += double(pdy[n * OC + oc]);
    pdb[oc] = T(acc);
  }
}

#define CONVKIT_INSTANTIATE(T)                                                                 \
  template void matmul_forward<T>(Tensor&, const Tensor&, const Tensor&, const MatmulParams&); \
  template void linear_forward<T>(Tensor&, const Tensor&, const Tensor&, const Tensor&);       \
  template void linear_backward_data<T>(Tensor&, const Tensor&, const Tensor&);                \
  template void linear_backward_weights<T>(Tensor&, Tensor&, const Tensor&, const Tensor&);
CONVKIT_INSTANTIATE(float)
CONVKIT_INSTANTIATE(double)
#undef CONVKIT_INSTANTIATE

}  // namespace convkit::ref
