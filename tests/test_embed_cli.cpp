// The embedding commands end to end on tiny data: train --task embed, eval --task embed (classes
// 0-6 as seen, 7-9 as unseen), verify, enrol and identify, and their refusals. The tiny classes are
// noisy copies of one random pattern each; training sees all ten, so that verify and identify
// have a model that tells them apart (generalising to unseen classes is docs/similarity.md's run).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "convkit/backend.h"
#include "convkit/data/idx.h"
#include "convkit/embed/embedder.h"
#include "convkit/infer/bundle.h"
#include "convkit/models/registry.h"
#include "convkit/train/checkpoint.h"
#include "support/tiny_mnist.h"

namespace convkit {
namespace {
namespace fs = std::filesystem;

int run_cli(const std::string& args, std::string* out) {
  const std::string log =
      fs::temp_directory_path() / ("convkit_embed_cli_" + std::to_string(::getpid()) + ".log");
  const int st =
      std::system((std::string(CONVKIT_CLI) + " " + args + " > " + log + " 2>&1").c_str());
  std::ifstream f(log);
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  fs::remove(log);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Test example i of the tiny set as a 28 x 28 gray PNG (the model was trained on such tensors).
std::string write_png(const std::string& dir, const data::DatasetPtr& test, int64_t i) {
  const Tensor x = test->get(i).inputs;  // [1, 1, 28, 28] in [0, 1]
  cv::Mat m(28, 28, CV_8UC1);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) m.at<uint8_t>(r, c) = uint8_t(x.at({0, 0, r, c}) * 255.0 + 0.5);
  const std::string path = dir + "/img" + std::to_string(i) + ".png";
  cv::imwrite(path, m);
  return path;
}

// Seven CLI runs: about 2.5 s with oneDNN, 20 s with the reference kernels, in Release. The
// commands are what is tested here (the kernels are tested elsewhere), so it runs once, with
// oneDNN, and not in the sanitizer build.
TEST(EmbedCli, TrainEvalVerifyEnrolIdentify) {
#ifdef CONVKIT_SANITIZE_BUILD
  GTEST_SKIP() << "seven CLI runs with training: Release builds only";
#endif
  if (backend() != Backend::dnnl) GTEST_SKIP() << "runs once, on the oneDNN backend";
  const fs::path dir =
      fs::temp_directory_path() / ("convkit_embed_cli_dir_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string data = (dir / "data").string(), run = (dir / "run").string();
  test::write_tiny_mnist(data, 300, 100);  // label = index % 10
  std::string out;
  ASSERT_EQ(run_cli("train --task embed --data " + data +
                        " --model small-cnn --loss triplet --mining semihard --pk 10,4 "
                        "--embedding-dim 16 --epochs 2 --lr 0.05 --val-fraction 0.2 "
                        "--threads 1 --progress never --seed 3 --out " +
                        run,
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("P x K = 10 x 4"), std::string::npos) << out;
  EXPECT_NE(out.find("validation pairs AUC"), std::string::npos) << out;
  const std::string model = run + "/best.safetensors";
  const embed::Embedder emb(infer::load_bundle(model));
  EXPECT_EQ(emb.dim(), 16);
  ASSERT_TRUE(emb.threshold().has_value());

  ASSERT_EQ(run_cli("eval --task embed " + model + " --data " + data +
                        " --seen-classes 0-6 --unseen-classes 7-9 --pairs 200 --episodes 100 "
                        "--val-fraction 0.2 --seed 3 --threads 1",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("unseen classes, test"), std::string::npos) << out;
  EXPECT_NE(out.find("3-way one-shot"), std::string::npos) << out;

  const data::DatasetPtr test = data::fashion_mnist(data, false);
  const std::string a7 = write_png(dir.string(), test, 7), b7 = write_png(dir.string(), test, 17),
                    a8 = write_png(dir.string(), test, 8), a9 = write_png(dir.string(), test, 9),
                    b8 = write_png(dir.string(), test, 18);
  ASSERT_EQ(run_cli("verify " + model + " " + a7 + " " + b7, &out), 0) << out;
  EXPECT_NE(out.find(": same"), std::string::npos) << out;
  ASSERT_EQ(run_cli("verify " + model + " " + a7 + " " + a8, &out), 0) << out;
  EXPECT_NE(out.find(": different"), std::string::npos) << out;

  const std::string gallery = (dir / "gallery.safetensors").string();
  ASSERT_EQ(run_cli("enrol " + model + " " + gallery + " --name seven " + a7, &out), 0) << out;
  ASSERT_EQ(run_cli("enrol " + model + " " + gallery + " --name eight " + a8, &out), 0) << out;
  EXPECT_NE(out.find("holds 2 identities"), std::string::npos) << out;
  ASSERT_EQ(run_cli("identify " + model + " " + gallery + " " + b7 + " " + b8 + " " + a9, &out), 0)
      << out;
  EXPECT_NE(out.find(b7 + ": seven"), std::string::npos) << out;
  EXPECT_NE(out.find(b8 + ": eight"), std::string::npos) << out;
  EXPECT_NE(out.find(a9 + ": unknown"), std::string::npos) << out;

  // Refusals: a classifier is not an embedding model; a bad --pk; a missing gallery.
  manual_seed(1);
  auto classifier = models::create_model("small-cnn", {1, 10, 28});
  train::save_weights((dir / "cls.safetensors").string(), *classifier,
                      {{"model", "small-cnn"},
                       {"config", R"({"in_channels":1,"num_classes":10,"image_size":28})"}});
  EXPECT_EQ(run_cli("verify " + (dir / "cls.safetensors").string() + " " + a7 + " " + b7, &out), 1);
  EXPECT_NE(out.find("is not an embedding model"), std::string::npos) << out;
  EXPECT_EQ(
      run_cli("train --task embed --data " + data + " --pk 7 --out " + (dir / "x").string(), &out),
      1);
  EXPECT_NE(out.find("--pk '7'"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train --task embed --data " + data + " --teacher " + model, &out), 1);
  EXPECT_NE(out.find("--teacher is for classification"), std::string::npos) << out;
  EXPECT_EQ(
      run_cli("identify " + model + " " + (dir / "none.safetensors").string() + " " + a7, &out), 1);
  EXPECT_NE(out.find("none.safetensors"), std::string::npos) << out;
  fs::remove_all(dir);
}

// Image folders (and CSV lists) train embeddings as they train classifiers: the checkpoint keeps
// the folder's preprocessing, so verify prepares its files the same way.
TEST(EmbedCli, TrainsFromAnImageFolder) {
#ifdef CONVKIT_SANITIZE_BUILD
  GTEST_SKIP() << "CLI runs with training: Release builds only";
#endif
  if (backend() != Backend::dnnl) GTEST_SKIP() << "runs once, on the oneDNN backend";
  const fs::path dir =
      fs::temp_directory_path() / ("convkit_embed_folder_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string shapes = (dir / "shapes").string(), run = (dir / "run").string();
  std::string out;
  ASSERT_EQ(run_cli("make-shapes -o " + shapes + " --count 40 --size 28", &out), 0) << out;
  ASSERT_EQ(run_cli("train --task embed --data " + shapes +
                        " --model small-cnn --image-size 28 --grayscale --pk 4,4 "
                        "--embedding-dim 8 --epochs 1 --val-fraction 0.25 --threads 1 "
                        "--progress never --out " +
                        run,
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("data: " + shapes), std::string::npos) << out;
  EXPECT_NE(out.find("validation pairs AUC"), std::string::npos) << out;
  const infer::ModelBundle b = infer::load_bundle(run + "/best.safetensors");
  EXPECT_EQ(b.preprocessing.image_size, 28);
  EXPECT_EQ(b.preprocessing.color, data::ColorMode::gray);
  std::vector<std::string> files;
  for (const auto& f : fs::recursive_directory_iterator(shapes))
    if (f.path().extension() == ".png" && files.size() < 2) files.push_back(f.path().string());
  ASSERT_EQ(files.size(), 2u);
  ASSERT_EQ(run_cli("verify " + run + "/best.safetensors " + files[0] + " " + files[1], &out), 0)
      << out;
  EXPECT_NE(out.find("distance"), std::string::npos) << out;
  ASSERT_EQ(run_cli("eval --task embed " + run + "/best.safetensors --data " + shapes +
                        " --seen-classes 0-1 --unseen-classes 2-3 --pairs 50 --episodes 20 "
                        "--val-fraction 0.25",
                    &out),
            0)
      << out;
  EXPECT_NE(out.find("unseen classes, test"), std::string::npos) << out;
  // One folder: the threshold's images and the seen-class test images are disjoint parts of it.
  EXPECT_NE(out.find(" is one set: "), std::string::npos) << out;
  EXPECT_NE(run_cli("eval " + run + "/best.safetensors --data " + shapes, &out), 0);
  EXPECT_NE(out.find("is an embedding model"), std::string::npos) << out;
  EXPECT_NE(run_cli("train --task embed --data " + shapes + " --test-data " + shapes, &out), 0);
  EXPECT_NE(out.find("--test-data is not used here"), std::string::npos) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace convkit
