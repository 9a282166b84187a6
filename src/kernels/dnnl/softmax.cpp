#include "kernels/dnnl/softmax.h"

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

namespace {
using dnnl::softmax_v2_backward;
using dnnl::softmax_v2_forward;

// Any tensor is described as 3-D [outer, axis, inner] with softmax over axis 1, so one primitive
// serves every shape with the same three sizes.
struct Problem {
  ref::SoftmaxParams p;
  dnnl::algorithm alg() const {
    return p.log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
  }
  dnnl::memory::desc md() const { return plain_desc(Shape{p.outer, p.axis, p.inner}); }
  std::string key(const char* what) const {
    return detail::concat("softmax/", what, "/", p.log, "/", p.outer, "/", p.axis, "/", p.inner);
  }
  softmax_v2_forward::primitive_desc forward_pd(bool training = true) const {
    softmax_v2_forward::desc d(
        training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, alg(),
        md(), md(), /*axis=*/1);
    return softmax_v2_forward::primitive_desc(d, engine());
  }
};
}  // namespace

bool softmax_accepts(const Tensor& x, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  if (x.numel() == 0) return *why = "empty tensor", false;
  return true;
}

void softmax_forward(Tensor& y, const Tensor& x, const ref::SoftmaxParams& p, bool training) {
  const Problem pr{p};
  auto prim = cached<softmax_v2_forward>(pr.key(training ? "fwd_training" : "fwd_inference"), [&] {
    return softmax_v2_forward(pr.forward_pd(training));
  });
  prim->execute(stream(), {{DNNL_ARG_SRC, wrap(x, pr.md())}, {DNNL_ARG_DST, wrap(y, pr.md())}});
  stream().wait();
}

void softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, const ref::SoftmaxParams& p) {
  const Problem pr{p};
  auto prim = cached<softmax_v2_backward>(pr.key("bwd"), [&] {
    softmax_v2_backward::desc d(pr.alg(), pr.md(), pr.md(), pr.md(), /*axis=*/1);
    return softmax_v2_backward(softmax_v2_backward::primitive_desc(d, engine(), pr.forward_pd()));
  });
  prim->execute(stream(), {{DNNL_ARG_DST, wrap(y, pr.md())},
                           {DNNL_ARG_DIFF_DST, wrap(dy, pr.md())},
                           {DNNL_ARG_DIFF_SRC, wrap(dx, pr.md())}});
  stream().wait();
}

}  // namespace convkit::onednn
