// ONNX handlers of indexing, selection, comparison, padding and detection ops: Gather,
// GatherElements, Where, TopK, Equal, Expand, Range, Pad, NonMaxSuppression, and the
// activations and normalization transformer-style exports use (HardSigmoid, HardSwish, Erf,
// LayerNormalization). Float data goes through convkit's autograd-aware ops; integer and boolean
// tensors (shape arithmetic, masks) are computed eagerly.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "convkit/ops.h"
#include "io/onnx/node.h"

namespace convkit::io::onnx_detail {

namespace {

int wrap(int64_t axis, int ndim, const char* op) { return Shape::wrap_dim(int(axis), ndim, op); }

// ONNX indices may be negative (counted from the end) and int32 or int64: int64 in [0, n).
Tensor wrapped_indices(const Tensor& indices, int64_t n, int axis, const Tensor& data) {
  Tensor idx = indices.to(DType::i64).clone();
  int64_t* p = idx.data<int64_t>();
  for (int64_t k = 0; k < idx.numel(); ++k) {
    CONVKIT_CHECK(p[k] >= -n && p[k] < n, "index ", p[k], " is out of range for axis ", axis,
                  " of ", data.shape().to_string());
    if (p[k] < 0) p[k] += n;
  }
  return idx;
}

// out = data.shape[:axis] + indices.shape + data.shape[axis+1:]: one index_select of the
// flattened indices, reshaped.
Kernel gather(const NodeContext& c) {
  return [axis_attr = c.node.attrs.i("axis", 0)](const TensorList& in) {
    const Tensor& data = in[0];
    const int axis = wrap(axis_attr, data.ndim(), "Gather");
    const Tensor idx = wrapped_indices(in[1], data.size(axis), axis, data);
    std::vector<int64_t> out(data.shape().begin(), data.shape().begin() + axis);
    out.insert(out.end(), in[1].shape().begin(), in[1].shape().end());
    out.insert(out.end(), data.shape().begin() + axis + 1, data.shape().end());
    CONVKIT_CHECK(out.size() <= size_t(Shape::kMaxDims), "the output would have ", out.size(),
                  " dims, ", Shape::kMaxDims, " at most");
    return TensorList{index_select(data, axis, idx.reshape({idx.numel()})).reshape(Shape(out))};
  };
}

Kernel gather_elements(const NodeContext& c) {
  return [axis_attr = c.node.attrs.i("axis", 0)](const TensorList& in) {
    const int axis = wrap(axis_attr, in[0].ndim(), "GatherElements");
    return TensorList{gather(in[0], axis, wrapped_indices(in[1], in[0].size(axis), axis, in[0]))};
  };
}

// A boolean tensor from ONNX (uint8 0/1) or any other dtype (nonzero = true).
Tensor as_mask(const Tensor& t) {
  if (t.dtype() == DType::u8) return t;
  NoGradGuard no_grad;
  const Tensor d = t.to(DType::f64);
  Tensor m = Tensor::empty(t.shape(), DType::u8);
  for (int64_t k = 0; k < t.numel(); ++k) m.data<uint8_t>()[k] = d.data<double>()[k] != 0;
  return m;
}

Kernel where_node(const NodeContext&) {
  return [](const TensorList& in) { return TensorList{where(as_mask(in[0]), in[1], in[2])}; };
}

// a == b with broadcasting, as a uint8 (bool) tensor; no gradient (a comparison has none).
Kernel equal(const NodeContext&) {
  return [](const TensorList& in) {
    NoGradGuard no_grad;
    const Tensor diff = sub(in[0].to(DType::f64), in[1].to(DType::f64));
    Tensor y = Tensor::empty(diff.shape(), DType::u8);
    for (int64_t k = 0; k < diff.numel(); ++k) y.data<uint8_t>()[k] = diff.data<double>()[k] == 0;
    return TensorList{y};
  };
}

// x broadcast with `shape` (ONNX Expand broadcasts both ways). Float data through add (its
// gradient sums back over the broadcast dims); other dtypes eagerly.
Kernel expand(const NodeContext&) {
  return [](const TensorList& in) {
    const Tensor& x = in[0];
    const std::vector<int64_t> dims = int_values(in[1], "shape");
    CONVKIT_CHECK(dims.size() <= size_t(Shape::kMaxDims), "shape ", ints_str(dims),
                  " has more than ", Shape::kMaxDims, " dims");
    checked_numel(dims, "shape");
    const Shape out = broadcast_shapes(x.shape(), Shape(dims), "Expand");
    if (is_floating(x.dtype())) return TensorList{x + Tensor::zeros(out, x.dtype())};
    NoGradGuard no_grad;
    return TensorList{(x.to(DType::f64) + Tensor::zeros(out, DType::f64)).to(x.dtype())};
  };
}

// start, start + delta, ... up to (excluding) limit: max(ceil((limit - start) / delta), 0) values
// of start's dtype.
Kernel range(const NodeContext& c) {
  const DType float_dtype = c.float_dtype;
  return [float_dtype](const TensorList& in) {
    const double start = scalar_value(in[0], "start"), limit = scalar_value(in[1], "limit"),
                 delta = scalar_value(in[2], "delta");
    CONVKIT_CHECK(
        delta != 0 && std::isfinite(start) && std::isfinite(limit) && std::isfinite(delta),
        "start ", start, ", limit ", limit, " and delta ", delta,
        " must be finite with delta != 0");
    const double count = std::max(std::ceil((limit - start) / delta), 0.0);
    CONVKIT_CHECK(count <= double(int64_t(1) << 40), "the range would hold ", count, " values");
    const DType dtype = is_floating(in[0].dtype()) ? float_dtype : DType::i64;
    Tensor y = Tensor::empty({int64_t(count)}, dtype);
    for (int64_t k = 0; k < int64_t(count); ++k) {
      const double v = start + double(k) * delta;
      if (dtype == DType::i64)
        y.data<int64_t>()[k] = int64_t(v);
      else if (dtype == DType::f64)
        y.data<double>()[k] = v;
      else
        y.data<float>()[k] = float(v);
    }
    return TensorList{y};
  };
}

Kernel topk_node(const NodeContext& c) {
  const Attrs& a = c.node.attrs;
  const bool k_from_attr = c.opset < 10;
  const int64_t attr_k = a.i("k", -1), axis = a.i("axis", -1);
  const bool largest = a.i("largest", 1) != 0, sorted = a.i("sorted", 1) != 0;
  return [=](const TensorList& in) {
    const int64_t k = k_from_attr ? attr_k : int_values(in[1], "K").at(0);
    TopKParams p;
    p.set_k(k).set_dim(int(axis)).set_largest(largest).set_sorted(sorted);
    TopK r = topk(in[0], p);
    return TensorList{r.values, r.indices};
  };
}

// Pads (or crops, for negative pads) one axis: constant by concatenation, reflect and edge by one
// index_select of the rows each output row copies.
Tensor pad_axis(Tensor x, int d, int64_t before, int64_t after, const std::string& mode,
                double value) {
  const int64_t crop_b = std::max<int64_t>(-before, 0), crop_e = std::max<int64_t>(-after, 0);
  if (crop_b > 0 || crop_e > 0) {
    CONVKIT_CHECK(crop_b + crop_e <= x.size(d), "negative pads ", -crop_b, ", ", -crop_e,
                  " remove more than the ", x.size(d), " rows of axis ", d);
    x = narrow(x, d, crop_b, x.size(d) - crop_b - crop_e);
  }
  before = std::max<int64_t>(before, 0), after = std::max<int64_t>(after, 0);
  if (before == 0 && after == 0) return x;
  const int64_t n = x.size(d);
  if (mode == "constant") {
    TensorList parts;
    Shape edge = x.shape();
    if (before > 0) edge[d] = before, parts.push_back(Tensor::full(edge, value, x.dtype()));
    parts.push_back(x);
    if (after > 0) edge[d] = after, parts.push_back(Tensor::full(edge, value, x.dtype()));
    return concat(parts, d);
  }
  const bool reflect = mode == "reflect";
  CONVKIT_CHECK(n >= 1, mode, " padding of the empty axis ", d, " is undefined");
  CONVKIT_CHECK(!reflect || (before < n && after < n), "reflect pads ", before, ", ", after,
                " of axis ", d, " must be smaller than its size ", n);
  std::vector<int64_t> rows;
  for (int64_t i = -before; i < n + after; ++i) {
    if (!reflect)
      rows.push_back(std::clamp<int64_t>(i, 0, n - 1));
    else
      rows.push_back(i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  }
  return index_select(x, d, Tensor::from_vector(rows, {int64_t(rows.size())}));
}

// Pad on any axis in the three modes, pads = [x1_begin, x2_begin, ..., x1_end, x2_end] (over
// `axes` when given, opset 18). Non-negative pads of only the last two dims of a float tensor
// take pad2d (one kernel); everything else one pad_axis per padded axis.
Kernel pad(const NodeContext& c) {
  const Attrs& a = c.node.attrs;
  const std::string mode = a.s("mode", "constant");
  CONVKIT_CHECK(mode == "constant" || mode == "reflect" || mode == "edge", "onnx: ", c.where(),
                ": mode '", mode, "' is not supported (constant, reflect, edge)");
  const bool from_attrs = c.opset < 11;
  return [=, attr_pads = a.ints("pads", {}), attr_value = a.f("value", 0.0)](const TensorList& in) {
    const Tensor& x = in[0];
    const int r = x.ndim();
    const std::vector<int64_t> p = from_attrs ? attr_pads : int_values(in[1], "pads");
    const double value = !from_attrs && in.size() > 2 && in[2].defined() && in[2].numel() > 0
                             ? scalar_value(in[2], "constant_value")
                             : attr_value;
    std::vector<int> axes;
    if (in.size() > 3 && in[3].defined()) {
      for (int64_t ax : int_values(in[3], "axes")) axes.push_back(wrap(ax, r, "Pad"));
    } else {
      for (int d = 0; d < r; ++d) axes.push_back(d);
    }
    const int na = int(axes.size());
    CONVKIT_CHECK(int(p.size()) == 2 * na, "pads ", ints_str(p), " must have 2 x ", na,
                  " values (begin and end of each padded axis) for input ", x.shape().to_string());
    std::vector<int64_t> begin(r, 0), end(r, 0);
    for (int k = 0; k < na; ++k) begin[axes[k]] = p[k], end[axes[k]] = p[k + na];
    // Pads come from the file: bound them before any size is computed from them.
    constexpr int64_t kMaxPad = int64_t(1) << 40;
    std::vector<int64_t> out(r);
    for (int d = 0; d < r; ++d) {
      CONVKIT_CHECK(std::abs(begin[d]) <= kMaxPad && std::abs(end[d]) <= kMaxPad, "pads ",
                    ints_str(p), " exceed 2^40");
      out[d] = x.size(d) + begin[d] + end[d];
    }
    checked_numel(out, "the padded output");
    bool fast = is_floating(x.dtype()) && r >= 2;
    for (int d = 0; d < r; ++d)
      fast = fast && begin[d] >= 0 && end[d] >= 0 && (d >= r - 2 || (begin[d] == 0 && end[d] == 0));
    if (fast) {
      const PadMode pm = mode == "constant"  ? PadMode::zeros
                         : mode == "reflect" ? PadMode::reflect
                                             : PadMode::replicate;
      // The value only applies to constant mode (pad2d refuses it otherwise).
      return TensorList{pad2d(x, begin[r - 1], end[r - 1], begin[r - 2], end[r - 2], pm,
                              pm == PadMode::zeros ? value : 0.0)};
    }
    Tensor y = x;
    for (int d = 0; d < r; ++d) y = pad_axis(y, d, begin[d], end[d], mode, value);
    return TensorList{y};
  };
}

// clamp(alpha * x + beta, 0, 1) = relu(z) - relu(z - 1).
Tensor hard_sigmoid(const Tensor& x, double alpha, double beta) {
  const Tensor z = x * alpha + beta;
  return relu(z) - relu(z - 1.0);
}

// Normalizes over the dims from `axis` on: (x - mean) / sqrt(var + eps) * scale + bias, with the
// biased variance (ONNX LayerNormalization, torch.nn.LayerNorm).
Kernel layer_normalization(const NodeContext& c) {
  for (size_t i = 1; i < c.output_used.size(); ++i)
    CONVKIT_CHECK(!c.output_used[i], "onnx: ", c.where(), ": output ", i,
                  " (Mean, InvStdDev) is not supported");
  const int64_t axis = c.node.attrs.i("axis", -1);
  const double eps = c.node.attrs.f("epsilon", 1e-5);
  return [axis, eps](const TensorList& in) {
    const Tensor& x = in[0];
    const int a = wrap(axis, x.ndim(), "LayerNormalization");
    std::vector<int> dims;
    for (int d = a; d < x.ndim(); ++d) dims.push_back(d);
    const Tensor centered = x - mean(x, dims, /*keepdim=*/true);
    const Tensor var = mean(centered * centered, dims, /*keepdim=*/true);
    Tensor y = centered / sqrt(var + eps) * in[1];
    if (in.size() > 2 && in[2].defined()) y = y + in[2];
    return TensorList{y};
  };
}

struct Box {
  double y1, x1, y2, x2;
  double area() const { return (y2 - y1) * (x2 - x1); }
};

double iou(const Box& a, const Box& b) {
  const double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const double w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (h <= 0 || w <= 0) return 0;
  const double inter = h * w, uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// Greedy NMS per batch and class (inference only): boxes [B, N, 4], scores [B, C, N] -> selected
// [M, 3] int64 rows (batch, class, box), in batch, class, then descending score order. A box is
// kept when its score exceeds score_threshold and its IoU with every kept box of its class is at
// most iou_threshold; at most max_output_boxes_per_class per class (0, the default, keeps none).
Kernel non_max_suppression(const NodeContext& c) {
  const bool center = c.node.attrs.i("center_point_box", 0) != 0;
  return [center](const TensorList& in) {
    NoGradGuard no_grad;
    const Tensor boxes = in[0].to(DType::f64), scores = in[1].to(DType::f64);
    CONVKIT_CHECK(boxes.ndim() == 3 && boxes.size(2) == 4 && scores.ndim() == 3 &&
                      scores.size(0) == boxes.size(0) && scores.size(2) == boxes.size(1),
                  "boxes must be [B, N, 4] and scores [B, C, N], got ", boxes.shape().to_string(),
                  " and ", scores.shape().to_string());
    const int64_t max_out = in.size() > 2 && in[2].defined() && in[2].numel() > 0
                                ? int64_t(scalar_value(in[2], "max_output_boxes_per_class"))
                                : 0;
    const double iou_max = in.size() > 3 && in[3].defined() && in[3].numel() > 0
                               ? scalar_value(in[3], "iou_threshold")
                               : 0.0;
    const bool has_min = in.size() > 4 && in[4].defined() && in[4].numel() > 0;
    const double score_min = has_min ? scalar_value(in[4], "score_threshold") : 0.0;
    const int64_t B = boxes.size(0), N = boxes.size(1), C = scores.size(1);
    const double* bp = boxes.data<double>();
    const double* sp = scores.data<double>();
    std::vector<int64_t> picked;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<Box> bx(N);
      for (int64_t i = 0; i < N; ++i) {
        const double* v = bp + (b * N + i) * 4;
        if (center)  // [x_center, y_center, width, height]
          bx[i] = {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
        else  // [y1, x1, y2, x2], either corner pair
          bx[i] = {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]),
                   std::max(v[1], v[3])};
      }
      for (int64_t cl = 0; cl < C; ++cl) {
        const double* s = sp + (b * C + cl) * N;
        std::vector<int64_t> order;
        for (int64_t i = 0; i < N; ++i)
          if (!has_min || s[i] > score_min) order.push_back(i);
        std::stable_sort(order.begin(), order.end(),
                         [s](int64_t i, int64_t j) { return s[i] > s[j]; });
        std::vector<int64_t> kept;
        for (int64_t i : order) {
          if (int64_t(kept.size()) >= max_out) break;
          bool keep = true;
          for (int64_t k : kept) keep = keep && iou(bx[i], bx[k]) <= iou_max;
          if (keep) kept.push_back(i);
        }
        for (int64_t k : kept) picked.insert(picked.end(), {b, cl, k});
      }
    }
    return TensorList{Tensor::from_vector(picked, {int64_t(picked.size() / 3), 3})};
  };
}

template <class F>
Handler unary(F f) {
  return [f](const NodeContext&) -> Kernel {
    return [f](const TensorList& in) { return TensorList{f(in[0])}; };
  };
}

}  // namespace

void add_index_handlers(HandlerMap& m) {
  m["Gather"] = gather;
  m["GatherElements"] = gather_elements;
  m["Where"] = where_node;
  m["Equal"] = equal;
  m["Expand"] = expand;
  m["Range"] = range;
  m["TopK"] = topk_node;
  m["Pad"] = pad;
  m["NonMaxSuppression"] = non_max_suppression;
  m["LayerNormalization"] = layer_normalization;
  m["Erf"] = unary([](const Tensor& x) { return erf(x); });
  m["HardSigmoid"] = [](const NodeContext& c) -> Kernel {
    const double alpha = c.node.attrs.f("alpha", 0.2), beta = c.node.attrs.f("beta", 0.5);
    return [alpha, beta](const TensorList& in) {
      return TensorList{hard_sigmoid(in[0], alpha, beta)};
    };
  };
  // x * HardSigmoid(x) with alpha = 1/6, beta = 1/2 (Howard et al. 2019, MobileNetV3).
  m["HardSwish"] = unary([](const Tensor& x) { return x * hard_sigmoid(x, 1.0 / 6.0, 0.5); });
}

}  // namespace convkit::io::onnx_detail
