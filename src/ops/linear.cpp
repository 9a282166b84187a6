// Matrix products (docs/derivatives/dense.md).
//   matmul: C = A B                  dA = G B^T,   dB = A^T G    (summed over a broadcast batch)
//   linear: y = x w^T + b            dx = g w,     dw = g^T x,   db = sum_n g
// Saved: matmul keeps both operands; linear keeps x and w (the bias is not needed).
#include "convkit/ops/linear.h"

#include "convkit/autograd.h"
#include "convkit/ops/reduce.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/dnnl/inner_product.h"
#include "kernels/dnnl/matmul.h"
#include "kernels/ref/matmul.h"

namespace convkit {

namespace {

// c = op(a) @ op(b) into a new [B,M,N] tensor, on whichever kernel takes it.
Tensor gemm(const Tensor& a, const Tensor& b, const ref::MatmulParams& p) {
  Tensor c = Tensor::empty({p.B, p.M, p.N}, a.dtype());
  detail::dispatch(
      "matmul", a.dtype(), [&](std::string* why) { return onednn::matmul_accepts(a, b, why); },
      [&] { onednn::matmul_forward(c, a, b, p); },
      [&]<class T>() { ref::matmul_forward<T>(c, a, b, p); });
  return c;
}

ref::MatmulParams matmul_params(const Tensor& a, const Tensor& b) {
  CONVKIT_CHECK(a.defined() && b.defined(), "matmul: undefined operand");
  CONVKIT_CHECK(a.dtype() == b.dtype(), "matmul: dtypes differ (", dtype_name(a.dtype()), " vs ",
                dtype_name(b.dtype()), ", shapes ", shapes_str({&a, &b}), ")");
  CONVKIT_CHECK((a.ndim() == 2 || a.ndim() == 3) && (b.ndim() == 2 || b.ndim() == 3),
                "matmul: expected 2-D or 3-D operands, got shapes ", shapes_str({&a, &b}));
  CONVKIT_CHECK(a.size(-1) == b.size(-2), "matmul: inner sizes differ (", a.size(-1), " vs ",
                b.size(-2), ") for shapes ", shapes_str({&a, &b}));
  const int64_t Ba = a.ndim() == 3 ? a.size(0) : 1, Bb = b.ndim() == 3 ? b.size(0) : 1;
  CONVKIT_CHECK(Ba == Bb || Ba == 1 || Bb == 1, "matmul: batch sizes ", Ba, " and ", Bb,
                " cannot be broadcast for shapes ", shapes_str({&a, &b}));
  ref::MatmulParams p;
  p.B = std::max(Ba, Bb);
  p.M = a.size(-2);
  p.K = a.size(-1);
  p.N = b.size(-1);
  p.a_batched = Ba == p.B;
  p.b_batched = Bb == p.B;
  return p;
}

void check_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  CONVKIT_CHECK(x.defined() && w.defined(), "linear: undefined input or weight");
  CONVKIT_CHECK(w.ndim() == 2, "linear: weight must be [out, in], got ", w.shape().to_string(),
                " (input ", x.shape().to_string(), ")");
  CONVKIT_CHECK(x.ndim() >= 1 && x.size(-1) == w.size(1), "linear: input has ",
                x.ndim() >= 1 ? x.size(-1) : 0, " features but weight expects ", w.size(1),
                " (input ", x.shape().to_string(), ", weight ", w.shape().to_string(), ")");
  CONVKIT_CHECK(x.dtype() == w.dtype(), "linear: dtypes differ (input ", dtype_name(x.dtype()),
                ", weight ", dtype_name(w.dtype()), ")");
  if (!b.defined()) return;
  CONVKIT_CHECK(b.ndim() == 1 && b.size(0) == w.size(0), "linear: bias must be [", w.size(0),
                "], got ", b.shape().to_string(), " (weight ", w.shape().to_string(), ")");
  CONVKIT_CHECK(b.dtype() == w.dtype(), "linear: bias dtype ", dtype_name(b.dtype()),
                " differs from weight dtype ", dtype_name(w.dtype()));
}

// Below this many multiply-adds the reference loop (a few microseconds) beats a oneDNN call, whose
// first use of each shape also JIT-compiles a kernel (milliseconds): a linear head on 32 cached
// features paid more for that than for all its training steps.
constexpr int64_t kSmallLinearMacs = 8192;

auto linear_accepts(const Tensor& x, const Tensor& w, int64_t macs) {
  return [&x, &w, macs](std::string* why) {
    if (macs < kSmallLinearMacs) return *why = "small (the reference loop is faster)", false;
    return onednn::linear_accepts(x, w, why);
  };
}

Tensor linear_backward_data(const Tensor& g, const Tensor& w) {
  Tensor dx = Tensor::empty({g.size(0), w.size(1)}, g.dtype());
  detail::dispatch(
      "linear", g.dtype(), linear_accepts(g, w, g.size(0) * w.size(0) * w.size(1)),
      [&] { onednn::linear_backward_data(dx, g, w); },
      [&]<class T>() { ref::linear_backward_data<T>(dx, g, w); });
  return dx;
}

// Returns {dw, db}; db undefined when !with_bias.
TensorList linear_backward_weights(const Tensor& g, const Tensor& x, bool with_bias) {
  Tensor dw = Tensor::empty({g.size(1), x.size(1)}, g.dtype());
  Tensor db = with_bias ? Tensor::empty({g.size(1)}, g.dtype()) : Tensor();
  detail::dispatch(
      "linear", g.dtype(), linear_accepts(x, g, g.size(0) * g.size(1) * x.size(1)),
      [&] { onednn::linear_backward_weights(dw, db, g, x); },
      [&]<class T>() { ref::linear_backward_weights<T>(dw, db, g, x); });
  return {dw, db};
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const ref::MatmulParams p = matmul_params(a, b);
  Tensor c = gemm(a, b, p);
  if (a.ndim() == 2 && b.ndim() == 2) c = c.reshape({p.M, p.N});  // [1,M,N] -> [M,N]
  // A shared operand (2-D, or batch 1 against a larger batch) gets its gradient summed over B.
  const bool shared_a = !p.a_batched, shared_b = !p.b_batched;
  autograd::record(c, "matmul", {a, b},
                   [a = a.detach(), b = b.detach(), p, shared_a, shared_b](
                       const Tensor& g, const std::vector<bool>& needs) {
                     TensorList grads(2);
                     if (needs[0]) {
                       // dA[b] = G[b] B[b]^T: [B,M,N] x [B,N,K]
                       ref::MatmulParams q{p.B, p.M, p.K, p.N, true, p.b_batched, false, true};
                       Tensor da = gemm(g, b, q);
                       grads[0] = (shared_a ? sum(da, {0}) : da).reshape(a.shape());
                     }
                     if (needs[1]) {
                       Tensor db;
                       if (shared_b) {  // then A is batched
                         // One B for every batch: dB = sum_b A[b]^T G[b] = A'^T G' with
                         // A' = A as [B*M, K] and G' = G as [B*M, N]: one GEMM, no batch sum.
                         db = gemm(a, g, {1, p.K, p.N, p.B * p.M, true, true, true, false});
                       } else {
                         // dB[b] = A[b]^T G[b]: [B,K,M] x [B,M,N]
                         db = gemm(a, g, {p.B, p.K, p.N, p.M, p.a_batched, true, true, false});
                       }
                       grads[1] = db.reshape(b.shape());
                     }
                     return grads;
                   });
  if (detail::tracing()) detail::trace_op("matmul", c, {a, b});
  return c;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_linear(x, w, b);
  if (x.ndim() != 2) {
    // [..., in] -> [prod(...), in]; the output gets x's leading dims back.
    std::vector<int64_t> out_shape = x.shape().vec();
    out_shape.back() = w.size(0);
    return linear(x.reshape({-1, w.size(1)}), w, b).reshape(Shape(out_shape));
  }
  Tensor y = Tensor::empty({x.size(0), w.size(0)}, x.dtype());
  const bool training = autograd::grad_enabled() && (x.requires_grad() || w.requires_grad() ||
                                                     (b.defined() && b.requires_grad()));
  detail::dispatch(
      "linear", x.dtype(), linear_accepts(x, w, x.size(0) * x.size(1) * w.size(0)),
      [&] { onednn::linear_forward(y, x, w, b, training); },
      [&]<class T>() { ref::linear_forward<T>(y, x, w, b); });
  autograd::record(
      y, "linear", {x, w, b},
      [x = x.detach(), w = w.detach()](const Tensor& g, const std::vector<bool>& needs) {
        TensorList grads(3);
        if (needs[0]) grads[0] = linear_backward_data(g, w);
        if (needs[1] || needs[2]) {
          TensorList dwb = linear_backward_weights(g, x, needs[2]);
          if (needs[1]) grads[1] = dwb[0];
          grads[2] = dwb[1];
        }
        return grads;
      });
  if (detail::tracing()) detail::trace_op("linear", y, {x, w, b});
  return y;
}

}  // namespace convkit
