#include "kernels/dnnl/eltwise.h"

#include <bit>
#include <cstdint>

#include "kernels/dnnl/context.h"
#include "kernels/dnnl/layout.h"

namespace convkit::onednn {

namespace {
using dnnl::algorithm;

// The *_use_dst_for_bwd variants compute the same forward; their backward reads dst, not src.
algorithm algorithm_of(const ref::EltwiseParams& p) {
  const bool dst = ref::eltwise_backward_uses_dst(p);
  switch (p.alg) {
    case ref::EltwiseAlg::relu:
      return dst ? algorithm::eltwise_relu_use_dst_for_bwd : algorithm::eltwise_relu;
    case ref::EltwiseAlg::elu:
      return algorithm::eltwise_elu_use_dst_for_bwd;
    case ref::EltwiseAlg::logistic:
      return algorithm::eltwise_logistic_use_dst_for_bwd;
    case ref::EltwiseAlg::tanh:
      return algorithm::eltwise_tanh_use_dst_for_bwd;
    // clip_v2 (not clip): its gradient is 0 at both ends, as PyTorch's hardtanh/relu6.
    case ref::EltwiseAlg::clip:
      return algorithm::eltwise_clip_v2_use_dst_for_bwd;
  }
  return algorithm::undef;
}

// Pointwise: for plain tensors the shape does not matter, so they are described as 1-D [numel]
// and one primitive serves all shapes of the same size. A tensor kept in a oneDNN layout runs in
// that layout (padding included), and the result stays in it.
struct Problem {
  ref::EltwiseParams p;
  dnnl::memory::desc md;
  std::string key(const char* what) const {
    // alpha and beta by their float bits: oneDNN sees floats, and printing would round.
    return detail::concat("eltwise/", what, "/", int(p.alg), "/",
                          std::bit_cast<uint32_t>(float(p.alpha)), "/",
                          std::bit_cast<uint32_t>(float(p.beta)), "/", desc_key(md));
  }
  dnnl::eltwise_forward::primitive_desc forward_pd(bool training = true) const {
    dnnl::eltwise_forward::desc d(
        training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
        algorithm_of(p), md, float(p.alpha), float(p.beta));
    return dnnl::eltwise_forward::primitive_desc(d, engine());
  }
};

dnnl::memory::desc run_desc(const Tensor& t) {
  return t.layout() ? desc_of(t) : plain_desc(Shape{t.numel()});
}
// t's memory in md (the run layout of one of the operands).
dnnl::memory operand(const Tensor& t, const dnnl::memory::desc& md, Tensor& keep) {
  if (!t.layout() && md == plain_desc(Shape{t.numel()})) return wrap(t, md);
  return memory_in(t, md, keep);
}
Tensor result(const Tensor& like, const dnnl::memory::desc& md) {
  return like.layout() || md != plain_desc(Shape{like.numel()}) ? new_tensor(like.shape(), md)
                                                                : Tensor::empty(like.shape());
}
}  // namespace

bool eltwise_accepts(const Tensor& x, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  if (x.numel() == 0) return *why = "empty tensor", false;
  return true;
}

void eltwise_forward(Tensor& y, const Tensor& x, const ref::EltwiseParams& p, bool training) {
  const Problem pr{p, run_desc(x)};
  auto prim =
      cached<dnnl::eltwise_forward>(pr.key(training ? "fwd_training" : "fwd_inference"),
                                    [&] { return dnnl::eltwise_forward(pr.forward_pd(training)); });
  y = result(x, pr.md);
  Tensor keep;
  dnnl::memory src = operand(x, pr.md, keep);
  dnnl::memory dst = y.layout() ? memory_of(y) : wrap(y, pr.md);
  prim->execute(stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  stream().wait();
}

void eltwise_backward(Tensor& dx, const Tensor& dy, const Tensor& saved,
                      const ref::EltwiseParams& p) {
  // Run in whichever operand's oneDNN layout there is (the gradient's first), converting the other.
  const Problem pr{p, dy.layout() ? desc_of(dy) : run_desc(saved)};
  auto prim = cached<dnnl::eltwise_backward>(pr.key("bwd"), [&] {
    dnnl::eltwise_backward::desc d(algorithm_of(p), pr.md, pr.md, float(p.alpha), float(p.beta));
    return dnnl::eltwise_backward(
        dnnl::eltwise_backward::primitive_desc(d, engine(), pr.forward_pd()));
  });
  dx = result(dy, pr.md);
  Tensor keep_saved, keep_dy;
  const int saved_arg = ref::eltwise_backward_uses_dst(p) ? DNNL_ARG_DST : DNNL_ARG_SRC;
  dnnl::memory diff_src = dx.layout() ? memory_of(dx) : wrap(dx, pr.md);
  prim->execute(stream(), {{saved_arg, operand(saved, pr.md, keep_saved)},
                           {DNNL_ARG_DIFF_DST, operand(dy, pr.md, keep_dy)},
                           {DNNL_ARG_DIFF_SRC, diff_src}});
  stream().wait();
}

}  // namespace convkit::onednn
