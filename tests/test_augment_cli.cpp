// End-to-end: `convkit augment-preview` writes a reproducible grid; `convkit train` with
// augmentation flags trains and records the augmentation in its checkpoint.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "convkit/io/safetensors.h"
#include "support/tiny_mnist.h"

namespace fs = std::filesystem;

namespace {
class AugmentCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("convkit_augment_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    convkit::test::write_tiny_mnist((dir_ / "data").string(), 64, 16);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& p) const { return (dir_ / p).string(); }
  // Runs the CLI; returns its exit status and leaves its output in `output`.
  int run(const std::string& args) {
    const std::string log = path("log.txt");
    int status =
        std::system((std::string(CONVKIT_CLI) + " " + args + " > " + log + " 2>&1").c_str());
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    output = s.str();
    return WEXITSTATUS(status);
  }
  std::string output;
  fs::path dir_;
};

std::string bytes_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_F(AugmentCli, PreviewWritesAReproducibleGrid) {
  const std::string base =
      "augment-preview --data " + path("data") + " --count 3 --variants 4 --scale 2 ";
  ASSERT_EQ(run(base + "--hflip --pad 3 --fill reflect --seed 7 --out " + path("a.png")), 0)
      << output;
  EXPECT_NE(output.find("random_crop(size=input, padding=3, fill=reflect)"), std::string::npos)
      << output;
  cv::Mat grid = cv::imread(path("a.png"), cv::IMREAD_UNCHANGED);
  // 3 rows and 1 + 4 columns of 56-pixel cells with 2-pixel gaps.
  ASSERT_FALSE(grid.empty());
  EXPECT_EQ(grid.rows, 3 * 58 + 2);
  EXPECT_EQ(grid.cols, 5 * 58 + 2);
  EXPECT_EQ(grid.channels(), 1);
  ASSERT_EQ(run(base + "--hflip --pad 3 --fill reflect --seed 7 --out " + path("b.png")), 0)
      << output;
  EXPECT_EQ(bytes_of(path("a.png")), bytes_of(path("b.png")));
  ASSERT_EQ(run(base + "--hflip --pad 3 --fill reflect --seed 8 --out " + path("c.png")), 0)
      << output;
  EXPECT_NE(bytes_of(path("a.png")), bytes_of(path("c.png")));

  std::ofstream(path("bad.json")) << R"([{"type": "random_crop", "paddin": 4}])";
  EXPECT_EQ(run(base + "--augment " + path("bad.json") + " --out " + path("d.png")), 1);
  EXPECT_NE(output.find("transform 0 (random_crop): unknown key 'paddin'"), std::string::npos)
      << output;
  EXPECT_EQ(run(base + "--out " + path("e.png")), 1);
  EXPECT_NE(output.find("no augmentation given"), std::string::npos) << output;
  // An output name OpenCV has no encoder for is refused before any work, saying what to give.
  EXPECT_NE(run(base + "--hflip --out " + path("grid")), 0);
  EXPECT_NE(output.find("ending in .png"), std::string::npos) << output;
  EXPECT_EQ(output.find("OpenCV"), std::string::npos) << output;
}

TEST_F(AugmentCli, TrainRecordsTheAugmentationInTheCheckpoint) {
  std::ofstream(path("aug.json"))
      << R"({"transforms": [{"type": "random_crop", "padding": 2}, {"type": "cutout", "size": 6}]})";
  ASSERT_EQ(run("train --data " + path("data") +
                " --model lenet5-modern --epochs 1 --batch-size 16 "
                "--val-fraction 0.25 --threads 1 --progress never --workers 2 --augment " +
                path("aug.json") + " --out " + path("run")),
            0)
      << output;
  EXPECT_NE(output.find("augmentation: compose(random_crop(size=input, padding=2"),
            std::string::npos)
      << output;
  auto f = convkit::io::load_safetensors(path("run/last.safetensors"));
  EXPECT_NE(f.metadata["run"].find("cutout(size=6"), std::string::npos) << f.metadata["run"];
}
