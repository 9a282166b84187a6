#pragma once
// Reference pointwise activation kernels (oneDNN's eltwise algorithms, same alpha/beta meaning).
#include "convkit/tensor.h"

namespace convkit::ref {

enum class EltwiseAlg {
  relu,      // x > 0 ? x : alpha * x          (alpha: negative slope; 0 for plain relu)
  elu,       // x > 0 ? x : alpha * (e^x - 1)
  logistic,  // 1 / (1 + e^-x)
  tanh,      // tanh(x)
  clip,      // min(max(x, alpha), beta); gradient 1 strictly inside (alpha, beta)
};

struct EltwiseParams {
  EltwiseAlg alg = EltwiseAlg::relu;
  double alpha = 0, beta = 0;
};

// True when dx can be computed from y alone; backward then gets y as `saved` (x otherwise), so
// the op can let x go. False only for relu with a negative slope (y > 0 no longer tells x's sign).
bool eltwise_backward_uses_dst(const EltwiseParams& p);

template <class T>
void eltwise_forward(Tensor& y, const Tensor& x, const EltwiseParams& p);
// dx = dy * f'(x), with f' written in terms of `saved` (y or x, see eltwise_backward_uses_dst).
template <class T>
void eltwise_backward(Tensor& dx, const Tensor& dy, const Tensor& saved, const EltwiseParams& p);

}  // namespace convkit::ref
