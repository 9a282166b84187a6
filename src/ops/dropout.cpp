// Inverted dropout (Srivastava et al. 2014; scaling at training time as in PyTorch):
//   y = x * m,  m_i = 0 with probability p, else 1/(1-p)      dx = dy * m
// Built as mul(x, mask): the mask is a constant, so mul's backward is exactly dy * m and no
// hand-written backward is needed. dropout2d draws one m per (n, c) ([N, C, 1, 1]) and lets the
// multiplication broadcast it over H, W. Saved: the mask (by mul).
#include "convkit/ops/dropout.h"

#include "convkit/ops/elementwise.h"
#include "convkit/random.h"
#include "core/dispatch.h"

namespace convkit {

namespace {

void check_p(double p, const char* op, const Tensor& x) {
  CONVKIT_CHECK(x.defined(), op, ": x is undefined");
  CONVKIT_CHECK(p >= 0 && p <= 1, op, ": p must be in [0, 1], got ", p, " (x ",
                x.shape().to_string(), ")");
}

// One uniform draw per element, in row-major order, so a re-seeded generator gives the same mask.
Tensor bernoulli_mask(const Shape& shape, DType dtype, double p, Generator* gen, const char* op) {
  Generator& g = gen ? *gen : default_generator();
  Tensor mask = Tensor::empty(shape, dtype);
  const double keep_scale = 1.0 / (1.0 - p);
  detail::dispatch_floating(dtype, op, [&]<class T>() {
    T* m = mask.data<T>();
    for (int64_t i = 0; i < mask.numel(); ++i) m[i] = g.uniform() < p ? T(0) : T(keep_scale);
  });
  return mask;
}

Tensor apply_dropout(const Tensor& x, double p, bool training, Generator* gen,
                     const Shape& mask_shape, const char* op) {
  if (!training || p == 0) return x;
  if (p == 1) return mul(x, Tensor::zeros(mask_shape, x.dtype()));
  return mul(x, bernoulli_mask(mask_shape, x.dtype(), p, gen, op));
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_p(p, "dropout", x);
  return apply_dropout(x, p, training, gen, x.shape(), "dropout");
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
  check_p(p, "dropout2d", x);
  CONVKIT_CHECK(x.ndim() == 4, "dropout2d: x must be [N, C, H, W], got ", x.shape().to_string());
  // [N, C, 1, 1]: one keep/drop decision per feature map, broadcast over H, W.
  return apply_dropout(x, p, training, gen, Shape({x.size(0), x.size(1), 1, 1}), "dropout2d");
}

}  // namespace convkit
