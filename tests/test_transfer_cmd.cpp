// convkit transfer end to end on tiny shapes: a LeNet trained by `convkit train` on four shapes is
// fine-tuned on three others; every stage and the from-scratch baseline are reported, the feature
// cache is written once and reused; bad arguments fail naming what is wrong.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {
class TransferCmd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("convkit_transfer_cmd_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string out;
    ASSERT_EQ(cli("make-shapes -o " + path("src") + " --count 80 --size 28", &out), 0) << out;
    ASSERT_EQ(cli("make-shapes -o " + path("tgt") +
                      " --count 36 --size 28 --classes pentagon,hexagon,cross --seed 2",
                  &out),
              0)
        << out;
    ASSERT_EQ(
        cli("train --data " + path("src") + " --model lenet5-modern --image-size 28 --epochs 1 " +
                "--progress never --out " + path("base"),
            &out),
        0)
        << out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string path(const std::string& p) { return (dir_ / p).string(); }
  static int cli(const std::string& args, std::string* output) {
    const std::string log = path("cli.txt");
    const std::string cmd = std::string(CONVKIT_CLI) + " " + args + " > " + log + " 2>&1";
    const int st = std::system(cmd.c_str());
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    *output = ss.str();
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  static std::string transfer(const std::string& more) {
    return "transfer --base " + path("base/best.safetensors") + " --data " + path("tgt") +
           " --head-epochs 1 --epochs 1 --batch-size 8 --out " + path("out") + " " + more;
  }
  static inline fs::path dir_;
};

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

TEST_F(TransferCmd, RunsEveryStageBesideTheBaselineAndReusesTheFeatureCache) {
  std::string out;
  ASSERT_EQ(cli(transfer("--unfreeze 2"), &out), 0) << out;
  EXPECT_TRUE(has(out, "cut at 13, 3 classes")) << out;
  EXPECT_TRUE(has(out, "head: 1 epochs, 255 trainable parameters")) << out;
  EXPECT_TRUE(has(out, "extracting features")) << out;
  EXPECT_TRUE(has(out, "unfrozen: 12, 9")) << out;
  EXPECT_TRUE(has(out, "joint: 1 epochs")) << out;
  EXPECT_TRUE(has(out, "scratch: 2 epochs")) << out;
  EXPECT_TRUE(has(out, "validation accuracy: frozen features + head")) << out;
  EXPECT_TRUE(fs::exists(path("out/features/train.ckfeat")));
  EXPECT_TRUE(fs::exists(path("out/transfer.safetensors")));

  ASSERT_EQ(cli(transfer("--unfreeze 9,12"), &out), 0) << out;
  EXPECT_FALSE(has(out, "extracting features")) << out;  // the cache was current
  EXPECT_TRUE(has(out, "unfrozen: 9, 12 (")) << out;

  ASSERT_EQ(cli(transfer("--unfreeze 0 --hflip"), &out), 0) << out;
  EXPECT_TRUE(has(out, "no feature cache: the frozen base runs every step")) << out;
}

// The result is a checkpoint like train's: eval scores it as transfer reported, predict names its
// classes, and it is refused as a base (its registry model is not what it holds).
TEST_F(TransferCmd, TheResultIsAModelEvalAndPredictTake) {
  std::string out, ev;
  ASSERT_EQ(cli(transfer("--unfreeze 1 --test-data " + path("tgt")), &out), 0) << out;
  const size_t joint = out.find("joint: 1 epochs");
  ASSERT_NE(joint, std::string::npos) << out;
  const size_t at = out.find("test ", joint);
  ASSERT_NE(at, std::string::npos) << out;
  const std::string acc = out.substr(at + 5, out.find('%', at) - at - 5);
  const std::string model = path("out/transfer.safetensors");
  ASSERT_EQ(cli("eval " + model + " --data " + path("tgt"), &ev), 0) << ev;
  EXPECT_TRUE(has(ev, "top-1 " + acc + "%")) << "transfer said " << acc << "%:\n" << ev;
  const std::string image = fs::directory_iterator(path("tgt/hexagon"))->path().string();
  ASSERT_EQ(cli("predict " + model + " " + image + " -k 3", &ev), 0) << ev;
  EXPECT_TRUE(has(ev, "hexagon") && has(ev, "pentagon") && has(ev, "cross")) << ev;
  EXPECT_NE(cli("transfer --base " + model + " --data " + path("tgt"), &ev), 0);
  EXPECT_TRUE(has(ev, "is itself a `convkit transfer` result")) << ev;
}

// A cut below the top: the feature map is averaged over its positions by default (the head sees
// 16 features), kept whole with --features map; the pooled result loads in eval as it trained.
TEST_F(TransferCmd, ALowerCutIsPooledUnlessAskedForTheMap) {
  std::string out, ev;
  ASSERT_EQ(cli(transfer("--cut 7 --unfreeze 1 --test-data " + path("tgt")), &out), 0) << out;
  EXPECT_TRUE(has(out, "cut at 7 (pooled), 3 classes")) << out;
  EXPECT_TRUE(has(out, "head: 1 epochs, 51 trainable parameters")) << out;
  const size_t joint = out.find("joint: 1 epochs");
  ASSERT_NE(joint, std::string::npos) << out;
  const size_t at = out.find("test ", joint);
  ASSERT_NE(at, std::string::npos) << out;
  const std::string acc = out.substr(at + 5, out.find('%', at) - at - 5);
  ASSERT_EQ(cli("eval " + path("out/transfer.safetensors") + " --data " + path("tgt"), &ev), 0)
      << ev;
  EXPECT_TRUE(has(ev, "top-1 " + acc + "%")) << "transfer said " << acc << "%:\n" << ev;

  ASSERT_EQ(cli(transfer("--cut 7 --unfreeze 1 --features map"), &out), 0) << out;
  EXPECT_TRUE(has(out, "cut at 7, 3 classes")) << out;
  EXPECT_TRUE(has(out, "head: 1 epochs, 1203 trainable parameters")) << out;  // 16 x 5 x 5 x 3 + 3
  EXPECT_NE(cli(transfer("--features mean"), &out), 0);
  EXPECT_TRUE(has(out, "--features")) << out;
}

TEST_F(TransferCmd, BadArgumentsFailNamingWhatIsWrong) {
  std::string out;
  EXPECT_NE(cli(transfer("--cut layer9"), &out), 0);
  EXPECT_TRUE(has(out, "layer9") && has(out, "its children: 0, 1, 2")) << out;
  EXPECT_NE(cli(transfer("--unfreeze fc"), &out), 0);
  EXPECT_TRUE(has(out, "'fc' is not a module of the base cut at 13")) << out;

  std::ofstream(path("bad.ckfeat")) << "not a cache";
  fs::create_directories(path("badcache"));
  fs::copy_file(path("bad.ckfeat"), path("badcache/train.ckfeat"),
                fs::copy_options::overwrite_existing);
  EXPECT_NE(cli(transfer("--feature-cache " + path("badcache")), &out), 0);
  EXPECT_TRUE(has(out, path("badcache/train.ckfeat")) && has(out, "not a convkit feature cache"))
      << out;
}

// An .onnx base: its initializers load into the registry model its metadata names, which is cut.
TEST_F(TransferCmd, TakesAnOnnxBase) {
  std::string out;
  ASSERT_EQ(cli("export " + path("base/best.safetensors") + " " + path("base.onnx"), &out), 0)
      << out;
  ASSERT_EQ(cli("transfer --base " + path("base.onnx") + " --data " + path("tgt") +
                    " --head-epochs 1 --epochs 0 --unfreeze 0 --out " + path("onnx_out"),
                &out),
            0)
      << out;
  EXPECT_TRUE(
      has(out, "init from " + path("base.onnx") + ": loaded 25, replaced 0, skipped 0, missing 0"))
      << out;
  EXPECT_TRUE(has(out, "cut at 13, 3 classes")) << out;
}
