#include "kernels/ref/loss.h"

#include <cmath>

namespace convkit::ref {

namespace {
// log(1 + e^-x) without overflow for any x.
double softplus_neg(double x) { return std::max(-x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
// 1 / (1 + e^x) without overflow for any x.
double sigmoid_neg(double x) {
  const double e = std::exp(-std::abs(x));
  return x >= 0 ? e / (1 + e) : 1 / (1 + e);
}
}  // namespace

template <class T>
void cross_entropy_forward(Tensor& loss, const Tensor& logp, const Tensor& target, double eps,
                           const SoftmaxParams& p) {
  const int64_t C = p.axis, I = p.inner;
  const int64_t* pt = target.data<int64_t>();
  const T* plp = logp.data<T>();
  T* pl = loss.data<T>();
  for (int64_t n = 0; n < p.outer; ++n) {
    for (int64_t i = 0; i < I; ++i) {
      const T* row = plp + n * C * I + i;  // row[c * I], c in [0, C)
      const int64_t label = pt[n * I + i];
      double sum_logp = 0;
      if (eps != 0)
        for (int64_t c = 0; c < C; ++c) sum_logp += double(row[c * I]);
      pl[n * I + i] = T(-(1 - eps) * double(row[label * I]) - eps / double(C) * sum_logp);
    }
  }
}

template <class T>
void cross_entropy_backward(Tensor& dlogits, const Tensor& g, const Tensor& probs,
                            const Tensor& target, double eps, const SoftmaxParams& p) {
  const int64_t C = p.axis, I = p.inner;
  const int64_t* pt = target.data<int64_t>();
  const T* pp = probs.data<T>();
  const T* pg = g.data<T>();
  T* pd = dlogits.data<T>();
  const double smooth = eps / double(C);
  for (int64_t n = 0; n < p.outer; ++n) {
    for (int64_t i = 0; i < I; ++i) {
      const int64_t label = pt[n * I + i];
      const double gn = double(pg[n * I + i]);
      for (int64_t c = 0; c < C; ++c) {
        const int64_t k = (n * C + c) * I + i;
        const double q = (c == label ? 1 - eps : 0.0) + smooth;
        pd[k] = T(gn * (double(pp[k]) - q));
      }
    }
  }
}

template <class T>
void soft_cross_entropy_forward(Tensor& loss, const Tensor& logp, const Tensor& target,
                                const SoftmaxParams& p) {
  const int64_t C = p.axis, I = p.inner;
  const T* plp = logp.data<T>();
  const T* pt = target.data<T>();
  T* pl = loss.data<T>();
  for (int64_t n = 0; n < p.outer; ++n) {
    for (int64_t i = 0; i < I; ++i) {
      double acc = 0;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t k = (n * C + c) * I + i;
        acc -= double(pt[k]) * double(plp[k]);
      }
      pl[n * I + i] = T(acc);
    }
  }
}

template <class T>
void soft_cross_entropy_backward(Tensor& dlogits, Tensor& dtarget, const Tensor& g,
                                 const Tensor& probs, const Tensor& logp, const Tensor& target,
                                 const SoftmaxParams& p) {
  const int64_t C = p.axis, I = p.inner;
  const T* pp = probs.data<T>();
  const T* plp = logp.data<T>();
  const T* pt = target.data<T>();
  const T* pg = g.data<T>();
  T* pdl = dlogits.defined() ? dlogits.data<T>() : nullptr;
  T* pdt = dtarget.defined() ? dtarget.data<T>() : nullptr;
  for (int64_t n = 0; n < p.outer; ++n) {
    for (int64_t i = 0; i < I; ++i) {
      const double gn = double(pg[n * I + i]);
      double mass = 0;  // sum_c t_c
      for (int64_t c = 0; c < C; ++c) mass += double(pt[(n * C + c) * I + i]);
      for (int64_t c = 0; c < C; ++c) {
        const int64_t k = (n * C + c) * I + i;
        if (pdl) pdl[k] = T(gn * (double(pp[k]) * mass - double(pt[k])));
        if (pdt) pdt[k] = T(-gn * double(plp[k]));
      }
    }
  }
}

template <class T>
void smooth_l1_forward(Tensor& loss, const Tensor& pred, const Tensor& target, double beta) {
  const T* pp = pred.data<T>();
  const T* pt = target.data<T>();
  T* pl = loss.data<T>();
  for (int64_t k = 0; k < pred.numel(); ++k) {
    const double d = double(pp[k]) - double(pt[k]), a = std::abs(d);
    pl[k] = T(a < beta ? 0.5 * d * d / beta : a - 0.5 * beta);
  }
}

template <class T>
void smooth_l1_backward(Tensor& dpred, const Tensor& g, const Tensor& pred, const Tensor& target,
                        double beta) {
  const T* pp = pred.data<T>();
  const T* pt = target.data<T>();
  const T* pg = g.data<T>();
  T* pd = dpred.data<T>();
  for (int64_t k = 0; k < pred.numel(); ++k) {
    const double d = double(pp[k]) - double(pt[k]);
    const double slope = std::abs(d) < beta ? d / beta : double((d > 0) - (d < 0));
    pd[k] = T(double(pg[k]) * slope);
  }
}

template <class T>
void bce_with_logits_forward(Tensor& loss, const Tensor& x, const Tensor& t,
                             const Tensor& pos_weight) {
  const T* px = x.data<T>();
  const T* pt = t.data<T>();
  const T* pw = pos_weight.defined() ? pos_weight.data<T>() : nullptr;
  T* pl = loss.data<T>();
  for (int64_t k = 0; k < x.numel(); ++k) {
    const double xv = double(px[k]), tv = double(pt[k]);
    const double w = pw ? 1 + (double(pw[k]) - 1) * tv : 1.0;
    pl[k] = T((1 - tv) * xv + w * softplus_neg(xv));
  }
}

template <class T>
void bce_with_logits_backward(Tensor& dx, Tensor& dt, const Tensor& g, const Tensor& x,
                              const Tensor& t, const Tensor& pos_weight) {
  const T* px = x.data<T>();
  const T* pt = t.data<T>();
  const T* pg = g.data<T>();
  const T* pw = pos_weight.defined() ? pos_weight.data<T>() : nullptr;
  T* pdx = dx.defined() ? dx.data<T>() : nullptr;
  T* pdt = dt.defined() ? dt.data<T>() : nullptr;
  for (int64_t k = 0; k < x.numel(); ++k) {
    const double xv = double(px[k]), tv = double(pt[k]), gv = double(pg[k]);
    const double pwv = pw ? double(pw[k]) : 1.0;
    const double w = 1 + (pwv - 1) * tv;
    if (pdx) pdx[k] = T(gv * ((1 - tv) - w * sigmoid_neg(xv)));
    if (pdt) pdt[k] = T(gv * (-xv + (pwv - 1) * softplus_neg(xv)));
  }
}

#define CONVKIT_INSTANTIATE(T)                                                                    \
  template void cross_entropy_forward<T>(Tensor&, const Tensor&, const Tensor&, double,           \
                                         const SoftmaxParams&);                                   \
  template void cross_entropy_backward<T>(Tensor&, const Tensor&, const Tensor&, const Tensor&,   \
                                          double, const SoftmaxParams&);                          \
  template void soft_cross_entropy_forward<T>(Tensor&, const Tensor&, const Tensor&,              \
                                              const SoftmaxParams&);                              \
  template void soft_cross_entropy_backward<T>(Tensor&, Tensor&, const Tensor&, const Tensor&,    \
                                               const Tensor&, const Tensor&,                      \
                                               const SoftmaxParams&);                             \
  template void smooth_l1_forward<T>(Tensor&, const Tensor&, const Tensor&, double);              \
  template void smooth_l1_backward<T>(Tensor&, const Tensor&, const Tensor&, const Tensor&,       \
                                      double);                                                    \
  template void bce_with_logits_forward<T>(Tensor&, const Tensor&, const Tensor&, const Tensor&); \
  template void bce_with_logits_backward<T>(Tensor&, Tensor&, const Tensor&, const Tensor&,       \
                                            const Tensor&, const Tensor&);
CONVKIT_INSTANTIATE(float)
CONVKIT_INSTANTIATE(double)
#undef CONVKIT_INSTANTIATE

}  // namespace convkit::ref
