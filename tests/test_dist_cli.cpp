// Data-parallel training end to end: `mpirun -np 2 convkit train` against one process training
// with the combined batch on the same data order (reference backend, one thread per rank), a rank
// killed mid-epoch, a rank that hangs, and resuming under mpirun (docs/distributed.md).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/dist/communicator.h"
#include "convkit/io/safetensors.h"
#include "convkit/train/checkpoint.h"
#include "support/cli_run.h"
#include "support/gradcheck.h"
#include "support/tiny_mnist.h"

using namespace convkit;

namespace {
bool mpirun_here() { return dist::mpi_built() && std::system("command -v mpirun >/dev/null") == 0; }

// mpirun with two ranks on this machine: shared memory only (no network needed), as root when the
// tests run as root. Under the sanitizers the ranks do not check for leaks at exit: OpenMPI's
// plugins keep allocations until then and are unloaded before LeakSanitizer could name them
// (convkit's own training code is leak-checked by the single-process tests).
std::string mpirun(const std::string& env_vars = "") {
  std::string cmd = "ASAN_OPTIONS=detect_leaks=0 " + env_vars +
                    " mpirun -np 2 --oversubscribe --mca btl self,vader -x ASAN_OPTIONS";
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  for (const char* v : {"CONVKIT_TEST_SIGNAL_AT", "CONVKIT_TEST_SIGNAL_RANK"})
    if (env_vars.find(v) != std::string::npos) cmd += std::string(" -x ") + v;
  return cmd + " " + CONVKIT_CLI + " ";
}

std::string train_args(const std::string& data, const std::string& out, int batch, int epochs,
                       const std::string& model = "lenet5") {
  return "train --data " + data + " --model " + model + " --epochs " + std::to_string(epochs) +
         " --batch-size " + std::to_string(batch) +
         " --lr 0.05 --val-fraction 0.25 --backend ref --threads 1 --workers 1 --progress never "
         "--no-leak-check --seed 5 --out " +
         out;
}

int run_shell(const std::string& cmd, const test::TempDir& t, std::string& output) {
  const std::string log = t.path("shell.txt");
  const int st = std::system((cmd + " > " + log + " 2>&1").c_str());
  output = test::read_bytes(log);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double max_weight_diff(const std::string& a, const std::string& b) {
  auto fa = io::load_safetensors(a), fb = io::load_safetensors(b);
  EXPECT_EQ(fa.tensors.size(), fb.tensors.size());
  double worst = 0;
  for (auto& [k, v] : fa.tensors) {
    EXPECT_TRUE(fb.tensors.count(k)) << k;
    if (fb.tensors.count(k)) worst = std::max(worst, test::max_abs_diff(v, fb.tensors[k]));
  }
  return worst;
}

nlohmann::json last_metrics(const std::string& run) {
  std::ifstream log(run + "/metrics.jsonl");
  std::string line, last;
  while (std::getline(log, line)) last = line;
  return nlohmann::json::parse(last);
}

class DistCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (backend() != Backend::ref) GTEST_SKIP() << "runs once, on the reference backend";
    if (!mpirun_here()) GTEST_SKIP() << "no MPI in this build or no mpirun on PATH";
    // 256 images: 192 train (6 steps of 32 per epoch), 64 validation.
    test::write_tiny_mnist(t.path("data"), 256, 40);
  }
  test::TempDir t;
};
}  // namespace

TEST_F(DistCli, TwoRanksEqualOneProcessWithTheCombinedBatch) {
  std::string out;
  ASSERT_EQ(run_shell(mpirun() + train_args(t.path("data"), t.path("two"), 16, 2), t, out), 0)
      << out;
  EXPECT_TRUE(test::has(out, "data-parallel: 2 processes (mpi)")) << out;
  EXPECT_TRUE(test::has(out, "global batch: 2 x 16 = 32")) << out;
  EXPECT_TRUE(test::has(out, "all-reduce: ")) << out;
  ASSERT_EQ(test::run(t, train_args(t.path("data"), t.path("one"), 32, 2), out), 0) << out;

  // 12 SGD steps with momentum: the same weights up to the order of float sums.
  EXPECT_LT(max_weight_diff(t.path("one/last.safetensors"), t.path("two/last.safetensors")), 1e-5);
  // The logged numbers are the global ones: training means over both ranks' batches, validation
  // over both halves of the validation set.
  const auto one = last_metrics(t.path("one")), two = last_metrics(t.path("two"));
  for (const char* key : {"train_loss", "train_acc", "val_loss", "val_acc"})
    EXPECT_NEAR(one[key].get<double>(), two[key].get<double>(), 1e-5) << key;
  // Only rank 0 printed (one epoch line per epoch, not two).
  size_t lines = 0;
  for (size_t at = out.find("epoch 2:"); at != std::string::npos; at = out.find("epoch 2:", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << out;
}

TEST_F(DistCli, AKilledRankEndsTheJobAndTheRunResumesUnderMpirun) {
  std::string out;
  ASSERT_EQ(run_shell(mpirun() + train_args(t.path("data"), t.path("full"), 16, 3), t, out), 0)
      << out;
  // Rank 1 is killed after step 9 (in the second epoch): the job must end, not hang.
  const auto t0 = std::chrono::steady_clock::now();
  const int st = run_shell(mpirun("CONVKIT_TEST_SIGNAL_AT=KILL:9 CONVKIT_TEST_SIGNAL_RANK=1") +
                               train_args(t.path("data"), t.path("cut"), 16, 3),
                           t, out);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(st, 0) << out;
  EXPECT_LT(secs, 60) << out;
  EXPECT_TRUE(test::has(out, "rank 1") || test::has(out, "signal 9")) << out;
  auto meta = train::read_metadata(t.path("cut/train_state.safetensors"));
  EXPECT_EQ(meta["epoch"], "1") << "the end of epoch 1 was the last state written";

  ASSERT_EQ(
      run_shell(mpirun() + train_args(t.path("data"), t.path("cut"), 16, 3) + " --resume", t, out),
      0)
      << out;
  EXPECT_TRUE(test::has(out, "resuming at epoch 2")) << out;
  EXPECT_EQ(max_weight_diff(t.path("full/last.safetensors"), t.path("cut/last.safetensors")), 0.0);
}

TEST_F(DistCli, ARankThatHangsEndsTheJobWithAMessageAfterTheTimeout) {
  std::string out;
  const auto t0 = std::chrono::steady_clock::now();
  // Rank 1 stops itself (SIGSTOP) after step 3; rank 0 waits 3 s in the next all-reduce.
  const int st =
      run_shell(mpirun("CONVKIT_TEST_SIGNAL_AT=STOP:3 CONVKIT_TEST_SIGNAL_RANK=1") +
                    train_args(t.path("data"), t.path("hang"), 16, 2) + " --dist-timeout 3",
                t, out);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(st, 0) << out;
  EXPECT_LT(secs, 60) << out;
  EXPECT_TRUE(test::has(out, "rank 0 of 2: error: the all-reduce")) << out;
  EXPECT_TRUE(test::has(out, "did not finish within 3 s on rank 0")) << out;
}

TEST_F(DistCli, WhatDataParallelTrainingDoesNotCoverIsRefusedOnEveryRank) {
  std::string out;
  const int st = run_shell(
      mpirun() + train_args(t.path("data"), t.path("embed"), 16, 1) + " --task embed", t, out);
  EXPECT_NE(st, 0) << out;
  EXPECT_TRUE(test::has(out, "data-parallel training covers classification")) << out;
  // Other commands would run twice, side by side, writing the same files.
  EXPECT_NE(run_shell(mpirun() + "summary lenet5", t, out), 0) << out;
  EXPECT_TRUE(test::has(out, "only `convkit train` runs data-parallel")) << out;
}

TEST_F(DistCli, SyncBatchNormEqualsOneProcessWherePerRankStatisticsDoNot) {
  std::string out;
  auto args = [&](const std::string& run, int batch) {
    return train_args(t.path("data"), t.path(run), batch, 1, "lenet5-modern");
  };
  ASSERT_EQ(run_shell(mpirun() + args("sync", 16) + " --sync-bn", t, out), 0) << out;
  EXPECT_TRUE(test::has(out, "synchronized batch norm: ")) << out;
  ASSERT_EQ(run_shell(mpirun() + args("per_rank", 16), t, out), 0) << out;
  ASSERT_EQ(test::run(t, args("one", 32), out), 0) << out;
  EXPECT_LT(max_weight_diff(t.path("one/last.safetensors"), t.path("sync/last.safetensors")), 1e-5);
  // Each rank normalizing with its own 16 images is a different computation.
  EXPECT_GT(max_weight_diff(t.path("one/last.safetensors"), t.path("per_rank/last.safetensors")),
            1e-4);
}
