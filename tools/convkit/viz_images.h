#pragma once
// Image files for the visualization commands (cam, features): decoded in the model's colour mode;
// a file that fails to decode is reported (path and problem) and skipped, and the command fails at
// the end so that scripts notice.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/infer/bundle.h"

namespace convkit::cli {

struct VizImage {
  std::string path;
  std::string stem;  // file name without folder and extension: names the outputs
  cv::Mat image;     // RGB or gray as the bundle's preprocessing asks
};

// The files that decode; a warning on stderr for each that does not.
std::vector<VizImage> read_viz_images(const infer::ModelBundle& bundle,
                                      const std::vector<std::string>& paths);

// Throws "<command>: K of N files could not be used" when some were skipped.
void check_all_images_used(const char* command, size_t used, size_t given);

}  // namespace convkit::cli
