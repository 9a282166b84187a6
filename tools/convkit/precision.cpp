#include "precision.h"

#include <cstdio>

#include "convkit/error.h"

namespace convkit::cli {

void add_precision_options(CLI::App& cmd, PrecisionArgs& a) {
  cmd.add_option("--dtype", a.dtype,
                 "f32; bf16: convolutions in bfloat16 with float32 accumulation (AVX-512 BF16); "
                 "int8: convolutions in 8-bit integers, calibrated on --int8-data "
                 "(docs/performance.md)")
      ->check(CLI::IsMember({"f32", "bf16", "int8"}))
      ->capture_default_str();
  cmd.add_option("--int8-data", a.calibrate,
                 "int8: images like those the model will see (what --data takes; default: "
                 "Fashion-MNIST's training images, for models trained on it)");
  cmd.add_option("--int8-images", a.calibration_images,
                 "int8: how many of them, spread evenly over the set")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

infer::SessionOptions session_options(const PrecisionArgs& a, const infer::ModelBundle& m,
                                      const ImageDataArgs& images) {
  infer::SessionOptions o;
  o.bf16 = a.dtype == "bf16";
  CONVKIT_CHECK(a.dtype == "int8" || a.calibrate.empty(),
                "--int8-data is for --dtype int8 (got --dtype ", a.dtype, ")");
  if (a.dtype != "int8") return o;
  ModelData d;
  try {
    d = data_for_model(m, a.calibrate, "train", images);
  } catch (const Error& e) {
    throw Error(detail::concat("--dtype int8 needs calibration images like those ", m.describe(),
                               " will see: give them with --int8-data DATA (an image folder, a "
                               ".csv list or an IDX folder). ",
                               a.calibrate.empty() ? "Without --int8-data: " : "", e.what()));
  }
  const int64_t size = d.inputs->size();
  CONVKIT_CHECK(size >= 1, "--int8-data ", d.name, " holds no images");
  const int64_t n = std::min(size, a.calibration_images);
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n; ++i) idx.push_back(i * size / n);
  o.int8_calibration = d.inputs->get_batch(idx).inputs;
  std::fprintf(stderr, "int8: calibrating on %lld of the %lld images of %s\n", (long long)n,
               (long long)size, d.name.c_str());
  return o;
}

}  // namespace convkit::cli
