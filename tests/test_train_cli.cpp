// End-to-end: the convkit CLI trains, is interrupted by SIGINT / SIGKILL mid-run, resumes, and
// ends with weights bit-identical to an uninterrupted run (reference backend, one thread).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "convkit/io/safetensors.h"
#include "convkit/train/checkpoint.h"
#include "support/gradcheck.h"
#include "support/tiny_mnist.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
struct Run {
  int status;  // raw wait status
};

// Runs the CLI with `args`, environment prefix `env`; returns the wait status.
int run_cli(const std::string& args, const std::string& env = "") {
  std::string cmd = env + " " + CONVKIT_CLI + " " + args + " > /dev/null 2>&1";
  return std::system(cmd.c_str());
}

std::string train_args(const std::string& data, const std::string& out) {
  return "train --data " + data +
         " --model lenet5-modern --epochs 3 --batch-size 32 --lr 0.05 "
         "--val-fraction 0.25 --backend ref --threads 1 --progress never --seed 5 --out " +
         out;
}

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("convkit_train_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    test::write_tiny_mnist((dir_ / "data").string(), 256, 40);  // 192 train, 64 val: 6 steps/epoch
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& p) const { return (dir_ / p).string(); }
  fs::path dir_;
};

void expect_same_weights(const std::string& a, const std::string& b) {
  auto fa = io::load_safetensors(a), fb = io::load_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (auto& [k, v] : fa.tensors) {
    ASSERT_TRUE(fb.tensors.count(k)) << k;
    EXPECT_EQ(test::max_abs_diff(v, fb.tensors[k]), 0.0) << k;
  }
}
}  // namespace

TEST_F(TrainCli, SigintMidEpochThenResumeIsBitIdentical) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
  const std::string data = path("data");
  ASSERT_EQ(run_cli(train_args(data, path("full"))), 0);

  int st = run_cli(train_args(data, path("cut")), "CONVKIT_TEST_SIGNAL_AT=INT:9");
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0) << "an interrupted run exits non-zero";
  auto meta = train::read_metadata(path("cut/train_state.safetensors"));
  EXPECT_EQ(meta["epoch"], "1");       // interrupted in the second epoch...
  EXPECT_EQ(meta["next_batch"], "3");  // ...after its third step (6 steps per epoch)
  ASSERT_EQ(run_cli(train_args(data, path("cut")) + " --resume"), 0);
  expect_same_weights(path("full/last.safetensors"), path("cut/last.safetensors"));
}

TEST_F(TrainCli, SigkillLeavesTheLastCompletedCheckpointLoadable) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
  const std::string data = path("data");
  ASSERT_EQ(run_cli(train_args(data, path("full"))), 0);
  int st = run_cli(train_args(data, path("killed")), "CONVKIT_TEST_SIGNAL_AT=KILL:16");
  // system() reports a child killed by a signal through the shell as 128+9.
  EXPECT_TRUE((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) ||
              (WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGKILL))
      << st;
  auto meta = train::read_metadata(path("killed/train_state.safetensors"));
  EXPECT_EQ(meta["epoch"], "2");  // the end of epoch 2 (step 12) was the last state written
  auto loaded = train::load_model(path("killed/last.safetensors"));
  EXPECT_EQ(loaded.name, "lenet5-modern");
  ASSERT_EQ(run_cli(train_args(data, path("killed")) + " --resume"), 0);
  expect_same_weights(path("full/last.safetensors"), path("killed/last.safetensors"));
}

TEST_F(TrainCli, BadArgumentsAndFilesGiveClearErrors) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once";
  EXPECT_NE(run_cli("train --model no-such-model --data " + path("data") + " --out " + path("x")),
            0);
  EXPECT_NE(run_cli("eval " + path("missing.safetensors")), 0);
  EXPECT_EQ(run_cli("summary resnet20"), 0);
  EXPECT_EQ(run_cli("--help"), 0);
}

TEST_F(TrainCli, WithoutAValidationSetTheEpochLineAndLogSaySo) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
  const std::string cmd =
      std::string(CONVKIT_CLI) + " train --data " + path("data") +
      " --model lenet5-modern --epochs 1 --batch-size 64 --val-fraction 0 --backend ref "
      "--threads 1 --progress never --out " +
      path("run") + " > " + path("out.txt") + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out_file(path("out.txt"));
  const std::string out((std::istreambuf_iterator<char>(out_file)),
                        std::istreambuf_iterator<char>());
  EXPECT_NE(out.find("epoch 1: train loss"), std::string::npos) << out;
  EXPECT_NE(out.find("| no validation set |"), std::string::npos) << out;
  EXPECT_EQ(out.find("val loss"), std::string::npos) << out;
  std::ifstream log(path("run/metrics.jsonl"));
  std::string first;
  std::getline(log, first);
  const auto j = nlohmann::json::parse(first);
  EXPECT_TRUE(j["val_acc"].is_null()) << first;
  EXPECT_GT(j["train_acc"].get<double>(), 0.0) << first;
}
