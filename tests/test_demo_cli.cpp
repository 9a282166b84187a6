// `convkit demo` (issue 23): the spiral case study reaches the classic numbers (network >= 98%,
// softmax < 60%) and draws both decision regions; conv-arithmetic prints the formula with the
// numbers of each layer; receptive-field gives VGG-16's published 212; mistakes exit non-zero.
#include <gtest/gtest.h>

#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <regex>

#include "convkit/backend.h"
#include "support/cli_run.h"
#include "support/image_files.h"

using convkit::test::has;
using convkit::test::run;
using convkit::test::TempDir;

namespace {

#define ONCE()                                      \
  if (convkit::backend() != convkit::Backend::dnnl) \
  GTEST_SKIP() << "runs once, on the default backend"

[[maybe_unused]] double percent_after(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(label + "[^%]*?([0-9.]+)%"))) return -1;
  return std::stod(m[1]);
}

}  // namespace

TEST(DemoCli, SpiralNetworkFitsWhereTheLinearClassifierCannot) {
  ONCE();
  TempDir t;
  std::string out;
#ifdef CONVKIT_SANITIZE_BUILD
  // 10,000 steps take minutes under the sanitizers: the run and its files are checked, the
  // accuracies in the Release build.
  ASSERT_EQ(run(t, "demo spiral --network-steps 200 --out " + t.path("spiral"), out), 0) << out;
#else
  ASSERT_EQ(run(t, "demo spiral --out " + t.path("spiral"), out), 0) << out;
  const double linear = percent_after(out, "softmax linear classifier: training accuracy");
  const double network = percent_after(out, "ReLU units: training accuracy");
  EXPECT_GT(linear, 30.0) << out;  // it learns something...
  EXPECT_LT(linear, 60.0) << out;  // ...but no line separates the arms
  EXPECT_GE(network, 98.0) << out;
#endif
  const cv::Mat a = cv::imread(t.path("spiral/softmax.png")),
                b = cv::imread(t.path("spiral/network.png"));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(a.size(), cv::Size(480, 480));
  EXPECT_GT(cv::norm(a, b, cv::NORM_L1), 0);  // different boundaries
  // A step size that diverges is reported, not drawn.
  EXPECT_NE(run(t, "demo spiral --lr 1e6 --softmax-steps 50 --out " + t.path("bad"), out), 0);
  EXPECT_TRUE(has(out, "lower --lr")) << out;
}

TEST(DemoCli, ConvArithmeticShowsTheFormulaWithEachLayersNumbers) {
  ONCE();
  TempDir t;
  std::string out;
  ASSERT_EQ(run(t, "demo conv-arithmetic lenet5", out), 0) << out;
  EXPECT_TRUE(has(out, "o = floor((n + 2p - d(f-1) - 1) / s) + 1")) << out;
  EXPECT_TRUE(has(out, "floor((28 + 2*2 - 5) / 1) + 1 = 28")) << out;  // C1
  EXPECT_TRUE(has(out, "floor((28 + 2*0 - 2) / 2) + 1 = 14")) << out;  // S2
  EXPECT_TRUE(has(out, "floor((14 + 2*0 - 5) / 1) + 1 = 10")) << out;  // C3
  EXPECT_TRUE(has(out, "61,706 parameters")) << out;                   // LeNet-5 at 10 classes
  ASSERT_EQ(run(t, "demo conv-arithmetic mobilenet_v2 --image-size 64 --classes 10", out), 0)
      << out;
  EXPECT_TRUE(has(out, "(groups ")) << out;  // depthwise convolutions
}

TEST(DemoCli, ReceptiveFieldOfVgg16AndMistakes) {
  ONCE();
  TempDir t;
  std::string out;
  ASSERT_EQ(run(t, "demo receptive-field vgg16 --image-size 32", out), 0) << out;
  EXPECT_TRUE(has(out, "212x212")) << out;
  EXPECT_TRUE(has(out, "r' = r + d(f-1) j")) << out;
  EXPECT_NE(run(t, "demo receptive-field no-such-model", out), 0);
  EXPECT_TRUE(has(out, "no-such-model")) << out;
  EXPECT_NE(run(t, "demo receptive-field alexnet --image-size 16", out), 0);
  EXPECT_TRUE(has(out, "63x63")) << out;
  EXPECT_NE(run(t, "demo", out), 0);
  EXPECT_NE(run(t, "demo conv-arithmetic", out), 0);
}
