#pragma once
// The spiral data set of CS231n's neural network case study (Karpathy): `classes` arms of
// `points_per_class` points each in the plane, arm j at radius r = i / (N - 1) and angle
// t = 4 j + 4 r + noise * n_i (n_i standard normal), point (r sin t, r cos t). No line separates
// the arms: a linear classifier stays near 50% on 3 arms, a small ReLU network fits them.
#include <cstdint>

#include "convkit/tensor.h"

namespace convkit::data {

struct SpiralData {
  Tensor points;  // [classes * points_per_class, 2] float32, inside the unit disc
  Tensor labels;  // [classes * points_per_class] int64, arm j for rows [j N, (j + 1) N)
};

// Throws convkit::Error for points_per_class < 2, classes < 1 or a negative noise.
SpiralData make_spiral(int64_t points_per_class = 100, int64_t classes = 3, double noise = 0.2,
                       uint64_t seed = 0);

}  // namespace convkit::data
