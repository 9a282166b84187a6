#include "kernels/dnnl/fused_conv.h"

#include "kernels/dnnl/context.h"
#include "kernels/dnnl/layout.h"

namespace convkit::onednn {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct FusedConv::Impl {
  detail::ConvProblem p;
  bool sum = false;
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory weights, bias;  // owned by the primitive's plan, in the chosen layout / plain
  Tensor weight_keep, bias_keep;
};

FusedConv::FusedConv(const FusedConvSpec& s) : impl_(std::make_unique<Impl>()) {
  const detail::ConvProblem& p = s.problem;
  Impl& m = *impl_;
  m.p = p;
  m.sum = s.sum;
  const memory::dims src{p.N, p.IC, p.IH, p.IW}, dst{p.N, p.OC, p.OH, p.OW};
  const memory::dims wei = p.G == 1 ? memory::dims{p.OC, p.IC, p.KH, p.KW}
                                    : memory::dims{p.G, p.OCg(), p.ICg(), p.KH, p.KW};
  try {
    dnnl::post_ops po;
    if (s.sum) po.append_sum(1.0f);
    switch (s.activation) {
      case PostActivation::none:
        break;
      case PostActivation::relu:
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        break;
      case PostActivation::leaky_relu:
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, float(s.alpha), 0.0f);
        break;
      case PostActivation::relu6:
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
        break;
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    const memory::desc bias_md =
        s.bias.defined() ? memory::desc({p.OC}, dt::f32, tag::x) : memory::desc();
    const dt compute = s.bf16 ? dt::bf16 : dt::f32;
    dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        memory::desc(src, compute, tag::any), memory::desc(wei, compute, tag::any), bias_md,
        memory::desc(dst, dt::f32, tag::any), {p.SH, p.SW}, {p.DH - 1, p.DW - 1}, {p.PT, p.PL},
        {p.PB, p.PR});
    m.pd = dnnl::convolution_forward::primitive_desc(d, attr, engine());
    m.prim = dnnl::convolution_forward(m.pd);
    // The weights once, in the primitive's layout; the folded tensors are kept alive with them.
    m.weight_keep = s.weight;  // the planner passes fresh plain tensors
    memory plain_w(memory::desc(wei, dt::f32, p.G == 1 ? tag::oihw : tag::goihw), engine(),
                   m.weight_keep.raw_data());
    m.weights = memory(m.pd.weights_desc(), engine());
    reorder(plain_w, m.weights);
    if (s.bias.defined()) {
      m.bias_keep = s.bias;
      m.bias = memory(bias_md, engine(), m.bias_keep.raw_data());
    }
  } catch (const dnnl::error& e) {
    throw Error(detail::concat("inference plan: oneDNN could not build the fused convolution ",
                               p.key(), ": ", e.what()));
  }
}

FusedConv::~FusedConv() = default;

Tensor FusedConv::run(const Tensor& x, const Tensor& residual) const {
  const Impl& m = *impl_;
  const detail::ConvProblem& p = m.p;
  Tensor keep;
  memory src = memory_in(x, m.pd.src_desc(), keep);
  Tensor y = new_tensor({p.N, p.OC, p.OH, p.OW}, m.pd.dst_desc());
  memory dst = memory_of(y);
  if (m.sum) reorder(memory_of(residual), dst);  // the sum post-op adds onto what dst holds
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m.weights}, {DNNL_ARG_DST, dst}};
  if (m.bias) args.emplace(DNNL_ARG_BIAS, m.bias);
  m.prim.execute(stream(), args);
  stream().wait();
  return y;
}

}  // namespace convkit::onednn
