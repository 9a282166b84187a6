// erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt   (std::erf, elementwise)
// d erf / dx = 2/sqrt(pi) * exp(-x^2), built from exp and mul so it needs no backward kernel.
// GELU (Hendrycks & Gimpel 2016) as exported to ONNX is x/2 * (1 + erf(x/sqrt 2)).
#include <cmath>
#include <numbers>

#include "convkit/ops/elementwise.h"
#include "core/dispatch.h"
#include "core/trace.h"

namespace convkit {

Tensor erf(const Tensor& x) {
  CONVKIT_CHECK(x.defined(), "erf: undefined input");
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  detail::dispatch_floating(x.dtype(), "erf", [&]<class T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = std::erf(px[i]);
  });
  const Tensor saved = x.detach();
  autograd::record(y, "erf", {x}, [saved](const Tensor& g, const std::vector<bool>&) {
    return TensorList{g * exp(-(saved * saved)) * (2.0 / std::sqrt(std::numbers::pi))};
  });
  if (detail::tracing()) detail::trace_op("erf", y, {x});
  return y;
}

}  // namespace convkit
