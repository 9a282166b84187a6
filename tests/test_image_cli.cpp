// End-to-end: `convkit make-shapes` writes a set; `convkit train --data` trains on it with planted
// bad files reported by path and counted; the checkpoint keeps the class names and preprocessing;
// `predict IMAGE...` prints class names; `eval` reads the box list as a CSV; --strict stops.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "convkit/backend.h"
#include "convkit/train/checkpoint.h"
#include "support/cli_run.h"
#include "support/image_files.h"

namespace fs = std::filesystem;
using convkit::test::TempDir;

namespace {
using convkit::test::has;
using convkit::test::run;
}  // namespace

TEST(ImageCli, ShapesTrainPredictEvalWithBadFiles) {
  if (convkit::backend() != convkit::Backend::ref)
    GTEST_SKIP() << "runs once, on the reference backend";
  TempDir t;
  const std::string data = t.path("shapes");
  std::string out;
  ASSERT_EQ(run(t,
                "make-shapes --out " + data +
                    " --count 48 --size 16 --classes circle,square,cross --seed 2",
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "wrote 48 16x16 PNG images of 3 classes")) << out;
  convkit::test::write_bytes(data + "/circle/zero.png", "");
  convkit::test::write_bytes(data + "/cross/notes.jpg", "not a JPEG");

  const std::string train = "train --data " + data +
                            " --model small-cnn --image-size 16 --epochs 2 --batch-size 16 "
                            "--val-split 0.25 --backend ref --threads 1 --progress never --out " +
                            t.path("run");
  ASSERT_EQ(run(t, train, out), 0) << out;
  EXPECT_TRUE(has(out, data + "/circle/zero.png: empty file")) << out;
  EXPECT_TRUE(has(out, data + "/cross/notes.jpg: not an image")) << out;
  EXPECT_TRUE(has(out, "48 images in 3 classes, RGB 16x16; 2 unusable files skipped")) << out;
  EXPECT_TRUE(has(out, "epoch 2:") && has(out, "| 2 bad files skipped")) << out;

  auto meta = convkit::train::read_metadata(t.path("run/best.safetensors"));
  auto config = nlohmann::json::parse(meta.at("config"));
  EXPECT_EQ(config["class_names"], nlohmann::json({"circle", "cross", "square"}));
  EXPECT_EQ(config["preprocessing"]["image_size"], 16);
  EXPECT_EQ(config["preprocessing"]["color"], "rgb");
  std::ifstream log(t.path("run/metrics.jsonl"));
  std::string first;
  std::getline(log, first);
  EXPECT_EQ(nlohmann::json::parse(first)["skipped_files"], 2);

  const std::string weights = t.path("run/best.safetensors");
  ASSERT_EQ(run(t,
                "predict " + weights + " " + data + "/square/square_00001.png " + data +
                    "/cross/cross_00002.png --backend ref -k 1",
                out),
            0)
      << out;
  // One line per file, with a class name (not an index) and its probability.
  std::stringstream lines(out);
  std::string line;
  int named = 0;
  while (std::getline(lines, line))
    for (const char* c : {"circle ", "cross ", "square "})
      if (has(line, ".png:  ") && has(line, std::string("  ") + c)) ++named;
  EXPECT_EQ(named, 2) << out;

  // A bad file is reported by path; the others are still predicted; the exit status says so.
  EXPECT_EQ(
      run(t,
          "predict " + weights + " " + data + "/circle/zero.png " + data + "/cross/cross_00002.png",
          out),
      1);
  EXPECT_TRUE(has(out, data + "/circle/zero.png: empty file")) << out;
  EXPECT_TRUE(has(out, "cross_00002.png:")) << out;
  EXPECT_TRUE(has(out, "1 of 2 files could not be used")) << out;

  // The box list is a CSV list of the same images; --index names the file and its true class.
  ASSERT_EQ(run(t, "eval " + weights + " --data " + data + "/boxes.csv --backend ref", out), 0)
      << out;
  EXPECT_TRUE(has(out, "boxes.csv, 48 images: loss")) << out;
  ASSERT_EQ(run(t, "predict " + weights + " --data " + data + " -i 0 --backend ref", out), 0)
      << out;
  EXPECT_TRUE(has(out, "circle/circle_00000.png (true: circle):")) << out;
}

TEST(ImageCli, StrictStopsAtTheFirstBadFile) {
  if (convkit::backend() != convkit::Backend::ref)
    GTEST_SKIP() << "runs once, on the reference backend";
  TempDir t;
  const std::string data = t.path("shapes");
  std::string out;
  ASSERT_EQ(
      run(t, "make-shapes --out " + data + " --count 6 --size 16 --classes star,triangle", out), 0)
      << out;
  std::string png = convkit::test::read_bytes(data + "/star/star_00000.png");
  convkit::test::write_bytes(data + "/star/star_00000.png", png.substr(0, png.size() / 2));
  EXPECT_EQ(
      run(t,
          "train --data " + data + " --strict --epochs 1 --progress never --out " + t.path("run"),
          out),
      1);
  EXPECT_TRUE(has(out, "error: " + data + "/star/star_00000.png: truncated PNG")) << out;
  EXPECT_TRUE(has(out, "--strict")) << out;
  EXPECT_FALSE(fs::exists(t.path("run/last.safetensors")));
  EXPECT_EQ(run(t, "make-shapes --out " + data + " --classes circle,blob", out), 1);
  EXPECT_TRUE(has(out, "unknown shape 'blob'")) << out;
}
