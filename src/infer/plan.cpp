// The planned inference path (include/convkit/infer/plan.h): trace, fold and fuse, then run.
#include "convkit/infer/plan.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "convkit/autograd.h"
#include "convkit/backend.h"
#include "convkit/ops.h"
#include "convkit/random.h"
#include "core/trace.h"
#include "infer/plan_replay.h"
#include "kernels/dnnl/fused_conv.h"

namespace convkit::infer {

using onednn::PostActivation;

namespace {

// One traced op in value ids.
struct Node {
  std::string op;
  std::any params;
  std::vector<int> in;  // -1: an absent optional input
  std::vector<Shape> in_shapes;
  int out = -1;
  Shape out_shape;
  DType out_dtype = DType::f32;
};

// Turns each traced op into a Node as it is recorded, keeping only what the plan needs: the
// tensors no traced op produced (parameters, buffers, the input: the plan's constants) and the
// shapes of the rest, so that the trace holds no more memory than an ordinary forward pass. A
// tensor is known by its TensorImpl's address while it is alive (a weak reference tells a freed
// and reused address from the same tensor).
struct Recorder : convkit::detail::OpTracer {
  struct Known {
    std::weak_ptr<convkit::detail::TensorImpl> impl;
    int id;
  };
  std::unordered_map<const convkit::detail::TensorImpl*, Known> ids;
  std::vector<Tensor> constants;  // by value id; undefined for values that ops produce
  std::vector<Node> nodes;
  std::vector<int> producer;  // by value id: the last node producing it, or -1

  int new_value(const Tensor& t, bool constant) {
    constants.push_back(constant ? t.detach() : Tensor());
    producer.push_back(-1);
    const int id = int(constants.size()) - 1;
    ids[t.impl_ptr().get()] = {t.impl_ptr(), id};
    return id;
  }
  int value_of(const Tensor& t) {
    auto it = ids.find(t.impl_ptr().get());
    if (it != ids.end() && it->second.impl.lock() == t.impl_ptr()) return it->second.id;
    return new_value(t, true);
  }
  void record(convkit::detail::TracedOp op) override {
    Node n{op.op, std::move(op.params), {}, {}, -1, op.output.shape(), op.output.dtype()};
    for (const Tensor& t : op.inputs) {
      n.in.push_back(t.defined() ? value_of(t) : -1);
      n.in_shapes.push_back(t.defined() ? t.shape() : Shape());
    }
    // An op built from others reports after its parts, for the same output: it wins.
    n.out = new_value(op.output, false);
    producer[n.out] = int(nodes.size());
    nodes.push_back(std::move(n));
  }
};

PostActivation activation_of(const std::string& op) {
  if (op == "relu") return PostActivation::relu;
  if (op == "relu6") return PostActivation::relu6;
  if (op == "leaky_relu") return PostActivation::leaky_relu;
  return PostActivation::none;
}

}  // namespace

std::string PlanStats::to_string() const {
  std::ostringstream os;
  os << traced_ops << " ops -> " << steps << " steps on " << threads << " thread"
     << (threads == 1 ? "" : "s") << "; " << fused_convolutions
     << (bf16   ? " bfloat16"
         : int8 ? " int8"
                : "")
     << " fused convolutions (" << folded_batch_norms << " batch norms folded, "
     << fused_activations << " activations and " << fused_sums << " residual sums fused)";
  if (int8) os << "; relative error " << relative_rms_error << " on the calibration sample";
  return os.str();
}

struct InferencePlan::Impl {
  struct Step {
    Node node;  // a replayed op, or the convolution of a fused one
    bool fused = false;
    // Fused convolution: folded weights, the residual input's id, the activation.
    Tensor weight, bias;
    Conv2dParams conv;
    int residual = -1;
    PostActivation activation = PostActivation::none;
    double alpha = 0;
    std::shared_ptr<onednn::FusedConv> kernel;  // null: run through the ops
    int conv_index = -1;                        // the convolution's place in the trace
    std::vector<int> release;                   // values read for the last time here
    std::string what;                           // for profiles
  };
  Shape input_shape;
  int threads = 1;  // kernel threads of every call (the primitives were built for them)
  std::vector<Tensor> constants;  // by value id; undefined for computed values
  std::vector<Step> steps;
  int output = -1;
  PlanStats stats;

  Tensor run_fused(const Step& s, const std::vector<Tensor>& vals) const;
  // Runs every step; `ms` (when given) gets each step's wall time added; `observe` (when given)
  // sees each fused convolution's input with its conv_index.
  using Observer = std::function<void(int, const Tensor&)>;
  Tensor run(const Tensor& x, std::vector<double>* ms = nullptr,
             const Observer* observe = nullptr) const;
};

Tensor InferencePlan::Impl::run_fused(const Step& s, const std::vector<Tensor>& vals) const {
  const Tensor& x = vals[s.node.in[0]];
  const Tensor residual = s.residual >= 0 ? vals[s.residual] : Tensor();
  if (s.kernel && backend() == Backend::dnnl) return s.kernel->run(x, residual);
  Tensor y = conv2d(x, s.weight, s.bias, s.conv);
  if (residual.defined()) y = add(y, residual);
  switch (s.activation) {
    case PostActivation::none:
      return y;
    case PostActivation::relu:
      return relu(y);
    case PostActivation::relu6:
      return relu6(y);
    case PostActivation::leaky_relu:
      return leaky_relu(y, s.alpha);
  }
  return y;
}

// This thread's OpenMP thread count for a scope.
struct ThreadsFor {
  int prev = omp_get_max_threads();
  explicit ThreadsFor(int n) {
    if (n != prev) omp_set_num_threads(n);
  }
  ~ThreadsFor() {
    if (omp_get_max_threads() != prev) omp_set_num_threads(prev);
  }
};

Tensor InferencePlan::Impl::run(const Tensor& x, std::vector<double>* ms,
                                const Observer* observe) const {
  const ThreadsFor threads_for(threads);
  CONVKIT_CHECK(x.defined() && x.shape() == input_shape, "inference plan: planned for inputs ",
                input_shape.to_string(), ", got ",
                x.defined() ? x.shape().to_string() : std::string("an undefined tensor"));
  NoGradGuard no_grad;
  std::vector<Tensor> vals = constants;
  vals[0] = x;
  for (size_t k = 0; k < steps.size(); ++k) {
    const Step& s = steps[k];
    const auto t0 = std::chrono::steady_clock::now();
    if (s.fused) {
      if (observe) (*observe)(s.conv_index, vals[s.node.in[0]]);
      vals[s.node.out] = run_fused(s, vals);
    } else {
      TensorList in;
      in.reserve(s.node.in.size());
      for (int v : s.node.in) in.push_back(v >= 0 ? vals[v] : Tensor());
      vals[s.node.out] =
          detail::replay(s.node.op, s.node.params, in, s.node.out_shape, s.node.out_dtype);
    }
    for (int v : s.release) vals[v] = Tensor();
    if (ms)
      (*ms)[k] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  return vals[output];
}

namespace {

// w' = w * g / sqrt(var + eps) per output channel, b' = (b - mean) * g / sqrt(var + eps) + beta.
void fold_batch_norm(Tensor& w, Tensor& b, const Tensor& gamma, const Tensor& beta,
                     const Tensor& mean, const Tensor& var, double eps) {
  const int64_t OC = w.size(0), per = w.numel() / OC;
  const Tensor m = mean.to(DType::f32), v = var.to(DType::f32);
  const Tensor g = gamma.defined() ? gamma.to(DType::f32) : Tensor();
  const Tensor be = beta.defined() ? beta.to(DType::f32) : Tensor();
  Tensor nb = Tensor::zeros({OC});
  float* wp = w.data<float>();
  float* bp = nb.data<float>();
  const float* old_b = b.defined() ? b.data<float>() : nullptr;
  for (int64_t c = 0; c < OC; ++c) {
    const double s = (g.defined() ? double(g.data<float>()[c]) : 1.0) /
                     std::sqrt(double(v.data<float>()[c]) + eps);
    for (int64_t i = 0; i < per; ++i) wp[c * per + i] = float(double(wp[c * per + i]) * s);
    bp[c] = float(((old_b ? double(old_b[c]) : 0.0) - double(m.data<float>()[c])) * s +
                  (be.defined() ? double(be.data<float>()[c]) : 0.0));
  }
  b = nb;
}

// n rows of `images`, taken in turn (repeating when it has fewer).
Tensor rows_cyclic(const Tensor& images, int64_t n) {
  const Tensor src = images.to(DType::f32);
  Shape shape = src.shape();
  shape[0] = n;
  Tensor out = Tensor::empty(shape);
  const int64_t per = src.numel() / src.size(0);
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(src.data<float>() + (i % src.size(0)) * per, per, out.data<float>() + i * per);
  return out;
}

}  // namespace

std::unique_ptr<InferencePlan> InferencePlan::build_with(nn::Module& model,
                                                         const Shape& input_shape, int threads,
                                                         const PlanOptions& options) {
  const bool bf16 = options.bf16;
  const Calibration* cal = options.int8.get();
  const ThreadsFor threads_for(threads);
  CONVKIT_CHECK(!model.is_training(), "inference plan: ", model.type_name(),
                " is in training mode; plans are for eval mode (call eval())");
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.input_shape = input_shape;
  m.threads = threads;
  m.stats.threads = threads;
  m.stats.bf16 = bf16;
  m.stats.int8 = cal != nullptr;
  CONVKIT_CHECK(!bf16 || backend() == Backend::dnnl,
                "inference plan: bfloat16 convolutions need the oneDNN backend (CONVKIT_BACKEND=",
                backend_name(backend()), ")");
  CONVKIT_CHECK(!cal || backend() == Backend::dnnl,
                "inference plan: int8 convolutions need the oneDNN backend (CONVKIT_BACKEND=",
                backend_name(backend()), ")");
  CONVKIT_CHECK(!(cal && bf16), "inference plan: choose bfloat16 or int8, not both");
  if (cal) {
    const Tensor& smp = cal->sample;
    CONVKIT_CHECK(smp.defined() && smp.ndim() == 4 && smp.size(0) >= 1 && input_shape.ndim() == 4 &&
                      smp.size(1) == input_shape[1] && smp.size(2) == input_shape[2] &&
                      smp.size(3) == input_shape[3],
                  "inference plan: the int8 calibration was taken on images ",
                  smp.defined() ? smp.shape().to_string() : std::string("(none)"),
                  "; this plan is for ", input_shape.to_string(),
                  ": calibrate on images of the size the model will run on");
  }

  // Trace one forward pass, without autograd (an ordinary forward pass's memory). A value computed
  // from the input outside convkit's ops is not seen by the tracer and would be frozen into the
  // plan as a constant: the check on a second input below refuses such a plan.
  Generator gen(20261207);
  const Tensor x = Tensor::randn(input_shape, &gen);
  Recorder rec;
  rec.new_value(x, false);  // value 0
  Tensor y;
  {
    NoGradGuard no_grad;
    convkit::detail::TraceGuard trace(&rec);
    y = model(x);
  }
  CONVKIT_CHECK(y.defined(), "inference plan: the model returned an undefined tensor");
  auto out_it = rec.ids.find(y.impl_ptr().get());
  CONVKIT_CHECK(out_it != rec.ids.end() && out_it->second.impl.lock() == y.impl_ptr() &&
                    rec.producer[out_it->second.id] >= 0,
                "inference plan: the model's output is not computed by a convkit op");
  m.output = out_it->second.id;
  y = Tensor();

  // The ops the output needs, in trace order.
  std::vector<bool> needed(rec.nodes.size(), false);
  std::vector<int> stack{m.output};
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    const int k = v >= 0 ? rec.producer[v] : -1;
    if (k < 0 || needed[k]) continue;
    needed[k] = true;
    for (int in : rec.nodes[k].in) stack.push_back(in);
  }
  std::vector<Node> nodes;
  for (size_t k = 0; k < rec.nodes.size(); ++k) {
    if (!needed[k]) continue;
    CONVKIT_CHECK(detail::replayable(rec.nodes[k].op), "inference plan: the forward pass uses '",
                  rec.nodes[k].op, "', which the planner cannot replay");
    nodes.push_back(std::move(rec.nodes[k]));
  }
  m.constants = std::move(rec.constants);
  m.constants[0] = Tensor();
  bool reads_input = false;
  for (const Node& n : nodes)
    for (int v : n.in) reads_input = reads_input || v == 0;
  CONVKIT_CHECK(reads_input, "inference plan: the model's output does not depend on its input");
  m.stats.traced_ops = int64_t(nodes.size());

  // Readers of each value (the output counts as one).
  std::vector<std::vector<size_t>> readers(m.constants.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int v : nodes[i].in)
      if (v >= 0) readers[v].push_back(i);
  auto only_reader = [&](int v) -> long {
    return v != m.output && readers[v].size() == 1 ? long(readers[v][0]) : -1;
  };
  auto constant = [&](int v) { return v < 0 || m.constants[v].defined(); };

  // Fusion: conv2d -> [batch_norm (eval)] -> [add (same shape)] -> [relu | relu6 | leaky_relu],
  // each link the only reader of the value before it. The fused step runs where its last link
  // was (the residual is computed by then).
  std::vector<bool> absorbed(nodes.size(), false);
  std::vector<std::optional<Impl::Step>> fused_at(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& c = nodes[i];
    if (c.op != "conv2d" || !constant(c.in[1]) || !constant(c.in[2]) ||
        m.constants[c.in[1]].dtype() != DType::f32 || c.out_dtype != DType::f32)
      continue;
    Impl::Step s;
    s.fused = true;
    s.node = c;
    s.conv = std::any_cast<Conv2dParams>(c.params);
    s.weight = m.constants[c.in[1]].clone();
    s.bias = c.in[2] >= 0 ? m.constants[c.in[2]].clone() : Tensor();
    s.what = "conv2d";
    int cur = c.out;
    size_t at = i;
    bool changed = false;
    long j = only_reader(cur);
    if (j >= 0 && !absorbed[j] && nodes[j].op == "batch_norm" &&
        !std::any_cast<BatchNormParams>(nodes[j].params).training && constant(nodes[j].in[1]) &&
        constant(nodes[j].in[2]) && nodes[j].in[3] >= 0 && constant(nodes[j].in[3]) &&
        nodes[j].in[4] >= 0 && constant(nodes[j].in[4])) {
      const Node& bn = nodes[j];
      auto cv = [&](int v) { return v >= 0 ? m.constants[v] : Tensor(); };
      fold_batch_norm(s.weight, s.bias, cv(bn.in[1]), cv(bn.in[2]), cv(bn.in[3]), cv(bn.in[4]),
                      std::any_cast<BatchNormParams>(bn.params).eps);
      absorbed[j] = true, cur = bn.out, at = size_t(j), changed = true;
      s.what += "+batch_norm";
      ++m.stats.folded_batch_norms;
      j = only_reader(cur);
    }
    if (j >= 0 && !absorbed[j] && nodes[j].op == "add" && nodes[j].out_shape == c.out_shape) {
      const Node& a = nodes[j];
      const int other = a.in[0] == cur ? a.in[1] : a.in[0];
      if (other != cur && !constant(other) && a.in[0] != a.in[1]) {
        s.residual = other;
        absorbed[j] = true, cur = a.out, at = size_t(j), changed = true;
        s.what += "+add";
        ++m.stats.fused_sums;
        j = only_reader(cur);
      }
    }
    if (j >= 0 && !absorbed[j] && activation_of(nodes[j].op) != PostActivation::none) {
      s.activation = activation_of(nodes[j].op);
      if (s.activation == PostActivation::leaky_relu)
        s.alpha = std::any_cast<ActivationParams>(nodes[j].params).alpha;
      absorbed[j] = true, cur = nodes[j].out, at = size_t(j), changed = true;
      s.what += "+" + nodes[j].op;
      ++m.stats.fused_activations;
    }
    if (!changed && backend() != Backend::dnnl) continue;  // nothing gained: replay the op
    s.conv_index = int(m.stats.fused_convolutions);
    s.node.out = cur;
    s.node.in = {c.in[0]};
    if (s.residual >= 0) s.node.in.push_back(s.residual);
    if (backend() == Backend::dnnl) {
      onednn::FusedConvSpec spec;
      spec.problem =
          convkit::detail::resolve_conv(Tensor::empty(c.in_shapes[0]), s.weight, s.bias, s.conv);
      spec.weight = s.weight, spec.bias = s.bias, spec.sum = s.residual >= 0;
      spec.activation = s.activation, spec.alpha = s.alpha;
      spec.bf16 = bf16;
      if (cal) {
        CONVKIT_CHECK(size_t(s.conv_index) < cal->inputs.size(), "inference plan: the int8 ",
                      "calibration holds ", cal->inputs.size(),
                      " convolution input ranges; this model runs more convolutions (another "
                      "model was calibrated?)");
        const Calibration::Range& r = cal->inputs[size_t(s.conv_index)];
        spec.int8 = true, spec.input_min = r.min, spec.input_max = r.max;
      }
      s.kernel = std::make_shared<onednn::FusedConv>(spec);
    }
    absorbed[i] = true;
    fused_at[at] = std::move(s);
    ++m.stats.fused_convolutions;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (fused_at[i]) m.steps.push_back(std::move(*fused_at[i]));
    if (absorbed[i]) continue;
    Impl::Step s;
    s.node = nodes[i];
    s.what = nodes[i].op;
    m.steps.push_back(std::move(s));
  }
  m.stats.steps = int64_t(m.steps.size());
  // Free each computed value after its last reader (the output stays).
  std::vector<int> last(m.constants.size(), -1);
  for (size_t k = 0; k < m.steps.size(); ++k)
    for (int v : m.steps[k].node.in)
      if (v >= 0 && !m.constants[v].defined()) last[v] = int(k);
  last[m.output] = -1;
  for (size_t v = 0; v < last.size(); ++v)
    if (last[v] >= 0) m.steps[last[v]].release.push_back(int(v));

  CONVKIT_CHECK(!cal || size_t(m.stats.fused_convolutions) == cal->inputs.size(),
                "inference plan: the int8 calibration holds ", cal ? cal->inputs.size() : 0,
                " convolution input ranges; this model runs ", m.stats.fused_convolutions,
                " convolutions (another model was calibrated?)");

  // Checked on a second input against the model itself: a wrong plan is never used. An int8
  // plan is checked on calibration images (random inputs would saturate its ranges).
  std::unique_ptr<InferencePlan> plan(new InferencePlan(std::move(impl)));
  Tensor check = cal ? rows_cyclic(cal->sample, input_shape[0]) : Tensor::randn(input_shape, &gen);
  Tensor want, got;
  {
    NoGradGuard no_grad;
    want = model(check).to(DType::f32);
    got = plan->run(check).to(DType::f32);
  }
  CONVKIT_CHECK(want.shape() == got.shape(), "inference plan: the plan returns ",
                got.shape().to_string(), " where the model returns ", want.shape().to_string());
  double diff = 0, scale = 0, err2 = 0, ref2 = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = want.data<float>()[i], b = got.data<float>()[i];
    if (std::isfinite(a) != std::isfinite(b)) diff = INFINITY;
    if (std::isfinite(a) && std::isfinite(b))
      diff = std::max(diff, std::abs(a - b)), err2 += (a - b) * (a - b), ref2 += a * a;
    if (std::isfinite(a)) scale = std::max(scale, std::abs(a));
  }
  plan->impl_->stats.max_abs_difference = diff;
  if (cal) {
    const double rel = std::isfinite(diff) ? std::sqrt(err2 / std::max(ref2, 1e-30)) : INFINITY;
    plan->impl_->stats.relative_rms_error = rel;
    CONVKIT_CHECK(rel <= kInt8MaxError, "inference plan: the int8 plan's output differs from the ",
                  "float32 model's by ", rel, " (relative RMS error on ", check.size(0),
                  " calibration images; at most ", kInt8MaxError,
                  " is accepted): this model does not quantize well with these ranges");
    return plan;
  }
  CONVKIT_CHECK(diff <= (bf16 ? 2e-2 : 1e-3) * std::max(1.0, scale),
                "inference plan: the plan's output differs ", "from the model's by ", diff,
                " (largest output ", scale,
                "); the forward pass does something the trace does not capture");
  return plan;
}

namespace {
// Median wall time of a few calls (after one warm-up), stopping early past ~50 ms in total.
double median_ms(const InferencePlan& plan, const Tensor& x) {
  plan.run(x);
  std::vector<double> ms;
  double total = 0;
  while (ms.size() < 7 && (ms.size() < 3 || total < 50)) {
    const auto t0 = std::chrono::steady_clock::now();
    plan.run(x);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    total += ms.back();
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}
}  // namespace

std::unique_ptr<InferencePlan> InferencePlan::build(nn::Module& model, const Shape& input_shape,
                                                    const PlanOptions& o) {
  CONVKIT_CHECK(o.threads >= 0, "inference plan: threads must be >= 0 (0: choose), got ",
                o.threads);
  const int all = omp_get_max_threads();
  if (o.threads > 0 || all == 1)
    return build_with(model, input_shape, o.threads > 0 ? o.threads : 1, o);
  // A small network's pass splits badly over threads (a 28x28 ResNet-20 image: 0.36 ms on one
  // thread, 0.45 ms on two, docs/performance.md): when a pass is short, time one thread too and
  // keep the faster plan.
  auto plan = build_with(model, input_shape, all, o);
  Generator gen(3);
  const Tensor x = Tensor::randn(input_shape, &gen);
  const double t_all = median_ms(*plan, x);
  if (t_all > kThreadChoiceMs) return plan;
  auto single = build_with(model, input_shape, 1, o);
  const double t_one = median_ms(*single, x);
  plan->impl_->stats.considered_single_thread_ms = t_one;
  single->impl_->stats.considered_single_thread_ms = t_one;
  plan->impl_->stats.considered_all_threads_ms = t_all;
  single->impl_->stats.considered_all_threads_ms = t_all;
  return t_one < t_all ? std::move(single) : std::move(plan);
}

std::shared_ptr<const Calibration> InferencePlan::calibrate(nn::Module& model, const Tensor& images,
                                                            int64_t batch) {
  CONVKIT_CHECK(images.defined() && images.ndim() == 4 && images.size(0) >= 1,
                "int8 calibration: expected images [M, C, H, W] with M >= 1, got ",
                images.defined() ? images.shape().to_string() : std::string("none"));
  CONVKIT_CHECK(batch >= 1, "int8 calibration: batch must be >= 1, got ", batch);
  // The ranges are those of the oneDNN plan's convolutions (the reference backend's plan fuses
  // differently), and only oneDNN runs int8.
  CONVKIT_CHECK(backend() == Backend::dnnl, "int8 calibration: int8 convolutions need the oneDNN ",
                "backend (CONVKIT_BACKEND=", backend_name(backend()), ")");
  auto cal = std::make_shared<Calibration>();
  const Tensor all = images.to(DType::f32);
  const int64_t M = all.size(0);
  cal->images = M;
  cal->sample = rows_cyclic(all, std::min(M, Calibration::kSampleImages));
  // The float32 plan of each batch shape (two at most: full batches and the rest).
  std::map<int64_t, std::unique_ptr<InferencePlan>> plans;
  int64_t convs = -1;
  for (int64_t start = 0; start < M; start += batch) {
    const int64_t n = std::min(batch, M - start);
    Shape shape = all.shape();
    shape[0] = n;
    auto& plan = plans[n];
    if (!plan) plan = build(model, shape, PlanOptions{});
    const Impl& pi = *plan->impl_;
    if (convs < 0) {
      convs = pi.stats.fused_convolutions;
      cal->inputs.resize(size_t(convs));
      for (const Impl::Step& s : pi.steps)
        if (s.conv_index >= 0) {
          auto& r = cal->inputs[size_t(s.conv_index)];
          r.what = s.what + " -> " + s.node.out_shape.to_string();
          r.min = INFINITY, r.max = -INFINITY;
        }
    }
    CONVKIT_CHECK(pi.stats.fused_convolutions == convs, "int8 calibration: batches of ", n, " run ",
                  pi.stats.fused_convolutions, " convolutions, batches of ", batch, " ran ", convs);
    Tensor x = Tensor::empty(shape);
    const int64_t per = all.numel() / M;
    std::copy_n(all.data<float>() + start * per, n * per, x.data<float>());
    const Impl::Observer see = [&](int k, const Tensor& in) {
      const Tensor v = in.to(DType::f32);  // plain row-major
      const float* p = v.data<float>();
      Calibration::Range& r = cal->inputs[size_t(k)];
      for (int64_t i = 0; i < v.numel(); ++i) {
        CONVKIT_CHECK(std::isfinite(p[i]), "int8 calibration: a ",
                      std::isnan(p[i]) ? "NaN" : "infinite", " value reaches convolution ", k + 1,
                      " (", r.what, ") on images ", start, "-", start + n - 1,
                      " of the calibration set");
        r.min = std::min(r.min, p[i]), r.max = std::max(r.max, p[i]);
      }
    };
    plan->impl_->run(x, nullptr, &see);
  }
  return cal;
}

InferencePlan::InferencePlan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InferencePlan::~InferencePlan() = default;
Tensor InferencePlan::run(const Tensor& x) const {
  if (!impl_->stats.int8) return impl_->run(x);
  // Quantizing saturates a NaN or infinity into an ordinary number; float32 plans would carry it
  // to the output. So an int8 plan marks those images' outputs NaN itself (callers count
  // non-finite rows: infer::count_non_finite_rows).
  CONVKIT_CHECK(x.defined() && x.ndim() >= 1, "inference plan: expected a batch of inputs");
  const Tensor in = x.to(DType::f32);
  const int64_t n = in.size(0), per = n ? in.numel() / n : 0;
  std::vector<int64_t> bad;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = in.data<float>() + i * per;
    if (!std::all_of(p, p + per, [](float v) { return std::isfinite(v); })) bad.push_back(i);
  }
  Tensor y = impl_->run(x);
  if (bad.empty()) return y;
  CONVKIT_CHECK(y.ndim() >= 1 && y.size(0) == n, "inference plan: input ", in.shape().to_string(),
                " holds non-finite values and the output ", y.shape().to_string(),
                " has no row per image to mark");
  y = y.to(DType::f32).clone();
  const int64_t out_per = y.numel() / n;
  for (int64_t i : bad) std::fill_n(y.data<float>() + i * out_per, out_per, NAN);
  return y;
}
const Shape& InferencePlan::input_shape() const { return impl_->input_shape; }
const PlanStats& InferencePlan::stats() const { return impl_->stats; }

std::vector<InferencePlan::StepTime> InferencePlan::profile(const Tensor& x, int reps) const {
  CONVKIT_CHECK(reps >= 1, "InferencePlan::profile: reps must be >= 1, got ", reps);
  const size_t n = impl_->steps.size();
  std::vector<std::vector<double>> per(n);
  for (int r = 0; r < reps; ++r) {
    std::vector<double> ms(n, 0.0);
    impl_->run(x, &ms);
    for (size_t k = 0; k < n; ++k) per[k].push_back(ms[k]);
  }
  std::vector<StepTime> out;
  for (size_t k = 0; k < n; ++k) {
    const Impl::Step& s = impl_->steps[k];
    std::nth_element(per[k].begin(), per[k].begin() + reps / 2, per[k].end());
    out.push_back({s.what, s.node.op, s.node.out_shape, per[k][size_t(reps / 2)]});
  }
  return out;
}

}  // namespace convkit::infer
