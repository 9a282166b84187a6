// One ONNX emission rule per traced convkit op; each reads the parameter struct its op traces
// (the op's public header names it).
#include "convkit/ops.h"
#include "io/onnx/export.h"

namespace convkit::io::onnx_detail {

namespace {

using detail::TracedOp;
using G = ExportGraph;

template <class T>
const T& params(const TracedOp& op) {
  const T* p = std::any_cast<T>(&op.params);
  CONVKIT_CHECK(p != nullptr, "save_onnx: op '", op.op, "' was traced without its options");
  return *p;
}

std::string in(const TracedOp& op, G& g, size_t i) {
  return i < op.inputs.size() && op.inputs[i].defined() ? g.value_name(op.inputs[i]) : "";
}

void conv2d(const TracedOp& op, G& g, const std::string& out) {
  const Conv2dParams& p = params<Conv2dParams>(op);
  const Tensor& x = op.inputs[0];
  const Tensor& w = op.inputs[1];
  int64_t pt = p.pad_h, pl = p.pad_w, pb = p.pad_h, pr = p.pad_w;
  if (p.mode == Padding::valid) pt = pl = pb = pr = 0;
  if (p.mode == Padding::same) {
    const PadPair h = conv_same_padding(x.size(2), w.size(2), p.stride_h, p.dilation_h);
    const PadPair v = conv_same_padding(x.size(3), w.size(3), p.stride_w, p.dilation_w);
    pt = h.before, pb = h.after, pl = v.before, pr = v.after;
  }
  std::vector<std::string> inputs{in(op, g, 0), in(op, g, 1)};
  if (op.inputs.size() > 2 && op.inputs[2].defined()) inputs.push_back(in(op, g, 2));
  auto* n = g.node("Conv", inputs, out);
  G::attr(n, "kernel_shape", std::vector<int64_t>{w.size(2), w.size(3)});
  G::attr(n, "strides", std::vector<int64_t>{p.stride_h, p.stride_w});
  G::attr(n, "dilations", std::vector<int64_t>{p.dilation_h, p.dilation_w});
  G::attr(n, "pads", std::vector<int64_t>{pt, pl, pb, pr});
  G::attr(n, "group", p.groups);
}

void batch_norm(const TracedOp& op, G& g, const std::string& out) {
  const BatchNormParams& p = params<BatchNormParams>(op);
  CONVKIT_CHECK(!p.training, "save_onnx: batch_norm ran in training mode (a module forces it); ",
                "only inference batch norm is exported");
  const Tensor& x = op.inputs[0];
  CONVKIT_CHECK(op.inputs[3].defined(), "save_onnx: batch_norm without running statistics");
  const int64_t C = x.size(1);
  std::string scale =
      op.inputs[1].defined() ? in(op, g, 1) : g.constant(Tensor::ones({C}, x.dtype()), "bn_scale");
  std::string bias =
      op.inputs[2].defined() ? in(op, g, 2) : g.constant(Tensor::zeros({C}, x.dtype()), "bn_bias");
  auto* n =
      g.node("BatchNormalization", {in(op, g, 0), scale, bias, in(op, g, 3), in(op, g, 4)}, out);
  G::attr(n, "epsilon", p.eps);
  G::attr(n, "momentum", 1.0 - p.momentum);  // ONNX weighs the running value by momentum
}

template <const char* OnnxOp>
void same_op(const TracedOp& op, G& g, const std::string& out) {
  std::vector<std::string> inputs;
  for (size_t i = 0; i < op.inputs.size(); ++i) inputs.push_back(in(op, g, i));
  g.node(OnnxOp, inputs, out);
}

void leaky_relu(const TracedOp& op, G& g, const std::string& out) {
  G::attr(g.node("LeakyRelu", {in(op, g, 0)}, out), "alpha", params<ActivationParams>(op).alpha);
}

void elu(const TracedOp& op, G& g, const std::string& out) {
  G::attr(g.node("Elu", {in(op, g, 0)}, out), "alpha", params<ActivationParams>(op).alpha);
}

// Clip's bounds became inputs in opset 11 (OpenCV 4.6 reads only the attribute form).
void relu6(const TracedOp& op, G& g, const std::string& out) {
  const DType t = op.inputs[0].dtype();
  if (g.opset() < 11) {
    auto* n = g.node("Clip", {in(op, g, 0)}, out);
    G::attr(n, "min", 0.0);
    G::attr(n, "max", 6.0);
    return;
  }
  g.node("Clip", {in(op, g, 0), g.scalar(0, t, "clip_min"), g.scalar(6, t, "clip_max")}, out);
}

// Before opset 13 Softmax normalizes the input coerced to 2-D at `axis`; that equals a softmax
// along one dim only for the last one, so other dims are transposed there and back.
void softmax_like(const TracedOp& op, G& g, const std::string& out, const char* onnx_op) {
  const int64_t dim = params<SoftmaxParams>(op).dim;
  const int64_t last = op.inputs[0].ndim() - 1;
  if (g.opset() >= 13 || dim == last) {
    G::attr(g.node(onnx_op, {in(op, g, 0)}, out), "axis", dim);
    return;
  }
  std::vector<int64_t> perm;
  for (int64_t d = 0; d <= last; ++d) perm.push_back(d == dim ? last : d == last ? dim : d);
  const std::string t1 = g.fresh("softmax_t"), t2 = g.fresh("softmax");
  G::attr(g.node("Transpose", {in(op, g, 0)}, t1), "perm", perm);
  G::attr(g.node(onnx_op, {t1}, t2), "axis", last);
  G::attr(g.node("Transpose", {t2}, out), "perm", perm);
}
void softmax(const TracedOp& op, G& g, const std::string& out) {
  softmax_like(op, g, out, "Softmax");
}
void log_softmax(const TracedOp& op, G& g, const std::string& out) {
  softmax_like(op, g, out, "LogSoftmax");
}

// PyTorch's ceil-mode rule drops a last window that would start in the right padding; ONNX's
// formula does not. Where they disagree for the traced input the file would be wrong, so refuse.
void check_ceil(const Pool2dParams& p, const Tensor& x, const Tensor& y) {
  if (!p.ceil_mode) return;
  auto onnx_size = [](int64_t n, int64_t k, int64_t s, int64_t pad) {
    return (n + 2 * pad - k + s - 1) / s + 1;
  };
  CONVKIT_CHECK(onnx_size(x.size(2), p.kernel_h, p.stride_h, p.pad_h) == y.size(2) &&
                    onnx_size(x.size(3), p.kernel_w, p.stride_w, p.pad_w) == y.size(3),
                "save_onnx: ceil-mode pooling (", p.to_string(), ") of ", x.shape().to_string(),
                " drops a window that ONNX's ceil_mode would keep");
}

void pool(const TracedOp& op, G& g, const std::string& out, bool is_max) {
  const Pool2dParams& p = params<Pool2dParams>(op);
  CONVKIT_CHECK(!p.ceil_mode || g.opset() >= 10, "save_onnx: ceil-mode pooling needs opset 10 or ",
                "later, not ", g.opset());
  check_ceil(p, op.inputs[0], op.output);
  auto* n = g.node(is_max ? "MaxPool" : "AveragePool", {in(op, g, 0)}, out);
  G::attr(n, "kernel_shape", std::vector<int64_t>{p.kernel_h, p.kernel_w});
  G::attr(n, "strides", std::vector<int64_t>{p.stride_h, p.stride_w});
  G::attr(n, "pads", std::vector<int64_t>{p.pad_h, p.pad_w, p.pad_h, p.pad_w});
  if (p.ceil_mode) G::attr(n, "ceil_mode", int64_t(1));
  if (!is_max) G::attr(n, "count_include_pad", int64_t(p.count_include_pad));
}
void max_pool2d(const TracedOp& op, G& g, const std::string& out) { pool(op, g, out, true); }
void avg_pool2d(const TracedOp& op, G& g, const std::string& out) { pool(op, g, out, false); }

void adaptive_avg_pool2d(const TracedOp& op, G& g, const std::string& out) {
  const auto [out_h, out_w] = params<AdaptivePool2dParams>(op);
  const Tensor& x = op.inputs[0];
  if (out_h == 1 && out_w == 1) {
    g.node("GlobalAveragePool", {in(op, g, 0)}, out);
    return;
  }
  CONVKIT_CHECK(x.size(2) % out_h == 0 && x.size(3) % out_w == 0, "save_onnx: adaptive_avg_pool2d ",
                "of ", x.shape().to_string(), " to ", out_h, "x", out_w,
                " has unequal bins, which ONNX cannot express");
  const int64_t kh = x.size(2) / out_h, kw = x.size(3) / out_w;
  auto* n = g.node("AveragePool", {in(op, g, 0)}, out);
  G::attr(n, "kernel_shape", std::vector<int64_t>{kh, kw});
  G::attr(n, "strides", std::vector<int64_t>{kh, kw});
}

void linear(const TracedOp& op, G& g, const std::string& out) {
  std::vector<std::string> inputs{in(op, g, 0), in(op, g, 1)};
  if (op.inputs[2].defined()) {
    inputs.push_back(in(op, g, 2));
  } else if (g.opset() < 11) {  // C became optional in opset 11
    inputs.push_back(
        g.constant(Tensor::zeros({op.inputs[1].size(0)}, op.inputs[1].dtype()), "gemm_c"));
  }
  G::attr(g.node("Gemm", inputs, out), "transB", int64_t(1));
}

void scalar_op(const TracedOp& op, G& g, const std::string& out, const char* onnx_op) {
  const DType t = op.inputs[0].dtype();
  g.node(onnx_op, {in(op, g, 0), g.scalar(params<ScalarParams>(op).value, t, "scalar")}, out);
}
void add_scalar(const TracedOp& op, G& g, const std::string& out) { scalar_op(op, g, out, "Add"); }
void mul_scalar(const TracedOp& op, G& g, const std::string& out) { scalar_op(op, g, out, "Mul"); }
void pow(const TracedOp& op, G& g, const std::string& out) { scalar_op(op, g, out, "Pow"); }

void concat(const TracedOp& op, G& g, const std::string& out) {
  std::vector<std::string> inputs;
  for (size_t i = 0; i < op.inputs.size(); ++i) inputs.push_back(in(op, g, i));
  G::attr(g.node("Concat", inputs, out), "axis", params<ConcatParams>(op).dim);
}

// Flatten where it is one (keeps the batch dim free); otherwise Reshape with 0 ("copy the
// input's size") for an unchanged batch dim.
void reshape(const TracedOp& op, G& g, const std::string& out) {
  const Shape& from = op.inputs[0].shape();
  const Shape& to = op.output.shape();
  const bool same_batch = from.ndim() >= 1 && to.ndim() >= 1 && from[0] == to[0];
  if (same_batch && to.ndim() == 2 && from.ndim() >= 2) {
    G::attr(g.node("Flatten", {in(op, g, 0)}, out), "axis", int64_t(1));
    return;
  }
  std::vector<int64_t> dims = to.vec();
  if (same_batch) dims[0] = 0;
  g.node("Reshape", {in(op, g, 0), g.ints(dims, "shape")}, out);
}

void permute(const TracedOp& op, G& g, const std::string& out) {
  G::attr(g.node("Transpose", {in(op, g, 0)}, out), "perm", params<PermuteParams>(op).order);
}

void slice_along(const TracedOp& op, G& g, const std::string& out, int64_t dim, int64_t start,
                 int64_t end) {
  if (g.opset() < 10) {  // starts/ends/axes were attributes
    auto* n = g.node("Slice", {in(op, g, 0)}, out);
    G::attr(n, "starts", std::vector<int64_t>{start});
    G::attr(n, "ends", std::vector<int64_t>{end});
    G::attr(n, "axes", std::vector<int64_t>{dim});
    return;
  }
  g.node("Slice",
         {in(op, g, 0), g.ints({start}, "starts"), g.ints({end}, "ends"), g.ints({dim}, "axes")},
         out);
}
void narrow(const TracedOp& op, G& g, const std::string& out) {
  const NarrowParams& p = params<NarrowParams>(op);
  slice_along(op, g, out, p.dim, p.start, p.start + p.length);
}
void slice(const TracedOp& op, G& g, const std::string& out) {
  const SliceParams& p = params<SliceParams>(op);
  slice_along(op, g, out, /*dim=*/0, p.begin, p.end);
}

void pad2d(const TracedOp& op, G& g, const std::string& out) {
  const Pad2dParams& p = params<Pad2dParams>(op);
  const int r = op.inputs[0].ndim();
  // ONNX pads: all the begins (dim 0 first), then all the ends.
  std::vector<int64_t> pads(2 * r, 0);
  pads[r - 2] = p.top, pads[r - 1] = p.left;
  pads[2 * r - 2] = p.bottom, pads[2 * r - 1] = p.right;
  const PadMode mode = p.mode;
  onnx::NodeProto* n;
  if (g.opset() < 11) {  // pads and value were attributes
    n = g.node("Pad", {in(op, g, 0)}, out);
    G::attr(n, "pads", pads);
    if (p.value != 0) G::attr(n, "value", p.value);
  } else {
    std::vector<std::string> inputs{in(op, g, 0), g.ints(pads, "pads")};
    if (mode == PadMode::zeros && p.value != 0)
      inputs.push_back(g.scalar(p.value, op.inputs[0].dtype(), "pad_value"));
    n = g.node("Pad", inputs, out);
  }
  G::attr(n, "mode",
          std::string(mode == PadMode::zeros     ? "constant"
                      : mode == PadMode::reflect ? "reflect"
                                                 : "edge"));
}

void upsample_nearest2d(const TracedOp& op, G& g, const std::string& out) {
  const UpsampleNearest2dParams& p = params<UpsampleNearest2dParams>(op);
  const int r = op.inputs[0].ndim();
  std::vector<float> scales(r, 1.0f);
  scales[r - 2] = float(p.scale_h), scales[r - 1] = float(p.scale_w);
  const std::string sc = g.constant(Tensor::from_vector(scales, {int64_t(r)}), "scales");
  if (g.opset() < 11) {  // Upsample (9), then Resize (10) with (X, scales) and asymmetric floor
    G::attr(g.node(g.opset() < 10 ? "Upsample" : "Resize", {in(op, g, 0), sc}, out), "mode",
            std::string("nearest"));
    return;
  }
  auto* n = g.node("Resize", {in(op, g, 0), "", sc}, out);
  G::attr(n, "mode", std::string("nearest"));
  G::attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
  G::attr(n, "nearest_mode", std::string("floor"));
}

// Resize (linear) to the traced output size. PyTorch's source coordinate without align_corners,
// max((o + 0.5) * in / out - 0.5, 0), is ONNX's half_pixel (not pytorch_half_pixel, which maps a
// size-1 output to 0 where PyTorch takes the middle): runtimes clamp the negative coordinates to 0.
// Opset 10's Resize knows only the asymmetric transform, so opset 11 is the minimum. Integer
// factors are written as scales (exact in float, and the leading dims stay free); other ratios as
// the traced output sizes, which fix the leading dims (batch) to the traced ones.
void upsample_bilinear2d(const TracedOp& op, G& g, const std::string& out) {
  const UpsampleBilinear2dParams& p = params<UpsampleBilinear2dParams>(op);
  CONVKIT_CHECK(g.opset() >= 11, "save_onnx: upsample_bilinear2d needs opset 11 or later (Resize ",
                "with a coordinate transform), not ", g.opset());
  const Tensor& x = op.inputs[0];
  const int r = x.ndim();
  const int64_t ih = x.size(-2), iw = x.size(-1);
  const std::string roi = g.constant(Tensor::empty({0}), "roi");
  std::vector<std::string> inputs{in(op, g, 0), roi};
  if (p.out_h % ih == 0 && p.out_w % iw == 0) {
    std::vector<float> scales(r, 1.0f);
    scales[r - 2] = float(p.out_h / ih), scales[r - 1] = float(p.out_w / iw);
    inputs.push_back(g.constant(Tensor::from_vector(scales, {int64_t(r)}), "scales"));
  } else {
    inputs.push_back(g.constant(Tensor::empty({0}), "scales"));
    inputs.push_back(g.ints(op.output.shape().vec(), "sizes"));
  }
  auto* n = g.node("Resize", inputs, out);
  G::attr(n, "mode", std::string("linear"));
  G::attr(n, "coordinate_transformation_mode",
          std::string(p.align_corners ? "align_corners" : "half_pixel"));
}

void local_response_norm(const TracedOp& op, G& g, const std::string& out) {
  const LrnParams& p = params<LrnParams>(op);
  CONVKIT_CHECK(p.size % 2 == 1, "save_onnx: local_response_norm of even size ", p.size,
                " has no ONNX equivalent (ONNX's LRN windows even sizes the other way)");
  auto* n = g.node("LRN", {in(op, g, 0)}, out);
  G::attr(n, "size", p.size);
  G::attr(n, "alpha", p.alpha);
  G::attr(n, "beta", p.beta);
  G::attr(n, "bias", p.k);
}

void sum(const TracedOp& op, G& g, const std::string& out) {
  const SumParams& p = params<SumParams>(op);
  const std::vector<int64_t>& axes = p.dims;
  onnx::NodeProto* n;
  if (g.opset() >= 13) {
    n = g.node("ReduceSum", {in(op, g, 0), g.ints(axes, "axes")}, out);
  } else {
    n = g.node("ReduceSum", {in(op, g, 0)}, out);
    G::attr(n, "axes", axes);
  }
  G::attr(n, "keepdims", int64_t(p.keepdim));
}

void cast(const TracedOp& op, G& g, const std::string& out) {
  G::attr(g.node("Cast", {in(op, g, 0)}, out), "to", int64_t(onnx_type_of(op.output.dtype())));
}

constexpr char kAdd[] = "Add", kSub[] = "Sub", kMul[] = "Mul", kDiv[] = "Div", kExp[] = "Exp",
               kLog[] = "Log", kSqrt[] = "Sqrt", kAbs[] = "Abs", kRelu[] = "Relu",
               kSigmoid[] = "Sigmoid", kTanh[] = "Tanh", kMatMul[] = "MatMul",
               kGlobalAveragePool[] = "GlobalAveragePool", kIdentity[] = "Identity";

}  // namespace

const std::map<std::string, Emitter>& emitters() {
  static const std::map<std::string, Emitter> m = {
      {"conv2d", conv2d},
      {"batch_norm", batch_norm},
      {"relu", same_op<kRelu>},
      {"sigmoid", same_op<kSigmoid>},
      {"tanh", same_op<kTanh>},
      {"leaky_relu", leaky_relu},
      {"elu", elu},
      {"relu6", relu6},
      {"softmax", softmax},
      {"log_softmax", log_softmax},
      {"max_pool2d", max_pool2d},
      {"avg_pool2d", avg_pool2d},
      {"global_avg_pool2d", same_op<kGlobalAveragePool>},
      {"adaptive_avg_pool2d", adaptive_avg_pool2d},
      {"linear", linear},
      {"matmul", same_op<kMatMul>},
      {"add", same_op<kAdd>},
      {"sub", same_op<kSub>},
      {"mul", same_op<kMul>},
      {"div", same_op<kDiv>},
      {"add_scalar", add_scalar},
      {"mul_scalar", mul_scalar},
      {"pow", pow},
      {"exp", same_op<kExp>},
      {"log", same_op<kLog>},
      {"sqrt", same_op<kSqrt>},
      {"abs", same_op<kAbs>},
      {"concat", concat},
      {"reshape", reshape},
      {"permute", permute},
      {"narrow", narrow},
      {"slice", slice},
      {"pad2d", pad2d},
      {"upsample_nearest2d", upsample_nearest2d},
      {"upsample_bilinear2d", upsample_bilinear2d},
      {"local_response_norm", local_response_norm},
      {"sum", sum},
      {"clone", same_op<kIdentity>},
      {"to", cast},
  };
  return m;
}

}  // namespace convkit::io::onnx_detail
