// convkit check-data end to end: a test image planted into the training set is found, --out lists
// it, --fail-on-problems turns findings into exit 1, and a CSV label that contradicts its class
// folder is named.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "convkit/backend.h"
#include "support/cli_run.h"
#include "support/image_files.h"

namespace {
using convkit::test::TempDir;
namespace fs = std::filesystem;

using convkit::test::has;
using convkit::test::run;

TEST(CheckDataCli, FindsAPlantedDuplicateAndAFolderMismatch) {
  if (convkit::backend() != convkit::Backend::dnnl) GTEST_SKIP() << "runs once";
  TempDir t;
  std::string out;
  const std::string train = t.path("train"), test = t.path("test");
  ASSERT_EQ(run(t, "make-shapes --out " + train + " --count 15 --size 32 --seed 4", out), 0) << out;
  ASSERT_EQ(run(t, "make-shapes --out " + test + " --count 5 --size 32 --seed 9", out), 0) << out;
  // Identical hashes only: the two generated sets share no image.
  ASSERT_EQ(run(t,
                "check-data --data " + train + " --test " + test +
                    " --max-distance 0 --fail-on-problems --progress never",
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "train vs test: 0 duplicate pairs")) << out;
  EXPECT_TRUE(has(out, "no leaks")) << out;

  // Plant a test image among the training circles.
  std::string planted;
  for (const auto& e : fs::directory_iterator(test + "/circle")) {
    planted = e.path().string();
    break;
  }
  ASSERT_FALSE(planted.empty());
  fs::copy_file(planted, train + "/circle/planted.png");
  ASSERT_EQ(run(t,
                "check-data --data " + train + " --test " + test +
                    " --max-distance 0 --progress never --out " + t.path("o"),
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "train vs test: 1 duplicate pairs")) << out;
  EXPECT_TRUE(has(out, train + "/circle/planted.png (circle) ~ " + planted +
                           " (circle): "
                           "identical pixels"))
      << out;
  const std::string csv = convkit::test::read_bytes(t.path("o") + "/check_data.csv");
  EXPECT_TRUE(has(csv, "leak,train," + train + "/circle/planted.png,circle,test," + planted))
      << csv;
  EXPECT_EQ(run(t,
                "check-data --data " + train + " --test " + test +
                    " --max-distance 0 --fail-on-problems --progress never",
                out),
            1);
  EXPECT_TRUE(has(out, "problems found (--strict): 1 duplicate pairs across sets")) << out;
  // train warns about the same leak before it starts, and --no-leak-check silences it.
  const std::string train_cmd = "train --data " + train + " --test-data " + test +
                                " --image-size 32 --model small-cnn --epochs 1 --val-fraction 0 "
                                "--threads 1 --progress never --overwrite --out " +
                                t.path("run");
  ASSERT_EQ(run(t, train_cmd, out), 0) << out;
  EXPECT_TRUE(has(out, "0 of 0 validation images and 1 of 5 test images repeat a training image"))
      << out;
  ASSERT_EQ(run(t, train_cmd + " --no-leak-check", out), 0) << out;
  EXPECT_FALSE(has(out, "repeat a training image")) << out;

  // A CSV list that labels a file from the square folder as a circle.
  std::string square;
  for (const auto& e : fs::directory_iterator(train + "/square")) {
    square = e.path().string();
    break;
  }
  const std::string copy = train + "/square/copy.png";
  fs::copy_file(square, copy);
  convkit::test::write_bytes(t.path("list.csv"), "path,label\n" + square + ",circle\n" + planted +
                                                     ",circle\n" + copy + ",square\n");
  ASSERT_EQ(run(t, "check-data --data " + t.path("list.csv") + " --progress never", out), 0) << out;
  EXPECT_TRUE(has(out, square + ": labelled circle, but sits in the folder of class square"))
      << out;
  EXPECT_TRUE(has(out, "1 files labelled differently from their class folder")) << out;
  EXPECT_TRUE(has(out, "within train: 1 duplicate pairs, 1 of them with different labels")) << out;

  // What a user gets wrong: a missing set, a distance out of range.
  EXPECT_EQ(run(t, "check-data --data " + t.path("nothing") + " --progress never", out), 1);
  EXPECT_NE(run(t, "check-data --data " + train + " --max-distance 65", out), 0);
  EXPECT_TRUE(has(out, "--max-distance")) << out;
}

}  // namespace
