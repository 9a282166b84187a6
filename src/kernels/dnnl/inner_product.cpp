#include "kernels/dnnl/inner_product.h"

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

namespace {
using dnnl::inner_product_backward_data;
using dnnl::inner_product_backward_weights;
using dnnl::inner_product_forward;

struct Problem {
  int64_t N, IC, OC;
  bool bias;
  std::string key(const char* what) const {
    return detail::concat("inner_product/", what, "/", N, "/", IC, "/", OC, "/", bias);
  }
  dnnl::memory::desc src() const { return plain_desc(Shape{N, IC}); }
  dnnl::memory::desc weights() const { return plain_desc(Shape{OC, IC}); }
  dnnl::memory::desc bias_md() const { return plain_desc(Shape{OC}); }
  dnnl::memory::desc dst() const { return plain_desc(Shape{N, OC}); }
  // Backward primitives need the forward one as a hint.
  inner_product_forward::primitive_desc forward_pd(bool training = true) const {
    const auto pk =
        training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    auto d = bias ? inner_product_forward::desc(pk, src(), weights(), bias_md(), dst())
                  : inner_product_forward::desc(pk, src(), weights(), dst());
    return inner_product_forward::primitive_desc(d, engine());
  }
};
}  // namespace

bool linear_accepts(const Tensor& x, const Tensor& w, std::string* why) {
  if (x.dtype() != DType::f32 || w.dtype() != DType::f32) return *why = "not float32", false;
  if (x.numel() == 0 || w.numel() == 0) return *why = "empty operand", false;
  return true;
}

void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias,
                    bool training) {
  const Problem p{x.size(0), x.size(1), w.size(0), bias.defined()};
  auto prim =
      cached<inner_product_forward>(p.key(training ? "fwd_training" : "fwd_inference"),
                                    [&] { return inner_product_forward(p.forward_pd(training)); });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(x, p.src())},
                                             {DNNL_ARG_WEIGHTS, wrap(w, p.weights())},
                                             {DNNL_ARG_DST, wrap(y, p.dst())}};
  if (p.bias) args.emplace(DNNL_ARG_BIAS, wrap(bias, p.bias_md()));
  prim->execute(stream(), args);
  stream().wait();
}

void linear_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w) {
  // The bias does not change dx; the bias-free forward hint serves both layers.
  const Problem p{dy.size(0), w.size(1), w.size(0), false};
  auto prim = cached<inner_product_backward_data>(p.key("bwd_data"), [&] {
    inner_product_backward_data::desc d(p.src(), p.weights(), p.dst());
    return inner_product_backward_data(
        inner_product_backward_data::primitive_desc(d, engine(), p.forward_pd()));
  });
  prim->execute(stream(), {{DNNL_ARG_DIFF_DST, wrap(dy, p.dst())},
                           {DNNL_ARG_WEIGHTS, wrap(w, p.weights())},
                           {DNNL_ARG_DIFF_SRC, wrap(dx, p.src())}});
  stream().wait();
}

void linear_backward_weights(Tensor& dw, Tensor& dbias, const Tensor& dy, const Tensor& x) {
  const Problem p{x.size(0), x.size(1), dy.size(1), dbias.defined()};
  auto prim = cached<inner_product_backward_weights>(p.key("bwd_weights"), [&] {
    auto d = p.bias
                 ? inner_product_backward_weights::desc(p.src(), p.weights(), p.bias_md(), p.dst())
                 : inner_product_backward_weights::desc(p.src(), p.weights(), p.dst());
    return inner_product_backward_weights(
        inner_product_backward_weights::primitive_desc(d, engine(), p.forward_pd()));
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(x, p.src())},
                                             {DNNL_ARG_DIFF_DST, wrap(dy, p.dst())},
                                             {DNNL_ARG_DIFF_WEIGHTS, wrap(dw, p.weights())}};
  if (p.bias) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(dbias, p.bias_md()));
  prim->execute(stream(), args);
  stream().wait();
}

}  // namespace convkit::onednn
