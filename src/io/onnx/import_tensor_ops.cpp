// ONNX handlers of arithmetic, shape and constant ops. Shape computations (Shape -> Gather ->
// Unsqueeze -> Concat -> Reshape, as `x.view(x.size(0), -1)` exports) run eagerly on small int64
// tensors at every forward, so the batch size stays free; float ops go through convkit's
// autograd-aware ops.
#include <algorithm>
#include <cmath>
#include <limits>

#include "convkit/ops.h"
#include "io/onnx/node.h"

namespace convkit::io::onnx_detail {

namespace {

// Integer arithmetic on shape values, in double (exact below 2^53) without recording a graph.
template <class F>
Tensor int_binary(const Tensor& a, const Tensor& b, F f) {
  NoGradGuard no_grad;
  return f(a.to(DType::f64), b.to(DType::f64)).to(DType::i64);
}

Handler binary(Tensor (*op)(const Tensor&, const Tensor&)) {
  return [op](const NodeContext&) -> Kernel {
    return [op](const TensorList& in) {
      if (in[0].dtype() == DType::i64 && in[1].dtype() == DType::i64)
        return TensorList{int_binary(in[0], in[1], op)};
      return TensorList{op(in[0], in[1])};
    };
  };
}

template <class F>
Handler unary(F f) {
  return [f](const NodeContext&) -> Kernel {
    return [f](const TensorList& in) { return TensorList{f(in[0])}; };
  };
}

int wrap(int64_t axis, int ndim, const char* op) { return Shape::wrap_dim(int(axis), ndim, op); }

Kernel constant(const NodeContext& c) {
  const Attrs& a = c.node.attrs;
  Tensor value;
  if (a.has("value")) {
    value = a.t("value");
  } else if (a.has("value_float")) {
    value = Tensor::full({}, a.f("value_float", 0));
  } else if (a.has("value_int")) {
    value = Tensor::full({}, double(a.i("value_int", 0)), DType::i64);
  } else if (a.has("value_floats")) {
    std::vector<double> v = a.floats("value_floats", {});
    value = Tensor::from_vector(std::vector<float>(v.begin(), v.end()), {int64_t(v.size())});
  } else if (a.has("value_ints")) {
    std::vector<int64_t> v = a.ints("value_ints", {});
    value = Tensor::from_vector(v, {int64_t(v.size())});
  } else {
    throw Error("onnx: " + c.where() + ": no supported value attribute (value, value_float(s), " +
                "value_int(s))");
  }
  if (is_floating(value.dtype())) value = value.to(c.float_dtype);
  return [value](const TensorList&) { return TensorList{value}; };
}

Kernel flatten(const NodeContext& c) {
  const int64_t axis = c.node.attrs.i("axis", 1);
  return [axis](const TensorList& in) {
    const Tensor& x = in[0];
    const int a = axis < 0 ? int(axis) + x.ndim() : int(axis);
    CONVKIT_CHECK(a >= 0 && a <= x.ndim(), "axis ", axis, " is out of range for ",
                  x.shape().to_string());
    int64_t outer = 1;
    for (int d = 0; d < a; ++d) outer *= x.size(d);
    return TensorList{x.reshape({outer, outer == 0 ? 0 : x.numel() / outer})};
  };
}

Kernel reshape(const NodeContext& c) {
  const bool allow_zero = c.node.attrs.i("allowzero", 0) != 0;
  return [allow_zero](const TensorList& in) {
    const Tensor& x = in[0];
    std::vector<int64_t> dims = int_values(in[1], "shape");
    for (size_t d = 0; d < dims.size(); ++d)
      if (dims[d] == 0 && !allow_zero) {  // 0 copies the input's size
        CONVKIT_CHECK(int(d) < x.ndim(), "shape ", Shape(dims).to_string(), " copies dim ", d,
                      " of ", x.shape().to_string(), ", which has no such dim");
        dims[d] = x.size(int(d));
      }
    std::vector<int64_t> known;  // -1 is inferred by reshape
    for (int64_t v : dims)
      if (v != -1) known.push_back(v);
    checked_numel(known, "shape");
    return TensorList{x.reshape(Shape(dims))};
  };
}

Kernel shape_of(const NodeContext& c) {
  const int64_t start = c.node.attrs.i("start", 0);
  const int64_t end = c.node.attrs.i("end", std::numeric_limits<int64_t>::max());
  return [start, end](const TensorList& in) {
    const int64_t r = in[0].ndim();
    auto clamp = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    std::vector<int64_t> dims = in[0].shape().vec();
    std::vector<int64_t> part(dims.begin() + clamp(start),
                              dims.begin() + std::max(clamp(start), clamp(end)));
    return TensorList{Tensor::from_vector(part, {int64_t(part.size())})};
  };
}

Kernel unsqueeze(const NodeContext& c) {
  return [c_axes = c.node.attrs.ints("axes", {})](const TensorList& in) {
    const Tensor& x = in[0];
    std::vector<int64_t> axes =
        in.size() > 1 && in[1].defined() ? int_values(in[1], "axes") : c_axes;
    const int out_rank = x.ndim() + int(axes.size());
    std::vector<bool> inserted(out_rank, false);
    for (int64_t a : axes) inserted[wrap(a, out_rank, "Unsqueeze")] = true;
    std::vector<int64_t> out;
    int k = 0;
    for (int d = 0; d < out_rank; ++d) out.push_back(inserted[d] ? 1 : x.size(k++));
    return TensorList{x.reshape(Shape(out))};
  };
}

Kernel squeeze(const NodeContext& c) {
  return [c_axes = c.node.attrs.ints("axes", {})](const TensorList& in) {
    const Tensor& x = in[0];
    std::vector<int64_t> axes =
        in.size() > 1 && in[1].defined() ? int_values(in[1], "axes") : c_axes;
    std::vector<bool> drop(x.ndim(), axes.empty());
    if (axes.empty()) {
      for (int d = 0; d < x.ndim(); ++d) drop[d] = x.size(d) == 1;
    } else {
      for (int64_t a : axes) {
        const int d = wrap(a, x.ndim(), "Squeeze");
        CONVKIT_CHECK(x.size(d) == 1, "dim ", d, " of ", x.shape().to_string(), " is not 1");
        drop[d] = true;
      }
    }
    std::vector<int64_t> out;
    for (int d = 0; d < x.ndim(); ++d)
      if (!drop[d]) out.push_back(x.size(d));
    return TensorList{x.reshape(Shape(out))};
  };
}

// Rows start, start + step, ... of one dim, as ONNX clamps them: for step > 0, start and end
// into [0, n]; for step < 0, start into [0, n-1] and end into [-1, n-1]; negative values count
// from the end first.
std::vector<int64_t> slice_rows(int64_t start, int64_t end, int64_t step, int64_t n) {
  auto wrap_end = [n](int64_t v) { return v < 0 ? v + n : v; };
  std::vector<int64_t> rows;
  if (step > 0) {
    const int64_t s = std::clamp<int64_t>(wrap_end(start), 0, n),
                  e = std::clamp<int64_t>(wrap_end(end), 0, n);
    for (int64_t i = s; i < e; i += step) rows.push_back(i);
  } else {
    const int64_t s = std::clamp<int64_t>(wrap_end(start), 0, n - 1);
    const int64_t e = std::clamp<int64_t>(wrap_end(end), -1, n - 1);
    for (int64_t i = s; i > e; i += step) rows.push_back(i);
  }
  return rows;
}

Kernel slice(const NodeContext& c) {
  const Attrs& a = c.node.attrs;
  const bool from_attrs = c.opset < 10;
  const std::vector<int64_t> attr_starts = a.ints("starts", {}), attr_ends = a.ints("ends", {}),
                             attr_axes = a.ints("axes", {});
  return [=](const TensorList& in) {
    Tensor x = in[0];
    std::vector<int64_t> starts = from_attrs ? attr_starts : int_values(in[1], "starts");
    std::vector<int64_t> ends = from_attrs ? attr_ends : int_values(in[2], "ends");
    std::vector<int64_t> axes = from_attrs                         ? attr_axes
                                : in.size() > 3 && in[3].defined() ? int_values(in[3], "axes")
                                                                   : std::vector<int64_t>{};
    std::vector<int64_t> steps = !from_attrs && in.size() > 4 && in[4].defined()
                                     ? int_values(in[4], "steps")
                                     : std::vector<int64_t>(starts.size(), 1);
    if (axes.empty())
      for (size_t k = 0; k < starts.size(); ++k) axes.push_back(int64_t(k));
    CONVKIT_CHECK(ends.size() == starts.size() && axes.size() == starts.size() &&
                      steps.size() == starts.size(),
                  "starts, ends, axes and steps must have the same length");
    for (size_t k = 0; k < starts.size(); ++k) {
      CONVKIT_CHECK(steps[k] != 0, "a step of 0 is invalid");
      const int d = wrap(axes[k], x.ndim(), "Slice");
      const int64_t n = x.size(d);
      const std::vector<int64_t> rows = slice_rows(starts[k], ends[k], steps[k], n);
      const bool contiguous = steps[k] == 1 || rows.size() <= 1;
      if (contiguous && !rows.empty()) {
        if (rows.front() != 0 || int64_t(rows.size()) != n)
          x = narrow(x, d, rows.front(), int64_t(rows.size()));
      } else if (rows.empty()) {
        x = narrow(x, d, 0, 0);
      } else {
        TensorList parts;
        for (int64_t r : rows) parts.push_back(narrow(x, d, r, 1));
        x = concat(parts, d);
      }
    }
    return TensorList{x};
  };
}

Kernel cast(const NodeContext& c) {
  DType to = dtype_from_onnx(c.node.attrs.i("to", 0), c.where());
  if (is_floating(to)) to = c.float_dtype;
  return [to](const TensorList& in) { return TensorList{in[0].to(to)}; };
}

Kernel transpose_node(const NodeContext& c) {
  return [perm = c.node.attrs.ints("perm", {})](const TensorList& in) {
    std::vector<int> order(perm.begin(), perm.end());
    if (order.empty())
      for (int d = in[0].ndim() - 1; d >= 0; --d) order.push_back(d);
    return TensorList{permute(in[0], order)};
  };
}

// ReduceMean / ReduceSum. Axes moved from an attribute to input 1 in opset 13 (ReduceSum) and 18
// (ReduceMean); without axes they reduce everything unless noop_with_empty_axes.
Kernel reduce(const NodeContext& c, bool is_mean) {
  const bool keepdims = c.node.attrs.i("keepdims", 1) != 0;
  const bool noop_if_empty = c.node.attrs.i("noop_with_empty_axes", 0) != 0;
  return [c_axes = c.node.attrs.ints("axes", {}), has_attr = c.node.attrs.has("axes"), keepdims,
          noop_if_empty, is_mean](const TensorList& in) {
    const Tensor& x = in[0];
    std::vector<int64_t> axes =
        in.size() > 1 && in[1].defined() ? int_values(in[1], "axes") : c_axes;
    if (axes.empty()) {
      if (noop_if_empty && !has_attr) return TensorList{x};
      for (int d = 0; d < x.ndim(); ++d) axes.push_back(d);
    }
    std::vector<int> dims;
    for (int64_t a : axes) dims.push_back(wrap(a, x.ndim(), is_mean ? "ReduceMean" : "ReduceSum"));
    return TensorList{is_mean ? mean(x, dims, keepdims) : sum(x, dims, keepdims)};
  };
}

Kernel constant_of_shape(const NodeContext& c) {
  Tensor fill = c.node.attrs.has("value") ? c.node.attrs.t("value") : Tensor::zeros({1});
  const DType dtype = is_floating(fill.dtype()) ? c.float_dtype : fill.dtype();
  return [fill, dtype](const TensorList& in) {
    const std::vector<int64_t> dims = int_values(in[0], "shape");
    checked_numel(dims, "shape");
    return TensorList{Tensor::full(Shape(dims), fill.to(DType::f64).data<double>()[0], dtype)};
  };
}

// Nearest-neighbour Resize/Upsample by integer factors on H and W. For integer factors every
// coordinate mode ONNX defines (asymmetric/floor, half_pixel/round_prefer_floor, ...) picks the
// same source pixel floor(i / scale).
Kernel resize(const NodeContext& c) {
  const std::string mode = c.node.attrs.s("mode", "nearest");
  CONVKIT_CHECK(mode == "nearest", "onnx: ", c.where(), ": mode '", mode,
                "' is not supported (nearest only)");
  // Upsample (opset 7-9) and Resize at opset 10 take the scales as input 1 (Upsample 7-8 as an
  // attribute); Resize from opset 11 on takes (X, roi, scales, sizes).
  const bool scales_second = c.node.op_type == "Upsample" || c.opset < 11;
  const std::vector<double> attr_scales = c.node.attrs.floats("scales", {});
  return [scales_second, attr_scales](const TensorList& in) {
    const Tensor& x = in[0];
    std::vector<double> scales = attr_scales;
    if (scales_second && in.size() > 1 && in[1].defined()) {
      scales.clear();
      const Tensor s = in[1].to(DType::f64);
      scales.assign(s.data<double>(), s.data<double>() + s.numel());
    } else if (!scales_second) {
      if (in.size() > 2 && in[2].defined() && in[2].numel() > 0) {
        const Tensor s = in[2].to(DType::f64);
        scales.assign(s.data<double>(), s.data<double>() + s.numel());
      } else {
        CONVKIT_CHECK(in.size() > 3 && in[3].defined(), "neither scales nor sizes is given");
        std::vector<int64_t> sizes = int_values(in[3], "sizes");
        CONVKIT_CHECK(int(sizes.size()) == x.ndim(), "sizes must have one value per dim");
        for (int d = 0; d < x.ndim(); ++d) scales.push_back(double(sizes[d]) / double(x.size(d)));
      }
    }
    const int r = x.ndim();
    CONVKIT_CHECK(int(scales.size()) == r && r >= 2, "scales must have one value per dim of ",
                  x.shape().to_string());
    for (int d = 0; d < r - 2; ++d) CONVKIT_CHECK(scales[d] == 1, "only H and W can be resized");
    const double sh = scales[r - 2], sw = scales[r - 1];
    CONVKIT_CHECK(sh >= 1 && sw >= 1 && sh == std::floor(sh) && sw == std::floor(sw),
                  "only integer upscaling is supported, got scales ", sh, " x ", sw);
    CONVKIT_CHECK(sh <= 1 << 20 && sw <= 1 << 20, "scales ", sh, " x ", sw, " exceed 2^20");
    std::vector<int64_t> out = x.shape().vec();
    out[r - 2] *= int64_t(sh), out[r - 1] *= int64_t(sw);
    checked_numel(out, "the resized output");
    return TensorList{upsample_nearest2d(x, int64_t(sh), int64_t(sw))};
  };
}

}  // namespace

void add_tensor_handlers(HandlerMap& m) {
  m["Add"] = binary(add);
  m["Sub"] = binary(sub);
  m["Mul"] = binary(mul);
  m["Div"] = binary(div);
  m["Sum"] = [](const NodeContext&) -> Kernel {
    return [](const TensorList& in) {
      Tensor y = in[0];
      for (size_t i = 1; i < in.size(); ++i) y = y + in[i];
      return TensorList{y};
    };
  };
  m["Neg"] = unary([](const Tensor& x) { return neg(x); });
  m["Exp"] = unary([](const Tensor& x) { return exp(x); });
  m["Log"] = unary([](const Tensor& x) { return log(x); });
  m["Sqrt"] = unary([](const Tensor& x) { return sqrt(x); });
  m["Abs"] = unary([](const Tensor& x) { return abs(x); });
  m["Reciprocal"] = unary([](const Tensor& x) { return pow(x, -1.0); });
  m["Pow"] = [](const NodeContext&) -> Kernel {
    return [](const TensorList& in) {
      return TensorList{pow(in[0], scalar_value(in[1], "exponent"))};
    };
  };
  m["Identity"] = [](const NodeContext&) -> Kernel {
    return [](const TensorList& in) { return TensorList{in[0]}; };
  };
  m["Concat"] = [](const NodeContext& c) -> Kernel {
    const int64_t axis = c.node.attrs.i("axis", 0);
    return [axis](const TensorList& in) {
      TensorList parts;
      for (const Tensor& t : in)
        if (t.numel() > 0) parts.push_back(t);  // torch's exports concatenate empty tensors
      if (parts.empty()) parts = in;
      return TensorList{concat(parts, int(axis))};
    };
  };
  m["Constant"] = constant;
  m["Flatten"] = flatten;
  m["Reshape"] = reshape;
  m["Shape"] = shape_of;
  m["Unsqueeze"] = unsqueeze;
  m["Squeeze"] = squeeze;
  m["Slice"] = slice;
  m["Cast"] = cast;
  m["Transpose"] = transpose_node;
  m["ReduceMean"] = [](const NodeContext& c) { return reduce(c, /*is_mean=*/true); };
  m["ReduceSum"] = [](const NodeContext& c) { return reduce(c, /*is_mean=*/false); };
  m["ConstantOfShape"] = constant_of_shape;
  m["Resize"] = resize;
  m["Upsample"] = resize;
}

}  // namespace convkit::io::onnx_detail
