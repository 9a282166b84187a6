// convkit report end to end: a run folder (best weights, a metrics log with a broken line) becomes
// an HTML page whose every image exists and decodes; a diverged model's page says why its curves
// are missing; and, where Chromium is installed (CI installs it), the page renders with every image
// loaded and no console message (scripts/check_report_chromium.sh).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <regex>

#include "convkit/backend.h"
#include "convkit/models/registry.h"
#include "convkit/random.h"
#include "convkit/train/checkpoint.h"
#include "support/cli_run.h"
#include "support/image_files.h"

namespace {
using convkit::test::TempDir;
namespace fs = std::filesystem;

// A shell command (chromium's check), with the output of `run`.
int shell(const TempDir& t, const std::string& cmd, std::string& output) {
  const std::string log = t.path("log.txt");
  int status = std::system((cmd + " > " + log + " 2>&1").c_str());
  output = convkit::test::read_bytes(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
using convkit::test::has;
int cli(const TempDir& t, const std::string& args, std::string& output) {
  return convkit::test::run(t, args, output);
}

// A run folder as `convkit train --data shapes --out RUN` leaves it (random weights).
std::string make_run(const TempDir& t, bool nan_weights) {
  const std::string dir = t.path(nan_weights ? "bad_run" : "run");
  fs::create_directories(dir);
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
  convkit::train::save_weights(dir + "/best.safetensors", *model,
                               {{"model", "small-cnn"}, {"config", config.dump()}});
  convkit::test::write_bytes(
      dir + "/metrics.jsonl",
      R"({"epoch":1,"lr":0.1,"train_loss":1.2,"train_top1":0.4,"val_loss":1.1,"val_top1":0.5})"
      "\n{broken\n"
      R"({"epoch":2,"lr":0.01,"train_loss":0.9,"train_top1":0.6,"val_loss":null,"val_top1":0.6})"
      "\n");
  return dir;
}

TEST(ReportCli, WritesAPageWhoseImagesAllExist) {
  if (convkit::backend() != convkit::Backend::dnnl) GTEST_SKIP() << "runs once";
  TempDir t;
  std::string out;
  const std::string data = t.path("shapes");
  ASSERT_EQ(cli(t,
                "make-shapes --out " + data +
                    " --count 24 --size 16 --classes circle,square,cross --seed 2",
                out),
            0)
      << out;
  const std::string dir = make_run(t, false);
  ASSERT_EQ(cli(t, "report " + dir + " --data " + data + " --tta flip --wrong 4", out), 0) << out;
  EXPECT_TRUE(has(out, "metrics.jsonl:2: not an epoch record; skipped")) << out;
  EXPECT_TRUE(has(out, "report: " + dir + "/report/index.html")) << out;
  const std::string html = convkit::test::read_bytes(dir + "/report/index.html");
  for (const char* png : {"confusion.png", "roc.png", "pr.png", "reliability.png", "curve_loss.png",
                          "curve_top1.png", "curve_lr.png"})
    EXPECT_TRUE(has(html, std::string("src=\"") + png + "\"")) << png;
  EXPECT_TRUE(has(html, "TTA changes top-1 accuracy by")) << html;
  // Every image the page names exists and decodes.
  const std::regex src("src=\"([^\"]+)\"");
  int images = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), src); it != std::sregex_iterator();
       ++it, ++images) {
    const cv::Mat im = cv::imread(dir + "/report/" + (*it)[1].str());
    EXPECT_FALSE(im.empty()) << (*it)[1].str();
  }
  EXPECT_GE(images, 7);
  const cv::Mat roc = cv::imread(dir + "/report/roc.png");
  EXPECT_EQ(roc.cols, 560);
  EXPECT_EQ(roc.rows, 480);

  std::string browser;
  if (shell(t, "command -v chromium", browser) == 0) {
    ASSERT_EQ(shell(t,
                    "bash " + std::string(CONVKIT_TESTS_DIR) +
                        "/../scripts/check_report_chromium.sh " + dir + "/report/index.html",
                    out),
              0)
        << out;
    EXPECT_TRUE(has(out, "images load, no console messages")) << out;
  }

  // A diverged model: the page says why there are no curves; nothing is made up.
  const std::string bad = make_run(t, true);
  ASSERT_EQ(cli(t, "report " + bad + " --data " + data + " --out " + t.path("bad_report"), out), 0)
      << out;
  const std::string bad_html = convkit::test::read_bytes(t.path("bad_report") + "/index.html");
  EXPECT_TRUE(has(bad_html, "NaN or infinite for 24 of 24")) << bad_html;
  EXPECT_TRUE(has(bad_html, "curves and calibration skipped")) << bad_html;
  EXPECT_FALSE(fs::exists(t.path("bad_report") + "/roc.png"));

  // What a user gets wrong: a folder that is no run, a file as --out.
  EXPECT_EQ(cli(t, "report " + data + " --data " + data, out), 1);
  EXPECT_TRUE(has(out, "the --out folder of a training run")) << out;
  EXPECT_EQ(
      cli(t, "report " + dir + " --data " + data + " --out " + dir + "/best.safetensors", out), 1);
  EXPECT_TRUE(has(out, "exists and is not a folder")) << out;
}

}  // namespace
