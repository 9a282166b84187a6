// `convkit bench` end to end: the planned and module paths, training steps, the profile table and
// its JSON, and the options it refuses.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/backend.h"
#include "support/cli_run.h"

namespace {
using convkit::test::has;
using convkit::test::run;
using convkit::test::TempDir;

#define ONCE()                                      \
  if (convkit::backend() != convkit::Backend::dnnl) \
  GTEST_SKIP() << "runs once, on the default backend"

TEST(BenchCli, TimesThePlanTheModuleAndTrainingSteps) {
  ONCE();
  TempDir t;
  std::string out;
  ASSERT_EQ(run(t,
                "bench resnet20 --image-size 28 --in-channels 1 --classes 10 --batch 2 --reps 3 "
                "--warmup 1 --profile --json " +
                    t.path("b.json"),
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "convkit bench: resnet20, input [2,1,28,28]")) << out;
  EXPECT_TRUE(has(out, "inference, planned: ")) << out;
  EXPECT_TRUE(has(out, "21 batch norms folded")) << out;
  EXPECT_TRUE(has(out, "conv2d+batch_norm+add+relu")) << out;
  EXPECT_TRUE(has(out, "slowest steps:")) << out;
  std::ifstream f(t.path("b.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["mode"], "plan");
  EXPECT_GT(j["p50_ms"].get<double>(), 0);
  EXPECT_GE(j["p99_ms"].get<double>(), j["p50_ms"].get<double>());
  EXPECT_GT(j["peak_rss_mb"].get<double>(), 0);
  ASSERT_GT(j["profile"].size(), 5u);
  ASSERT_EQ(
      run(t, "bench resnet20 --image-size 28 --in-channels 1 --batch 2 --reps 2 --path module",
          out),
      0)
      << out;
  EXPECT_TRUE(has(out, "the module op by op")) << out;
  ASSERT_EQ(
      run(t, "bench resnet20 --image-size 28 --in-channels 1 --batch 4 --reps 2 --train", out), 0)
      << out;
  EXPECT_TRUE(has(out, "training step")) << out;
  ASSERT_EQ(run(t,
                "bench resnet20 --image-size 28 --in-channels 1 --batch 2 --reps 2 --dtype int8 "
                "--int8-images 4",
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "21 int8 fused convolutions")) << out;
  EXPECT_TRUE(has(out, "relative error")) << out;
  ASSERT_EQ(run(t,
                "bench resnet20 --image-size 28 --in-channels 1 --batch 4 --reps 2 --train "
                "--dtype bf16 --json " +
                    t.path("t.json"),
                out),
            0)
      << out;
  EXPECT_TRUE(has(out, "bfloat16 convolutions (mixed precision)")) << out;
  std::ifstream tf(t.path("t.json"));
  EXPECT_EQ(nlohmann::json::parse(tf)["mode"], "train");
}

TEST(BenchCli, BadOptionsAreNamed) {
  ONCE();
  TempDir t;
  std::string out;
  EXPECT_NE(run(t, "bench resnet20 --image-size 28 --path fast", out), 0);
  EXPECT_TRUE(has(out, "--path is plan or module, got 'fast'")) << out;
  EXPECT_NE(run(t, "bench resnet20 --image-size 28 --batch 0", out), 0);
  EXPECT_TRUE(has(out, "--batch must be at least 1")) << out;
  EXPECT_NE(run(t, "bench resnet20 --image-size 28 --train --profile", out), 0);
  EXPECT_TRUE(has(out, "--profile is for inference")) << out;
  EXPECT_NE(run(t, "bench resnet20 --image-size 28 --train --dtype int8", out), 0);
  EXPECT_TRUE(has(out, "--dtype int8 runs the planned inference path (not --train)")) << out;
  EXPECT_NE(run(t, "bench nosuchnet", out), 0);
  EXPECT_TRUE(has(out, "nosuchnet")) << out;
}

}  // namespace
