// Batch normalization, per channel c over its M = N*S values x_i (Ioffe & Szegedy 2015, Alg. 1):
//   mu = 1/M sum x_i,  var = 1/M sum (x_i - mu)^2,  xhat_i = (x_i - mu) * istd,  istd =
//   1/sqrt(var+eps) y_i = gamma * xhat_i + beta
// Backward (training, mu and var depend on x):
//   dbeta = sum dy_i,  dgamma = sum dy_i xhat_i
//   dx_i  = gamma * istd / M * (M dy_i - dbeta - xhat_i * dgamma)
// Backward with global stats (mu, var constants): dx_i = gamma * istd * dy_i, same dgamma, dbeta.
#include "kernels/ref/batch_norm.h"

#include <cmath>

namespace convkit::ref {

namespace {
struct Dims {
  int64_t N, C, S;
};
Dims dims_of(const Tensor& x) {
  return {x.size(0), x.size(1), x.ndim() == 4 ? x.size(2) * x.size(3) : 1};
}
}  // namespace

template <class T>
void batch_norm_forward(Tensor& y, Tensor& mean, Tensor& var, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const BatchNormParams& p) {
  const Dims d = dims_of(x);  // not a structured binding: clang 14 cannot share one with OpenMP
  const int64_t N = d.N, C = d.C, S = d.S;
  const double M = double(N * S);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  T* pmean = mean.data<T>();
  T* pvar = var.data<T>();
  const T* pw = weight.defined() ? weight.data<T>() : nullptr;
  const T* pbias = bias.defined() ? bias.data<T>() : nullptr;
#pragma omp parallel for if (N * C * S > 65536)
  for (int64_t c = 0; c < C; ++c) {
    if (!p.use_global_stats) {
      // Two passes (mean, then squared deviations) in double: no cancellation.
      double s = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) s += px[(n * C + c) * S + i];
      const double mu = s / M;
      double ss = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) {
          const double d = px[(n * C + c) * S + i] - mu;
          ss += d * d;
        }
      pmean[c] = T(mu);
      pvar[c] = T(ss / M);
    }
    const double mu = pmean[c];
    const double istd = 1.0 / std::sqrt(double(pvar[c]) + p.eps);
    const double gamma = pw ? double(pw[c]) : 1.0;
    const double beta = pbias ? double(pbias[c]) : 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t at = (n * C + c) * S + i;
        py[at] = T((px[at] - mu) * istd * gamma + beta);
      }
  }
}

template <class T>
void batch_norm_backward(Tensor& dx, Tensor& dweight, Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, const BatchNormParams& p) {
  const Dims d = dims_of(x);  // not a structured binding: clang 14 cannot share one with OpenMP
  const int64_t N = d.N, C = d.C, S = d.S;
  const double M = double(N * S);
  const T* px = x.data<T>();
  const T* pdy = dy.data<T>();
  const T* pmean = mean.data<T>();
  const T* pvar = var.data<T>();
  const T* pw = weight.defined() ? weight.data<T>() : nullptr;
  T* pdx = dx.defined() ? dx.data<T>() : nullptr;
  T* pdw = dweight.defined() ? dweight.data<T>() : nullptr;
  T* pdb = dbias.defined() ? dbias.data<T>() : nullptr;
#pragma omp parallel for if (N * C * S > 65536)
  for (int64_t c = 0; c < C; ++c) {
    const double mu = pmean[c];
    const double istd = 1.0 / std::sqrt(double(pvar[c]) + p.eps);
    const double gamma = pw ? double(pw[c]) : 1.0;
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t at = (n * C + c) * S + i;
        sum_dy += pdy[at];
        sum_dy_xhat += pdy[at] * (px[at] - mu) * istd;
      }
    if (pdb) pdb[c] = T(sum_dy);
    if (pdw) pdw[c] = T(sum_dy_xhat);
    if (!pdx) continue;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t at = (n * C + c) * S + i;
        if (p.use_global_stats) {
          pdx[at] = T(gamma * istd * pdy[at]);
        } else {
          const double xhat = (px[at] - mu) * istd;
          pdx[at] = T(gamma * istd / M * (M * pdy[at] - sum_dy - xhat * sum_dy_xhat));
        }
      }
  }
}

template void batch_norm_forward<float>(Tensor&, Tensor&, Tensor&, const Tensor&, const Tensor&,
                                        const Tensor&, const BatchNormParams&);
template void batch_norm_forward<double>(Tensor&, Tensor&, Tensor&, const Tensor&, const Tensor&,
                                         const Tensor&, const BatchNormParams&);
template void batch_norm_backward<float>(Tensor&, Tensor&, Tensor&, const Tensor&, const Tensor&,
                                         const Tensor&, const Tensor&, const Tensor&,
                                         const BatchNormParams&);
template void batch_norm_backward<double>(Tensor&, Tensor&, Tensor&, const Tensor&, const Tensor&,
                                          const Tensor&, const Tensor&, const Tensor&,
                                          const BatchNormParams&);

}  // namespace convkit::ref
