// Grad-CAM, Grad-CAM++ and CAM (include/convkit/viz/gradcam.h): against a plain PyTorch reference
// on torchvision's ResNet-18 and VGG-16 with identical random weights
// (tests/golden/gen_gradcam.py), the CAM = Grad-CAM identity on a GAP + linear network, the
// model-randomization sanity check (Adebayo et al. 2018), and every bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "convkit/io/onnx.h"
#include "convkit/io/safetensors.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "convkit/nn/layers.h"
#include "convkit/random.h"
#include "convkit/viz/gradcam.h"
#include "convkit/viz/layer.h"
#include "convkit/viz/overlay.h"
#include "support/gradcheck.h"
#include "support/test_budget.h"
#include "support/viz_oracle.h"

namespace convkit {
namespace {

using test::large_models_run_here;

// conv(3->6) relu conv(6->8) relu | GAP | linear(8->5): the CAM setting.
struct GapNet : nn::Module {
  std::shared_ptr<nn::Sequential> features =
      register_module("features", std::make_shared<nn::Sequential>());
  std::shared_ptr<nn::GlobalAvgPool2d> pool =
      register_module("pool", std::make_shared<nn::GlobalAvgPool2d>());
  std::shared_ptr<nn::Linear> fc = register_module("fc", std::make_shared<nn::Linear>(8, 5));
  GapNet() : Module("GapNet") {
    features->add("0", std::make_shared<nn::Conv2d>(3, 6, 3, 1, 1));
    features->add("1", std::make_shared<nn::ReLU>());
    features->add("2", std::make_shared<nn::Conv2d>(6, 8, 3, 2, 1));
    features->add("3", std::make_shared<nn::ReLU>());
  }
  Tensor forward(const Tensor& x) override { return (*fc)((*pool)((*features)(x))); }
};

Tensor images(int64_t n = 2, int64_t hw = 12, uint64_t seed = 3) {
  Generator gen(seed);
  return Tensor::randn({n, 3, hw, hw}, &gen);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class GradCamTorchvision : public ::testing::TestWithParam<std::string> {};

TEST_P(GradCamTorchvision, MatchesPyTorchReferenceBeforeUpsampling) {
  const std::string name = GetParam();
  if (!large_models_run_here()) GTEST_SKIP() << name << " is too slow on this backend or build";
  std::string why;
  const std::string path =
      test::viz_reference("gen_gradcam.py", "gradcam", name, "torch, torchvision", &why);
  if (path.empty()) GTEST_SKIP() << why;
  const io::SafetensorsFile ref = io::load_safetensors(path);
  const Tensor x = ref.tensors.at("input");
  const Tensor logits = ref.tensors.at("logits");
  std::shared_ptr<nn::Module> model;
  {
    nn::init::SkipInitGuard skip_init;  // every value is overwritten below
    model = models::create_model(name, {x.size(1), logits.size(1), x.size(2)});
  }
  std::map<std::string, Tensor> state;
  for (const auto& [key, t] : ref.tensors)
    if (key.rfind("state.", 0) == 0) state[key.substr(6)] = t;
  model->load_state_dict(state, /*strict=*/true, name);
  model->eval();

  const int64_t cls = std::stoll(ref.metadata.at("cls"));
  std::vector<std::string> layers;
  {
    std::stringstream ss(ref.metadata.at("layers"));
    for (std::string l; std::getline(ss, l, ',');) layers.push_back(l);
  }
  EXPECT_EQ(viz::default_cam_layer(*model, x.slice(0, 1), name), layers[0]);
  for (size_t i = 0; i < layers.size(); ++i)
    for (const char* method : {"gradcam", "gradcam++"}) {
      viz::CamOptions o;
      o.method = viz::parse_cam_method(method);
      o.layer = layers[i];
      o.classes = {cls};
      const viz::CamResult r = viz::class_activation_maps(*model, x, o, name);
      ASSERT_EQ(r.maps.size(), static_cast<size_t>(x.size(0)));
      EXPECT_LE(test::max_abs_diff(r.logits, logits), 1e-3) << "logits";
      const Tensor expect = ref.tensors.at("map." + std::to_string(i) + "." + method);
      for (const viz::CamMap& m : r.maps) {
        ASSERT_TRUE(m.finite);
        const Tensor e = expect.select(m.image);
        ASSERT_EQ(m.map.shape(), e.shape()) << layers[i];
        EXPECT_GT(test::max_abs(e), 1e-3) << "a reference map of zeros tests nothing";
        EXPECT_LE(test::max_abs_diff(m.map, e), 1e-4)
            << name << " " << layers[i] << " " << method << " image " << m.image << " (map max "
            << test::max_abs(e) << ")";
      }
    }
}

// ResNet-18 exported by torch.onnx (batch norm folded into the convolutions) and imported:
// its layers are hooked by the module paths in the node names, and the default layer's maps
// match the PyTorch reference (a folded conv layer's own output would include its batch norm,
// so only the block outputs are compared).
TEST(GradCamOnnx, ImportedTorchvisionGraphMatchesPyTorchReference) {
  const std::string name = "resnet18";
  if (!large_models_run_here()) GTEST_SKIP() << name << " is too slow on this backend or build";
  std::string why;
  const std::string path =
      test::viz_reference("gen_gradcam.py", "gradcam", name, "torch, torchvision", &why);
  if (path.empty()) GTEST_SKIP() << why;
  const io::SafetensorsFile ref = io::load_safetensors(path);
  const Tensor x = ref.tensors.at("input");
  const std::string onnx_path = path.substr(0, path.size() - 12) + ".onnx";  // ".safetensors"
  const std::shared_ptr<io::OnnxModel> model = io::load_onnx(onnx_path);
  const std::string layer =
      ref.metadata.at("layers").substr(0, ref.metadata.at("layers").find(','));
  EXPECT_EQ(viz::default_cam_layer(*model, x.slice(0, 1), name), layer);
  for (const char* method : {"gradcam", "gradcam++"}) {
    viz::CamOptions o;
    o.method = viz::parse_cam_method(method);
    o.classes = {std::stoll(ref.metadata.at("cls"))};
    const viz::CamResult r = viz::class_activation_maps(*model, x, o, onnx_path);
    EXPECT_EQ(r.layer, layer);
    EXPECT_LE(test::max_abs_diff(r.logits, ref.tensors.at("logits")), 1e-3) << "logits";
    const Tensor expect = ref.tensors.at(std::string("map.0.") + method);
    ASSERT_EQ(r.maps.size(), static_cast<size_t>(x.size(0)));
    for (const viz::CamMap& m : r.maps) {
      const Tensor e = expect.select(m.image);
      ASSERT_EQ(m.map.shape(), e.shape());
      EXPECT_LE(test::max_abs_diff(m.map, e), 1e-4 * std::max(1.0, test::max_abs(e)))
          << name << " " << method << " image " << m.image;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, GradCamTorchvision, ::testing::Values("resnet18", "vgg16"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(GradCam, CamEqualsGradCamOnGapLinear) {
  manual_seed(11);
  GapNet net;
  net.eval();
  const Tensor x = images();
  viz::CamOptions o;
  o.top_k = 2;
  EXPECT_EQ(viz::default_cam_layer(net, x, "GapNet"), "features");
  const viz::CamResult grad = viz::class_activation_maps(net, x, o);
  o.method = viz::CamMethod::cam;
  const viz::CamResult cam = viz::class_activation_maps(net, x, o);
  ASSERT_EQ(grad.maps.size(), 4u);
  ASSERT_EQ(cam.maps.size(), 4u);
  double largest = 0;
  for (size_t i = 0; i < grad.maps.size(); ++i) {
    const Tensor& c = cam.maps[i].map;
    const double hw = static_cast<double>(c.numel());
    Tensor expect = Tensor::empty(c.shape());
    for (int64_t j = 0; j < c.numel(); ++j)
      expect.data<float>()[j] = static_cast<float>(std::max(c.data<float>()[j], 0.0f) / hw);
    largest = std::max(largest, test::max_abs(expect));
    EXPECT_LE(test::max_abs_diff(grad.maps[i].map, expect), 1e-6) << "map " << i;
    EXPECT_EQ(grad.maps[i].class_index, cam.maps[i].class_index);
  }
  EXPECT_GT(largest, 1e-4) << "maps of zeros test nothing";
  // No parameter received a gradient, and none stays frozen.
  for (const auto& [n, p] : net.named_parameters()) {
    EXPECT_FALSE(p.grad().defined()) << n;
    EXPECT_TRUE(p.requires_grad()) << n;
  }
}

TEST(GradCam, TopKFollowsTheLogits) {
  manual_seed(12);
  GapNet net;
  net.eval();
  viz::CamOptions o;
  o.top_k = 3;
  const viz::CamResult r = viz::class_activation_maps(net, images(), o);
  ASSERT_EQ(r.maps.size(), 6u);
  for (const viz::CamMap& m : r.maps)
    EXPECT_DOUBLE_EQ(m.score, r.logits.at({m.image, m.class_index}));
  for (int64_t n = 0; n < 2; ++n) {
    EXPECT_GE(r.maps[n * 3].score, r.maps[n * 3 + 1].score);
    EXPECT_GE(r.maps[n * 3 + 1].score, r.maps[n * 3 + 2].score);
  }
}

// Adebayo et al. 2018, "Sanity checks for saliency maps": a map that does not change when the
// classifier's weights are randomized explains nothing about the model.
TEST(GradCam, RandomizingTheTopLayerChangesTheMap) {
  manual_seed(13);
  GapNet net;
  net.eval();
  const Tensor x = images(1, 16);
  viz::CamOptions o;
  o.classes = {2};
  const Tensor before = viz::normalize_map(viz::class_activation_maps(net, x, o).maps[0].map, 8, 8);
  Generator gen(99);
  net.fc->weight.copy_(Tensor::randn(net.fc->weight.shape(), &gen));
  const Tensor after = viz::normalize_map(viz::class_activation_maps(net, x, o).maps[0].map, 8, 8);
  EXPECT_GT(test::max_abs_diff(before, after), 0.2);
}

TEST(GradCam, BadInputsAreNamed) {
  manual_seed(14);
  GapNet net;
  net.eval();
  const Tensor x = images();
  viz::CamOptions o;
  o.layer = "features.9";
  std::string msg = message_of([&] { viz::class_activation_maps(net, x, o, "GapNet"); });
  EXPECT_NE(msg.find("no layer 'features.9' in GapNet"), std::string::npos) << msg;
  EXPECT_NE(msg.find("features.0, features.1, features.2, features.3"), std::string::npos) << msg;

  o.layer = "fc";
  msg = message_of([&] { viz::class_activation_maps(net, x, o, "GapNet"); });
  EXPECT_NE(msg.find("layer 'fc' produces [2,5], not a spatial map"), std::string::npos) << msg;

  o.layer = "";
  o.classes = {5};
  msg = message_of([&] { viz::class_activation_maps(net, x, o, "GapNet"); });
  EXPECT_NE(msg.find("class index 5 is out of range: GapNet has 5 classes"), std::string::npos)
      << msg;

  o.classes = {};
  o.top_k = 0;
  msg = message_of([&] { viz::class_activation_maps(net, x, o, "GapNet"); });
  EXPECT_NE(msg.find("top_k must be at least 1"), std::string::npos) << msg;

  o.top_k = 1;
  o.method = viz::CamMethod::cam;
  o.layer = "features.0";  // 6 channels, the classifier takes 8
  msg = message_of([&] { viz::class_activation_maps(net, x, o, "GapNet"); });
  EXPECT_NE(msg.find("layer 'features.0' has 6 channels"), std::string::npos) << msg;

  EXPECT_NE(message_of([] { viz::parse_cam_method("gradcam+"); }).find("gradcam, gradcam++"),
            std::string::npos);
}

TEST(GradCam, NonFiniteGradientsAreFlaggedNotDrawn) {
  manual_seed(15);
  GapNet net;
  net.eval();
  // All-positive weights of 1e38 overflow the second conv's output to infinity.
  auto conv = std::dynamic_pointer_cast<nn::Conv2d>(net.features->child("2"));
  conv->weight.fill_(1e38);
  viz::CamOptions o;
  o.classes = {0};
  const viz::CamResult r = viz::class_activation_maps(net, images(), o);
  ASSERT_EQ(r.maps.size(), 2u);
  EXPECT_FALSE(r.maps[0].finite);
  EXPECT_FALSE(r.maps[1].finite);
  EXPECT_EQ(test::max_abs(r.maps[0].map), 0.0);
}

}  // namespace
}  // namespace convkit
