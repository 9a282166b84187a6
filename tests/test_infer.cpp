// infer/: one model saved three ways (convkit checkpoint, torchvision-named safetensors, ONNX)
// loads as three bundles that prepare an image file the same way and predict the same; a session
// shared by 4 threads gives the serial results; bad inputs name the model and what it takes.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "convkit/autograd.h"
#include "convkit/data/dataset.h"
#include "convkit/infer/evaluate.h"
#include "convkit/infer/preprocess.h"
#include "convkit/infer/session.h"
#include "convkit/io/onnx.h"
#include "convkit/io/safetensors.h"
#include "convkit/models/registry.h"
#include "convkit/ops/activation.h"
#include "convkit/random.h"
#include "convkit/train/checkpoint.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/image_files.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

const std::vector<std::string> kClasses{"circle", "cross", "square", "star"};
const data::ChannelStats kStats{{0.5, 0.4, 0.3}, {0.2, 0.25, 0.3}};

// small-cnn (3 channels, 4 classes, 16x16 input) with random weights, saved in all three forms.
struct Saved {
  std::shared_ptr<nn::Module> model;
  std::string checkpoint, torchvision, onnx, image;
};

Saved save_three_ways(const test::TempDir& t) {
  Saved s;
  manual_seed(7);
  s.model = models::create_model("small-cnn", {3, 4, 16});
  s.checkpoint = t.path("w.safetensors");
  s.torchvision = t.path("tv.safetensors");
  s.onnx = t.path("w.onnx");
  s.image = t.path("photo.png");
  nlohmann::json config = {
      {"in_channels", 3},
      {"num_classes", 4},
      {"image_size", 16},
      {"class_names", kClasses},
      {"normalization", {{"mean", kStats.mean}, {"std", kStats.std}}},
      {"preprocessing",
       nlohmann::json::parse(R"({"image_size":16,"load_size":20,"color":"rgb"})")}};
  train::save_weights(s.checkpoint, *s.model, {{"model", "small-cnn"}, {"config", config.dump()}});
  io::save_safetensors(s.torchvision, s.model->state_dict());  // no metadata, as torch writes
  io::OnnxExportOptions o;
  o.metadata = infer::bundle_metadata(infer::load_checkpoint(s.checkpoint));
  s.model->eval();
  io::save_onnx(*s.model, {1, 3, 16, 16}, s.onnx, o);
  // A 30x24 colour photo: resized (shorter side 20), centre-cropped to 16x16.
  cv::Mat photo(24, 30, CV_8UC3);
  cv::randu(photo, 0, 256);
  cv::imwrite(s.image, photo);
  return s;
}

infer::TorchvisionOptions torchvision_options() {
  infer::TorchvisionOptions o;
  o.model = "small-cnn";
  o.image_size = 16;
  o.load_size = 20;
  o.class_names = kClasses;
  o.standardization = kStats;
  return o;
}

TEST(Infer, ThreeSourcesGiveOneBundleAndOnePrediction) {
  test::TempDir t;
  const Saved s = save_three_ways(t);
  const infer::ModelBundle from_ckpt = infer::load_bundle(s.checkpoint);
  infer::BundleOptions bo;
  bo.torchvision = torchvision_options();
  const infer::ModelBundle from_tv = infer::load_bundle(s.torchvision, bo);
  const infer::ModelBundle from_onnx = infer::load_bundle(s.onnx);
  EXPECT_EQ(from_tv.num_classes, 4);  // read from the classifier's weights
  for (const infer::ModelBundle* b : {&from_ckpt, &from_tv, &from_onnx}) {
    EXPECT_EQ(b->name, "small-cnn") << b->source;
    EXPECT_EQ(b->in_channels, 3) << b->source;
    EXPECT_EQ(b->image_size, 16) << b->source;
    EXPECT_EQ(b->class_names, kClasses) << b->source;
    EXPECT_EQ(b->preprocessing.effective_load_size(), 20) << b->source;
    EXPECT_EQ(b->standardization.std, kStats.std) << b->source;
  }

  // The expected input, written out: the dataset pipeline's file -> [0, 1] tensor, standardized.
  Tensor want_input = data::load_input_image(s.image, from_ckpt.preprocessing);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t j = 0; j < 16 * 16; ++j) {
      float& v = want_input.data<float>()[c * 256 + j];
      v = (v - float(kStats.mean[size_t(c)])) * float(1.0 / kStats.std[size_t(c)]);
    }
  Tensor want;
  {
    NoGradGuard no_grad;
    want = softmax((*s.model)(want_input.reshape({1, 3, 16, 16})), 1);
  }
  cv::Mat rgb = cv::imread(s.image);
  cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
  for (const infer::ModelBundle* b : {&from_ckpt, &from_tv, &from_onnx}) {
    const Tensor from_file = infer::preprocess_file(*b, s.image);
    EXPECT_EQ(test::max_abs_diff(from_file, want_input), 0.0) << b->source;
    EXPECT_EQ(test::max_abs_diff(infer::preprocess_image(*b, rgb), from_file), 0.0) << b->source;
    const infer::Session session(*b);
    EXPECT_LE(test::max_abs_diff(session.probabilities(from_file.reshape({1, 3, 16, 16})), want),
              1e-6)
        << b->source;
    const auto top = session.classify_files({s.image}, 2);
    ASSERT_EQ(top.size(), 1u);
    ASSERT_EQ(top[0].size(), 2u);
    int64_t best = 0;
    for (int64_t k = 1; k < 4; ++k)
      if (want.at({0, k}) > want.at({0, best})) best = k;
    EXPECT_EQ(top[0][0].index, best) << b->source;
    EXPECT_EQ(top[0][0].name, kClasses[size_t(top[0][0].index)]);
    EXPECT_NEAR(top[0][0].probability, want.at({0, top[0][0].index}), 1e-6);
    EXPECT_GE(top[0][0].probability, top[0][1].probability);
  }
}

// A state dict written by torchvision itself (num_batches_tracked included) loads by name, with the
// class count read from its classifier, and the session reproduces torchvision's logits.
TEST(Infer, TorchvisionStateDictMatchesTorchvision) {
  std::string why;
  if (!test::python_has("torch, torchvision, numpy", &why)) GTEST_SKIP() << why;
  test::TempDir t;
  std::string log;
  ASSERT_EQ(
      test::run_python(
          std::string(CONVKIT_TESTS_DIR) + "/infer/torchvision_state_dict.py " + t.path(), &log),
      0)
      << log;
  infer::TorchvisionOptions o;
  o.model = "resnet18";
  o.image_size = 32;
  const infer::Session session(infer::load_torchvision(t.path("resnet18.safetensors"), o));
  EXPECT_EQ(session.bundle().num_classes, 5);
  EXPECT_EQ(session.bundle().preprocessing.effective_load_size(), 32 * 256 / 224);
  EXPECT_EQ(session.bundle().standardization.mean, (std::vector<double>{0.485, 0.456, 0.406}));
  const auto io = io::load_safetensors(t.path("io.safetensors")).tensors;
  EXPECT_LE(test::rel_error(session.logits(io.at("input")), io.at("logits")), 1e-4);
}

TEST(Infer, ToImageInvertsPreprocessing) {
  test::TempDir t;
  const Saved s = save_three_ways(t);
  infer::ModelBundle b = infer::load_checkpoint(s.checkpoint);
  b.preprocessing.load_size = 0;  // a 16x16 image then passes through unresized
  cv::Mat img(16, 16, CV_8UC3);
  cv::randu(img, 0, 256);
  const Tensor x = infer::preprocess_image(b, img);
  EXPECT_GT(std::abs(x.at({0, 0, 0}) - img.at<cv::Vec3b>(0, 0)[0] / 255.0), 1e-3);  // standardized
  const cv::Mat back = infer::to_image(b, x);
  ASSERT_EQ(back.type(), CV_8UC3);
  EXPECT_EQ(cv::norm(back, img, cv::NORM_INF), 0.0);
  // Gray input to an RGB model is replicated; other depths are refused.
  cv::Mat gray(16, 16, CV_8UC1, cv::Scalar(77));
  EXPECT_EQ(infer::preprocess_image(b, gray).shape(), Shape({3, 16, 16}));
  EXPECT_THROW_WITH(infer::preprocess_image(b, cv::Mat(4, 4, CV_32FC3)), "8-bit");
}

TEST(Infer, SessionFromFourThreadsGivesSerialResults) {
  test::TempDir t;
  const Saved s = save_three_ways(t);
  // The convkit module and the imported ONNX graph; few small calls (the sanitizer build runs the
  // reference kernels slowly).
  for (const std::string& path : {s.checkpoint, s.onnx}) {
    const infer::Session session(infer::load_bundle(path));
    constexpr int kThreads = 4, kCalls = 2;
    std::vector<Tensor> inputs;
    Generator gen(3);
    for (int i = 0; i < kThreads * kCalls; ++i)
      inputs.push_back(Tensor::randn({1 + i % 2, 3, 16, 16}, &gen));
    std::vector<Tensor> serial, parallel(inputs.size());
    for (const Tensor& x : inputs) serial.push_back(session.probabilities(x));
    std::vector<std::thread> threads;
    for (int k = 0; k < kThreads; ++k)
      threads.emplace_back([&, k] {
        for (int c = 0; c < kCalls; ++c) {
          const size_t i = size_t(c * kThreads + k);
          parallel[i] = session.probabilities(inputs[i]);
        }
      });
    for (std::thread& th : threads) th.join();
    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_EQ(test::max_abs_diff(parallel[i], serial[i]), 0.0) << path << " call " << i;
    EXPECT_TRUE(autograd::grad_enabled());  // the session's no-grad guard stays inside it
  }
}

TEST(Infer, BadInputsNameTheModelAndWhatItTakes) {
  test::TempDir t;
  const Saved s = save_three_ways(t);
  const infer::Session fixed(infer::load_checkpoint(s.checkpoint));
  EXPECT_THROW_WITH(fixed.logits(Tensor::zeros({1, 3, 20, 20})), "small-cnn", s.checkpoint, "16x16",
                    "20x20");
  EXPECT_THROW_WITH(fixed.logits(Tensor::zeros({1, 1, 16, 16})), "3-channel", "[1,1,16,16]");

  // resnet20 runs on any size from 8x8 (the registry's smallest input).
  const std::string r20 = t.path("r20.safetensors");
  train::save_weights(
      r20, *models::create_model("resnet20", {3, 10, 32}),
      {{"model", "resnet20"}, {"config", R"({"in_channels":3,"num_classes":10,"image_size":32})"}});
  const infer::Session any_size(infer::load_checkpoint(r20));
  EXPECT_EQ(any_size.logits(Tensor::zeros({1, 3, 12, 12})).shape(), Shape({1, 10}));
  EXPECT_THROW_WITH(any_size.logits(Tensor::zeros({1, 3, 4, 4})), "resnet20", "at least 8x8",
                    "4x4");

  EXPECT_EQ(infer::smallest_input_size("resnet20", 3), 8);  // the registry's
  EXPECT_EQ(infer::smallest_input_size("lenet5", 1), 28);   // searched: its head needs 28x28
  const int64_t s_cnn = infer::smallest_input_size("small-cnn", 1);
  EXPECT_NO_THROW(models::create_model("small-cnn", {1, 10, s_cnn})
                      ->forward(Tensor::zeros({1, 1, s_cnn, s_cnn})));
  EXPECT_ANY_THROW(models::create_model("small-cnn", {1, 10, s_cnn - 1})
                       ->forward(Tensor::zeros({1, 1, s_cnn - 1, s_cnn - 1})));

  // A state dict needs the model's name; a wrong class count names the tensor.
  EXPECT_THROW_WITH(infer::load_bundle(s.torchvision), s.torchvision, "--model");
  infer::TorchvisionOptions o = torchvision_options();
  o.class_names.clear();
  o.num_classes = 7;
  EXPECT_THROW_WITH(infer::load_torchvision(s.torchvision, o), s.torchvision);
  o.model = "no-such-net";
  EXPECT_THROW_WITH(infer::load_torchvision(s.torchvision, o), "no-such-net");
  EXPECT_THROW_WITH(infer::load_checkpoint(s.torchvision), s.torchvision, "not a convkit");

  // A config whose preprocessing does not make the model's input, or a zero deviation.
  const std::string bad = t.path("bad.safetensors");
  train::save_weights(bad, *s.model,
                      {{"model", "small-cnn"},
                       {"config", R"({"in_channels":3,"num_classes":4,"image_size":16,)"
                                  R"("preprocessing":{"image_size":20,"color":"rgb"}})"}});
  EXPECT_THROW_WITH(infer::load_checkpoint(bad), bad, "3x20x20 inputs for a 3x16x16 model");
  train::save_weights(bad, *s.model,
                      {{"model", "small-cnn"},
                       {"config", R"({"in_channels":3,"num_classes":4,"image_size":16,)"
                                  R"("normalization":{"mean":[0,0,0],"std":[1,0,1]}})"}});
  EXPECT_THROW_WITH(infer::load_checkpoint(bad), bad, "deviation of 0");
  // Counts a hostile file gives are bounded before the model is built.
  for (const char* config : {R"({"in_channels":3,"num_classes":1000000000000,"image_size":16})",
                             R"({"in_channels":100000000,"num_classes":4,"image_size":16})",
                             R"({"in_channels":3,"num_classes":4,"image_size":1000000000})"}) {
    train::save_weights(bad, *s.model, {{"model", "small-cnn"}, {"config", config}});
    EXPECT_THROW_WITH(infer::load_checkpoint(bad), bad, "expected 1-1024 channels");
  }
}

TEST(Infer, EvaluateChecksClassesEmptySetsAndNonFiniteOutputs) {
  test::TempDir t;
  const Saved s = save_three_ways(t);
  infer::ModelBundle b = infer::load_checkpoint(s.checkpoint);
  Generator gen(5);
  const Tensor x = Tensor::randn({10, 3, 16, 16}, &gen);
  const Tensor y = Tensor::from_vector<int64_t>({0, 1, 2, 3, 0, 1, 2, 3, 0, 1}, {10});
  auto four = std::make_shared<data::TensorDataset>(x, y, 4);
  const infer::Session session(b);
  const infer::Evaluation r =
      infer::evaluate(session, infer::standardized(b, four, "four"), "four");
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.non_finite_rows, 0);
  EXPECT_EQ(r.confusion.total(), 10);
  EXPECT_DOUBLE_EQ(r.top5, 1.0);

  auto five = std::make_shared<data::TensorDataset>(x, y, 5);
  EXPECT_THROW_WITH(infer::evaluate(infer::Session(infer::load_onnx_bundle(s.onnx)), five, "five"),
                    s.onnx, "predicts 4 classes", "five has 5");
  auto none = std::make_shared<data::TensorDataset>(Tensor::zeros({0, 3, 16, 16}),
                                                    Tensor::zeros({0}, DType::i64), 4);
  EXPECT_THROW_WITH(infer::evaluate(session, none, "none"), "none", "no examples");
  auto small = std::make_shared<data::TensorDataset>(Tensor::zeros({2, 3, 12, 12}),
                                                     Tensor::zeros({2}, DType::i64), 4);
  EXPECT_THROW_WITH(infer::standardized(b, small, "small"), "small", "[3,12,12]", "16x16");

  // A diverged model: NaN in the classifier's bias makes every output NaN.
  for (auto& [name, p] : b.module->named_parameters())
    if (name.find("bias") != std::string::npos)
      for (int64_t i = 0; i < p.numel(); ++i)
        p.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
  const infer::Session diverged(b);
  const infer::Evaluation nan = infer::evaluate(diverged, four, "four");
  EXPECT_EQ(nan.non_finite_rows, 10);
  EXPECT_DOUBLE_EQ(nan.top1, 0.0);
  EXPECT_DOUBLE_EQ(nan.top5, 0.0);
  EXPECT_DOUBLE_EQ(nan.confusion.accuracy(), 0.0);
  const auto top = diverged.classify(x, 3);
  for (const auto& row : top) EXPECT_TRUE(row.empty());
}

}  // namespace
}  // namespace convkit
