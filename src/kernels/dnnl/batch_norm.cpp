// Layout: oneDNN 2.6 runs batch norm on plain NCHW with a generic C++ kernel (ncsp_bnorm); each
// problem runs in the first layout with JIT forward and backward instead, reordering in and out
// (kernels/dnnl/layout_choice.h). [N, C] runs as [N, C, 1, 1].
#include "kernels/dnnl/batch_norm.h"

#include "kernels/dnnl/context.h"
#include "kernels/dnnl/layout.h"
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

std::shared_ptr<Primitives> primitives_for(const dnnl::memory::desc& data, flags f, double eps) {
  const std::string key =
      detail::concat("batch_norm/", desc_key(data), "/flags", int(f), "/eps", std::hexfloat, eps);
  return cached<Primitives>(key, [&] { return make_primitives(data, f, eps); });
}

// The layout a problem runs in: an input already in a oneDNN layout runs in it; a plain one in
// the first layout with JIT kernels (layout_choice.h), reordered into it.
std::shared_ptr<Primitives> primitives_for(const Tensor& x, bool scale, bool shift,
                                           const ref::BatchNormParams& p) {
  const flags f = flags_of(scale, shift, p.use_global_stats);
  if (x.ndim() == 4 && x.layout()) return primitives_for(desc_of(x), f, p.eps);
  return primitives_for(plain_data_desc(x), f, p.eps);
}

// A tensor of x's shape to hold an output in layout md. 4-D outputs stay in md; [N, C] ones
// (run as [N, C, 1, 1]) are plain, written through `plain_dst` and reordered by finish().
struct Output {
  Tensor t;
  dnnl::memory mem, plain_home;
  void finish() {
    if (plain_home) reorder(mem, plain_home);
  }
};
Output output_for(const Tensor& x, const dnnl::memory::desc& md) {
  Output o;
  if (x.ndim() == 4) {
    o.t = new_tensor(x.shape(), md);
    o.mem = memory_of(o.t);
    return o;
  }
  o.t = Tensor::empty(x.shape());
  dnnl::memory home = wrap(o.t, plain_data_desc(x));
  o.mem = output_in(home, md);
  if (o.mem.get_data_handle() != home.get_data_handle()) o.plain_home = home;
  return o;
}

// x's memory in md: as it is when it already is, else reordered into a buffer `keep` owns.
dnnl::memory input_in(const Tensor& x, const dnnl::memory::desc& md, Tensor& keep) {
  if (x.ndim() == 4) return memory_in(x, md, keep);
  dnnl::memory plain = wrap(x, plain_data_desc(x));
  if (plain.get_desc() == md) return plain;
  keep = Tensor::empty({int64_t(md.get_size() / sizeof(float)) + 1});
  dnnl::memory m(md, engine(), keep.raw_data());
  reorder(plain, m);
  return m;
}
}  // namespace

bool batch_norm_accepts(const Tensor& x, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  return true;
}

void batch_norm_forward(Tensor& y, Tensor& mean, Tensor& var, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const ref::BatchNormParams& p) {
  auto prims = primitives_for(x, weight.defined(), bias.defined(), p);
  const dnnl::memory::desc cd = plain_desc(mean.shape());
  Tensor keep;
  Output out = output_for(x, prims->md);
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, input_in(x, prims->md, keep)},
                                                {DNNL_ARG_DST, out.mem},
                                                {DNNL_ARG_MEAN, wrap(mean, cd)},
                                                {DNNL_ARG_VARIANCE, wrap(var, cd)}};
  if (weight.defined()) args[DNNL_ARG_SCALE] = wrap(weight, cd);
  if (bias.defined()) args[DNNL_ARG_SHIFT] = wrap(bias, cd);
  prims->fwd.execute(stream(), args);
  stream().wait();
  out.finish();
  y = out.t;
}

void batch_norm_backward(Tensor& dx, Tensor& dweight, Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, const Tensor& bias, const ref::BatchNormParams& p) {
  auto prims = primitives_for(x, weight.defined(), bias.defined(), p);
  const dnnl::memory::desc cd = plain_desc(mean.shape());
  Tensor keep_x, keep_dy;
  Output out = output_for(x, prims->md);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, input_in(x, prims->md, keep_x)},
      {DNNL_ARG_DIFF_DST, input_in(dy, prims->md, keep_dy)},
      {DNNL_ARG_DIFF_SRC, out.mem},
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
  out.finish();
  dx = out.t;
}

}  // namespace convkit::onednn
