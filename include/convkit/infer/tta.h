#pragma once
// Test-time augmentation (TTA): a classifier's probabilities averaged over several views of each
// image, as AlexNet's ten-crop evaluation (Krizhevsky et al. 2012, section 4.1: four corner crops
// and the centre crop, and their mirrors) and the multi-scale evaluation of VGG (Simonyan and
// Zisserman 2015, section 3.2). Views are taken from the standardized input batch itself, so TTA
// works on any data source: a crop or zoom is resized back to the model's input size (bilinear).
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::infer {

struct TtaOptions {
  bool flip = false;             // add each view mirrored left-right
  bool five_crops = false;       // add the four corner crops and the centre crop
  double crop_fraction = 0.875;  // side of a crop relative to the image (224/256), in (0, 1)
  std::vector<double> zooms;     // add a centre view of side 1/z for each zoom z > 1
};

// One view: the square window [y0, y0 + side) x [x0, x0 + side) of the image, in fractions of its
// side, resized back to the full size, optionally mirrored.
struct TtaView {
  double x0 = 0, y0 = 0, side = 1;
  bool flip = false;
  std::string name;  // "identity", "flip", "crop top-left", "zoom 1.15 flip", ...
};

// The views the options ask for; view 0 is always the unchanged image (so a TTA pass also yields
// the plain evaluation). Throws convkit::Error on a crop fraction outside (0, 1) or a zoom not in
// (1, 4].
std::vector<TtaView> tta_views(const TtaOptions& options);

// Parses the CLI's spec: a comma-separated list of `flip`, `5crop`, `5crop=F` (crop fraction F),
// `zoom=Z` (repeatable). Throws convkit::Error naming the bad item and what is accepted.
TtaOptions parse_tta(const std::string& spec);

// "flip + 5 crops (0.875) + zoom 1.15: 14 views".
std::string describe(const TtaOptions& options);

// The view of a batch [N, C, H, W] (float32): a new tensor of the same shape.
Tensor tta_view(const Tensor& batch, const TtaView& view);

}  // namespace convkit::infer
