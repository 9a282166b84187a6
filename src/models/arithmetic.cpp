#include "convkit/models/arithmetic.h"

#include <algorithm>
#include <any>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "convkit/autograd.h"
#include "convkit/ops/conv.h"
#include "convkit/ops/pool.h"
#include "convkit/ops/shape_ops.h"
#include "core/trace.h"

namespace convkit::models {

namespace {

class Recorder : public detail::OpTracer {
 public:
  void record(detail::TracedOp op) override { ops.push_back(std::move(op)); }
  std::vector<detail::TracedOp> ops;
};

// Where a tensor's units look in the input: receptive field, jump, centre of unit (0, 0).
struct Field {
  double rf_h = 1, rf_w = 1, jump_h = 1, jump_w = 1, center_h = 0, center_w = 0;
  bool global = false;
};

// A sliding window of kernel f (dilation d), stride s, padding p along one axis.
void slide(double& rf, double& jump, double& center, int64_t f, int64_t s, int64_t p, int64_t d) {
  const double span = double(d * (f - 1));
  rf += span * jump;
  center += (span / 2 - double(p)) * jump;
  jump *= double(s);
}

bool spatial(const Shape& s) { return s.ndim() == 4; }

}  // namespace

std::string output_size_formula(int64_t n, int64_t f, int64_t s, int64_t p, int64_t d,
                                bool ceil_mode, int64_t result) {
  char buf[160];
  const char* round = ceil_mode ? "ceil" : "floor";
  if (d == 1)
    std::snprintf(buf, sizeof buf, "%s((%lld + 2*%lld - %lld) / %lld) + 1 = %lld", round,
                  (long long)n, (long long)p, (long long)f, (long long)s, (long long)result);
  else
    std::snprintf(buf, sizeof buf, "%s((%lld + 2*%lld - %lld*(%lld-1) - 1) / %lld) + 1 = %lld",
                  round, (long long)n, (long long)p, (long long)d, (long long)f, (long long)s,
                  (long long)result);
  return buf;
}

ModelArithmetic conv_arithmetic(nn::Module& model, int64_t channels, int64_t height,
                                int64_t width) {
  ModelArithmetic out;
  out.input = Shape{1, channels, height, width};
  const Tensor x = Tensor::zeros(out.input);
  Recorder rec;
  Tensor y;
  {
    const bool was_training = model.is_training();
    model.eval();
    try {
      NoGradGuard no_grad;
      detail::TraceGuard trace(&rec);
      y = model(x);
    } catch (...) {
      model.train(was_training);
      throw;
    }
    model.train(was_training);
  }
  for (const auto& [name, p] : model.named_parameters()) out.params += p.numel();

  // The ops on the path to the output (an op built from other ops reports after its parts, with
  // the same output: the last report wins, and the parts are then off the path).
  std::unordered_map<const detail::TensorImpl*, size_t> producer;
  for (size_t k = 0; k < rec.ops.size(); ++k) producer[rec.ops[k].output.impl_ptr().get()] = k;
  std::vector<bool> needed(rec.ops.size(), false);
  std::vector<const detail::TensorImpl*> stack{y.impl_ptr().get()};
  while (!stack.empty()) {
    auto it = producer.find(stack.back());
    stack.pop_back();
    if (it == producer.end() || needed[it->second]) continue;
    needed[it->second] = true;
    for (const Tensor& t : rec.ops[it->second].inputs)
      if (t.defined()) stack.push_back(t.impl_ptr().get());
  }

  std::unordered_map<const detail::TensorImpl*, Field> fields{{x.impl_ptr().get(), Field{}}};
  const Field whole{double(height),     double(width),     1,   1,
                    (height - 1) / 2.0, (width - 1) / 2.0, true};
  for (size_t k = 0; k < rec.ops.size(); ++k) {
    if (!needed[k]) continue;
    const detail::TracedOp& op = rec.ops[k];
    // The data input: the first input that descends from the model's input (weights do not).
    // Merges (add, concat, mul) take the widest field of their inputs.
    const Tensor* data = nullptr;
    Field f;
    bool any_global = false;
    for (const Tensor& t : op.inputs) {
      if (!t.defined()) continue;
      auto it = fields.find(t.impl_ptr().get());
      if (it == fields.end()) continue;
      if (!data) {
        data = &t;
        f = it->second;
      } else if (it->second.rf_h * it->second.rf_w > f.rf_h * f.rf_w) {
        f = it->second;
      }
      any_global = any_global || it->second.global;
    }
    if (!data) continue;  // computed from weights alone
    LayerArithmetic l;
    l.op = op.op;
    l.input = data->shape();
    l.output = op.output.shape();
    const std::string name = op.op;
    if (name == "conv2d") {
      const auto& p = std::any_cast<const Conv2dParams&>(op.params);
      const Tensor& w = op.inputs[1];
      l.kernel_h = w.size(2), l.kernel_w = w.size(3);
      l.stride_h = p.stride_h, l.stride_w = p.stride_w;
      l.dilation_h = p.dilation_h, l.dilation_w = p.dilation_w, l.groups = p.groups;
      auto pad = [&](int64_t n, int64_t o, int64_t f, int64_t s, int64_t d, int64_t explicit_p) {
        if (p.mode == Padding::explicit_pad) return explicit_p;
        if (p.mode == Padding::valid) return int64_t(0);
        return std::max<int64_t>(0, (o - 1) * s + d * (f - 1) + 1 - n) / 2;  // same: before
      };
      l.pad_h = pad(l.input.dim(2), l.output.dim(2), l.kernel_h, l.stride_h, l.dilation_h, p.pad_h);
      l.pad_w = pad(l.input.dim(3), l.output.dim(3), l.kernel_w, l.stride_w, l.dilation_w, p.pad_w);
      l.params = w.numel() + (op.inputs[2].defined() ? op.inputs[2].numel() : 0);
      l.macs =
          l.output.dim(1) * l.output.dim(2) * l.output.dim(3) * w.size(1) * l.kernel_h * l.kernel_w;
    } else if (name == "max_pool2d" || name == "avg_pool2d") {
      const auto& p = std::any_cast<const Pool2dParams&>(op.params);
      l.kernel_h = p.kernel_h, l.kernel_w = p.kernel_w, l.stride_h = p.stride_h,
      l.stride_w = p.stride_w, l.pad_h = p.pad_h, l.pad_w = p.pad_w, l.ceil_mode = p.ceil_mode;
    } else if (name == "linear") {
      const Tensor& w = op.inputs[1];
      l.params =
          w.numel() + (op.inputs.size() > 2 && op.inputs[2].defined() ? op.inputs[2].numel() : 0);
      l.macs = w.numel();
    } else if (name == "batch_norm") {
      for (size_t i = 1; i < 3 && i < op.inputs.size(); ++i)
        if (op.inputs[i].defined()) l.params += op.inputs[i].numel();
    }
    // The field of the output.
    const bool same_size = spatial(l.output) && spatial(l.input) &&
                           l.output.dim(2) == l.input.dim(2) && l.output.dim(3) == l.input.dim(3);
    if (any_global || !spatial(l.output) || !spatial(l.input) || name == "global_avg_pool2d" ||
        (name == "adaptive_avg_pool2d" && l.output.dim(2) == 1 && l.output.dim(3) == 1)) {
      f = whole;
    } else if (l.kernel_h > 0) {
      slide(f.rf_h, f.jump_h, f.center_h, l.kernel_h, l.stride_h, l.pad_h, l.dilation_h);
      slide(f.rf_w, f.jump_w, f.center_w, l.kernel_w, l.stride_w, l.pad_w, l.dilation_w);
    } else if (name == "pad2d") {
      const auto& p = std::any_cast<const Pad2dParams&>(op.params);
      f.center_h -= double(p.top) * f.jump_h;
      f.center_w -= double(p.left) * f.jump_w;
    } else if (name == "upsample_nearest2d" || name == "upsample_bilinear2d") {
      f.jump_h *= double(l.input.dim(2)) / double(l.output.dim(2));
      f.jump_w *= double(l.input.dim(3)) / double(l.output.dim(3));
    } else if (name == "adaptive_avg_pool2d") {
      // PyTorch's windows: [floor(i n / o), ceil((i + 1) n / o)), at most ceil(n / o) + 1 wide
      // (+1 only when o does not divide n), a step of n / o.
      for (int axis = 0; axis < 2; ++axis) {
        const int64_t n = l.input.dim(2 + axis), o = l.output.dim(2 + axis);
        const int64_t k = (n + o - 1) / o + (n % o != 0);
        double& rf = axis == 0 ? f.rf_h : f.rf_w;
        double& jump = axis == 0 ? f.jump_h : f.jump_w;
        double& center = axis == 0 ? f.center_h : f.center_w;
        rf += double(k - 1) * jump;
        center += double(k - 1) / 2 * jump;
        jump *= double(n) / double(o);
      }
    } else if (!same_size) {
      f = whole;  // an op that changes the size in a way not modelled here: claim nothing less
    }
    l.rf_h = f.rf_h, l.rf_w = f.rf_w, l.jump_h = f.jump_h, l.jump_w = f.jump_w;
    l.center_h = f.center_h, l.center_w = f.center_w, l.global = f.global;
    fields[op.output.impl_ptr().get()] = f;
    out.macs += l.macs;
    out.layers.push_back(std::move(l));
  }
  return out;
}

}  // namespace convkit::models
