// oneDNN convolution: forward (training or inference), backward data, backward weights + bias.
//
// Build once, run many (oneDNN's cnn_training_f32 example): per problem key we cache the primitive
// descriptor with format_tag::any layouts, the primitive, and the reorders between our plain
// NCHW/OIHW tensors and the layouts the primitive chose (blocked, e.g. nChw16c). A call then only
// looks the plan up, reorders inputs into per-thread scratch buffers that are reused across calls
// (no allocation and no page faults per step), executes, and reorders outputs back.
// oneDNN's dilation is 0-based (0 = dense): converted once, in `geometry`.
#include "kernels/dnnl/conv.h"

#include <array>
#include <optional>

#include "convkit/backend.h"
#include "kernels/dnnl/context.h"
#include "kernels/dnnl/layout.h"

namespace convkit::onednn {

namespace {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;
using detail::ConvProblem;

struct Geometry {
  memory::dims src, wei, dst, bias, strides, dilates, pad_l, pad_r;
  tag wei_plain;
};

Geometry geometry(const ConvProblem& p) {
  Geometry g;
  g.src = {p.N, p.IC, p.IH, p.IW};
  g.dst = {p.N, p.OC, p.OH, p.OW};
  g.bias = {p.OC};
  // Grouped weights are 5-D for oneDNN; [OC, ICg, KH, KW] -> [G, OCg, ICg, KH, KW] is the same
  // memory, so our OIHW tensor is wrapped as goihw without a copy.
  if (p.G == 1) {
    g.wei = {p.OC, p.IC, p.KH, p.KW};
    g.wei_plain = tag::oihw;
  } else {
    g.wei = {p.G, p.OCg(), p.ICg(), p.KH, p.KW};
    g.wei_plain = tag::goihw;
  }
  g.strides = {p.SH, p.SW};
  g.dilates = {p.DH - 1, p.DW - 1};
  g.pad_l = {p.PT, p.PL};
  g.pad_r = {p.PB, p.PR};
  return g;
}

memory::desc any(const memory::dims& d, dt type = dt::f32) {
  return memory::desc(d, type, tag::any);
}
// What the products read under mixed precision (convkit/backend.h, conv_bf16): bfloat16.
dt operand(bool bf16) { return bf16 ? dt::bf16 : dt::f32; }
std::string precision_key(bool bf16) { return bf16 ? "bf16/" : ""; }
memory::desc plain(const memory::dims& d, tag t) { return memory::desc(d, dt::f32, t); }

// The reorder between a plain tensor layout and the layout a primitive chose; none when equal.
struct Relayout {
  memory::desc plain, chosen;
  std::optional<dnnl::reorder> prim;

  Relayout(const memory::desc& plain_md, const memory::desc& chosen_md, bool into_chosen)
      : plain(plain_md), chosen(chosen_md) {
    if (plain == chosen) return;
    prim = into_chosen
               ? dnnl::reorder(dnnl::reorder::primitive_desc(engine(), plain, engine(), chosen))
               : dnnl::reorder(dnnl::reorder::primitive_desc(engine(), chosen, engine(), plain));
  }
};

// Per-thread buffers for reordered operands, one per role, grown on demand and kept: a training
// loop reuses them every step instead of allocating (and faulting in) fresh memory.
// Roles are reused across the steps of one call only after the step that read them has run
// (the CPU stream is in order).
enum Role { kSrc, kWei, kDst, kDst2, kBias, kRoles };
void* scratch(Role role, std::size_t bytes) {
  thread_local std::array<Tensor, kRoles> buffers;
  Tensor& b = buffers[role];
  if (!b.defined() || b.nbytes() < bytes) b = Tensor::empty({int64_t(bytes / sizeof(float)) + 1});
  return b.raw_data();
}

// Memory in the primitive's layout holding tensor t: t itself when layouts agree (a plain tensor
// in a plain layout, or an activation kept in the chosen blocked layout), otherwise a reorder of t
// into scratch (queued on the stream before the primitive).
memory feed(const Relayout& r, const Tensor& t, Role role) {
  if (t.layout()) {
    memory have = memory_of(t);
    if (have.get_desc() == r.chosen) return have;
    memory m(r.chosen, engine(), scratch(role, r.chosen.get_size()));
    dnnl::reorder(have, m).execute(stream(), have, m);
    return m;
  }
  memory user(r.plain, engine(), t.raw_data());
  if (!r.prim) return user;
  memory m(r.chosen, engine(), scratch(role, r.chosen.get_size()));
  r.prim->execute(stream(), user, m);
  return m;
}

// Memory in the primitive's layout that the primitive writes and `drain` then copies to t.
memory sink(const Relayout& r, const Tensor& t, Role role) {
  if (!r.prim) return memory(r.plain, engine(), t.raw_data());
  return memory(r.chosen, engine(), scratch(role, r.chosen.get_size()));
}
void drain(const Relayout& r, memory& m, const Tensor& t) {
  if (!r.prim) return;
  memory user(r.plain, engine(), t.raw_data());
  r.prim->execute(stream(), m, user);
}

// Builds a plan; a oneDNN failure (none is expected for float32 direct convolution, which always
// has a reference implementation) becomes a convkit::Error naming the problem.
template <class Plan, class Make>
std::shared_ptr<Plan> build(const std::string& key, Make make) {
  try {
    return cached<Plan>(key, make);
  } catch (const dnnl::error& e) {
    throw Error(detail::concat("conv2d: oneDNN could not build ", key, ": ", e.what()));
  }
}

struct ForwardPlan {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  Relayout src, wei, dst;
};

struct BackwardDataPlan {
  dnnl::convolution_backward_data prim;
  Relayout diff_dst, wei, diff_src;
};

struct BackwardWeightsPlan {
  dnnl::convolution_backward_weights prim;
  Relayout src, diff_dst, diff_wei;
  memory::desc diff_bias;  // zero desc when the problem has no bias
};

std::shared_ptr<ForwardPlan> forward_plan(const ConvProblem& p, bool training, bool bf16) {
  const std::string key =
      std::string("conv2d/fwd/") + (training ? "train/" : "infer/") + precision_key(bf16) + p.key();
  return build<ForwardPlan>(key, [&] {
    Geometry g = geometry(p);
    auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    memory::desc bias = p.has_bias ? plain(g.bias, tag::x) : memory::desc();
    dnnl::convolution_forward::desc d(kind, dnnl::algorithm::convolution_direct,
                                      any(g.src, operand(bf16)), any(g.wei, operand(bf16)), bias,
                                      any(g.dst), g.strides, g.dilates, g.pad_l, g.pad_r);
    dnnl::convolution_forward::primitive_desc pd(d, engine());
    return ForwardPlan{pd, dnnl::convolution_forward(pd),
                       Relayout(plain(g.src, tag::nchw), pd.src_desc(), true),
                       Relayout(plain(g.wei, g.wei_plain), pd.weights_desc(), true),
                       Relayout(plain(g.dst, tag::nchw), pd.dst_desc(), false)};
  });
}

std::shared_ptr<BackwardDataPlan> backward_data_plan(const ConvProblem& p, bool bf16) {
  return build<BackwardDataPlan>("conv2d/bwd_data/" + precision_key(bf16) + p.key(), [&] {
    Geometry g = geometry(p);
    auto hint = forward_plan(p, /*training=*/true, bf16)->pd;
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, any(g.src),
                                            any(g.wei, operand(bf16)), any(g.dst, operand(bf16)),
                                            g.strides, g.dilates, g.pad_l, g.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(d, engine(), hint);
    return BackwardDataPlan{dnnl::convolution_backward_data(pd),
                            Relayout(plain(g.dst, tag::nchw), pd.diff_dst_desc(), true),
                            Relayout(plain(g.wei, g.wei_plain), pd.weights_desc(), true),
                            Relayout(plain(g.src, tag::nchw), pd.diff_src_desc(), false)};
  });
}

std::shared_ptr<BackwardWeightsPlan> backward_weights_plan(const ConvProblem& p, bool bf16) {
  return build<BackwardWeightsPlan>("conv2d/bwd_weights/" + precision_key(bf16) + p.key(), [&] {
    Geometry g = geometry(p);
    auto hint = forward_plan(p, /*training=*/true, bf16)->pd;
    memory::desc bias = p.has_bias ? plain(g.bias, tag::x) : memory::desc();
    dnnl::convolution_backward_weights::desc d(
        dnnl::algorithm::convolution_direct, any(g.src, operand(bf16)), any(g.wei), bias,
        any(g.dst, operand(bf16)), g.strides, g.dilates, g.pad_l, g.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(d, engine(), hint);
    return BackwardWeightsPlan{dnnl::convolution_backward_weights(pd),
                               Relayout(plain(g.src, tag::nchw), pd.src_desc(), true),
                               Relayout(plain(g.dst, tag::nchw), pd.diff_dst_desc(), true),
                               Relayout(plain(g.wei, g.wei_plain), pd.diff_weights_desc(), false),
                               bias};
  });
}
}  // namespace

bool conv2d_accepts(const Tensor& x, const Tensor& w, std::string* why) {
  if (x.dtype() != DType::f32 || w.dtype() != DType::f32) return *why = "not float32", false;
  // oneDNN skips zero-volume problems without writing the gradients; the reference kernels
  // define them (zero dw/dx, db = 0, y = bias).
  if (x.numel() == 0 || w.numel() == 0) return *why = "empty tensor", false;
  return true;
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvProblem& p,
                      bool training) {
  auto plan = forward_plan(p, training, conv_bf16());
  memory src = feed(plan->src, x, kSrc);
  memory wei = feed(plan->wei, w, kWei);
  // The output stays in the primitive's layout (kernels/dnnl/layout.h).
  Tensor y = new_tensor({p.N, p.OC, p.OH, p.OW}, plan->dst.chosen);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, memory_of(y)}};
  if (p.has_bias) args.emplace(DNNL_ARG_BIAS, wrap(b));
  plan->prim.execute(stream(), args);
  stream().wait();
  return y;
}

namespace {
// dx comes out in the layout the primitive chose, like a forward output.
Tensor run_backward_data(const BackwardDataPlan& plan, const memory& diff_dst, const Tensor& w,
                         const ConvProblem& p) {
  memory wei = feed(plan.wei, w, kWei);
  Tensor dx = new_tensor({p.N, p.IC, p.IH, p.IW}, plan.diff_src.chosen);
  plan.prim.execute(
      stream(),
      {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DIFF_SRC, memory_of(dx)}});
  return dx;
}

void run_backward_weights(const BackwardWeightsPlan& plan, Tensor& dw, Tensor& db,
                          const memory& diff_dst, const Tensor& x, const ConvProblem& p) {
  memory src = feed(plan.src, x, kSrc);
  // An unwanted dw still has to be written somewhere: scratch, and no reorder out.
  memory diff_wei = dw.defined() ? sink(plan.diff_wei, dw, kWei)
                                 : memory(plan.diff_wei.chosen, engine(),
                                          scratch(kWei, plan.diff_wei.chosen.get_size()));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, diff_wei}};
  if (p.has_bias) {
    void* out = db.defined() ? db.raw_data() : scratch(kBias, plan.diff_bias.get_size());
    args.emplace(DNNL_ARG_DIFF_BIAS, memory(plan.diff_bias, engine(), out));
  }
  plan.prim.execute(stream(), args);
  if (dw.defined()) drain(plan.diff_wei, diff_wei, dw);
}
}  // namespace

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const ConvProblem& p) {
  auto plan = backward_data_plan(p, conv_bf16());
  Tensor dx = run_backward_data(*plan, feed(plan->diff_dst, dy, kDst), w, p);
  stream().wait();
  return dx;
}

void conv2d_backward_weights(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                             const ConvProblem& p) {
  auto plan = backward_weights_plan(p, conv_bf16());
  run_backward_weights(*plan, dw, db, feed(plan->diff_dst, dy, kDst), x, p);
  stream().wait();
}

void conv2d_backward(Tensor& dx, Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                     const Tensor& w, const ConvProblem& p) {
  if (!dx.defined()) return conv2d_backward_weights(dw, db, dy, x, p);
  if (!dw.defined() && !db.defined()) {
    dx = conv2d_backward_data(dy, w, p);
    return;
  }
  auto data = backward_data_plan(p, conv_bf16());
  auto weights = backward_weights_plan(p, conv_bf16());
  memory diff_dst = feed(data->diff_dst, dy, kDst);
  dx = run_backward_data(*data, diff_dst, w, p);
  // The weights pass reads dy from the same reordered copy when it wants the same layout.
  memory diff_dst_w = data->diff_dst.chosen == weights->diff_dst.chosen
                          ? diff_dst
                          : feed(weights->diff_dst, dy, kDst2);
  run_backward_weights(*weights, dw, db, diff_dst_w, x, p);
  stream().wait();
}

}  // namespace convkit::onednn
