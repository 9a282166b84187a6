// Elementwise arithmetic.
//   add: y = a + b        da = g,          db = g
//   sub: y = a - b        da = g,          db = -g
//   mul: y = a * b        da = g * b,      db = g * a
//   div: y = a / b        da = g / b,      db = -g * a / b^2
// Each gradient is summed back to its operand's shape (sum_to) when the operand was broadcast.
// Unary: exp' = y, log' = 1/x, sqrt' = 1/(2y), abs' = sign(x), pow' = p x^(p-1).
#include "convkit/ops/elementwise.h"

#include <cmath>

#include "convkit/autograd.h"
#include "convkit/ops/reduce.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/dnnl/sum.h"
#include "kernels/ref/elementwise.h"

namespace convkit {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int nd = std::max(a.ndim(), b.ndim());
  std::vector<int64_t> out(nd);
  for (int d = 0; d < nd; ++d) {
    int ka = a.ndim() - nd + d, kb = b.ndim() - nd + d;
    int64_t sa = ka >= 0 ? a[ka] : 1, sb = kb >= 0 ? b[kb] : 1;
    CONVKIT_CHECK(sa == sb || sa == 1 || sb == 1, op, ": shapes ", a.to_string(), " and ",
                  b.to_string(), " cannot be broadcast (dimension ", d, ": ", sa, " vs ", sb, ")");
    out[d] = std::max(sa, sb);
  }
  return Shape(out);
}

namespace {
void check_binary(const Tensor& a, const Tensor& b, const char* op) {
  CONVKIT_CHECK(a.defined() && b.defined(), op, ": undefined operand");
  CONVKIT_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), " vs ",
                dtype_name(b.dtype()), ", shapes ", shapes_str({&a, &b}), ")");
}

Tensor binary_raw(const Tensor& a, const Tensor& b, ref::BinaryOp op, const char* name) {
  check_binary(a, b, name);
  Tensor y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype());
  auto ref_kernel = [&]<class T>() { ref::binary_forward<T>(y, a, b, op); };
  if (op != ref::BinaryOp::add) {  // oneDNN's sum primitive serves add only
    detail::dispatch_floating(a.dtype(), name, ref_kernel);
    return y;
  }
  detail::dispatch(
      name, a.dtype(), [&](std::string* why) { return onednn::add_accepts(a, b, why); },
      [&] { onednn::add_forward(y, a, b); }, ref_kernel);
  return y;
}

// Applies f elementwise into a new tensor of x's shape.
template <class F>
Tensor unary_raw(const Tensor& x, const char* name, F f) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  detail::dispatch_floating(x.dtype(), name, [&]<class T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = T(f(double(px[i])));
  });
  return y;
}
}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int nd = g.ndim();
  std::vector<int> dims;
  for (int d = 0; d < nd; ++d) {
    int k = shape.ndim() - nd + d;
    if (k < 0 || (shape[k] == 1 && g.shape()[d] != 1)) dims.push_back(d);
  }
  return sum(g, dims, /*keepdim=*/true).reshape(shape);
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(a, b, ref::BinaryOp::add, "add");
  if (detail::tracing()) detail::trace_op("add", y, {a, b});
  Shape sa = a.shape(), sb = b.shape();
  autograd::record(y, "add", {a, b}, [sa, sb](const Tensor& g, const std::vector<bool>& needs) {
    return TensorList{needs[0] ? sum_to(g, sa) : Tensor(), needs[1] ? sum_to(g, sb) : Tensor()};
  });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(a, b, ref::BinaryOp::sub, "sub");
  if (detail::tracing()) detail::trace_op("sub", y, {a, b});
  Shape sa = a.shape(), sb = b.shape();
  autograd::record(y, "sub", {a, b}, [sa, sb](const Tensor& g, const std::vector<bool>& needs) {
    return TensorList{needs[0] ? sum_to(g, sa) : Tensor(),
                      needs[1] ? sum_to(neg(g), sb) : Tensor()};
  });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(a, b, ref::BinaryOp::mul, "mul");
  if (detail::tracing()) detail::trace_op("mul", y, {a, b});
  autograd::record(y, "mul", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& needs) {
    return TensorList{needs[0] ? sum_to(mul(g, b.detach()), a.shape()) : Tensor(),
                      needs[1] ? sum_to(mul(g, a.detach()), b.shape()) : Tensor()};
  });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = binary_raw(a, b, ref::BinaryOp::div, "div");
  if (detail::tracing()) detail::trace_op("div", y, {a, b});
  autograd::record(y, "div", {a, b}, [a, b](const Tensor& g, const std::vector<bool>& needs) {
    Tensor ad = a.detach(), bd = b.detach();
    return TensorList{needs[0] ? sum_to(div(g, bd), a.shape()) : Tensor(),
                      needs[1] ? sum_to(neg(div(mul(g, ad), mul(bd, bd))), b.shape()) : Tensor()};
  });
  return y;
}

Tensor add(const Tensor& a, double s) {
  Tensor y = unary_raw(a, "add", [s](double v) { return v + s; });
  if (detail::tracing()) detail::trace_op("add_scalar", y, {a}, ScalarParams{s});
  autograd::record(y, "add_scalar", {a},
                   [](const Tensor& g, const std::vector<bool>&) { return TensorList{g}; });
  return y;
}

Tensor mul(const Tensor& a, double s) {
  Tensor y = unary_raw(a, "mul", [s](double v) { return v * s; });
  if (detail::tracing()) detail::trace_op("mul_scalar", y, {a}, ScalarParams{s});
  autograd::record(y, "mul_scalar", {a}, [s](const Tensor& g, const std::vector<bool>&) {
    return TensorList{mul(g, s)};
  });
  return y;
}

Tensor neg(const Tensor& a) { return mul(a, -1.0); }

Tensor exp(const Tensor& a) {
  Tensor y = unary_raw(a, "exp", [](double v) { return std::exp(v); });
  if (detail::tracing()) detail::trace_op("exp", y, {a});
  Tensor ys = y.detach();
  autograd::record(y, "exp", {a}, [ys](const Tensor& g, const std::vector<bool>&) {
    return TensorList{mul(g, ys)};
  });
  return y;
}

Tensor log(const Tensor& a) {
  Tensor y = unary_raw(a, "log", [](double v) { return std::log(v); });
  if (detail::tracing()) detail::trace_op("log", y, {a});
  autograd::record(y, "log", {a}, [a](const Tensor& g, const std::vector<bool>&) {
    return TensorList{div(g, a.detach())};
  });
  return y;
}

Tensor sqrt(const Tensor& a) {
  Tensor y = unary_raw(a, "sqrt", [](double v) { return std::sqrt(v); });
  if (detail::tracing()) detail::trace_op("sqrt", y, {a});
  Tensor ys = y.detach();
  autograd::record(y, "sqrt", {a}, [ys](const Tensor& g, const std::vector<bool>&) {
    return TensorList{div(g, mul(ys, 2.0))};
  });
  return y;
}

Tensor abs(const Tensor& a) {
  Tensor y = unary_raw(a, "abs", [](double v) { return std::abs(v); });
  if (detail::tracing()) detail::trace_op("abs", y, {a});
  autograd::record(y, "abs", {a}, [a](const Tensor& g, const std::vector<bool>&) {
    Tensor sign = unary_raw(a, "abs", [](double v) { return double((v > 0) - (v < 0)); });
    return TensorList{mul(g, sign)};
  });
  return y;
}

Tensor pow(const Tensor& a, double p) {
  Tensor y = unary_raw(a, "pow", [p](double v) { return std::pow(v, p); });
  if (detail::tracing()) detail::trace_op("pow", y, {a}, ScalarParams{p});
  autograd::record(y, "pow", {a}, [a, p](const Tensor& g, const std::vector<bool>&) {
    Tensor d = unary_raw(a, "pow", [p](double v) { return p * std::pow(v, p - 1); });
    return TensorList{mul(g, d)};
  });
  return y;
}

}  // namespace convkit
