// End-to-end checks of the CLI faces of infer/ (issue 16 items 1, 3, 4, 5, 6, 8, 14): one way to
// give a model file, registered input sizes in summary, clear messages for data that does not fit
// a model, non-finite outputs reported, top-k limited by the class count.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "convkit/backend.h"
#include "convkit/io/onnx.h"
#include "convkit/models/registry.h"
#include "convkit/random.h"
#include "convkit/train/checkpoint.h"
#include "support/cli_run.h"
#include "support/image_files.h"
#include "support/tiny_mnist.h"

namespace fs = std::filesystem;
using convkit::test::TempDir;

namespace {
using convkit::test::has;
using convkit::test::run;

// The CLI tests run once, on the default backend (the library tests cover both); summary alexnet
// runs a 224x224 forward, seconds on the reference kernels.
#define ONCE()                                      \
  if (convkit::backend() != convkit::Backend::dnnl) \
  GTEST_SKIP() << "runs once, on the default backend"

// A 3-class shapes set (16x16) and a small-cnn checkpoint "trained" on it (random weights, the
// config a training run on image files writes).
struct ImageRun {
  std::string data, weights;
};
ImageRun image_run(const TempDir& t, bool nan_weights = false) {
  ImageRun r{t.path("shapes"), t.path("w.safetensors")};
  std::string out;
  EXPECT_EQ(run(t,
                "make-shapes --out " + r.data +
                    " --count 12 --size 16 --classes circle,square,cross --seed 2",
                out),
            0)
      << out;
  convkit::manual_seed(1);
  auto model = convkit::models::create_model("small-cnn", {3, 3, 16});
  if (nan_weights)
    for (auto& [name, p] : model->named_parameters())
      for (int64_t i = 0; i < p.numel(); ++i)
        p.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
  const nlohmann::json config = {
      {"in_channels", 3},
      {"num_classes", 3},
      {"image_size", 16},
      {"class_names", {"circle", "cross", "square"}},
      {"normalization", {{"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}},
      {"preprocessing",
       nlohmann::json::parse(R"({"image_size":16,"load_size":16,"color":"rgb"})")}};
  convkit::train::save_weights(r.weights, *model,
                               {{"model", "small-cnn"}, {"config", config.dump()}});
  return r;
}
}  // namespace

TEST(InferCli, SummaryUsesTheRegisteredInputAndNamesTheSmallest) {
  ONCE();
  TempDir t;
  std::string out;
  ASSERT_EQ(run(t, "summary alexnet", out), 0) << out;
  EXPECT_TRUE(has(out, "input 3x224x224, 1000 classes")) << out;
  EXPECT_TRUE(has(out, "[1,1000]")) << out;
  ASSERT_EQ(run(t, "summary resnet20", out), 0) << out;
  EXPECT_TRUE(has(out, "input 3x32x32, 10 classes")) << out;
  EXPECT_EQ(run(t, "summary alexnet --image-size 16", out), 1);
  EXPECT_TRUE(has(out, "alexnet needs inputs of at least 63x63")) << out;
  EXPECT_EQ(run(t, "summary lenet5 --image-size 4", out), 1);
  EXPECT_TRUE(has(out, "its smallest input is 28x28")) << out;
}

TEST(InferCli, ImageModelWithoutDataAsksForIt) {
  ONCE();
  TempDir t;
  const ImageRun r = image_run(t);
  std::string out;
  EXPECT_EQ(run(t, "eval " + r.weights, out), 1);
  EXPECT_TRUE(has(out, "was trained on image files (3x16x16, 3 classes)")) << out;
  EXPECT_TRUE(has(out, "--data")) << out;
  EXPECT_FALSE(has(out, "Normalized")) << out;
  EXPECT_EQ(run(t, "predict " + r.weights + " -i 0", out), 1);
  EXPECT_TRUE(has(out, "was trained on image files")) << out;

  // With the data: no top-5 line for 3 classes; predict shows at most 3 classes.
  ASSERT_EQ(run(t, "eval " + r.weights + " --data " + r.data, out), 0) << out;
  EXPECT_TRUE(has(out, "12 images: loss")) << out;
  EXPECT_FALSE(has(out, "top-5")) << out;
  ASSERT_EQ(run(t, "predict " + r.weights + " -k 5 " + r.data + "/circle/circle_00000.png", out), 0)
      << out;
  EXPECT_TRUE(has(out, "circle ") && has(out, "square ") && has(out, "cross ")) << out;
}

TEST(InferCli, NonFiniteModelIsReportedNotScored) {
  ONCE();
  TempDir t;
  const ImageRun r = image_run(t, /*nan_weights=*/true);
  std::string out;
  ASSERT_EQ(run(t, "eval " + r.weights + " --data " + r.data, out), 0) << out;
  EXPECT_TRUE(has(out, "top-1 0.00%")) << out;
  EXPECT_TRUE(has(out, "NaN or infinite for 12 of 12 images")) << out;
  EXPECT_TRUE(has(out, "non-finite")) << out;
  ASSERT_EQ(run(t, "predict " + r.weights + " " + r.data + "/circle/circle_00000.png", out), 0)
      << out;
  EXPECT_TRUE(has(out, "no prediction (the output is NaN or infinite)")) << out;
  EXPECT_FALSE(has(out, "nan%")) << out;
}

TEST(InferCli, EvalExtrasTtaCurvesCalibrationAndFiles) {
  ONCE();
  TempDir t;
  const ImageRun r = image_run(t);
  std::string out;
  const std::string dir = t.path("eval_out");
  ASSERT_EQ(run(t,
                "eval " + r.weights + " --data " + r.data +
                    " --tta flip,5crop --most-wrong 3 --out " + dir,
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "TTA (flip + 5 crops (0.875): 12 views): loss")) << out;
  EXPECT_TRUE(has(out, "points over plain")) << out;
  EXPECT_TRUE(has(out, "One-vs-rest (TTA probabilities): macro ROC AUC")) << out;
  EXPECT_TRUE(has(out, "expected calibration error")) << out;
  const nlohmann::json j = nlohmann::json::parse(convkit::test::read_bytes(dir + "/eval.json"));
  EXPECT_EQ(j["plain"]["examples"], 12);
  EXPECT_EQ(j["tta"]["views"], "flip + 5 crops (0.875): 12 views");
  ASSERT_EQ(j["per_class"].size(), 3u);
  EXPECT_EQ(j["per_class"][0]["class"], "circle");
  EXPECT_EQ(j["calibration"]["bins"].size(), 15u);
  int64_t confusion_total = 0;
  for (const auto& row : j["confusion"])
    for (const auto& v : row) confusion_total += v.get<int64_t>();
  EXPECT_EQ(confusion_total, 12);
  const std::string csv = convkit::test::read_bytes(dir + "/predictions.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 13) << csv;
  EXPECT_EQ(csv.rfind("index,example,true,predicted,confidence,p_circle,p_cross,p_square\n", 0), 0u)
      << csv;
  EXPECT_TRUE(has(csv, "circle/circle_00000.png")) << csv;

  // What a user gets wrong: an unknown view, --out naming a file.
  EXPECT_EQ(run(t, "eval " + r.weights + " --data " + r.data + " --tta flip,rotate", out), 1);
  EXPECT_TRUE(has(out, "unknown view 'rotate'")) << out;
  EXPECT_EQ(run(t, "eval " + r.weights + " --data " + r.data + " --out " + r.weights, out), 1);
  EXPECT_TRUE(has(out, "exists and is not a folder")) << out;

  // A diverged model: no curves or calibration from NaN scores, and the files still say so.
  TempDir t2;
  const ImageRun bad = image_run(t2, /*nan_weights=*/true);
  ASSERT_EQ(run(t2, "eval " + bad.weights + " --data " + bad.data + " --out " + t2.path("o"), out),
            0)
      << out;
  EXPECT_TRUE(has(out, "curves and calibration skipped")) << out;
  EXPECT_FALSE(has(out, "Most confidently wrong")) << out;
  const nlohmann::json jb =
      nlohmann::json::parse(convkit::test::read_bytes(t2.path("o") + "/eval.json"));
  EXPECT_EQ(jb["plain"]["non_finite_rows"], 12);
  EXPECT_TRUE(jb["plain"]["loss"].is_null());
  EXPECT_FALSE(jb.contains("calibration"));
}

TEST(InferCli, OnnxClassCountMismatchNamesFileAndCounts) {
  ONCE();
  TempDir t;
  const ImageRun r = image_run(t);
  // A 4-class model exported without convkit metadata, evaluated on the 3-class set.
  const std::string onnx = t.path("four.onnx");
  auto model = convkit::models::create_model("small-cnn", {3, 4, 16});
  model->eval();
  convkit::io::save_onnx(*model, {1, 3, 16, 16}, onnx);
  std::string out;
  EXPECT_EQ(run(t, "eval " + onnx + " --data " + r.data, out), 1);
  EXPECT_TRUE(has(out, onnx + ": the model predicts 4 classes, but " + r.data + " has 3")) << out;
  EXPECT_FALSE(has(out, "ConfusionMatrix")) << out;
}

TEST(InferCli, IdxDataThatDoesNotFitTheModel) {
  ONCE();
  TempDir t;
  const std::string idx = t.path("idx"), empty = t.path("empty");
  convkit::test::write_tiny_mnist(idx, 8, 8);
  convkit::test::write_tiny_mnist(empty, 8, 0);
  // A model trained on 32x32 tensors (small-cnn's head is sized for them).
  const std::string w32 = t.path("w32.safetensors"), w28 = t.path("w28.safetensors");
  convkit::train::save_weights(
      w32, *convkit::models::create_model("small-cnn", {1, 10, 32}),
      {{"model", "small-cnn"},
       {"config", R"({"in_channels":1,"num_classes":10,"image_size":32})"}});
  convkit::train::save_weights(
      w28, *convkit::models::create_model("small-cnn", {1, 10, 28}),
      {{"model", "small-cnn"},
       {"config", R"({"in_channels":1,"num_classes":10,"image_size":28})"}});
  std::string out;
  EXPECT_EQ(run(t, "eval " + w32 + " --data " + idx, out), 1);
  EXPECT_TRUE(has(out, idx + "/test: examples are [1,28,28]")) << out;
  EXPECT_TRUE(has(out, "takes 32x32 inputs only")) << out;
  EXPECT_FALSE(has(out, "features")) << out;
  // Zero examples is an error, not a 0% success: the IDX reader refuses the empty file by name.
  EXPECT_EQ(run(t, "eval " + w28 + " --data " + empty, out), 1);
  EXPECT_TRUE(has(out, "t10k-images-idx3-ubyte: holds no images")) << out;
  ASSERT_EQ(run(t, "eval " + w28 + " --data " + idx, out), 0) << out;
  EXPECT_TRUE(has(out, "8 images: loss")) << out;
}

TEST(InferCli, AugmentPreviewTakesImageSetsAndExplainsCrop) {
  ONCE();
  TempDir t;
  const ImageRun r = image_run(t);
  const std::string idx = t.path("idx");
  convkit::test::write_tiny_mnist(idx, 8, 8);
  std::string out;
  ASSERT_EQ(run(t,
                "augment-preview --data " + r.data +
                    " --image-size 16 --crop 12 --pad 2 -n 2 --variants 2 -o " + t.path("p.png"),
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "12 images in 3 classes")) << out;
  EXPECT_TRUE(fs::exists(t.path("p.png")));
  EXPECT_EQ(
      run(t, "augment-preview --data " + idx + " --crop 20 --pad 4 -o " + t.path("q.png"), out), 1);
  EXPECT_TRUE(has(out, "--crop 20") && has(out, "28x28") && has(out, "image folder")) << out;
}

TEST(InferCli, ExportTakesTheModelPositionallyAndReportsWriteErrors) {
  ONCE();
  TempDir t;
  const ImageRun r = image_run(t);
  std::string out;
  ASSERT_EQ(run(t, "export " + r.weights + " " + t.path("a.onnx"), out), 0) << out;
  ASSERT_EQ(run(t, "export " + r.weights + " -o " + t.path("b.onnx"), out), 0) << out;
  EXPECT_TRUE(has(out, "re-imported output matches")) << out;
  // The exported file is a model file like the others: same evaluation, same class names.
  std::string from_onnx, from_weights;
  ASSERT_EQ(run(t, "eval " + t.path("b.onnx") + " --data " + r.data, from_onnx), 0) << from_onnx;
  ASSERT_EQ(run(t, "eval " + r.weights + " --data " + r.data, from_weights), 0) << from_weights;
  EXPECT_EQ(from_onnx.substr(from_onnx.find("images:")),
            from_weights.substr(from_weights.find("images:")));
  // summary takes the same MODEL argument.
  ASSERT_EQ(run(t, "summary " + r.weights, out), 0) << out;
  EXPECT_TRUE(has(out, "small-cnn (" + r.weights + ")") && has(out, "Output: [1,3]")) << out;
  // The output name is a folder: rename fails; the reason is given and no temp file is left.
  fs::create_directories(t.path("dir.onnx"));
  EXPECT_EQ(run(t, "export " + r.weights + " " + t.path("dir.onnx"), out), 1);
  EXPECT_TRUE(has(out, "Is a directory")) << out;
  EXPECT_FALSE(fs::exists(t.path("dir.onnx.tmp")));
  EXPECT_EQ(run(t, "export " + r.weights + " " + t.path("no/such/dir/c.onnx"), out), 1);
  EXPECT_TRUE(has(out, "No such file or directory")) << out;
  EXPECT_EQ(run(t, "export " + r.weights, out), 1);
  EXPECT_TRUE(has(out, "convkit export MODEL OUT.onnx")) << out;
}

// --dtype int8 on eval and predict: calibrated on --int8-data, refused without calibration images
// (the message says how to give them), --int8-data without int8 refused, and a model with NaN
// weights refused (quantized, they would be ordinary numbers).
TEST(InferCli, Int8IsCalibratedOnTheImagesGiven) {
  ONCE();
  TempDir t;
  const ImageRun r = image_run(t);
  std::string out;
  ASSERT_EQ(run(t,
                "eval " + r.weights + " --data " + r.data + " --dtype int8 --int8-data " + r.data +
                    " --int8-images 5",
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "int8: calibrating on 5 of the 12 images")) << out;
  EXPECT_TRUE(has(out, "12 images: loss")) << out;
  ASSERT_EQ(run(t,
                "predict " + r.weights + " --dtype int8 --int8-data " + r.data + " " + r.data +
                    "/circle/circle_00000.png",
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "circle")) << out;
  EXPECT_EQ(run(t, "eval " + r.weights + " --data " + r.data + " --dtype int8", out), 1);
  EXPECT_TRUE(has(out, "--dtype int8 needs calibration images")) << out;
  EXPECT_TRUE(has(out, "--int8-data DATA")) << out;
  EXPECT_EQ(run(t, "eval " + r.weights + " --data " + r.data + " --int8-data " + r.data, out), 1);
  EXPECT_TRUE(has(out, "--int8-data is for --dtype int8")) << out;

  TempDir t2;
  const ImageRun bad = image_run(t2, /*nan_weights=*/true);
  EXPECT_EQ(
      run(t2,
          "eval " + bad.weights + " --data " + bad.data + " --dtype int8 --int8-data " + bad.data,
          out),
      1);
  EXPECT_TRUE(has(out, "weights or bias hold NaN or infinite values")) << out;
}
