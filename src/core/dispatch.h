#pragma once
// Internal helpers every op uses to pick a kernel.
#include <functional>
#include <string>
#include <utility>

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

// Runs one kernel of an op: the dnnl kernel when the backend is dnnl and accepts(&why) agrees
// (CONVKIT_VERBOSE=dispatch prints why not), otherwise the reference kernel for `dtype` (float32
// or float64; other dtypes throw naming `op`). Both kernels return the same type (void, or the
// output tensor when the dnnl kernel picks its layout):
//   detail::dispatch("relu", x.dtype(),
//       [&](std::string* why) { return onednn::eltwise_accepts(x, why); },
//       [&] { onednn::eltwise_forward(y, x, p, training); },
//       [&]<class T>() { ref::eltwise_forward<T>(y, x, p); });
template <class Accepts, class Dnnl, class Ref>
decltype(auto) dispatch(const char* op, DType dtype, Accepts&& accepts, Dnnl&& dnnl, Ref&& ref) {
  if (use_dnnl(op, accepts)) return dnnl();
  return dispatch_floating(dtype, op, std::forward<Ref>(ref));
}
// The same for a reference kernel that works on every dtype (copies): ref() is a plain callable.
template <class Accepts, class Dnnl, class Ref>
decltype(auto) dispatch(const char* op, Accepts&& accepts, Dnnl&& dnnl, Ref&& ref) {
  if (use_dnnl(op, accepts)) return dnnl();
  return ref();
}

}  // namespace convkit::detail
