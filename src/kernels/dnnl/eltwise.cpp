#include "kernels/dnnl/eltwise.h"

#include <bit>
#include <cstdint>

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

namespace {
using dnnl::algorithm;

// The *_use_dst_for_bwd variants compute the same forward; their backward reads dst, not src.
algorithm algorithm_of(const ref::EltwiseParams& p) {
  const bool dst = ref::eltwise_backward_uses_dst(p);
  switch (p.alg) {
    case ref::EltwiseAlg::relu:
      return dst ? algorithm::eltwise_relu_use_dst_for_bwd : algorithm::eltwise_relu;
    case ref::EltwiseAlg::elu: return algorithm::eltwise_elu_use_dst_for_bwd;
    case ref::EltwiseAlg::logistic: return algorithm::eltwise_logistic_use_dst_for_bwd;
    case ref::EltwiseAlg::tanh: return algorithm::eltwise_tanh_use_dst_for_bwd;
    // clip_v2 (not clip): its gradient is 0 at both ends, as PyTorch's hardtanh/relu6.
    case ref::EltwiseAlg::clip: return algorithm::eltwise_clip_v2_use_dst_for_bwd;
  }
  return algorithm::undef;
}

// Pointwise: the shape does not matter, so every tensor is described as 1-D [numel] and one
// primitive serves all shapes of the same size.
struct Problem {
  ref::EltwiseParams p;
  int64_t n;
  dnnl::memory::desc md() const { return plain_desc(Shape{n}); }
  std::string key(const char* what) const {
    // alpha and beta by their float bits: oneDNN sees floats, and printing would round.
    return detail::concat("eltwise/", what, "/", int(p.alg), "/", std::bit_cast<uint32_t>(float(p.alpha)),
                          "/", std::bit_cast<uint32_t>(float(p.beta)), "/", n);
  }
  dnnl::eltwise_forward::primitive_desc forward_pd(bool training = true) const {
    dnnl::eltwise_forward::desc d(training ? dnnl::prop_kind::forward_training
                                           : dnnl::prop_kind::forward_inference,
                                  algorithm_of(p), md(),
                                  float(p.alpha), float(p.beta));
    return dnnl::eltwise_forward::primitive_desc(d, engine());
  }
};
}  // namespace

bool eltwise_accepts(const Tensor& x, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  if (x.numel() == 0) return *why = "empty tensor", false;
  return true;
}

void eltwise_forward(Tensor& y, const Tensor& x, const ref::EltwiseParams& p, bool training) {
  const Problem pr{p, x.numel()};
  auto prim = cached<dnnl::eltwise_forward>(pr.key(training ? "fwd_training" : "fwd_inference"), [&] {
    return dnnl::eltwise_forward(pr.forward_pd(training));
  });
  prim->execute(stream(), {{DNNL_ARG_SRC, wrap(x, pr.md())}, {DNNL_ARG_DST, wrap(y, pr.md())}});
  stream().wait();
}

void eltwise_backward(Tensor& dx, const Tensor& dy, const Tensor& saved, const ref::EltwiseParams& p) {
  const Problem pr{p, dy.numel()};
  auto prim = cached<dnnl::eltwise_backward>(pr.key("bwd"), [&] {
    dnnl::eltwise_backward::desc d(algorithm_of(p), pr.md(), pr.md(), float(p.alpha), float(p.beta));
    return dnnl::eltwise_backward(
        dnnl::eltwise_backward::primitive_desc(d, engine(), pr.forward_pd()));
  });
  const int saved_arg = ref::eltwise_backward_uses_dst(p) ? DNNL_ARG_DST : DNNL_ARG_SRC;
  prim->execute(stream(), {{saved_arg, wrap(saved, pr.md())},
                           {DNNL_ARG_DIFF_DST, wrap(dy, pr.md())},
                           {DNNL_ARG_DIFF_SRC, wrap(dx, pr.md())}});
  stream().wait();
}

}  // namespace convkit::onednn
