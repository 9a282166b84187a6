// detect/sliding_window.h: the naive detector (crop and classify every window) and the
// convolutional form (one pass of models::convolutionalize's network) give the same scores at
// every window position, at two scales.
#include <gtest/gtest.h>

#include "convkit/convkit.h"
#include "convkit/detect/sliding_window.h"
#include "convkit/models/convolutionalize.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

using namespace nn;

// LeNet-like with unpadded features (total stride 4) and a dense head, trained size 12.
std::shared_ptr<Sequential> tiny_classifier() {
  return std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(3, 6, 3), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2, 2), std::make_shared<Conv2d>(6, 8, 2),
      std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2, 2), std::make_shared<Flatten>(),
      std::make_shared<Linear>(8 * 2 * 2, 16), std::make_shared<ReLU>(),
      std::make_shared<Dropout>(0.5), std::make_shared<Linear>(16, 4)});
}

TEST(SlidingWindow, NaiveEqualsConvolutionalAtEveryPosition) {
  manual_seed(21);
  auto model = tiny_classifier();
  auto conv = models::convolutionalize(*model, 12);
  const Tensor image = Tensor::randn({2, 3, 30, 26});
  for (double scale : {1.0, 0.8}) {
    const Tensor x = scale == 1.0 ? image : detect::resize_image(image, scale);
    const Tensor naive = detect::sliding_window_naive(*model, x, /*window=*/12, /*stride=*/4,
                                                      /*batch=*/7);
    const Tensor fast = detect::sliding_window_conv(*conv, x);
    ASSERT_EQ(naive.shape(), fast.shape()) << "scale " << scale;
    EXPECT_EQ(naive.size(2), detect::sliding_window_positions(x.size(2), 12, 4));
    EXPECT_LE(test::max_abs_diff(naive, fast), 1e-4) << "scale " << scale;
    EXPECT_GT(test::max_abs(naive), 0.01);
  }
  EXPECT_TRUE(model->is_training());  // the mode is restored
  EXPECT_THROW_WITH(detect::sliding_window_naive(*model, Tensor::zeros({1, 3, 8, 8}), 12, 4),
                    "image side 8 is smaller than the window 12");
}

}  // namespace
}  // namespace convkit
