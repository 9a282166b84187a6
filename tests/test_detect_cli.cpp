// convkit train --task detect, convkit detect and convkit eval on a detector, end to end on a tiny
// make-shapes set (one epoch: this checks the plumbing, DetectYolo.TrainsThroughTheTrainer checks
// learning).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/backend.h"
#include "support/image_files.h"
#include "support/test_budget.h"

namespace {

using convkit::test::TempDir;

int run(const TempDir& t, const std::string& args, std::string& output) {
  const std::string log = t.path("log.txt");
  const int status =
      std::system((std::string(CONVKIT_CLI) + " " + args + " > " + log + " 2>&1").c_str());
  output = convkit::test::read_bytes(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(DetectCli, TrainDetectEval) {
  // The CLI is backend-independent plumbing: one pass, with oneDNN, in optimized builds.
  if (!convkit::test::large_models_run_here()) GTEST_SKIP() << "dnnl in optimized builds only";
  TempDir t;
  std::string out;
  ASSERT_EQ(run(t,
                "make-shapes -o " + t.path("shapes") + " -n 24 --size 32 --objects-max 3 " +
                    "--classes circle square --threads 1",
                out),
            0)
      << out;
  // A bad row is reported with file and line, and skipped.
  {
    std::ofstream csv(t.path("shapes/boxes.csv"), std::ios::app);
    csv << "circle/circle_00000.png,circle,40,2,20,9\n";
  }
  const std::string csv = t.path("shapes/boxes.csv");
  ASSERT_EQ(run(t,
                "train --task detect --data " + csv + " --image-size 32 --grid 4 --anchors 2 " +
                    "--detector-width 8 --epochs 1 --batch-size 8 --optimizer adam --lr 0.002 " +
                    "--val-fraction 0.25 --progress never --out " + t.path("run"),
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, csv + ":")) << out;
  EXPECT_TRUE(has(out, "x2 < x1")) << out;
  EXPECT_TRUE(has(out, "anchors (k-means")) << out;
  EXPECT_TRUE(has(out, "validation (best epoch): mAP@0.5")) << out;
  const std::string model = t.path("run/detector.safetensors");
  ASSERT_TRUE(std::filesystem::exists(model)) << out;

  const std::string image = t.path("shapes/circle/circle_00000.png");
  ASSERT_EQ(run(t, "detect " + model + " " + image + " --conf 0 --out " + t.path("det"), out), 0)
      << out;
  EXPECT_TRUE(std::filesystem::exists(t.path("det/circle_00000.png"))) << out;
  const auto j = nlohmann::json::parse(convkit::test::read_bytes(t.path("det/detections.json")));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["image"], image);
  ASSERT_FALSE(j[0]["detections"].empty());  // --conf 0 keeps every box that survives NMS
  const auto& d = j[0]["detections"][0];
  EXPECT_TRUE(d["class"] == "circle" || d["class"] == "square");
  EXPECT_EQ(d["box"].size(), 4u);

  ASSERT_EQ(run(t, "eval " + model + " --data " + csv + " --out " + t.path("ev"), out), 0) << out;
  EXPECT_TRUE(has(out, "mAP@0.5")) << out;
  EXPECT_TRUE(has(out, "circle")) << out;
  const auto ev =
      nlohmann::json::parse(convkit::test::read_bytes(t.path("ev/detection_eval.json")));
  EXPECT_EQ(ev["per_class"].size(), 2u);
  EXPECT_TRUE(ev["map50_voc"].is_number());
  EXPECT_GT(convkit::test::read_bytes(t.path("ev/pr.png")).size(), 1000u);  // a PNG was drawn

  // The two-stage detector through the same commands.
  ASSERT_EQ(run(t,
                "train --task detect --arch frcnn --data " + csv +
                    " --image-size 32 --grid 4 --anchors 2 --detector-width 8 --epochs 1 " +
                    "--batch-size 8 --optimizer adam --lr 0.002 --val-fraction 0.25 " +
                    "--progress never --out " + t.path("rcnn"),
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "frcnn (grid 4")) << out;
  EXPECT_TRUE(has(out, "validation (best epoch): mAP@0.5")) << out;
  const std::string rcnn = t.path("rcnn/detector.safetensors");
  ASSERT_EQ(run(t, "detect " + rcnn + " " + image + " --conf 0 --out " + t.path("det2"), out), 0)
      << out;
  EXPECT_TRUE(std::filesystem::exists(t.path("det2/circle_00000.png"))) << out;
  ASSERT_EQ(run(t, "eval " + rcnn + " --data " + csv, out), 0) << out;
  EXPECT_TRUE(has(out, "mAP@0.5")) << out;

  // A run continues with --resume (epoch 2 only, the saved anchors); its best.safetensors is a
  // detector file too; resuming it as another architecture is refused.
  const std::string common = " --data " + csv + " --image-size 32 --grid 4 --detector-width 8 " +
                             "--batch-size 8 --optimizer adam --lr 0.002 --val-fraction 0.25 " +
                             "--progress never --out " + t.path("rcnn");
  ASSERT_EQ(run(t, "train --task detect --arch frcnn --epochs 2 --resume" + common, out), 0) << out;
  EXPECT_TRUE(has(out, "resuming the frcnn detector")) << out;
  EXPECT_TRUE(has(out, "epoch 2:")) << out;
  EXPECT_FALSE(has(out, "epoch 1:")) << out;
  ASSERT_EQ(
      run(t, "detect " + t.path("rcnn/best.safetensors") + " " + image + " --out " + t.path("det3"),
          out),
      0)
      << out;
  EXPECT_NE(run(t, "train --task detect --arch yolo --epochs 3 --resume" + common, out), 0);
  EXPECT_TRUE(has(out, "holds a frcnn detector")) << out;

  // Classification + localization: one box per image, from the CLI; several objects are refused.
  ASSERT_EQ(run(t,
                "make-shapes -o " + t.path("one") + " -n 24 --size 32 --objects-max 1 " +
                    "--classes circle square --threads 1",
                out),
            0)
      << out;
  const std::string one = t.path("one/boxes.csv");
  ASSERT_EQ(run(t,
                "train --task detect --arch localize --data " + one +
                    " --image-size 32 --grid 4 --detector-width 8 --epochs 1 --batch-size 8 " +
                    "--optimizer adam --lr 0.002 --val-fraction 0.25 --progress never --out " +
                    t.path("loc"),
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "validation (best epoch): class accuracy")) << out;
  ASSERT_EQ(run(t, "eval " + t.path("loc/detector.safetensors") + " --data " + one, out), 0) << out;
  EXPECT_TRUE(has(out, "localization accuracy (IoU >= 0.5)")) << out;
  ASSERT_EQ(run(t,
                "detect " + t.path("loc/detector.safetensors") + " " + image + " --conf 0 " +
                    "--out " + t.path("det4"),
                out),
            0)
      << out;
  EXPECT_EQ(nlohmann::json::parse(
                convkit::test::read_bytes(t.path("det4/detections.json")))[0]["detections"]
                .size(),
            1u);
  EXPECT_NE(
      run(t, "train --task detect --arch localize --data " + csv + " --out " + t.path("l2"), out),
      0);
  EXPECT_TRUE(has(out, "do not hold exactly one object")) << out;

  // Bad input: an architecture that does not exist, a file that is no detector.
  EXPECT_NE(run(t, "train --task detect --arch ssd --data " + csv + " --out " + t.path("r2"), out),
            0);
  EXPECT_TRUE(has(out, "ssd")) << out;
  EXPECT_NE(run(t, "train --task detect --strict --data " + csv + " --out " + t.path("r3"), out),
            0);
  EXPECT_TRUE(has(out, "x2 < x1")) << out;
  EXPECT_TRUE(has(out, "--strict")) << out;
  EXPECT_NE(run(t, "detect " + csv + " " + image, out), 0);
  EXPECT_TRUE(has(out, "boxes.csv")) << out;
}

}  // namespace
