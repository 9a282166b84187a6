// oneDNN's lrn_across_channels computes dst = src * (k + alpha/size * sum src^2)^-beta over a
// window of `size` channels (oneDNN developer guide, "Local Response Normalization"): the same
// alpha/size scaling as PyTorch, so alpha is passed through unchanged. The test
// Norm.LrnBackendsAgree checks this against the reference kernel.
#include "kernels/dnnl/lrn.h"

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

namespace {
std::string key_of(const char* op, const Tensor& x, const ref::LrnParams& p) {
  return detail::concat(op, "/", x.shape().to_string(), "/n", p.size, std::hexfloat, "/a", p.alpha,
                        "/b", p.beta, "/k", p.k);
}

dnnl::lrn_forward::primitive_desc forward_pd(const dnnl::memory::desc& md, const ref::LrnParams& p,
                                             dnnl::prop_kind prop) {
  return dnnl::lrn_forward::primitive_desc({prop, dnnl::algorithm::lrn_across_channels, md, p.size,
                                            float(p.alpha), float(p.beta), float(p.k)},
                                           engine());
}

struct Forward {
  dnnl::lrn_forward::primitive_desc pd;
  dnnl::lrn_forward prim;
};

std::shared_ptr<Forward> forward_for(const Tensor& x, const ref::LrnParams& p, bool training) {
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  return cached<Forward>(key_of(training ? "lrn_fwd_train" : "lrn_fwd_infer", x, p), [&] {
    auto pd = forward_pd(plain_desc(x.shape()), p, prop);
    return Forward{pd, dnnl::lrn_forward(pd)};
  });
}
}  // namespace

bool lrn_accepts(const Tensor& x, const ref::LrnParams& p, std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  if (p.size % 2 == 0) return *why = "even size: oneDNN's window differs from PyTorch's", false;
  if (x.ndim() > 5) return *why = "more than 5 dims", false;
  return true;
}

void lrn_forward(Tensor& y, Tensor& workspace, const Tensor& x, const ref::LrnParams& p,
                 bool with_workspace) {
  auto fwd = forward_for(x, p, with_workspace);
  const dnnl::memory::desc md = plain_desc(x.shape());
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, wrap(x, md)},
                                                {DNNL_ARG_DST, wrap(y, md)}};
  // Implementations that recompute in the backward have an empty workspace.
  const dnnl::memory::desc wd = fwd->pd.workspace_desc();
  if (with_workspace && wd.get_size() > 0) {
    workspace = Tensor::empty({int64_t(wd.get_size())}, DType::u8);
    args[DNNL_ARG_WORKSPACE] = wrap(workspace, wd);
  }
  fwd->prim.execute(stream(), args);
  stream().wait();
}

void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& workspace,
                  const ref::LrnParams& p) {
  auto fwd = forward_for(x, p, /*training=*/true);
  const dnnl::memory::desc md = plain_desc(x.shape());
  struct Backward {
    dnnl::lrn_backward::primitive_desc pd;
    dnnl::lrn_backward prim;
  };
  auto bwd = cached<Backward>(key_of("lrn_bwd", x, p), [&] {
    dnnl::lrn_backward::primitive_desc pd({dnnl::algorithm::lrn_across_channels, md, md, p.size,
                                           float(p.alpha), float(p.beta), float(p.k)},
                                          engine(), fwd->pd);
    return Backward{pd, dnnl::lrn_backward(pd)};
  });
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, wrap(x, md)},
                                                {DNNL_ARG_DIFF_DST, wrap(dy, md)},
                                                {DNNL_ARG_DIFF_SRC, wrap(dx, md)}};
  const dnnl::memory::desc wd = bwd->pd.workspace_desc();
  if (wd.get_size() > 0) args[DNNL_ARG_WORKSPACE] = wrap(workspace, wd);
  bwd->prim.execute(stream(), args);
  stream().wait();
}

}  // namespace convkit::onednn
