// Bilinear resizing of the last two dims (docs/derivatives/shape_ops.md), PyTorch's
// upsample_bilinear2d. With the taps of kernels/ref/resize.cpp (two source rows i0, i1 with weights
// wh0, wh1 per output row, the same per output column):
//   y[.., oh, ow] = sum_{a,b in {0,1}} wh_a(oh) ww_b(ow) x[.., ih_a(oh), iw_b(ow)]
//   dx[.., ih, iw] = sum over the outputs reading (ih, iw) of their weight times g
// The op is linear in x, so only the shapes and align_corners are saved.
#include "convkit/autograd.h"
#include "convkit/ops/shape_ops.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/ref/resize.h"

namespace convkit {

Tensor upsample_bilinear2d(const Tensor& x, const UpsampleBilinear2dParams& p) {
  CONVKIT_CHECK(x.defined(), "upsample_bilinear2d: undefined input");
  CONVKIT_CHECK(x.ndim() >= 2, "upsample_bilinear2d: expected at least 2 dims [..., H, W], got ",
                x.shape().to_string());
  CONVKIT_CHECK(p.out_h >= 1 && p.out_w >= 1, "upsample_bilinear2d: output size ", p.out_h, "x",
                p.out_w, " must be at least 1x1 (input ", x.shape().to_string(), ")");
  CONVKIT_CHECK(x.size(-2) >= 1 && x.size(-1) >= 1, "upsample_bilinear2d: input ",
                x.shape().to_string(), " has an empty plane");
  Shape ys = x.shape();
  ys[ys.ndim() - 2] = p.out_h;
  ys[ys.ndim() - 1] = p.out_w;
  Tensor y = Tensor::empty(ys, x.dtype());
  const bool ac = p.align_corners;
  detail::dispatch_floating(x.dtype(), "upsample_bilinear2d",
                            [&]<class T>() { ref::upsample_bilinear2d_forward<T>(y, x, ac); });
  const Shape x_shape = x.shape();
  autograd::record(
      y, "upsample_bilinear2d", {x}, [x_shape, ac](const Tensor& g, const std::vector<bool>&) {
        Tensor dx = Tensor::empty(x_shape, g.dtype());
        detail::dispatch_floating(g.dtype(), "upsample_bilinear2d_backward", [&]<class T>() {
          ref::upsample_bilinear2d_backward<T>(dx, g, ac);
        });
        return TensorList{dx};
      });
  if (detail::tracing()) detail::trace_op("upsample_bilinear2d", y, {x}, p);
  return y;
}

}  // namespace convkit
