// Padding and nearest upsampling of the last two dims (docs/derivatives/shape_ops.md).
//   pad2d: y[.., oh, ow] = x[.., src(oh), src(ow)], or `value` where the source is padding
//          (zeros mode); src() is the identity shifted by the pad, mirrored (reflect) or clamped
//          (replicate) outside the input.
//          dx[.., ih, iw] = sum of g over the outputs whose source is (ih, iw)
//   upsample_nearest2d: y[.., oh, ow] = x[.., oh / SH, ow / SW]
//          dx[.., ih, iw] = sum of g over the SH x SW block it was copied to
// Only shapes and pads are saved.
#include "convkit/ops/shape_ops.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/ref/shape.h"

namespace convkit {

namespace {
const char* mode_name(PadMode m) {
  switch (m) {
    case PadMode::zeros:
      return "zeros";
    case PadMode::reflect:
      return "reflect";
    case PadMode::replicate:
      return "replicate";
  }
  return "?";
}

void check_image_like(const Tensor& x, const char* op) {
  CONVKIT_CHECK(x.defined(), op, ": undefined input");
  CONVKIT_CHECK(x.ndim() >= 2, op, ": expected at least 2 dims [..., H, W], got ",
                x.shape().to_string());
}
}  // namespace

Tensor pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom,
             PadMode mode, double value) {
  return pad2d(x, Pad2dParams{left, right, top, bottom, mode, value});
}

Tensor pad2d(const Tensor& x, const Pad2dParams& p) {
  const auto [left, right, top, bottom, mode, value] = p;
  check_image_like(x, "pad2d");
  const int64_t H = x.size(-2), W = x.size(-1);
  CONVKIT_CHECK(left >= 0 && right >= 0 && top >= 0 && bottom >= 0, "pad2d: pads (left ", left,
                ", right ", right, ", top ", top, ", bottom ", bottom, ") must be >= 0 (input ",
                x.shape().to_string(), ")");
  if (mode == PadMode::reflect)
    CONVKIT_CHECK(left < W && right < W && top < H && bottom < H, "pad2d: reflect pads (left ",
                  left, ", right ", right, ", top ", top, ", bottom ", bottom,
                  ") must be smaller than the padded sizes (H ", H, ", W ", W, ") of ",
                  x.shape().to_string());
  if (mode == PadMode::replicate)
    CONVKIT_CHECK(H >= 1 && W >= 1, "pad2d: replicate needs a non-empty plane, got ",
                  x.shape().to_string());
  CONVKIT_CHECK(mode == PadMode::zeros || value == 0, "pad2d: a pad value (", value,
                ") only applies to PadMode::zeros, not ", mode_name(mode));
  Shape ys = x.shape();
  ys[ys.ndim() - 2] = H + top + bottom;
  ys[ys.ndim() - 1] = W + left + right;
  Tensor y = Tensor::empty(ys, x.dtype());
  detail::dispatch_floating(x.dtype(), "pad2d", [&]<class T>() { ref::pad2d_forward<T>(y, x, p); });
  const Shape x_shape = x.shape();
  autograd::record(y, "pad2d", {x}, [x_shape, p](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(x_shape, g.dtype());
    detail::dispatch_floating(g.dtype(), "pad2d_backward",
                              [&]<class T>() { ref::pad2d_backward<T>(dx, g, p); });
    return TensorList{dx};
  });
  if (detail::tracing()) detail::trace_op("pad2d", y, {x}, p);
  return y;
}

Tensor upsample_nearest2d(const Tensor& x, int64_t scale_h, int64_t scale_w) {
  check_image_like(x, "upsample_nearest2d");
  CONVKIT_CHECK(scale_h >= 1 && scale_w >= 1, "upsample_nearest2d: scales ", scale_h, "x", scale_w,
                " must be >= 1 (input ", x.shape().to_string(), ")");
  CONVKIT_CHECK(x.size(-2) >= 1 && x.size(-1) >= 1, "upsample_nearest2d: input ",
                x.shape().to_string(), " has an empty plane");
  Shape ys = x.shape();
  ys[ys.ndim() - 2] *= scale_h;
  ys[ys.ndim() - 1] *= scale_w;
  Tensor y = Tensor::empty(ys, x.dtype());
  detail::dispatch_floating(x.dtype(), "upsample_nearest2d",
                            [&]<class T>() { ref::upsample_nearest2d_forward<T>(y, x); });
  const Shape x_shape = x.shape();
  autograd::record(
      y, "upsample_nearest2d", {x}, [x_shape](const Tensor& g, const std::vector<bool>&) {
        Tensor dx = Tensor::empty(x_shape, g.dtype());
        detail::dispatch_floating(g.dtype(), "upsample_nearest2d_backward",
                                  [&]<class T>() { ref::upsample_nearest2d_backward<T>(dx, g); });
        return TensorList{dx};
      });
  if (detail::tracing())
    detail::trace_op("upsample_nearest2d", y, {x}, UpsampleNearest2dParams{scale_h, scale_w});
  return y;
}

}  // namespace convkit
