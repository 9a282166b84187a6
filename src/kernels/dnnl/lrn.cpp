// oneDNN's lrn_across_channels computes dst = src * (k + alpha/size * sum src^2)^-beta over a
// window of `size` channels (oneDNN developer guide, "Local Response Normalization"): the same
// alpha/size scaling as PyTorch, so alpha is passed through unchanged. The test
// Norm.LrnBackendsAgree checks this against the reference kernel.
//
// Layout: oneDNN 2.6 has no JIT LRN backward for plain NCHW, so training problems run in the
// first layout with JIT forward and backward (kernels/dnnl/layout_choice.h).
#include "kernels/dnnl/lrn.h"

#include "kernels/dnnl/context.h"
#include "kernels/dnnl/layout_choice.h"

namespace convkit::onednn {

namespace {

struct Primitives {
  dnnl::memory::desc md;  // the layout the primitives run in
  dnnl::lrn_forward::primitive_desc fwd_pd;
  dnnl::lrn_backward::primitive_desc bwd_pd;  // empty unless training
  dnnl::lrn_forward fwd;
  dnnl::lrn_backward bwd;
};

Primitives make_primitives(const Tensor& x, const LrnParams& p, bool training) {
  const auto alg = dnnl::algorithm::lrn_across_channels;
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  auto build = [&](const dnnl::memory::desc& md) {
    Primitives r;
    r.md = md;
    r.fwd_pd = dnnl::lrn_forward::primitive_desc(
        {prop, alg, md, p.size, float(p.alpha), float(p.beta), float(p.k)}, engine());
    if (training)
      r.bwd_pd = dnnl::lrn_backward::primitive_desc(
          {alg, md, md, p.size, float(p.alpha), float(p.beta), float(p.k)}, engine(), r.fwd_pd);
    return r;
  };
  Primitives r = first_fast_layout<Primitives>(
      plain_desc(x.shape()), build,
      [&](const Primitives& c) { return is_jit(c.fwd_pd) && (!training || is_jit(c.bwd_pd)); });
  r.fwd = dnnl::lrn_forward(r.fwd_pd);
  if (training) r.bwd = dnnl::lrn_backward(r.bwd_pd);
  return r;
}

std::shared_ptr<Primitives> primitives_for(const Tensor& x, const LrnParams& p, bool training) {
  const std::string key =
      detail::concat(training ? "lrn_train/" : "lrn_infer/", x.shape().to_string(), "/n", p.size,
                     std::hexfloat, "/a", p.alpha, "/b", p.beta, "/k", p.k);
  return cached<Primitives>(key, [&] { return make_primitives(x, p, training); });
}

}  // namespace

bool lrn_accepts(const Tensor& x, const LrnParams& p, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  if (p.size % 2 == 0) return *why = "even size: oneDNN's window differs from PyTorch's", false;
  if (x.ndim() > 5) return *why = "more than 5 dims", false;
  return true;
}

void lrn_forward(Tensor& y, Tensor& workspace, const Tensor& x, const LrnParams& p,
                 bool with_workspace) {
  auto prims = primitives_for(x, p, with_workspace);
  dnnl::memory src = to_layout(wrap(x), prims->md);
  dnnl::memory y_plain = wrap(y);
  dnnl::memory dst = output_in(y_plain, prims->md);
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  // Implementations that recompute in the backward have an empty workspace.
  const dnnl::memory::desc wd = prims->fwd_pd.workspace_desc();
  if (with_workspace && wd.get_size() > 0) {
    workspace = Tensor::empty({int64_t(wd.get_size())}, DType::u8);
    args[DNNL_ARG_WORKSPACE] = wrap(workspace, wd);
  }
  prims->fwd.execute(stream(), args);
  stream().wait();
  reorder(dst, y_plain);
}

void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& workspace,
                  const LrnParams& p) {
  auto prims = primitives_for(x, p, /*training=*/true);
  dnnl::memory src = to_layout(wrap(x), prims->md);
  dnnl::memory diff_dst = to_layout(wrap(dy), prims->md);
  dnnl::memory dx_plain = wrap(dx);
  dnnl::memory diff_src = output_in(dx_plain, prims->md);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}};
  const dnnl::memory::desc wd = prims->bwd_pd.workspace_desc();
  if (wd.get_size() > 0) args[DNNL_ARG_WORKSPACE] = wrap(workspace, wd);
  prims->bwd.execute(stream(), args);
  stream().wait();
  reorder(diff_src, dx_plain);
}

}  // namespace convkit::onednn
