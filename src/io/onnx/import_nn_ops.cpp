// ONNX handlers of the network layers: convolution, pooling, normalization, dense products,
// activations. Semantics: https://onnx.ai/onnx/operators/ (each op's versions 1-18); where an
// opset changed an attribute into an input (Clip 11, Dropout 12, Softmax 13), both forms load.
#include <algorithm>
#include <cmath>
#include <limits>

#include "convkit/ops.h"
#include "io/onnx/node.h"

namespace convkit::io::onnx_detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Per-side padding (begin/end along H and W) of a 2-D window op, resolved from ONNX's pads or
// auto_pad for an input of H x W.
struct Pads2d {
  int64_t top = 0, left = 0, bottom = 0, right = 0;
  bool symmetric() const { return top == bottom && left == right; }
};

struct Window2d {
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad;
};

Window2d window_attrs(const NodeContext& c, const std::vector<int64_t>& kernel_fallback) {
  const Attrs& a = c.node.attrs;
  Window2d w;
  w.kernel = a.ints("kernel_shape", kernel_fallback);
  CONVKIT_CHECK(w.kernel.empty() || w.kernel.size() == 2, "onnx: ", c.where(), ": only 2-D ",
                "windows are supported, kernel_shape has ", w.kernel.size(), " dims");
  w.strides = a.ints("strides", {1, 1});
  w.dilations = a.ints("dilations", {1, 1});
  w.pads = a.ints("pads", {0, 0, 0, 0});
  w.auto_pad = a.s("auto_pad", "NOTSET");
  CONVKIT_CHECK(w.strides.size() == 2 && w.dilations.size() == 2 && w.pads.size() == 4,
                "onnx: ", c.where(), ": strides, dilations and pads must describe 2 spatial dims");
  // Sizes from the file: bounded before any output size is computed from them.
  constexpr int64_t kMax = int64_t(1) << 30;
  auto in_range = [](const std::vector<int64_t>& v, int64_t lo) {
    return std::all_of(v.begin(), v.end(), [lo](int64_t e) { return e >= lo && e <= kMax; });
  };
  CONVKIT_CHECK(in_range(w.kernel, 1) && in_range(w.strides, 1) && in_range(w.dilations, 1) &&
                    in_range(w.pads, 0),
                "onnx: ", c.where(), ": kernel_shape ", ints_str(w.kernel), ", strides ",
                ints_str(w.strides), ", dilations ", ints_str(w.dilations),
                " must be in [1, 2^30] ", "and pads ", ints_str(w.pads), " in [0, 2^30]");
  CONVKIT_CHECK(w.auto_pad == "NOTSET" || w.auto_pad == "VALID" || w.auto_pad == "SAME_UPPER" ||
                    w.auto_pad == "SAME_LOWER",
                "onnx: ", c.where(), ": unknown auto_pad '", w.auto_pad, "'");
  return w;
}

// SAME_*: output ceil(n / s), total padding split with the odd pixel at the end (UPPER) or at the
// beginning (LOWER).
Pads2d resolve_pads(const Window2d& w, int64_t H, int64_t W, int64_t KH, int64_t KW) {
  if (w.auto_pad == "VALID") return {};
  if (w.auto_pad == "NOTSET") return {w.pads[0], w.pads[1], w.pads[2], w.pads[3]};
  auto total = [](int64_t n, int64_t k, int64_t s, int64_t d) {
    return std::max<int64_t>(((n + s - 1) / s - 1) * s + d * (k - 1) + 1 - n, 0);
  };
  const int64_t th = total(H, KH, w.strides[0], w.dilations[0]);
  const int64_t tw = total(W, KW, w.strides[1], w.dilations[1]);
  const bool upper = w.auto_pad == "SAME_UPPER";
  Pads2d p;
  p.top = upper ? th / 2 : th - th / 2, p.bottom = th - p.top;
  p.left = upper ? tw / 2 : tw - tw / 2, p.right = tw - p.left;
  return p;
}

Kernel conv(const NodeContext& c) {
  const Window2d w = window_attrs(c, {});
  const int64_t groups = c.node.attrs.i("group", 1);
  const std::string where = c.where();
  return [w, groups, where](const TensorList& in) {
    Tensor x = in[0];
    const Tensor& weight = in[1];
    CONVKIT_CHECK(x.ndim() == 4 && weight.ndim() == 4, "only 2-D convolutions are supported ",
                  "(input ", x.shape().to_string(), ", weight ", weight.shape().to_string(), ")");
    CONVKIT_CHECK(
        w.kernel.empty() || (w.kernel[0] == weight.size(2) && w.kernel[1] == weight.size(3)),
        "kernel_shape [", w.kernel[0], ",", w.kernel[1], "] does not match weight ",
        weight.shape().to_string());
    Pads2d p = resolve_pads(w, x.size(2), x.size(3), weight.size(2), weight.size(3));
    if (!p.symmetric()) {  // conv2d pads symmetrically: pad the odd side explicitly first
      x = pad2d(x, p.left, p.right, p.top, p.bottom);
      p = {};
    }
    Conv2dParams cp;
    cp.set_stride(w.strides[0], w.strides[1])
        .set_dilation(w.dilations[0], w.dilations[1])
        .set_groups(groups)
        .set_padding(p.top, p.left);
    return TensorList{conv2d(x, weight, in.size() > 2 ? in[2] : Tensor(), cp)};
  };
}

Kernel pool(const NodeContext& c, bool is_max) {
  const Window2d w = window_attrs(c, {});
  CONVKIT_CHECK(w.kernel.size() == 2, "onnx: ", c.where(), ": kernel_shape is required");
  CONVKIT_CHECK(w.dilations[0] == 1 && w.dilations[1] == 1, "onnx: ", c.where(),
                ": dilated pooling is not supported");
  CONVKIT_CHECK(c.output_used.size() < 2 || !c.output_used[1], "onnx: ", c.where(),
                ": the Indices output is not supported");
  const bool ceil_mode = c.node.attrs.i("ceil_mode", 0) != 0;
  // ONNX's AveragePool excludes padding from the divisor unless asked (PyTorch's default is the
  // opposite; torch's exporter writes the attribute explicitly).
  const bool include_pad = c.node.attrs.i("count_include_pad", 0) != 0;
  return [w, ceil_mode, include_pad, is_max](const TensorList& in) {
    Tensor x = in[0];
    CONVKIT_CHECK(x.ndim() == 4, "only 2-D pooling of [N, C, H, W] is supported, got ",
                  x.shape().to_string());
    Pads2d p = resolve_pads(w, x.size(2), x.size(3), w.kernel[0], w.kernel[1]);
    const bool native = p.symmetric() && p.top <= w.kernel[0] / 2 && p.left <= w.kernel[1] / 2;
    if (!native) {
      // Padded taps never win a max: pad with -inf and pool without padding.
      CONVKIT_CHECK(is_max, "average pooling with pads [", p.top, ",", p.left, ",", p.bottom, ",",
                    p.right, "] (asymmetric or larger than half the kernel ", w.kernel[0], "x",
                    w.kernel[1], ") is not supported");
      x = pad2d(x, p.left, p.right, p.top, p.bottom, PadMode::zeros, -kInf);
      p = {};
    }
    Pool2dParams pp(w.kernel[0], w.kernel[1], w.strides[0], w.strides[1]);
    pp.set_padding(p.top, p.left).set_ceil_mode(ceil_mode).set_count_include_pad(include_pad);
    return TensorList{is_max ? max_pool2d(x, pp) : avg_pool2d(x, pp)};
  };
}

Kernel global_pool(const NodeContext&, bool is_max) {
  return [is_max](const TensorList& in) {
    const Tensor& x = in[0];
    CONVKIT_CHECK(x.ndim() == 4, "only [N, C, H, W] inputs are supported, got ",
                  x.shape().to_string());
    if (!is_max) return TensorList{global_avg_pool2d(x)};
    return TensorList{max_pool2d(x, Pool2dParams(x.size(2), x.size(3), 1, 1))};
  };
}

Kernel batch_normalization(const NodeContext& c) {
  const Attrs& a = c.node.attrs;
  CONVKIT_CHECK(a.i("spatial", 1) == 1, "onnx: ", c.where(), ": spatial=0 is not supported");
  for (size_t i = 1; i < 5; ++i)
    CONVKIT_CHECK(c.has_input(i), "onnx: ", c.where(), ": input ", i, " is missing");
  // Outputs beyond the running statistics (opset < 9 saved mean/var) are not produced.
  for (size_t i = 3; i < c.output_used.size(); ++i)
    CONVKIT_CHECK(!c.output_used[i], "onnx: ", c.where(), ": output ", i, " is not supported");
  const double eps = a.f("epsilon", 1e-5);
  // ONNX: running = running * momentum + batch * (1 - momentum); convkit (as PyTorch) weighs the
  // batch by its momentum.
  const double momentum = 1.0 - a.f("momentum", 0.9);
  const nn::Module* mode = c.mode;
  Tensor batches = c.num_batches_tracked;
  // training_mode (opset 14) is ignored: train()/eval() of the module decide, so that a model
  // exported for inference can still be fine-tuned.
  return [eps, momentum, mode, batches](const TensorList& in) mutable {
    Tensor running_mean = in[3], running_var = in[4];
    const bool training = mode->is_training();
    Tensor y = batch_norm(in[0], in[1], in[2], running_mean, running_var, training, momentum, eps);
    if (training && batches.defined()) batches.data<int64_t>()[0] += 1;
    return TensorList{y, running_mean, running_var};
  };
}

Kernel dropout_node(const NodeContext& c) {
  CONVKIT_CHECK(c.output_used.size() < 2 || !c.output_used[1], "onnx: ", c.where(),
                ": the mask output is not supported");
  const double attr_ratio = c.node.attrs.f("ratio", 0.5);
  const nn::Module* mode = c.mode;
  // Opset 12 moved the ratio into an input; training_mode (input 2) is ignored as for
  // BatchNormalization.
  return [attr_ratio, mode](const TensorList& in) {
    const double ratio =
        in.size() > 1 && in[1].defined() ? scalar_value(in[1], "ratio") : attr_ratio;
    return TensorList{dropout(in[0], ratio, mode->is_training())};
  };
}

Kernel lrn(const NodeContext& c) {
  const Attrs& a = c.node.attrs;
  const int64_t size = a.i("size", 0);
  CONVKIT_CHECK(size >= 1, "onnx: ", c.where(), ": attribute size must be >= 1, got ", size);
  // ONNX sums channels [c - floor((size-1)/2), c + ceil((size-1)/2)]; PyTorch's rule (and
  // convkit's) puts the extra channel of an even size before c instead.
  CONVKIT_CHECK(size % 2 == 1, "onnx: ", c.where(), ": even size ", size, " is not supported ",
                "(ONNX and PyTorch window it differently)");
  const double alpha = a.f("alpha", 1e-4), beta = a.f("beta", 0.75), bias = a.f("bias", 1.0);
  return [=](const TensorList& in) {
    return TensorList{local_response_norm(in[0], size, alpha, beta, bias)};
  };
}

// Softmax and LogSoftmax. Before opset 13 the input is coerced to 2-D [prod(d < axis),
// prod(d >= axis)] and normalized along the second dim; from 13 on, along `axis` alone.
Kernel softmax_like(const NodeContext& c, bool log) {
  const bool coerced = c.opset < 13;
  const int64_t axis = c.node.attrs.i("axis", coerced ? 1 : -1);
  return [coerced, axis, log](const TensorList& in) {
    const Tensor& x = in[0];
    const int d = Shape::wrap_dim(int(axis), x.ndim(), log ? "LogSoftmax" : "Softmax");
    if (!coerced || d == x.ndim() - 1) return TensorList{log ? log_softmax(x, d) : softmax(x, d)};
    int64_t rest = 1;
    for (int k = d; k < x.ndim(); ++k) rest *= x.size(k);
    Tensor flat = x.reshape({-1, rest});  // [prod(d < axis), prod(d >= axis)]
    Tensor y = log ? log_softmax(flat, 1) : softmax(flat, 1);
    return TensorList{y.reshape(x.shape())};
  };
}

Kernel clip(const NodeContext& c) {
  const double attr_lo = c.node.attrs.f("min", -kInf), attr_hi = c.node.attrs.f("max", kInf);
  return [attr_lo, attr_hi](const TensorList& in) {
    const double lo = in.size() > 1 && in[1].defined() ? scalar_value(in[1], "min") : attr_lo;
    const double hi = in.size() > 2 && in[2].defined() ? scalar_value(in[2], "max") : attr_hi;
    const Tensor& x = in[0];
    if (lo == 0 && hi == 6) return TensorList{relu6(x)};
    if (lo == 0 && hi == kInf) return TensorList{relu(x)};
    // General bounds from ReLUs: max(x, lo) = relu(x - lo) + lo; min(y, hi) = hi - relu(hi - y).
    Tensor y = x;
    if (lo > -kInf) y = relu(y - lo) + lo;
    if (hi < kInf) y = hi - relu(hi - y);
    return TensorList{y};
  };
}

// Y = alpha * A' B' + beta * C with A' = transA ? A^T : A, B' likewise. PyTorch's nn.Linear
// exports as transB=1, alpha=beta=1 with a [N] bias: exactly convkit's linear (one oneDNN
// inner product).
Kernel gemm(const NodeContext& c) {
  const Attrs& a = c.node.attrs;
  const double alpha = a.f("alpha", 1.0), beta = a.f("beta", 1.0);
  const bool trans_a = a.i("transA", 0) != 0, trans_b = a.i("transB", 0) != 0;
  return [=](const TensorList& in) {
    const Tensor& A = in[0];
    const Tensor& B = in[1];
    const Tensor C = in.size() > 2 ? in[2] : Tensor();
    CONVKIT_CHECK(A.ndim() == 2 && B.ndim() == 2, "A and B must be 2-D (A ", A.shape().to_string(),
                  ", B ", B.shape().to_string(), ")");
    const bool linear_bias =
        !C.defined() || (C.ndim() == 1 && C.size(0) == (trans_b ? B.size(0) : B.size(1)));
    if (alpha == 1 && beta == 1 && !trans_a && trans_b && linear_bias)
      return TensorList{linear(A, B, C)};
    Tensor y = matmul(trans_a ? transpose(A, 0, 1) : A, trans_b ? transpose(B, 0, 1) : B);
    if (alpha != 1) y = y * alpha;
    if (C.defined() && beta != 0) y = y + (beta == 1 ? C : C * beta);
    return TensorList{y};
  };
}

// NumPy matmul for the ranks CNNs use: 2-D and 3-D pairs directly; an N-D left operand against a
// 2-D right one through a [prod(...), K] view.
Kernel matmul_node(const NodeContext&) {
  return [](const TensorList& in) {
    const Tensor& a = in[0];
    const Tensor& b = in[1];
    if (a.ndim() > 3 && b.ndim() == 2) {
      std::vector<int64_t> out = a.shape().vec();
      out.back() = b.size(1);
      return TensorList{matmul(a.reshape({-1, a.size(-1)}), b).reshape(Shape(out))};
    }
    CONVKIT_CHECK(a.ndim() >= 2 && a.ndim() <= 3 && b.ndim() >= 2 && b.ndim() <= 3,
                  "operands of ranks ", a.ndim(), " and ", b.ndim(), " are not supported (",
                  a.shape().to_string(), " @ ", b.shape().to_string(), ")");
    return TensorList{matmul(a, b)};
  };
}

template <class F>
Handler unary(F f) {
  return [f](const NodeContext&) -> Kernel {
    return [f](const TensorList& in) { return TensorList{f(in[0])}; };
  };
}

}  // namespace

void add_nn_handlers(HandlerMap& m) {
  m["Conv"] = conv;
  m["MaxPool"] = [](const NodeContext& c) { return pool(c, /*is_max=*/true); };
  m["AveragePool"] = [](const NodeContext& c) { return pool(c, /*is_max=*/false); };
  m["GlobalAveragePool"] = [](const NodeContext& c) { return global_pool(c, false); };
  m["GlobalMaxPool"] = [](const NodeContext& c) { return global_pool(c, true); };
  m["BatchNormalization"] = batch_normalization;
  m["Dropout"] = dropout_node;
  m["LRN"] = lrn;
  m["Softmax"] = [](const NodeContext& c) { return softmax_like(c, false); };
  m["LogSoftmax"] = [](const NodeContext& c) { return softmax_like(c, true); };
  m["Clip"] = clip;
  m["Gemm"] = gemm;
  m["MatMul"] = matmul_node;
  m["Relu"] = unary([](const Tensor& x) { return relu(x); });
  m["Sigmoid"] = unary([](const Tensor& x) { return sigmoid(x); });
  m["Tanh"] = unary([](const Tensor& x) { return tanh(x); });
  m["LeakyRelu"] = [](const NodeContext& c) -> Kernel {
    const double alpha = c.node.attrs.f("alpha", 0.01);
    return [alpha](const TensorList& in) { return TensorList{leaky_relu(in[0], alpha)}; };
  };
  m["Elu"] = [](const NodeContext& c) -> Kernel {
    const double alpha = c.node.attrs.f("alpha", 1.0);
    return [alpha](const TensorList& in) { return TensorList{elu(in[0], alpha)}; };
  };
}

}  // namespace convkit::io::onnx_detail
