#include "convkit/detect/darknet.h"

#include <algorithm>

#include "convkit/error.h"

namespace convkit::detect {

int pools_for(int64_t ratio, const char* what) {
  CONVKIT_CHECK(ratio >= 1, what, ": image_size / grid must be >= 1, got ", ratio);
  int pools = 0;
  for (int64_t s = ratio; s > 1; s /= 2) {
    CONVKIT_CHECK(s % 2 == 0, what, ": image_size / grid (", ratio,
                  ") must be a power of two (one 2x2 pool per halving)");
    ++pools;
  }
  return pools;
}

int64_t add_darknet_trunk(nn::Sequential& net, int64_t width, int pools) {
  CONVKIT_CHECK(width >= 1, "darknet trunk: width must be >= 1, got ", width);
  int64_t in = 3, out = width;
  for (int block = 0; block < std::max(pools, 1) + 1; ++block) {
    net.add(
        std::make_shared<nn::Conv2d>(nn::Conv2dOptions(in, out, 3).padding(1).with_bias(false)));
    net.add(std::make_shared<nn::BatchNorm2d>(out));
    net.add(std::make_shared<nn::LeakyReLU>(0.1));
    if (block < pools) net.add(std::make_shared<nn::MaxPool2d>(2, 2));
    in = out;
    out = std::min<int64_t>(out * 2, 8 * width);
  }
  return in;
}

}  // namespace convkit::detect
