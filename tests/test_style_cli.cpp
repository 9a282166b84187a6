// End-to-end: `convkit style` writes the stylised image and shows the three losses; bad images,
// weights that are not VGG's and a size too small for the layers fail with the named cause.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "convkit/io/safetensors.h"
#include "support/image_files.h"
#include "support/test_budget.h"

using convkit::test::TempDir;

namespace {
int run_cli(const TempDir& dir, const std::string& args, std::string* output) {
  const std::string log = dir.path("log.txt");
  const int status =
      std::system((std::string(CONVKIT_CLI) + " style " + args + " > " + log + " 2>&1").c_str());
  *output = convkit::test::read_bytes(log);
  return WEXITSTATUS(status);
}
}  // namespace

TEST(StyleCli, WritesTheImageAndShowsTheThreeLosses) {
  // The default features are VGG-19 with 20M random weights: once, with oneDNN, never under the
  // sanitizers.
  if (!convkit::test::large_models_run_here()) GTEST_SKIP() << "runs once, with oneDNN";
  TempDir dir;
  convkit::test::write_class_image(dir.path("content.png"), 0, 0, 40, 30);
  convkit::test::write_class_image(dir.path("style.jpg"), 2, 5, 24, 24);
  std::string out;
  ASSERT_EQ(run_cli(dir,
                    "--content " + dir.path("content.png") + " --style " + dir.path("style.jpg") +
                        " --size 24 --iters 3 --output " + dir.path("out.png") +
                        " --content-layer relu2_1 --style-layers relu1_1:0.7,relu2_1:0.3 "
                        "--progress always --threads 1",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("3/3 content"), std::string::npos) << out;
  EXPECT_NE(out.find(" style "), std::string::npos) << out;
  EXPECT_NE(out.find(" tv "), std::string::npos) << out;
  EXPECT_NE(out.find("random filters"), std::string::npos) << out;
  cv::Mat img = cv::imread(dir.path("out.png"));
  EXPECT_EQ(img.rows, 24);
  EXPECT_EQ(img.cols, 24);
}

TEST(StyleCli, NamesTheBadInput) {
  // The default features are VGG-19 with 20M random weights: once, with oneDNN, never under the
  // sanitizers.
  if (!convkit::test::large_models_run_here()) GTEST_SKIP() << "runs once, with oneDNN";
  TempDir dir;
  convkit::test::write_class_image(dir.path("ok.png"), 1, 0, 20, 20);
  convkit::test::write_bytes(dir.path("broken.png"), convkit::test::corrupt_png(0));
  convkit::io::save_safetensors(dir.path("resnet.safetensors"),
                                {{"conv1.weight", convkit::Tensor::zeros({2, 3, 1, 1})}});
  const std::string ok = " --output " + dir.path("o.png") + " --iters 1 --size 32 --progress never";
  std::string out;
  EXPECT_EQ(
      run_cli(dir, "--content " + dir.path("broken.png") + " --style " + dir.path("ok.png") + ok,
              &out),
      1);
  EXPECT_NE(out.find("broken.png"), std::string::npos) << out;
  EXPECT_EQ(run_cli(dir,
                    "--content " + dir.path("ok.png") + " --style " + dir.path("ok.png") +
                        " --weights " + dir.path("resnet.safetensors") + ok,
                    &out),
            1);
  EXPECT_NE(out.find("missing tensor features.0.weight"), std::string::npos) << out;
  EXPECT_EQ(run_cli(dir,
                    "--content " + dir.path("ok.png") + " --style " + dir.path("ok.png") +
                        " --output " + dir.path("o.png") + " --size 12",
                    &out),
            1);
  EXPECT_NE(out.find("too small for layer"), std::string::npos) << out;
  // A diverging run stops, writes the last image whose loss was finite and exits 1.
  EXPECT_EQ(run_cli(dir,
                    "--content " + dir.path("ok.png") + " --style " + dir.path("ok.png") +
                        " --output " + dir.path("d.png") +
                        " --size 16 --iters 3 --optimizer adam --lr 1e30 --progress never",
                    &out),
            1);
  EXPECT_NE(out.find("non-finite at iteration 2"), std::string::npos) << out;
  EXPECT_NE(out.find("Wrote it to"), std::string::npos) << out;
  EXPECT_EQ(cv::imread(dir.path("d.png")).rows, 16);
}
