#pragma once
// Seeded, composable image augmentation on OpenCV images (docs/augmentation.md).
//
// Every transform takes a CV_8UC1 or CV_8UC3 (RGB) image and returns one of the same type; all
// randomness comes from the Generator passed to apply(), so a transform is a pure function of
// (image, generator state). Geometry runs through OpenCV (cv::flip, cv::copyMakeBorder,
// cv::resize, cv::warpAffine), colour through cv::Mat arithmetic; no per-pixel loops.
//
// Sizes are (height, width) in pixels. A size of 0 means "the input's own size", so
// random_crop({.padding = 4}) pads by 4 and crops back to the original size whatever it is.
#include <utility>
#include <vector>

#include "convkit/data/transform.h"

namespace convkit::data {

// How pixels outside the image are filled by padding and warps (the Keras ImageDataGenerator
// names), with the OpenCV border each maps to; for an image row "abcd":
//   constant  kkkk|abcd|kkkk   cv::BORDER_CONSTANT (k = fill value)
//   nearest   aaaa|abcd|dddd   cv::BORDER_REPLICATE
//   reflect   dcba|abcd|dcba   cv::BORDER_REFLECT (Keras/scipy 'reflect'; the edge pixel repeats.
//                              torchvision's padding_mode='reflect' is 'dcb|abcd|cba', which is
//                              cv::BORDER_REFLECT_101 and torchvision's 'symmetric' is ours)
//   wrap      abcd|abcd|abcd   cv::BORDER_WRAP
enum class FillMode { constant, nearest, reflect, wrap };
struct Fill {
  FillMode mode = FillMode::constant;
  double value = 0;  // intensity 0..255 for `constant`, the same in every channel
};
// "constant" | "nearest" | "reflect" | "wrap"; throws naming the accepted names otherwise.
FillMode parse_fill_mode(const std::string& name);
std::string to_string(FillMode mode);

// Applies `transforms` in order.
TransformPtr compose(std::vector<TransformPtr> transforms);
// Applies `transform` with probability p (one uniform draw), else returns the image unchanged.
TransformPtr random_apply(double p, TransformPtr transform);

// Mirror left-right / top-bottom with probability p.
TransformPtr horizontal_flip(double p = 0.5);
TransformPtr vertical_flip(double p = 0.5);

// Deterministic resize to (height, width) (bilinear; area averaging when shrinking) and centre
// crop.
TransformPtr resize(int height, int width);
TransformPtr center_crop(int height, int width);

// Pads each side by `padding` pixels, then takes a uniformly placed (height, width) window
// (0 = the unpadded input's size). The CIFAR recipe: padding 4, crop 32 (He et al. 2016, 4.2).
struct RandomCropOptions {
  int height = 0, width = 0;  // 0: the input's size
  int padding = 0;
  Fill fill{};
};
TransformPtr random_crop(RandomCropOptions options);

// Inception-style crop (Szegedy et al. 2015; torchvision RandomResizedCrop): a window covering a
// uniform fraction in `scale` of the area with log-uniform aspect ratio in `ratio`, resized to
// (height, width). Ten tries, then the largest centred window of the allowed ratio.
struct RandomResizedCropOptions {
  int height = 0, width = 0;  // 0: the input's size
  std::pair<double, double> scale{0.08, 1.0};
  std::pair<double, double> ratio{3.0 / 4.0, 4.0 / 3.0};
};
TransformPtr random_resized_crop(RandomResizedCropOptions options);

// VGG's multi-scale training (Simonyan & Zisserman 2015, 3.1): resize so that the shorter side is
// a uniform integer S in [min_side, max_side], keep the aspect ratio, then crop (height, width) at
// a uniform position. Requires min_side >= the crop's larger side.
struct ScaleJitterOptions {
  int min_side = 256, max_side = 512;
  int height = 0, width = 0;  // 0: the input's size
};
TransformPtr scale_jitter(ScaleJitterOptions options);

// Keras ImageDataGenerator's geometric jitter as one cv::warpAffine about the image centre:
// rotation uniform in [-rotation, rotation] degrees, translation uniform in [-width_shift,
// width_shift] * width (likewise height), shear angle uniform in [-shear, shear] degrees (x
// sheared along y), isotropic zoom factor uniform in [1 - zoom, 1 + zoom] (> 1 magnifies). Pixels
// mapped from outside the image are filled by `fill`. Bilinear interpolation.
struct AffineOptions {
  double rotation = 0;      // degrees
  double width_shift = 0;   // fraction of the width
  double height_shift = 0;  // fraction of the height
  double shear = 0;         // degrees
  double zoom = 0;          // fraction, in [0, 1)
  Fill fill{};
};
TransformPtr random_affine(AffineOptions options);
// One fixed affine warp about the image centre (random_affine draws these per image; test-time
// augmentation uses them directly).
struct AffineParams {
  double rotation = 0;              // degrees, counter-clockwise on screen
  double shift_x = 0, shift_y = 0;  // pixels, right and down
  double shear = 0;                 // degrees: x += tan(shear) * (y - centre y)
  double zoom = 1;                  // > 1 magnifies
};
TransformPtr affine(AffineParams params, Fill fill = {});
// The 2x3 row-major matrix mapping input to output pixel coordinates for an image of
// (height, width): p_out = c + shift + R(rotation) * Shear(shear) * zoom * (p_in - c), c the
// centre.
std::vector<double> affine_matrix(int height, int width, const AffineParams& params);

// torchvision ColorJitter without hue: brightness, contrast and saturation factors each uniform in
// [max(0, 1 - v), 1 + v], applied in a random order. Brightness scales intensities; contrast blends
// with the mean grey level; saturation blends with the grey image (no-op on grey images).
struct ColorJitterOptions {
  double brightness = 0, contrast = 0, saturation = 0;
};
TransformPtr color_jitter(ColorJitterOptions options);

// Adds an independent uniform offset in [-range, range] (0..255 intensity units) to each channel
// (Keras' channel_shift_range adds one offset to all channels; ours shifts colour too).
TransformPtr channel_shift(double range);

// Principal components of the training set's pixel colours (AlexNet, Krizhevsky et al. 2012, 4.1):
// eigenvalues (descending) and unit eigenvectors of the C x C covariance of pixel values in [0, 1].
struct ColorPca {
  std::vector<double> eigenvalues;                // [C]
  std::vector<std::vector<double>> eigenvectors;  // [C][C], eigenvectors[k] is the k-th component
};
// From every pixel of `images` (all CV_8UC1 or all CV_8UC3, non-empty list).
ColorPca color_pca(const std::vector<cv::Mat>& images);
// AlexNet's lighting noise: adds sum_k alpha_k * eigenvalue_k * eigenvector_k (times 255) to every
// pixel, alpha_k ~ N(0, alpha_std) drawn once per image. alpha_std 0.1 in the paper.
TransformPtr pca_lighting(double alpha_std, ColorPca pca);

// Random erasing (Zhong et al. 2020; torchvision RandomErasing): with probability p, a rectangle
// covering a uniform fraction in `scale` of the area with log-uniform aspect ratio in `ratio` is
// set to `value` (0..255) or, with random_value, to uniform noise. Ten tries, else unchanged.
struct RandomErasingOptions {
  double p = 0.5;
  std::pair<double, double> scale{0.02, 0.33};
  std::pair<double, double> ratio{0.3, 3.3};
  double value = 0;
  bool random_value = false;
};
TransformPtr random_erasing(RandomErasingOptions options);
// Cutout (DeVries & Taylor 2017): with probability p, a size x size square centred at a uniform
// pixel (clipped at the borders) is set to `value`.
TransformPtr cutout(int size, double p = 1.0, double value = 0);

}  // namespace convkit::data
