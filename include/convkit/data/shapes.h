#pragma once
// A synthetic image set of simple shapes (circle, square, triangle, star, ...) for tests and demos:
// classification now, localization and detection later (every object's bounding box is kept).
//
// Image i of a set is a function of (seed, i) alone: its class is classes[i % K] (so classes are
// balanced), and everything else is drawn from Generator(example_seed(seed, i)): a background
// (solid colour or a linear gradient between two colours), 1..objects_max objects of the image's
// class, each with a random colour (at least `min_contrast` away from the background at its
// centre), size, position and rotation, drawn anti-aliased, then Gaussian pixel noise with a std
// drawn from [0, noise]. Objects of one image avoid overlapping boxes when they can.
//
// Boxes are in continuous pixel coordinates: pixel (x, y) covers [x, x+1) x [y, y+1), so a box
// [x_min, x_max) x [y_min, y_max) lies within [0, size] on both axes.
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace convkit::data {

// Every shape make-shapes can draw: circle, square, triangle, star, pentagon, hexagon, cross.
const std::vector<std::string>& shape_names();

struct ShapesOptions {
  int64_t count = 1000;  // images
  int size = 64;         // width = height in pixels (>= 16)
  std::vector<std::string> classes = {"circle", "square", "triangle",
                                      "star"};  // from shape_names()
  int objects_max = 1;                          // objects per image, uniform in [1, objects_max]
  double noise = 12;  // largest std of the Gaussian pixel noise (0..255 scale)
  double min_contrast =
      80;  // smallest colour distance (Euclidean, RGB) between object and background
  uint64_t seed = 1;
};

struct ShapeObject {
  int64_t label = 0;  // index in ShapesOptions::classes
  double x_min = 0, y_min = 0, x_max = 0, y_max = 0;
};

struct ShapesImage {
  cv::Mat image;  // CV_8UC3, RGB
  cv::Mat mask;   // CV_8UC1, non-zero where an object was drawn (before noise)
  int64_t label = 0;
  std::vector<ShapeObject> objects;
};

// Throws naming the option when one is out of range or a class is unknown.
void check_shapes_options(const ShapesOptions& options);

// Image `index` of the set `options` describes.
ShapesImage draw_shapes_image(const ShapesOptions& options, int64_t index);

// Writes the set to `dir`: <dir>/<class>/<class>_<index>.png (index zero-padded) and
// <dir>/boxes.csv with a header and one row per object: file (relative to dir), class, x_min,
// y_min, x_max, y_max. `threads` draw images in parallel (the files do not depend on it). Returns
// the number of objects. Throws naming a file that cannot be written.
int64_t write_shapes_dataset(const std::string& dir, const ShapesOptions& options, int threads = 1);

}  // namespace convkit::data
