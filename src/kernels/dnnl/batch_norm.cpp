// Layout: oneDNN 2.6 runs batch norm on plain NCHW with a generic C++ kernel (ncsp_bnorm); each
// problem runs in the first layout with JIT forward and backward instead, reordering in and out
// (kernels/dnnl/layout_choice.h). [N, C] runs as [N, C, 1, 1].
#include "kernels/dnnl/batch_norm.h"

#include "kernels/dnnl/context.h"
#include "kernels/dnnl/layout_choice.h"

namespace convkit::onednn {

namespace {
using flags = dnnl::normalization_flags;

// [N, C] as [N, C, 1, 1]: the same bytes, and every implementation takes 4-D.
dnnl::memory::desc plain_data_desc(const Tensor& x) {
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

struct Primitives {
  dnnl::memory::desc md;  // the layout the primitives run in
  dnnl::batch_normalization_forward::primitive_desc fwd_pd;
  dnnl::batch_normalization_backward::primitive_desc bwd_pd;
  dnnl::batch_normalization_forward fwd;
  dnnl::batch_normalization_backward bwd;
};

Primitives make_primitives(const dnnl::memory::desc& plain, flags f, double eps) {
  // prop_kind::backward also computes diff scale/shift; backward_data only diff src.
  const bool affine = (f & (flags::use_scale | flags::use_shift)) != flags::none;
  const auto bwd_prop = affine ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
  auto build = [&](const dnnl::memory::desc& md) {
    Primitives r;
    r.md = md;
    r.fwd_pd = dnnl::batch_normalization_forward::primitive_desc(
        {dnnl::prop_kind::forward_training, md, float(eps), f}, engine());
    r.bwd_pd = dnnl::batch_normalization_backward::primitive_desc({bwd_prop, md, md, float(eps), f},
                                                                  engine(), r.fwd_pd);
    return r;
  };
  Primitives r = first_fast_layout<Primitives>(
      plain, build, [](const Primitives& c) { return is_jit(c.fwd_pd) && is_jit(c.bwd_pd); });
  r.fwd = dnnl::batch_normalization_forward(r.fwd_pd);
  r.bwd = dnnl::batch_normalization_backward(r.bwd_pd);
  return r;
}

std::shared_ptr<Primitives> primitives_for(const dnnl::memory::desc& plain, flags f, double eps) {
  const auto d = plain.dims();
  const std::string key = detail::concat("batch_norm/", d[0], "x", d[1], "x", d[2], "x", d[3],
                                         "/flags", int(f), "/eps", std::hexfloat, eps);
  return cached<Primitives>(key, [&] { return make_primitives(plain, f, eps); });
}
}  // namespace

bool batch_norm_accepts(const Tensor& x, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  return true;
}

void batch_norm_forward(Tensor& y, Tensor& mean, Tensor& var, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const ref::BatchNormParams& p) {
  const dnnl::memory::desc plain = plain_data_desc(x);
  auto prims =
      primitives_for(plain, flags_of(weight.defined(), bias.defined(), p.use_global_stats), p.eps);
  const dnnl::memory::desc cd = plain_desc(mean.shape());
  dnnl::memory y_plain = wrap(y, plain);
  dnnl::memory dst = output_in(y_plain, prims->md);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, to_layout(wrap(x, plain), prims->md)},
      {DNNL_ARG_DST, dst},
      {DNNL_ARG_MEAN, wrap(mean, cd)},
      {DNNL_ARG_VARIANCE, wrap(var, cd)}};
  if (weight.defined()) args[DNNL_ARG_SCALE] = wrap(weight, cd);
  if (bias.defined()) args[DNNL_ARG_SHIFT] = wrap(bias, cd);
  prims->fwd.execute(stream(), args);
  stream().wait();
  reorder(dst, y_plain);
}

void batch_norm_backward(Tensor& dx, Tensor& dweight, Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, const Tensor& bias, const ref::BatchNormParams& p) {
  const dnnl::memory::desc plain = plain_data_desc(x);
  auto prims =
      primitives_for(plain, flags_of(weight.defined(), bias.defined(), p.use_global_stats), p.eps);
  const dnnl::memory::desc cd = plain_desc(mean.shape());
  dnnl::memory dx_plain = wrap(dx, plain);
  dnnl::memory diff_src = output_in(dx_plain, prims->md);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, to_layout(wrap(x, plain), prims->md)},
      {DNNL_ARG_DIFF_DST, to_layout(wrap(dy, plain), prims->md)},
      {DNNL_ARG_DIFF_SRC, diff_src},
      {DNNL_ARG_MEAN, wrap(mean, cd)},
      {DNNL_ARG_VARIANCE, wrap(var, cd)}};
  if (weight.defined()) {
    args[DNNL_ARG_SCALE] = wrap(weight, cd);
    args[DNNL_ARG_DIFF_SCALE] = wrap(dweight, cd);
  }
  if (bias.defined()) {
    // oneDNN 2.6 checks that SHIFT is given whenever use_shift is set, though the backward never
    // reads it (beta does not enter any gradient).
    args[DNNL_ARG_SHIFT] = wrap(bias, cd);
    args[DNNL_ARG_DIFF_SHIFT] = wrap(dbias, cd);
  }
  prims->bwd.execute(stream(), args);
  stream().wait();
  reorder(diff_src, dx_plain);
}

}  // namespace convkit::onednn
