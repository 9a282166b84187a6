// Sliding windows, naive and convolutional (contract in include/convkit/detect/sliding_window.h).
#include "convkit/detect/sliding_window.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::detect {

namespace {
// Eval mode and no gradients for one call; the module's mode is restored.
template <class F>
Tensor in_eval(nn::Module& m, F&& f) {
  const bool was_training = m.is_training();
  m.eval();
  NoGradGuard no_grad;
  Tensor out = f();
  m.train(was_training);
  return out;
}
}  // namespace

int64_t sliding_window_positions(int64_t size, int64_t window, int64_t stride) {
  CONVKIT_CHECK(window >= 1 && stride >= 1, "sliding windows: window (", window, ") and stride (",
                stride, ") must be >= 1");
  CONVKIT_CHECK(size >= window, "sliding windows: the image side ", size,
                " is smaller than the window ", window);
  return (size - window) / stride + 1;
}

Tensor sliding_window_naive(nn::Module& classifier, const Tensor& image, int64_t window,
                            int64_t stride, int64_t batch) {
  CONVKIT_CHECK(image.ndim() == 4, "sliding_window_naive: image must be [N, C, H, W], got ",
                image.shape().to_string());
  const int64_t N = image.size(0);
  const int64_t OH = sliding_window_positions(image.size(2), window, stride);
  const int64_t OW = sliding_window_positions(image.size(3), window, stride);
  return in_eval(classifier, [&] {
    Tensor out;
    std::vector<Tensor> crops;
    std::vector<int64_t> where;  // flat (n, i, j) of each pending crop
    auto flush = [&] {
      const Tensor logits = classifier(concat(crops, 0));  // [B, classes]
      const int64_t K = logits.size(1);
      if (!out.defined()) out = Tensor::zeros({N, K, OH, OW});
      const Tensor l = logits.to(DType::f32);
      for (std::size_t b = 0; b < where.size(); ++b) {
        const int64_t n = where[b] / (OH * OW), ij = where[b] % (OH * OW);
        for (int64_t k = 0; k < K; ++k)
          out.data<float>()[(n * K + k) * OH * OW + ij] = l.data<float>()[int64_t(b) * K + k];
      }
      crops.clear();
      where.clear();
    };
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          // [1, C, H, W] -> the window at (i * stride, j * stride): [1, C, window, window]
          crops.push_back(
              narrow(narrow(narrow(image, 0, n, 1), 2, i * stride, window), 3, j * stride, window));
          where.push_back((n * OH + i) * OW + j);
          if (int64_t(crops.size()) == std::max<int64_t>(batch, 1)) flush();
        }
    if (!crops.empty()) flush();
    return out;
  });
}

Tensor sliding_window_conv(nn::Module& conv_classifier, const Tensor& image) {
  return in_eval(conv_classifier, [&] { return conv_classifier(image); });
}

Tensor resize_image(const Tensor& image, double scale) {
  CONVKIT_CHECK(image.ndim() == 4 && scale > 0,
                "resize_image: need [N, C, H, W] and scale > 0, got ", image.shape().to_string(),
                " and ", scale);
  UpsampleBilinear2dParams p;
  p.out_h = std::max<int64_t>(1, int64_t(std::lround(double(image.size(2)) * scale)));
  p.out_w = std::max<int64_t>(1, int64_t(std::lround(double(image.size(3)) * scale)));
  return upsample_bilinear2d(image, p);
}

}  // namespace convkit::detect
