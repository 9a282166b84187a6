// End-to-end: the convkit CLI trains, is interrupted by SIGINT / SIGKILL mid-run, resumes, and
// ends with weights bit-identical to an uninterrupted run (reference backend, one thread).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
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

std::string train_args(const std::string& data, const std::string& out, int epochs = 3) {
  return "train --data " + data + " --model lenet5-modern --epochs " + std::to_string(epochs) +
         " --batch-size 32 --lr 0.05 "
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

// Runs the CLI with `args`; returns the exit status, `out` what it printed (stdout and stderr).
int run_cli_output(const std::string& args, std::string* out, const std::string& env = "") {
  const std::string log = fs::temp_directory_path() / ("convkit_cli_" + std::to_string(::getpid()));
  int st = std::system((env + " " + CONVKIT_CLI + " " + args + " > " + log + " 2>&1").c_str());
  std::ifstream f(log);
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  fs::remove(log);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

nlohmann::json metrics_line(const std::string& run, int epoch) {
  std::ifstream log(run + "/metrics.jsonl");
  std::string line;
  while (std::getline(log, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["epoch"] == epoch) return j;
  }
  ADD_FAILURE() << "no epoch " << epoch << " in " << run << "/metrics.jsonl";
  return {};
}

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
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 130) << "an interrupted run exits with 130";
  auto meta = train::read_metadata(path("cut/train_state.safetensors"));
  EXPECT_EQ(meta["epoch"], "1");       // interrupted in the second epoch...
  EXPECT_EQ(meta["next_batch"], "3");  // ...after its third step (6 steps per epoch)
  ASSERT_EQ(run_cli(train_args(data, path("cut")) + " --resume"), 0);
  expect_same_weights(path("full/last.safetensors"), path("cut/last.safetensors"));
  // The resumed epoch's numbers cover all its batches, not only those after the cut.
  for (const char* key : {"train_loss", "train_acc", "val_loss", "val_acc"})
    for (int epoch : {1, 2, 3})
      EXPECT_EQ(metrics_line(path("full"), epoch)[key], metrics_line(path("cut"), epoch)[key])
          << key << " of epoch " << epoch;
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

TEST_F(TrainCli, ResumeReportsTheWholeRunAndRefusesAnotherModel) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
  const std::string data = path("data"), args = train_args(data, path("run"));
  const std::string args4 = train_args(data, path("run"), 4),
                    args1 = train_args(data, path("run"), 1);
  std::string out;
  ASSERT_EQ(run_cli_output(args, &out), 0) << out;
  const double best = metrics_line(path("run"), 3)["val_acc"].get<double>();
  char expected[64];
  std::snprintf(expected, sizeof expected, "best top-1 accuracy %.2f%%", 100 * best);
  // A finished run, resumed: the best comes from the saved state, not from no epochs at all.
  ASSERT_EQ(run_cli_output(args + " --resume", &out), 0) << out;
  EXPECT_NE(out.find(expected), std::string::npos) << out;
  // Raising --epochs says that the cosine horizon changes.
  ASSERT_EQ(run_cli_output(args4 + " --resume", &out), 0) << out;
  EXPECT_NE(out.find("cosine schedule now spans 4 epochs"), std::string::npos) << out;
  // Another model: the error names the model the run trains.
  std::string other = args;
  other.replace(other.find("lenet5-modern"), 13, "small-cnn");
  EXPECT_EQ(run_cli_output(other + " --resume", &out), 1);
  EXPECT_NE(out.find("trains model 'lenet5-modern', not 'small-cnn'"), std::string::npos) << out;
  // A fresh run into it is refused unless --overwrite.
  EXPECT_EQ(run_cli_output(args, &out), 1);
  EXPECT_NE(out.find("holds another run"), std::string::npos) << out;
  EXPECT_NE(out.find("--overwrite"), std::string::npos) << out;
  EXPECT_EQ(run_cli_output(args1 + " --overwrite", &out), 0) << out;
  EXPECT_EQ(train::read_metadata(path("run/best.safetensors"))["epoch"], "1");
}

TEST_F(TrainCli, CtrlCEndsWithStatus130AndANormalMessage) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
  std::string out;
  EXPECT_EQ(
      run_cli_output(train_args(path("data"), path("run")), &out, "CONVKIT_TEST_SIGNAL_AT=INT:2"),
      130);
  EXPECT_EQ(out.find("convkit: error"), std::string::npos) << out;
  EXPECT_NE(out.find("resume with the same command and --resume"), std::string::npos) << out;
}

TEST_F(TrainCli, AFullDiskFailsLoudlyNamingTheMetricsLog) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  fs::create_directories(path("run"));
  fs::create_symlink("/dev/full", path("run/metrics.jsonl"));
  std::string out;
  EXPECT_EQ(run_cli_output(train_args(path("data"), path("run"), 1), &out), 1);
  EXPECT_NE(out.find("metrics.jsonl"), std::string::npos) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
}

// Issue 16's divergence command: --lr 1e8 stops with a message naming the step, exits non-zero,
// and best.safetensors holds finite weights (NaN weights never become the best).
TEST_F(TrainCli, ADivergedRunStopsNamingTheStepAndKeepsFiniteBest) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
#ifdef CONVKIT_SANITIZE_BUILD
  // Two trainings of small-cnn on 400 decoded images with plain-loop kernels take over 5 minutes
  // under the sanitizers; the Release pass runs it.
  GTEST_SKIP() << "too slow under the sanitizers";
#endif
  std::string out;
  ASSERT_EQ(run_cli_output("make-shapes --out " + path("shapes") + " --count 400 --size 32", &out),
            0)
      << out;
  const std::string args = "train --data " + path("shapes") +
                           " --image-size 32 --model small-cnn --epochs 2 --lr 1e8 "
                           "--threads 1 --progress never --out " +
                           path("run");
  EXPECT_EQ(run_cli_output(args, &out), 1) << out;
  EXPECT_NE(out.find("training stopped"), std::string::npos) << out;
  EXPECT_NE(out.find("step "), std::string::npos) << out;
  EXPECT_EQ(out.find("nan%"), std::string::npos) << out;
  if (fs::exists(path("run/best.safetensors"))) {
    for (auto& [k, v] : io::load_safetensors(path("run/best.safetensors")).tensors)
      for (int64_t i = 0; i < v.numel() && v.dtype() == DType::f32; ++i)
        ASSERT_TRUE(std::isfinite(v.data<float>()[i])) << k;
  }
  // --detect-anomaly names the op and its module.
  EXPECT_EQ(run_cli_output(args + " --overwrite --detect-anomaly", &out), 1) << out;
  EXPECT_NE(out.find("anomaly: op '"), std::string::npos) << out;
  // A sane run on the same 4 classes: top-5 would always be 100%, so no line shows it.
  const std::string sane = "train --data " + path("shapes") +
                           " --image-size 32 --model small-cnn --epochs 1 --lr 0.05 "
                           "--threads 1 --progress never --overwrite --out " +
                           path("run");
  ASSERT_EQ(run_cli_output(sane, &out), 0) << out;
  EXPECT_NE(out.find("val loss"), std::string::npos) << out;
  EXPECT_EQ(out.find("top-5"), std::string::npos) << out;
}

namespace convkit {
namespace {
// convkit cv: a model per fold through `train --fold`, out-of-fold predictions for every training
// image, the ensemble on the test split; a second run resumes instead of retraining.
TEST_F(TrainCli, CrossValidationTrainsAFoldEachAndReportsTheEnsemble) {
  if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
#ifdef CONVKIT_SANITIZE_BUILD
  // Six short trainings: minutes under the sanitizers. Test.Folds covers the folds there, and the
  // other TrainCli tests the training and resume paths cv calls.
  GTEST_SKIP() << "too slow under the sanitizers";
#endif
  std::string out;
  const std::string cv = "cv --folds 3 --data " + path("data") + " --out " + path("cv") +
                         " --seed 5 --model lenet5-modern --epochs 1 --batch-size 32 --lr 0.05 "
                         "--backend ref --threads 1 --progress never";
  ASSERT_EQ(run_cli_output(cv, &out), 0) << out;
  for (const char* part :
       {"cross-validation fold 2 of 3", "fold 1: out-of-fold top-1", "fold 3: out-of-fold top-1",
        "out-of-fold: top-1", "over the 256 training images", "single models: test top-1",
        "ensemble of 3, mean probabilities: test top-1", "ensemble of 3, majority vote"})
    EXPECT_NE(out.find(part), std::string::npos) << part << "\n" << out;
  std::ifstream jf(path("cv/cv.json"));
  const nlohmann::json j = nlohmann::json::parse(jf);
  ASSERT_EQ(j["per_fold"].size(), 3u);
  EXPECT_GE(j["ensemble_mean_probabilities_top1"].get<double>(), 0.0);
  std::ifstream csv(path("cv/oof_predictions.csv"));
  std::string line;
  std::map<std::string, int> per_fold;
  int rows = -1;
  while (std::getline(csv, line)) {
    if (++rows == 0) continue;
    per_fold[line.substr(line.find(',') + 1, 1)]++;
  }
  EXPECT_EQ(rows, 256);
  EXPECT_EQ(per_fold["1"] + per_fold["2"] + per_fold["3"], 256);
  for (const auto& [fold, n] : per_fold) EXPECT_NEAR(n, 85.3, 1) << "fold " << fold;
  for (int k = 1; k <= 3; ++k)
    EXPECT_TRUE(fs::exists(path("cv/fold_" + std::to_string(k) + "/best.safetensors")));
  // The fold models as one ensemble through eval: the same figures as cv's.
  std::string ev;
  const std::string fold = path("cv/fold_");
  ASSERT_EQ(run_cli_output("eval " + fold + "1/best.safetensors --data " + path("data") +
                               " --ensemble " + fold + "2/best.safetensors " + fold +
                               "3/best.safetensors --backend ref --threads 1",
                           &ev),
            0)
      << ev;
  char want[64];
  std::snprintf(want, sizeof want, "mean probabilities: top-1 %.2f%%",
                100 * j["ensemble_mean_probabilities_top1"].get<double>());
  EXPECT_NE(ev.find(want), std::string::npos) << want << "\n" << ev;
  std::snprintf(want, sizeof want, "majority vote: top-1 %.2f%%",
                100 * j["ensemble_vote_top1"].get<double>());
  EXPECT_NE(ev.find(want), std::string::npos) << want << "\n" << ev;
  EXPECT_NE(run_cli_output("eval " + fold + "1/best.safetensors --data " + path("data") +
                               " --ensemble " + path("nope.safetensors"),
                           &ev),
            0);
  EXPECT_NE(ev.find("nope.safetensors"), std::string::npos) << ev;
  // Again: every fold resumes its finished run instead of training anew.
  ASSERT_EQ(run_cli_output(cv, &out), 0) << out;
  EXPECT_NE(out.find("fold 3: out-of-fold top-1"), std::string::npos) << out;
  // What cv sets itself, and a malformed --fold.
  EXPECT_EQ(run_cli_output(cv + " --val-fraction 0.2", &out), 1);
  EXPECT_NE(out.find("--val-fraction is set by cv itself"), std::string::npos) << out;
  EXPECT_EQ(run_cli_output("train --data " + path("data") + " --fold 3/3 --epochs 1", &out), 1);
  EXPECT_NE(out.find("expected K/N with 0 <= K < N"), std::string::npos) << out;
}

// --dtype bf16 trains with mixed-precision convolutions (oneDNN only; the reference backend is
// refused rather than silently float32).
TEST_F(TrainCli, Bf16TrainsAndTheReferenceBackendIsRefused) {
  std::string out;
  std::string args = train_args(path("data"), path("bf"), 1);
  args.replace(args.find("--backend ref"), 13, "--backend dnnl");
  ASSERT_EQ(run_cli_output(args + " --dtype bf16", &out), 0) << out;
  EXPECT_TRUE(fs::exists(path("bf/best.safetensors"))) << out;
  EXPECT_EQ(run_cli_output(train_args(path("data"), path("bf2"), 1) + " --dtype bf16", &out), 1);
  EXPECT_NE(out.find("mixed precision runs on the oneDNN backend"), std::string::npos) << out;
}
}  // namespace
}  // namespace convkit
