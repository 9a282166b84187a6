// ONNX export: convkit models traced by save_onnx, checked two ways against convkit's own
// forward: re-imported by load_onnx (no Python needed), and run by OpenCV's DNN module after
// onnx.checker (tests/onnx/run_opencv.py; skipped without python3-opencv/onnx), within 1e-4.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "convkit/convkit.h"
#include "convkit/io/onnx.h"
#include "convkit/nn/init.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/python_oracle.h"
#include "support/test_budget.h"

namespace convkit {
namespace {

using test::rel_error;
namespace fs = std::filesystem;

constexpr double kTol = 1e-4;

// Batch norm with statistics and affine parameters away from their initial values, so that
// eval mode has something to get wrong.
void randomize_batch_norms(nn::Module& m, uint64_t seed) {
  Generator gen(seed);
  NoGradGuard no_grad;
  for (auto& [name, mod] : m.named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(mod)) {
      if (bn->weight.defined())
        bn->weight.copy_(Tensor::uniform(bn->weight.shape(), 0.5, 1.5, &gen));
      if (bn->bias.defined()) bn->bias.copy_(Tensor::randn(bn->bias.shape(), &gen) * 0.1);
      bn->running_mean.copy_(Tensor::randn(bn->running_mean.shape(), &gen) * 0.1);
      bn->running_var.copy_(Tensor::uniform(bn->running_var.shape(), 0.5, 1.5, &gen));
    }
}

Tensor eval_forward(nn::Module& m, const Tensor& x) {
  NoGradGuard no_grad;
  m.eval();
  return m(x);
}

// OpenCV DNN's outputs for each (onnx file, input) pair, from one Python run; empty with `why`
// set when Python lacks a module.
std::vector<Tensor> run_opencv(const std::vector<std::pair<std::string, Tensor>>& runs,
                               std::string* why) {
  if (!test::python_has("cv2, onnx, numpy", why)) return {};
  std::string args = std::string(CONVKIT_TESTS_DIR) + "/onnx/run_opencv.py";
  for (const auto& [path, x] : runs) {
    io::save_safetensors(path + ".in.safetensors", {{"input", x}});
    args += " " + path + " " + path + ".in.safetensors " + path + ".cv.safetensors";
  }
  std::string log;
  const int rc = test::run_python(args, &log);
  CONVKIT_CHECK(rc == 0, "run_opencv.py failed (exit ", rc, "):\n", log);
  std::vector<Tensor> outs;
  for (const auto& [path, x] : runs)
    outs.push_back(io::load_safetensors(path + ".cv.safetensors").tensors.at("output"));
  return outs;
}

// Every op with an export rule that OpenCV 4.6 also runs, in one hand-written block.
class ManyOps : public nn::Module {
 public:
  ManyOps() : Module("ManyOps") {
    conv1 = register_module(
        "conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(3, 8, 3).stride(2).same()));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(8));
    dw = register_module("dw", std::make_shared<nn::Conv2d>(
                                   nn::Conv2dOptions(8, 8, 3).padding(2).dilation(2).groups(8)));
    fc = register_module("fc", std::make_shared<nn::Linear>(16 * 2 * 2, 5));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = relu((*bn1)((*conv1)(x)));
    Tensor a = relu6((*dw)(h));
    Tensor b = leaky_relu(h, 0.1) * sigmoid(h) + elu(h, 0.5) * tanh(h);
    h = concat({a, b * 0.5 + 0.25}, 1);
    h = max_pool2d(h, Pool2dParams(3, 2).set_padding(1).set_ceil_mode(true));
    h = pad2d(h, 1, 0, 0, 1);
    h = avg_pool2d(h, Pool2dParams(3, 1).set_padding(1).set_count_include_pad(false));
    h = local_response_norm(h, 3, 1e-2, 0.75, 2.0);
    h = upsample_nearest2d(h, 2, 2);
    h = adaptive_avg_pool2d(h, 2, 2);
    h = softmax(h, 1) - h;
    return log_softmax((*fc)(h.flatten(1)), 1);
  }
  std::shared_ptr<nn::Conv2d> conv1, dw;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::Linear> fc;
};

// Ops OpenCV 4.6 does not run (or runs differently), checked by re-import only.
class ShapeOps : public nn::Module {
 public:
  ShapeOps() : Module("ShapeOps") { w = register_parameter("w", Tensor::randn({6, 4})); }
  Tensor forward(const Tensor& x) override {  // x [N, 2, 3, 6]
    Tensor h = transpose(x, 2, 3);            // [N, 2, 6, 3]
    h = permute(h, {0, 2, 1, 3});             // [N, 6, 2, 3]
    h = narrow(h, 1, 1, 4) / narrow(pow(abs(h.slice(0, h.size(0))), 1.5) + 1.0, 1, 0, 4);
    h = sqrt(exp(h) + 1.0) - log(h * h + 1.0);
    h = sum(h, {2}, /*keepdim=*/false);                  // [N, 4, 3]
    h = matmul(transpose(h, 1, 2), narrow(w, 0, 0, 4));  // [N, 3, 4]
    h = pad2d(h, 1, 1, 0, 0, PadMode::reflect) + pad2d(h, 0, 2, 0, 0, PadMode::replicate);
    return h.reshape({h.size(0), 2, -1}).clone();
  }
  Tensor w;
};

TEST(OnnxExport, RegistryModelsRoundTrip) {
  for (const std::string name : {"lenet5", "lenet5-modern", "small-cnn", "resnet20"}) {
    SCOPED_TRACE(name);
    auto model = models::create_model(name, {1, 10, 28});
    randomize_batch_norms(*model, 7);
    const Tensor x = Tensor::randn({2, 1, 28, 28});
    const Tensor expected = eval_forward(*model, x);
    auto back = io::load_onnx_bytes(io::onnx_bytes(*model, {1, 1, 28, 28}), name);
    // Same names and values: a torchvision-style state dict moves through ONNX unchanged.
    const auto mine = model->state_dict(), theirs = back->state_dict();
    ASSERT_EQ(mine.size(), theirs.size());
    for (const auto& [key, t] : mine) {
      ASSERT_TRUE(theirs.count(key)) << key;
      if (is_floating(t.dtype())) {
        EXPECT_EQ(test::max_abs_diff(t, theirs.at(key)), 0) << key;
      }
    }
    // Exported with batch 1, run with batch 2: the batch dimension stays free.
    EXPECT_LE(rel_error(eval_forward(*back, x), expected), 1e-5);
  }
}

TEST(OnnxExport, HandWrittenBlocksRoundTrip) {
  ManyOps many;
  randomize_batch_norms(many, 3);
  Tensor x = Tensor::randn({2, 3, 15, 15});
  auto back = io::load_onnx_bytes(io::onnx_bytes(many, {1, 3, 15, 15}), "ManyOps");
  EXPECT_LE(rel_error(eval_forward(*back, x), eval_forward(many, x)), 1e-5);

  ShapeOps shape_ops;
  x = Tensor::randn({3, 2, 3, 6});
  back = io::load_onnx_bytes(io::onnx_bytes(shape_ops, {3, 2, 3, 6}), "ShapeOps");
  EXPECT_LE(rel_error(eval_forward(*back, x), eval_forward(shape_ops, x)), 1e-5);
  // The parameter used through narrow() is still one named initializer.
  EXPECT_TRUE(back->state_dict().count("w"));
}

TEST(OnnxExport, EveryOpset) {
  ManyOps many;
  randomize_batch_norms(many, 5);
  ShapeOps shape_ops;
  for (int opset : {9, 10, 11, 12, 17}) {
    SCOPED_TRACE(opset);
    io::OnnxExportOptions options;
    options.opset = opset;
    Tensor x = Tensor::randn({3, 2, 3, 6});
    auto back = io::load_onnx_bytes(io::onnx_bytes(shape_ops, {3, 2, 3, 6}, options));
    EXPECT_EQ(back->opset(), opset);
    EXPECT_LE(rel_error(eval_forward(*back, x), eval_forward(shape_ops, x)), 1e-5);
    if (opset < 10) {  // MaxPool's ceil_mode arrived in opset 10
      EXPECT_THROW_WITH(io::onnx_bytes(many, {2, 3, 15, 15}, options), "ceil-mode", "opset 10");
      continue;
    }
    x = Tensor::randn({2, 3, 15, 15});
    back = io::load_onnx_bytes(io::onnx_bytes(many, {2, 3, 15, 15}, options));
    EXPECT_LE(rel_error(eval_forward(*back, x), eval_forward(many, x)), 1e-5);
  }
}

TEST(OnnxExport, RestoresTrainingModeAndWritesMetadata) {
  auto model = models::create_model("lenet5-modern", {1, 10, 28});
  model->train();
  const std::string path = test::onnx_work_dir() + "/export_meta.onnx";
  io::OnnxExportOptions options;
  options.metadata["classes"] = "a,b";
  io::save_onnx(*model, {1, 1, 28, 28}, path, options);
  EXPECT_TRUE(model->is_training());
  auto back = io::load_onnx(path);
  EXPECT_EQ(back->metadata().at("classes"), "a,b");
  EXPECT_EQ(back->input_names(), std::vector<std::string>{"input"});
  EXPECT_EQ(back->input_shape("input"), (std::vector<int64_t>{-1, 1, 28, 28}));
  EXPECT_EQ(back->producer(), "convkit 0.1.0");
}

TEST(OnnxExport, ErrorsNameTheProblem) {
  struct Lossy : nn::Module {
    Lossy() : Module("Lossy") {}
    Tensor forward(const Tensor& x) override {
      return smooth_l1_loss(x, Tensor::zeros(x.shape()), 1.0, Reduction::none);
    }
  } lossy;
  EXPECT_THROW_WITH(io::onnx_bytes(lossy, {1, 4}), "smooth_l1_loss", "has no ONNX export rule",
                    "exportable ops:", "conv2d");
  struct EvenLrn : nn::Module {
    EvenLrn() : Module("EvenLrn") {}
    Tensor forward(const Tensor& x) override { return local_response_norm(x, 4); }
  } even;
  EXPECT_THROW_WITH(io::onnx_bytes(even, {1, 6, 3, 3}), "local_response_norm of even size 4");
  struct Adaptive : nn::Module {
    Adaptive() : Module("Adaptive") {}
    Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, 3, 3); }
  } adaptive;
  EXPECT_THROW_WITH(io::onnx_bytes(adaptive, {1, 2, 7, 7}), "adaptive_avg_pool2d", "[1,2,7,7]",
                    "unequal bins");
  auto lenet = models::create_model("lenet5", {1, 10, 28});
  io::OnnxExportOptions old;
  old.opset = 8;
  EXPECT_THROW_WITH(io::onnx_bytes(*lenet, {1, 1, 28, 28}, old), "opset 8", "9 to 17");
  EXPECT_THROW_WITH(io::save_onnx(*lenet, {1, 1, 28, 28}, "/nonexistent-dir/x.onnx"),
                    "/nonexistent-dir/x.onnx.tmp");
}

// OpenCV's DNN module, an ONNX runtime written independently of convkit, agrees.
TEST(OnnxExport, RunsInOpenCvDnn) {
  std::string why;
  struct Entry {
    std::string name;
    std::shared_ptr<nn::Module> model;
    Shape input;
    int opset;
  };
  std::vector<Entry> entries;
  for (const std::string name : {"lenet5", "lenet5-modern", "small-cnn", "resnet20"})
    entries.push_back({name, models::create_model(name, {1, 10, 28}), {2, 1, 28, 28}, 13});
  // OpenCV 4.6 reads ReLU6's Clip only in the opset <= 10 form.
  entries.push_back({"many_ops", std::make_shared<ManyOps>(), {2, 3, 15, 15}, 10});
  std::vector<std::pair<std::string, Tensor>> runs;
  for (Entry& e : entries) {
    randomize_batch_norms(*e.model, 11);
    const std::string path = test::onnx_work_dir() + "/export_" + e.name + ".onnx";
    io::OnnxExportOptions options;
    options.opset = e.opset;
    io::save_onnx(*e.model, {1, e.input[1], e.input[2], e.input[3]}, path, options);
    runs.emplace_back(path, Tensor::randn(e.input));
  }
  const std::vector<Tensor> cv = run_opencv(runs, &why);
  if (cv.empty()) GTEST_SKIP() << why;
  for (size_t i = 0; i < entries.size(); ++i)
    EXPECT_LE(rel_error(cv[i], eval_forward(*entries[i].model, runs[i].second)), kTol)
        << entries[i].name;
}

// Every registered model, exported and run by OpenCV DNN against convkit's own forward, on one
// image at its smallest input size (AlexNet: 224, where its adaptive pool has equal bins). Models
// over 1M parameters run with oneDNN in optimized builds only; the VGGs (128M+ parameters, 500 MB
// files, all in their dense head) are covered by their GAP variants, whose convolutions are theirs.
TEST(OnnxExport, ZooModelsRunInOpenCvDnn) {
  std::string why;
  if (!test::python_has("cv2, onnx, numpy", &why)) GTEST_SKIP() << why;
  const std::map<std::string, int64_t> size_for = {{"alexnet", 224}};
  std::vector<std::pair<std::string, Tensor>> runs;
  std::vector<std::pair<std::string, Tensor>> expected;  // name, convkit's output
  for (const models::ModelEntry& e : models::list_models()) {
    const int64_t channels = e.name.rfind("lenet", 0) == 0 ? 1 : 3;
    const int64_t size = size_for.count(e.name) ? size_for.at(e.name)
                         : e.min_input_size     ? std::max<int64_t>(e.min_input_size, 32)
                                                : e.input_size;
    int64_t params;
    {
      nn::init::SkipInitGuard skip_init;
      params = e.make({channels, 10, size})->num_parameters();
    }
    if (params > 100'000'000 || (params > 1'000'000 && !test::large_models_run_here())) continue;
    auto model = e.make({channels, 10, size});
    randomize_batch_norms(*model, 13);
    // Per process: ctest runs the dnnl and ref passes at once, and this test deletes its files.
    const std::string path =
        test::onnx_work_dir() + "/zoo_" + std::to_string(::getpid()) + "_" + e.name + ".onnx";
    io::OnnxExportOptions options;
    options.opset = 10;  // OpenCV 4.6 reads ReLU6's Clip only in this form
    io::save_onnx(*model, {1, channels, size, size}, path, options);
    runs.emplace_back(path, Tensor::randn({1, channels, size, size}));
    expected.emplace_back(e.name, eval_forward(*model, runs.back().second));
  }
  // LeNets, the small CNN, ResNet-20..56; and where large models run, all but the 8 VGGs.
  ASSERT_GE(runs.size(), test::large_models_run_here() ? 25u : 7u);
  const std::vector<Tensor> cv = run_opencv(runs, &why);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_LE(rel_error(cv[i], expected[i].second), kTol) << expected[i].first;
    for (const std::string& f :
         {runs[i].first, runs[i].first + ".in.safetensors", runs[i].first + ".cv.safetensors"})
      fs::remove(f);  // up to 240 MB each
  }
}

// A module that resizes bilinearly, exported as ONNX Resize (linear).
class Bilinear : public nn::Module {
 public:
  explicit Bilinear(UpsampleBilinear2dParams p) : Module("Bilinear"), p(p) {}
  Tensor forward(const Tensor& x) override { return upsample_bilinear2d(relu(x) - x * 0.5, p); }
  UpsampleBilinear2dParams p;
};

// Both align_corners modes, by an integer factor (written as scales: the batch stays free, run with
// batch 2) and by other ratios (written as sizes: run at the traced batch), checked by OpenCV DNN;
// opset 10 has no coordinate transform to express them.
TEST(OnnxExport, BilinearResizeRunsInOpenCvDnn) {
  struct Case {
    UpsampleBilinear2dParams p;
    int64_t batch;
  };
  const std::vector<Case> cases = {{{10, 14, false}, 2}, {{10, 14, true}, 2}, {{8, 11, false}, 1},
                                   {{8, 11, true}, 1},   {{3, 4, false}, 1},  {{3, 4, true}, 1}};
  std::vector<std::pair<std::string, Tensor>> runs;
  std::vector<Tensor> expected;
  for (size_t i = 0; i < cases.size(); ++i) {
    Bilinear m(cases[i].p);
    const std::string path = test::onnx_work_dir() + "/export_bilinear" + std::to_string(i) + "_" +
                             std::to_string(::getpid()) + ".onnx";
    io::OnnxExportOptions options;
    options.opset = 11;
    io::save_onnx(m, {1, 2, 5, 7}, path, options);
    runs.emplace_back(path, Tensor::randn({cases[i].batch, 2, 5, 7}));
    expected.push_back(eval_forward(m, runs.back().second));
  }
  Bilinear m({10, 14, false});
  io::OnnxExportOptions opset10;
  opset10.opset = 10;
  EXPECT_THROW_WITH(io::onnx_bytes(m, {1, 2, 5, 7}, opset10), "upsample_bilinear2d", "opset 11");
  std::string why;
  const std::vector<Tensor> cv = run_opencv(runs, &why);
  if (cv.empty()) GTEST_SKIP() << why;
  for (size_t i = 0; i < runs.size(); ++i)
    EXPECT_LE(rel_error(cv[i], expected[i]), kTol)
        << "case " << i << " align_corners " << cases[i].p.align_corners;
}

}  // namespace
}  // namespace convkit
