#include "kernels/dnnl/batch_norm.h"

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

namespace {
using flags = dnnl::normalization_flags;

// [N, C] runs as [N, C, 1, 1]: the same bytes, and every implementation takes 4-D nchw.
dnnl::memory::desc data_desc(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1);
  const int64_t H = x.ndim() == 4 ? x.size(2) : 1, W = x.ndim() == 4 ? x.size(3) : 1;
  return dnnl::memory::desc({N, C, H, W}, dnnl::memory::data_type::f32,
                            dnnl::memory::format_tag::nchw);
}

flags flags_of(bool scale, bool shift, bool global_stats) {
  flags f = flags::none;
  if (scale) f |= flags::use_scale;
  if (shift) f |= flags::use_shift;
  if (global_stats) f |= flags::use_global_stats;
  return f;
}

std::string key_of(const char* op, const dnnl::memory::desc& md, flags f, double eps) {
  const auto d = md.dims();
  return detail::concat(op, "/", d[0], "x", d[1], "x", d[2], "x", d[3], "/f", int(f), "/eps",
                        std::hexfloat, eps);
}

struct Forward {
  dnnl::batch_normalization_forward::primitive_desc pd;
  dnnl::batch_normalization_forward prim;
};

// The training-kind forward descriptor doubles as the backward's hint.
std::shared_ptr<Forward> forward_for(const dnnl::memory::desc& md, flags f, double eps) {
  return cached<Forward>(key_of("bn_fwd", md, f, eps), [&] {
    dnnl::batch_normalization_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_training, md, float(eps), f}, engine());
    return Forward{pd, dnnl::batch_normalization_forward(pd)};
  });
}
}  // namespace

bool batch_norm_accepts(const Tensor& x, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  return true;
}

void batch_norm_forward(Tensor& y, Tensor& mean, Tensor& var, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const ref::BatchNormParams& p) {
  const dnnl::memory::desc md = data_desc(x);
  const flags f = flags_of(weight.defined(), bias.defined(), p.use_global_stats);
  auto fwd = forward_for(md, f, p.eps);
  dnnl::memory::desc cd = plain_desc(mean.shape());
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, wrap(x, md)},
                                                {DNNL_ARG_DST, wrap(y, md)},
                                                {DNNL_ARG_MEAN, wrap(mean, cd)},
                                                {DNNL_ARG_VARIANCE, wrap(var, cd)}};
  if (weight.defined()) args[DNNL_ARG_SCALE] = wrap(weight, cd);
  if (bias.defined()) args[DNNL_ARG_SHIFT] = wrap(bias, cd);
  fwd->prim.execute(stream(), args);
  stream().wait();
}

void batch_norm_backward(Tensor& dx, Tensor& dweight, Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, const Tensor& bias, const ref::BatchNormParams& p) {
  const dnnl::memory::desc md = data_desc(x);
  const bool shift = bias.defined();
  const flags f = flags_of(weight.defined(), shift, p.use_global_stats);
  auto fwd = forward_for(md, f, p.eps);
  // prop_kind::backward also computes diff scale/shift; backward_data only diff src.
  const auto prop =
      (weight.defined() || shift) ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
  auto bwd = cached<dnnl::batch_normalization_backward>(key_of("bn_bwd", md, f, p.eps), [&] {
    return dnnl::batch_normalization_backward(dnnl::batch_normalization_backward::primitive_desc(
        {prop, md, md, float(p.eps), f}, engine(), fwd->pd));
  });
  dnnl::memory::desc cd = plain_desc(mean.shape());
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, wrap(x, md)},
                                                {DNNL_ARG_DIFF_DST, wrap(dy, md)},
                                                {DNNL_ARG_DIFF_SRC, wrap(dx, md)},
                                                {DNNL_ARG_MEAN, wrap(mean, cd)},
                                                {DNNL_ARG_VARIANCE, wrap(var, cd)}};
  if (weight.defined()) {
    args[DNNL_ARG_SCALE] = wrap(weight, cd);
    args[DNNL_ARG_DIFF_SCALE] = wrap(dweight, cd);
  }
  if (shift) args[DNNL_ARG_DIFF_SHIFT] = wrap(dbias, cd);
  // oneDNN 2.6 checks that SHIFT is given whenever use_shift is set, though the backward never
  // reads it (beta does not enter any gradient).
  if (shift) args[DNNL_ARG_SHIFT] = wrap(bias, cd);
  bwd->execute(stream(), args);
  stream().wait();
}

}  // namespace convkit::onednn
