#pragma once
// Augmentation recipes: a JSON file or command-line flags -> one Compose of transforms
// (docs/augmentation.md lists every transform and key). YAML is not supported.
//
//   {"transforms": [
//      {"type": "random_crop", "padding": 4, "fill": "reflect"},
//      {"type": "horizontal_flip"},
//      {"type": "random_apply", "p": 0.8, "transforms": [
//          {"type": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4}]},
//      {"type": "random_erasing", "p": 0.25}]}
//
// A bare array of transforms is accepted too. Errors name the recipe, the transform's position and
// type, and the key: `recipe aug.json: transform 1 (random_crop): unknown key 'paddin' (known:
// ...)`.
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/data/transform.h"

namespace convkit::data {

// What some transforms need from the training set, asked for only when such a transform appears.
struct RecipeContext {
  // A sample of training images (8-bit, RGB or grey): pca_lighting without explicit eigenvectors
  // computes its colour PCA from them.
  std::function<std::vector<cv::Mat>()> training_images;
};

// Parses recipe text; `origin` names it in errors (a path, or "flags").
TransformPtr parse_recipe(const std::string& json_text, const RecipeContext& context,
                          const std::string& origin = "recipe");
// Reads and parses a recipe file; throws naming the path when it cannot be read.
TransformPtr load_recipe(const std::string& path, const RecipeContext& context);

// The command-line flags for common augmentations (convkit train / augment-preview). Each one set
// adds one transform, in this order: crop (scale jitter, resized crop or padded random crop),
// flips, affine, colour jitter, channel shift, PCA lighting, erasing, cutout.
struct AugmentFlags {
  std::string recipe;                 // --augment FILE.json (exclusive with the flags below)
  bool hflip = false, vflip = false;  // --hflip, --vflip
  int crop = 0;                       // --crop N: output size of the crop (0: the input's)
  int pad = 0;                        // --pad P: random crop after padding by P
  double resized_crop = 0;            // --resized-crop MIN_SCALE: Inception crop, scale [min, 1]
  std::vector<int> scale_jitter;      // --scale-jitter MIN,MAX: VGG shorter-side jitter
  double rotate = 0, shift = 0, shear = 0, zoom = 0;  // --rotate DEG --shift F --shear DEG --zoom F
  std::string fill = "constant";     // --fill constant|nearest|reflect|wrap (crop padding, affine)
  std::vector<double> color_jitter;  // --color-jitter B[,C,S]
  double channel_shift = 0;          // --channel-shift R (0..255)
  double pca_lighting = 0;           // --pca-lighting STD (AlexNet: 0.1)
  double erase = 0;                  // --erase P: random erasing probability
  int cutout = 0;                    // --cutout N: cutout square side
};
// The recipe the flags stand for, as JSON text (empty array when none is set).
std::string recipe_from_flags(const AugmentFlags& flags);
// The transform for the flags or the recipe file; nullptr when no augmentation was asked for.
// Throws when --augment is combined with other augmentation flags.
TransformPtr build_augmentation(const AugmentFlags& flags, const RecipeContext& context);

}  // namespace convkit::data
