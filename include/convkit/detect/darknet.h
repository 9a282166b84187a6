#pragma once
// The small Darknet-style trunk the detectors share (Darknet-19's pattern at toy size, Redmon &
// Farhadi 2017): blocks of 3x3 conv (no bias) + batch norm + leaky ReLU(0.1), a 2x2 max pool after
// each of the first `pools` blocks, channels doubling from `width` up to 8 x width.
#include <cstdint>

#include "convkit/nn/layers.h"

namespace convkit::detect {

// Appends max(pools, 1) + 1 blocks to `net` (input: 3 channels) and returns the channels of the
// last one. The output is 2^pools times smaller than the input.
int64_t add_darknet_trunk(nn::Sequential& net, int64_t width, int pools);
// log2(ratio) for a power-of-two ratio >= 1; throws naming `what` otherwise.
int pools_for(int64_t ratio, const char* what);

}  // namespace convkit::detect
