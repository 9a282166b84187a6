#include "kernels/dnnl/pool.h"

#include "kernels/dnnl/context.h"
#include "kernels/dnnl/layout.h"

namespace convkit::onednn {

// What the backward needs from its forward: the layouts it ran in (an input kept in a oneDNN
// layout pools in it, and the output follows) and, for max pooling, the argmax workspace.
struct PoolWorkspace {
  dnnl::memory::desc src, dst;
  Tensor buffer;  // owns the workspace bytes (the caching allocator, not oneDNN's malloc)
  dnnl::memory memory;
};

namespace {
using dims = dnnl::memory::dims;

// Right padding that makes oneDNN's floor rule produce `out`: the symmetric pad when that already
// does (floor mode, or ceil mode that changed nothing), else exactly the overhang of the last
// window. The last window starts inside the input (pool_output_size), so the result is < k.
int64_t pad_right(int64_t in, int64_t out, int64_t k, int64_t s, int64_t pad_l) {
  if ((in + 2 * pad_l - k) / s + 1 == out) return pad_l;
  return (out - 1) * s + k - in - pad_l;
}

struct Geometry {
  dims strides, kernel, dilation, pad_l, pad_r;
};

Geometry geometry(const Shape& x, const Shape& y, const Pool2dParams& p) {
  return {{p.stride_h, p.stride_w},
          {p.kernel_h, p.kernel_w},
          {0, 0},  // oneDNN dilation is 0-based: 0 means dense windows
          {p.pad_h, p.pad_w},
          {pad_right(x[2], y[2], p.kernel_h, p.stride_h, p.pad_h),
           pad_right(x[3], y[3], p.kernel_w, p.stride_w, p.pad_w)}};
}

dnnl::algorithm algorithm_of(const Pool2dParams& p, bool is_max) {
  if (is_max) return dnnl::algorithm::pooling_max;
  return p.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                             : dnnl::algorithm::pooling_avg_exclude_padding;
}

std::string key(const char* what, const Shape& x, const Shape& y, const Pool2dParams& p,
                bool is_max) {
  return std::string(what) + (is_max ? "/max/" : "/avg/") + x.to_string() + y.to_string() +
         p.to_string();
}

struct Forward {
  dnnl::pooling_v2_forward::primitive_desc pd;
  dnnl::pooling_v2_forward prim;
};

// src: x's layout; the output is `any` for a laid-out input (oneDNN keeps the blocking), plain
// for a plain one.
std::shared_ptr<Forward> forward_prim(const Tensor& x, const Shape& y,
                                      const dnnl::memory::desc& src, const Pool2dParams& p,
                                      bool is_max, bool training) {
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const bool plain = src == plain_desc(x.shape());
  return cached<Forward>(
      key(training ? "pool_fwd_train" : "pool_fwd_infer", x.shape(), y, p, is_max) + desc_key(src),
      [&] {
        Geometry g = geometry(x.shape(), y, p);
        dnnl::memory::desc dst = plain
                                     ? plain_desc(y)
                                     : dnnl::memory::desc(dims_of(y), dnnl::memory::data_type::f32,
                                                          dnnl::memory::format_tag::any);
        dnnl::pooling_v2_forward::desc d(prop, algorithm_of(p, is_max), src, dst, g.strides,
                                         g.kernel, g.dilation, g.pad_l, g.pad_r);
        dnnl::pooling_v2_forward::primitive_desc pd(d, engine());
        return Forward{pd, dnnl::pooling_v2_forward(pd)};
      });
}
}  // namespace

bool pool2d_accepts(const Tensor& x, const Tensor& y, const Pool2dParams& p, bool is_max,
                    std::string* why) {
  if (x.dtype() != DType::f32) return *why = "not float32", false;
  if (x.numel() == 0 || y.numel() == 0) return *why = "empty tensor", false;
  if (!is_max && p.count_include_pad) {
    Geometry g = geometry(x.shape(), y.shape(), p);
    if (g.pad_r[0] > p.pad_h || g.pad_r[1] > p.pad_w)
      return *why =
                 "avg with count_include_pad and a ceil_mode overhang: oneDNN's divisor would "
                 "count the overhang, PyTorch's does not",
             false;
  }
  return true;
}

std::shared_ptr<PoolWorkspace> pool2d_forward(Tensor& y, const Tensor& x, const Pool2dParams& p,
                                              bool is_max, bool training) {
  const bool keep_ws = training && is_max;
  auto f = forward_prim(x, y.shape(), desc_of(x), p, is_max, training);
  auto ws = std::make_shared<PoolWorkspace>();
  ws->src = f->pd.src_desc();
  ws->dst = f->pd.dst_desc();
  y = new_tensor(y.shape(), ws->dst);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, memory_of(x)},
                                             {DNNL_ARG_DST, memory_of(y)}};
  if (keep_ws) {
    const dnnl::memory::desc wd = f->pd.workspace_desc();
    ws->buffer = Tensor::empty({int64_t(wd.get_size() / sizeof(float)) + 1});
    ws->memory = dnnl::memory(wd, engine(), ws->buffer.raw_data());
    args.emplace(DNNL_ARG_WORKSPACE, ws->memory);
  }
  f->prim.execute(stream(), args);
  stream().wait();
  return ws;
}

void pool2d_backward(Tensor& dx, const std::shared_ptr<PoolWorkspace>& ws, const Tensor& dy,
                     const Pool2dParams& p, bool is_max) {
  struct Backward {
    dnnl::pooling_v2_backward prim;
  };
  const Shape xs = dx.shape();
  auto b = cached<Backward>(key("pool_bwd", xs, dy.shape(), p, is_max) + desc_key(ws->src), [&] {
    auto f = forward_prim(dx, dy.shape(), ws->src, p, is_max, /*training=*/true);
    Geometry g = geometry(xs, dy.shape(), p);
    dnnl::pooling_v2_backward::desc d(algorithm_of(p, is_max), ws->src, ws->dst, g.strides,
                                      g.kernel, g.dilation, g.pad_l, g.pad_r);
    return Backward{
        dnnl::pooling_v2_backward(dnnl::pooling_v2_backward::primitive_desc(d, engine(), f->pd))};
  });
  // The gradient arrives in whatever layout the next op left it; the backward runs in the
  // forward's (the workspace indexes the forward's output layout).
  Tensor keep;
  dnnl::memory diff_dst = memory_in(dy, ws->dst, keep);
  dx = new_tensor(xs, ws->src);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, diff_dst},
                                             {DNNL_ARG_DIFF_SRC, memory_of(dx)}};
  if (is_max) args.emplace(DNNL_ARG_WORKSPACE, ws->memory);
  b->prim.execute(stream(), args);
  stream().wait();
}

}  // namespace convkit::onednn
