#include "kernels/dnnl/sum.h"

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

bool add_accepts(const Tensor& a, const Tensor& b, std::string* why) {
  if (a.dtype() != DType::f32 || b.dtype() != DType::f32) return *why = "not float32", false;
  if (!(a.shape() == b.shape())) return *why = "broadcasting", false;
  if (a.numel() < 4096) return *why = "too small to pay for a primitive call", false;
  return true;
}

void add_forward(Tensor& y, const Tensor& a, const Tensor& b) {
  dnnl::memory::desc md = plain_desc(a.shape());
  auto prim = cached<dnnl::sum>("sum/" + a.shape().to_string(), [&] {
    return dnnl::sum(dnnl::sum::primitive_desc({1.f, 1.f}, {md, md}, engine()));
  });
  dnnl::memory ma = wrap(a, md), mb = wrap(b, md), my = wrap(y, md);
  prim->execute(stream(), {{DNNL_ARG_MULTIPLE_SRC + 0, ma}, {DNNL_ARG_MULTIPLE_SRC + 1, mb},
                           {DNNL_ARG_DST, my}});
  stream().wait();
}

}  // namespace convkit::onednn
