#include "convkit/data/spiral.h"

#include <cmath>

#include "convkit/error.h"
#include "convkit/random.h"

namespace convkit::data {

SpiralData make_spiral(int64_t points_per_class, int64_t classes, double noise, uint64_t seed) {
  CONVKIT_CHECK(points_per_class >= 2, "make_spiral: at least 2 points per class, got ",
                points_per_class);
  CONVKIT_CHECK(classes >= 1, "make_spiral: at least one class, got ", classes);
  CONVKIT_CHECK(noise >= 0 && std::isfinite(noise), "make_spiral: noise must be >= 0, got ", noise);
  const int64_t n = points_per_class;
  SpiralData d{Tensor::empty({classes * n, 2}), Tensor::empty({classes * n}, DType::i64)};
  float* xy = d.points.data<float>();
  int64_t* y = d.labels.data<int64_t>();
  Generator gen(seed);
  for (int64_t j = 0; j < classes; ++j)
    for (int64_t i = 0; i < n; ++i) {
      const double r = double(i) / double(n - 1);
      const double t = 4.0 * double(j) + 4.0 * r + noise * gen.normal();
      const int64_t row = j * n + i;
      xy[2 * row] = float(r * std::sin(t));
      xy[2 * row + 1] = float(r * std::cos(t));
      y[row] = j;
    }
  return d;
}

}  // namespace convkit::data
