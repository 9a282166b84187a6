#pragma once
// --dtype f32|bf16|int8 of the commands that run a model through infer::Session (eval, predict,
// serve): bf16 plans compute convolutions in bfloat16; int8 plans in 8-bit integers, calibrated on
// --int8-images images of --int8-data (docs/performance.md, "int8").
#include <CLI/CLI.hpp>
#include <string>

#include "convkit/infer/bundle.h"
#include "convkit/infer/session.h"
#include "image_data.h"

namespace convkit::cli {

struct PrecisionArgs {
  std::string dtype = "f32";
  std::string calibrate;  // what --data takes; empty: Fashion-MNIST's training images
  int64_t calibration_images = 256;
};

void add_precision_options(CLI::App& cmd, PrecisionArgs& args);

// The session options of `args` for `model`; for int8, reads the calibration images (spread evenly
// over the set, standardized like the model's inputs) and says so on stderr.
infer::SessionOptions session_options(const PrecisionArgs& args, const infer::ModelBundle& model,
                                      const ImageDataArgs& images);

}  // namespace convkit::cli
