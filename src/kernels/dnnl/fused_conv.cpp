#include "kernels/dnnl/fused_conv.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

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
  float input_scale = 0;  // int8: quantized input = float input * input_scale
};

namespace {

// int8 quantization of a convolution (oneDNN 2.x's model: the s32 accumulator plus the bias,
// times one output scale per channel, is the float32 result). x_q = x * sx, w_q = w * sw[oc], so
// conv(x, w) = acc / (sx * sw[oc]), and the bias enters the accumulator's units: b * sx * sw[oc].
struct Int8Scales {
  float input = 1;
  std::vector<float> weights, output;  // per output channel
};

Int8Scales int8_scales(const FusedConvSpec& s) {
  Int8Scales q;
  const bool u8 = s.input_min >= 0;
  const float range = u8 ? s.input_max : std::max(std::abs(s.input_min), std::abs(s.input_max));
  q.input = range > 0 && std::isfinite(range) ? (u8 ? 255.0f : 127.0f) / range : 1.0f;
  const int64_t OC = s.weight.size(0), per = s.weight.numel() / OC;
  const float* w = s.weight.data<float>();
  // A NaN weight would quantize to an ordinary integer: refuse instead (float32 plans carry it).
  const bool finite =
      std::all_of(w, w + s.weight.numel(), [](float v) { return std::isfinite(v); }) &&
      (!s.bias.defined() || std::all_of(s.bias.data<float>(), s.bias.data<float>() + s.bias.numel(),
                                        [](float v) { return std::isfinite(v); }));
  CONVKIT_CHECK(finite, "int8 convolution ", s.problem.key(),
                ": its weights or bias hold NaN or infinite values (the model diverged?)");
  for (int64_t c = 0; c < OC; ++c) {
    float m = 0;
    for (int64_t i = 0; i < per; ++i) m = std::max(m, std::abs(w[c * per + i]));
    q.weights.push_back(m > 0 ? 127.0f / m : 1.0f);
    q.output.push_back(1.0f / (q.input * q.weights.back()));
  }
  return q;
}

}  // namespace

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
    CONVKIT_CHECK(!(s.int8 && s.bf16), "fused convolution: int8 and bf16 at once");
    const Int8Scales q = s.int8 ? int8_scales(s) : Int8Scales();
    if (s.int8) attr.set_output_scales(1 << 1, q.output);  // per output channel
    const memory::desc bias_md =
        s.bias.defined() ? memory::desc({p.OC}, dt::f32, tag::x) : memory::desc();
    const dt in_type = s.int8 ? (s.input_min >= 0 ? dt::u8 : dt::s8) : s.bf16 ? dt::bf16 : dt::f32;
    const dt wei_type = s.int8 ? dt::s8 : s.bf16 ? dt::bf16 : dt::f32;
    dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        memory::desc(src, in_type, tag::any), memory::desc(wei, wei_type, tag::any), bias_md,
        memory::desc(dst, dt::f32, tag::any), {p.SH, p.SW}, {p.DH - 1, p.DW - 1}, {p.PT, p.PL},
        {p.PB, p.PR});
    m.pd = dnnl::convolution_forward::primitive_desc(d, attr, engine());
    m.prim = dnnl::convolution_forward(m.pd);
    m.input_scale = s.int8 ? q.input : 0;
    // The weights once, in the primitive's layout; the folded tensors are kept alive with them.
    m.weight_keep = s.weight;  // the planner passes fresh plain tensors
    memory plain_w(memory::desc(wei, dt::f32, p.G == 1 ? tag::oihw : tag::goihw), engine(),
                   m.weight_keep.raw_data());
    m.weights = memory(m.pd.weights_desc(), engine());
    if (s.int8) {
      // Quantized per output channel while reordered (with s8 inputs the reorder also writes
      // the compensation the primitive's weight layout carries).
      dnnl::primitive_attr wattr;
      wattr.set_output_scales(p.G == 1 ? 1 : (1 << 0) | (1 << 1), q.weights);
      dnnl::reorder(dnnl::reorder::primitive_desc(plain_w, m.weights, wattr))
          .execute(stream(), plain_w, m.weights);
      stream().wait();
    } else {
      reorder(plain_w, m.weights);
    }
    if (s.bias.defined()) {
      m.bias_keep = s.int8 ? s.bias.clone() : s.bias;
      if (s.int8) {
        float* b = m.bias_keep.data<float>();
        for (int64_t c = 0; c < p.OC; ++c) b[c] *= q.input * q.weights[size_t(c)];
      }
      m.bias = memory(bias_md, engine(), m.bias_keep.raw_data());
    }
  } catch (const dnnl::error& e) {
    throw Error(detail::concat("inference plan: oneDNN could not build the fused convolution ",
                               p.key(), ": ", e.what()));
  }
}

FusedConv::~FusedConv() = default;

namespace {
// x (float32, any layout) as `want` (u8 or s8) times `scale`, rounded and saturated, through a
// reorder primitive cached per layout pair and scale.
memory quantized(const Tensor& x, const memory::desc& want, float scale, Tensor& keep) {
  memory have = memory_of(x);
  uint32_t bits = 0;
  std::memcpy(&bits, &scale, sizeof bits);
  auto prim = cached<dnnl::reorder>(
      "quantize|" + desc_key(have.get_desc()) + "|" + desc_key(want) + "|" + std::to_string(bits),
      [&] {
        dnnl::primitive_attr attr;
        attr.set_output_scales(0, {scale});
        return dnnl::reorder(
            dnnl::reorder::primitive_desc(engine(), have.get_desc(), engine(), want, attr));
      });
  keep = Tensor::empty({int64_t(want.get_size() / sizeof(float)) + 1});
  memory m(want, engine(), keep.raw_data());
  prim->execute(stream(), have, m);
  return m;
}
}  // namespace

Tensor FusedConv::run(const Tensor& x, const Tensor& residual) const {
  const Impl& m = *impl_;
  const detail::ConvProblem& p = m.p;
  Tensor keep;
  memory src = m.input_scale > 0 ? quantized(x, m.pd.src_desc(), m.input_scale, keep)
                                 : memory_in(x, m.pd.src_desc(), keep);
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
