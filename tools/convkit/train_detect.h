#pragma once
// `convkit train --task detect`: the detection setup, reached by one dispatch line in
// train_cmd.cpp (which parses the shared options).
#include <CLI/CLI.hpp>
#include <string>

#include "convkit/train/setup.h"

namespace convkit::cli {

struct DetectTrainArgs {
  train::TrainOptions opt;  // epochs, batch size, optimizer, lr, schedule, seed, out_dir, ...
  std::string data, test_data;
  std::string arch = "yolo";
  int64_t image_size = 64;
  int64_t grid = 8;
  int64_t anchors = 3;  // k of the k-means anchors
  int64_t width = 16;   // channels of the first Darknet block
  std::string backbone = "darknet", backbone_layer, backbone_weights;
  bool strict = false;  // --strict (image data's flag): the first bad row or image is fatal
};

// --task, --arch, --grid, --anchors, --detector-width.
void add_detect_train_options(CLI::App& cmd, DetectTrainArgs& args);
void run_train_detect(const DetectTrainArgs& args);

}  // namespace convkit::cli
