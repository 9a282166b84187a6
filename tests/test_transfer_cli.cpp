// End-to-end fine-tuning from a torchvision state dict (issue 17, "Start from weights"):
// convkit train --init FILE --freeze ... --lr-mult ..., and the CLI's errors for bad options.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "convkit/autograd.h"
#include "convkit/io/safetensors.h"
#include "convkit/models/registry.h"
#include "convkit/nn/module.h"
#include "support/gradcheck.h"
#include "support/python_oracle.h"
#include "support/test_budget.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
class TransferCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("convkit_transfer_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& p) const { return (dir_ / p).string(); }

  // Runs the CLI; returns its exit code, `output` its stdout and stderr.
  int cli(const std::string& args, std::string* output) const {
    const std::string log = path("cli.txt");
    const std::string cmd = std::string(CONVKIT_CLI) + " " + args + " > " + log + " 2>&1";
    const int st = std::system(cmd.c_str());
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    *output = ss.str();
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  void make_shapes() const {
    std::string out;
    ASSERT_EQ(cli("make-shapes --out " + path("shapes") + " --count 60 --size 32", &out), 0) << out;
  }
  fs::path dir_;
};

// torchvision's resnet18 at seed 0 with its own names, generated once per build tree; "" with
// `why` set when PyTorch is missing.
std::string torchvision_resnet18(std::string* why) {
  const std::string out = test::onnx_work_dir() + "/torchvision_resnet18_seed0.safetensors";
  const fs::path script = fs::path(CONVKIT_TESTS_DIR) / "golden" / "gen_torchvision_state_dict.py";
  if (fs::exists(out) && fs::last_write_time(out) >= fs::last_write_time(script)) return out;
  if (!test::python_has("torch, torchvision", why)) return "";
  std::string log;
  CONVKIT_CHECK(test::run_python(script.string() + " resnet18 0 " + out, &log) == 0, "generating ",
                out, " failed:\n", log);
  return out;
}
}  // namespace

TEST_F(TransferCli, FineTunesATorchvisionResnet18WithFrozenLayersAndAHeadMultiplier) {
  if (!test::large_models_run_here()) GTEST_SKIP() << "resnet18 is too slow on this backend/build";
  std::string why;
  const std::string init = torchvision_resnet18(&why);
  if (init.empty()) GTEST_SKIP() << why;
  make_shapes();
  std::string out;
  ASSERT_EQ(cli("train --data " + path("shapes") + " --model resnet18 --init " + init +
                    " --freeze layer1 --freeze conv1 --lr-mult fc=10 --epochs 1 --batch-size 16"
                    " --lr 0.01 --progress never --threads 1 --out " +
                    path("run"),
                &out),
            0)
      << out;

  const io::SafetensorsFile start = io::load_safetensors(init);
  const size_t n = start.tensors.size();  // 62 parameters + 60 batch-norm buffers in torchvision
  ASSERT_EQ(n, 122u);
  // The 4-class head replaces torchvision's 1000-class one; everything else loads.
  const std::string counts =
      "loaded " + std::to_string(n - 2) + ", replaced 2, skipped 0, missing 0";
  EXPECT_NE(out.find("init from " + init + ": " + counts), std::string::npos) << out;
  EXPECT_NE(out.find("fc.bias [1000] -> [4], fc.weight [1000,512] -> [4,512]"), std::string::npos)
      << out;
  EXPECT_NE(out.find("freeze layer1: 12 parameter tensors"), std::string::npos) << out;
  EXPECT_NE(out.find("freeze conv1: 1 parameter tensors"), std::string::npos) << out;

  // Frozen parameters did not move, nor did the frozen batch norms' running statistics (they stay
  // in eval mode); the rest trained.
  const io::SafetensorsFile last = io::load_safetensors(path("run/last.safetensors"));
  int frozen = 0, moved = 0;
  for (const auto& [key, t] : start.tensors) {
    if (key.starts_with("fc.")) continue;
    ASSERT_TRUE(last.tensors.count(key)) << key;
    const double diff = test::max_abs_diff(last.tensors.at(key), t);
    if (nn::has_prefix(key, "layer1") || nn::has_prefix(key, "conv1")) {
      EXPECT_EQ(diff, 0.0) << key << " is frozen";
      ++frozen;
    } else if (diff > 0) {
      ++moved;
    }
  }
  EXPECT_EQ(frozen, 1 + 4 * 6);  // conv1.weight; layer1: 4 convs + 4 batch norms x 5 tensors
  EXPECT_GT(
      test::max_abs_diff(last.tensors.at("bn1.running_mean"), start.tensors.at("bn1.running_mean")),
      0.0)
      << "bn1 is not under a frozen prefix: it trains";
  EXPECT_GT(test::max_abs_diff(last.tensors.at("layer4.1.conv2.weight"),
                               start.tensors.at("layer4.1.conv2.weight")),
            0.0);
  EXPECT_GT(moved, 60);
}

TEST_F(TransferCli, BadInitOptionsGiveClearErrors) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once";
  make_shapes();
  const std::string base = "train --data " + path("shapes") +
                           " --model lenet5-modern --image-size 28 --epochs 1 --progress never "
                           "--backend ref --threads 1 --out " +
                           path("run");
  std::string out;
  EXPECT_NE(cli(base + " --lr-mult fc", &out), 0);
  EXPECT_NE(out.find("--lr-mult 'fc': expected PREFIX=FACTOR"), std::string::npos) << out;
  EXPECT_NE(cli(base + " --lr-mult fc=x", &out), 0);
  EXPECT_NE(out.find("'x' is not a factor >= 0"), std::string::npos) << out;
  EXPECT_NE(cli(base + " --freeze nope", &out), 0);
  EXPECT_NE(out.find("no parameter name starts with 'nope'"), std::string::npos) << out;
  std::ofstream(path("w.pt")) << "not weights";
  EXPECT_NE(cli(base + " --init " + path("w.pt"), &out), 0);
  EXPECT_NE(out.find("cannot read weights from a '.pt' file"), std::string::npos) << out;
}

// Issue 16 item 8: an input too small for a model names the layer where it fails.
TEST_F(TransferCli, TooSmallAnInputNamesTheLayer) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once";
  // The CLI checks the size first and names the model's smallest input (infer::check_input_size).
  std::string out;
  EXPECT_NE(cli("summary alexnet --image-size 16", &out), 0);
  EXPECT_NE(out.find("alexnet needs inputs of at least 63x63"), std::string::npos) << out;
  // A forward that fails anyway names the layer by its module path.
  auto model = convkit::models::create_model("alexnet", {3, 1000, 224});
  model->eval();
  convkit::NoGradGuard no_grad;
  try {
    (*model)(convkit::Tensor::zeros({1, 3, 16, 16}));
    ADD_FAILURE() << "a 16x16 input ran through alexnet";
  } catch (const convkit::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("in features."), std::string::npos) << what;
    EXPECT_NE(what.find("(MaxPool2d): max_pool2d: kernel 3x3 is larger than the padded input"),
              std::string::npos)
        << what;
  }
}
