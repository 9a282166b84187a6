#pragma once
// Internal helpers every op uses to pick a kernel.
#include <functional>
#include <string>

#include "convkit/backend.h"
#include "convkit/dtype.h"
#include "convkit/error.h"

namespace convkit::detail {

// True when the dnnl kernel should run: the backend is dnnl and `accepts` returns true. When it
// declines, `accepts` writes why; CONVKIT_VERBOSE=dispatch prints it.
bool use_dnnl(const char* op, const std::function<bool(std::string*)>& accepts);

// Calls f.template operator()<T>() with T = float or double for the dtype; throws for others.
//   dispatch_floating(x.dtype(), "relu", [&]<class T>() { ref::relu_forward<T>(...); });
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32:
      return f.template operator()<float>();
    case DType::f64:
      return f.template operator()<double>();
    default:
      break;
  }
  throw Error(
      concat(op, ": expected a floating-point tensor (float32 or float64), got ", dtype_name(t)));
}

}  // namespace convkit::detail
