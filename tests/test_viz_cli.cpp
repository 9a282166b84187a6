// End-to-end runs of the visualization commands (cam, features, filters) on a tiny shapes set and
// a small-cnn checkpoint: the files they write, the JSON numbers, and every bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "convkit/backend.h"
#include "convkit/models/registry.h"
#include "convkit/random.h"
#include "convkit/train/checkpoint.h"
#include "support/cli_run.h"
#include "support/image_files.h"

namespace fs = std::filesystem;
using convkit::test::TempDir;

namespace {
using convkit::test::has;
using convkit::test::run;
nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

#define ONCE()                                      \
  if (convkit::backend() != convkit::Backend::dnnl) \
  GTEST_SKIP() << "runs once, on the default backend"

// Two 16x16 shapes images and a small-cnn checkpoint for them (random weights).
struct VizRun {
  std::string img0, img1, weights;
};
VizRun make_run(const TempDir& t, bool nan_weights = false) {
  std::string out;
  EXPECT_EQ(run(t,
                "make-shapes --out " + t.path("shapes") +
                    " --count 2 --size 16 --classes circle,square --seed 2",
                out),
            0)
      << out;
  VizRun r{t.path("shapes/circle/circle_0.png"), t.path("shapes/square/square_1.png"),
           t.path("w.safetensors")};
  for (const auto& e : fs::recursive_directory_iterator(t.path("shapes")))
    if (e.path().extension() == ".png")
      (e.path().string().find("circle") != std::string::npos ? r.img0 : r.img1) = e.path();
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
  convkit::train::save_weights(r.weights, *model,
                               {{"model", "small-cnn"}, {"config", config.dump()}});
  return r;
}
}  // namespace

TEST(VizCli, CamWritesOverlaysAndJson) {
  ONCE();
  TempDir t;
  const VizRun r = make_run(t);
  std::string out;
  ASSERT_EQ(
      run(t, "cam " + r.weights + " " + r.img0 + " " + r.img1 + " --top-k 2 --out " + t.path("cam"),
          out),
      0)
      << out;
  const nlohmann::json j = read_json(t.path("cam/cam.json"));
  ASSERT_EQ(j["images"].size(), 2u) << j.dump();
  EXPECT_EQ(j["method"], "gradcam");
  for (const auto& im : j["images"]) {
    EXPECT_EQ(im["layer"], "4") << "small-cnn's default: the ReLU after its last conv";
    ASSERT_EQ(im["classes"].size(), 2u);
    for (const auto& c : im["classes"]) {
      EXPECT_TRUE(c["finite"].get<bool>());
      EXPECT_TRUE(fs::exists(c["png"].get<std::string>())) << c.dump();
      const auto peak = c["peak"]["input"];
      EXPECT_GE(peak[0].get<double>(), 0);
      EXPECT_LT(peak[0].get<double>(), 16);
      EXPECT_EQ(c["map_size"], nlohmann::json({8, 8}));
    }
    EXPECT_GE(im["classes"][0]["probability"].get<double>(),
              im["classes"][1]["probability"].get<double>());
  }
  // A chosen class, Grad-CAM++ on a named layer.
  ASSERT_EQ(run(t,
                "cam " + r.weights + " " + r.img0 + " --class 2 --method gradcam++ --layer 1 " +
                    "--out " + t.path("cam2"),
                out),
            0)
      << out;
  const nlohmann::json j2 = read_json(t.path("cam2/cam.json"));
  EXPECT_EQ(j2["images"][0]["classes"][0]["name"], "square");
  EXPECT_EQ(j2["images"][0]["layer"], "1");
  EXPECT_EQ(j2["images"][0]["classes"][0]["map_size"], nlohmann::json({16, 16}));
}

TEST(VizCli, CamBadInputsAreNamed) {
  ONCE();
  TempDir t;
  const VizRun r = make_run(t);
  std::string out;
  EXPECT_NE(run(t, "cam " + r.weights + " " + r.img0 + " --layer 3.x --out " + t.path("o"), out),
            0);
  EXPECT_TRUE(has(out, "no layer '3.x'")) << out;
  EXPECT_TRUE(has(out, "layers there: 0, 1, 2, 3, 4")) << out;
  EXPECT_NE(run(t, "cam " + r.weights + " " + r.img0 + " --class 3 --out " + t.path("o"), out), 0);
  EXPECT_TRUE(has(out, "class index 3 is out of range")) << out;
  EXPECT_TRUE(has(out, r.img0)) << out;
  EXPECT_NE(run(t, "cam " + r.weights + " " + r.img0 + " --layer 7 --out " + t.path("o"), out), 0);
  EXPECT_TRUE(has(out, "layer '7' produces [1,128], not a spatial map")) << out;
  // An image that does not decode: named, skipped, and the command fails at the end.
  convkit::test::write_bytes(t.path("bad.png"), "not a png");
  EXPECT_NE(
      run(t, "cam " + r.weights + " " + t.path("bad.png") + " " + r.img0 + " --out " + t.path("o"),
          out),
      0);
  EXPECT_TRUE(has(out, t.path("bad.png"))) << out;
  EXPECT_TRUE(has(out, "1 of 2 files could not be used")) << out;
  EXPECT_EQ(read_json(t.path("o/cam.json"))["images"].size(), 1u);
}

TEST(VizCli, CamNonFiniteMapsWarnAndWriteNoImage) {
  ONCE();
  TempDir t;
  const VizRun r = make_run(t, /*nan_weights=*/true);
  std::string out;
  EXPECT_EQ(run(t, "cam " + r.weights + " " + r.img0 + " --class 0 --out " + t.path("o"), out), 0)
      << out;
  EXPECT_TRUE(has(out, "are NaN or infinite; no image written")) << out;
  const nlohmann::json j = read_json(t.path("o/cam.json"));
  EXPECT_FALSE(j["images"][0]["classes"][0]["finite"].get<bool>());
  int pngs = 0;
  for (const auto& e : fs::directory_iterator(t.path("o"))) pngs += e.path().extension() == ".png";
  EXPECT_EQ(pngs, 0);
}

TEST(VizCli, FeaturesWritesGridsAndChannelNumbers) {
  ONCE();
  TempDir t;
  const VizRun r = make_run(t);
  std::string out;
  ASSERT_EQ(run(t,
                "features " + r.weights + " --layers 1,3 " + r.img0 + " --max-channels 16 " +
                    "--out " + t.path("f"),
                out),
            0)
      << out;
  const nlohmann::json j = read_json(t.path("f/features.json"));
  const auto& layers = j["images"][0]["layers"];
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0]["layer"], "1");
  EXPECT_EQ(layers[0]["shape"], nlohmann::json({32, 16, 16}));
  EXPECT_EQ(layers[1]["shape"], nlohmann::json({64, 8, 8}));
  ASSERT_EQ(layers[0]["channels"].size(), 32u);
  for (const auto& c : layers[0]["channels"]) {  // after a ReLU
    EXPECT_GE(c["min"].get<double>(), 0.0);
    EXPECT_LE(c["mean"].get<double>(), c["max"].get<double>());
  }
  EXPECT_TRUE(fs::exists(layers[1]["png"].get<std::string>()));
  EXPECT_NE(
      run(t, "features " + r.weights + " --layers 1,nope " + r.img0 + " --out " + t.path("f"), out),
      0);
  EXPECT_TRUE(has(out, "no layer 'nope'")) << out;
  EXPECT_NE(
      run(t, "features " + r.weights + " --layers 7 " + r.img0 + " --out " + t.path("f"), out), 0);
  EXPECT_TRUE(has(out, "layer '7' produces [1,128], not a spatial map")) << out;
}

TEST(VizCli, FiltersWritesWeightsAndAscentImages) {
  ONCE();
  TempDir t;
  const VizRun r = make_run(t);
  std::string out;
  ASSERT_EQ(run(t,
                "filters " + r.weights + " --layer 0 --filters 0-3,9 --steps 4 --octaves 2 " +
                    "--out " + t.path("f"),
                out),
            0)
      << out;
  const nlohmann::json j = read_json(t.path("f/filters.json"));
  EXPECT_TRUE(fs::exists(t.path("f/weights.png")));
  EXPECT_TRUE(fs::exists(t.path("f/filters.png")));
  ASSERT_EQ(j["filters"].size(), 5u);
  EXPECT_EQ(j["filters"][4]["filter"], 9);
  EXPECT_EQ(j["size"], 16);
  for (const auto& f : j["filters"])
    EXPECT_GT(f["final"].get<double>(), f["initial"].get<double>()) << f.dump();
  EXPECT_NE(run(t, "filters " + r.weights + " --layer 3 --filters 64 --out " + t.path("f"), out),
            0);
  EXPECT_TRUE(has(out, "filter 64 is out of range: layer '3'")) << out;
}

// The checkpoint exported to ONNX and imported: the same layers by the same names, the same
// numbers (cam, features, filters).
TEST(VizCli, OnnxGraphsAreSeenLikeTheirCheckpoint) {
  ONCE();
  TempDir t;
  const VizRun r = make_run(t);
  const std::string onnx = t.path("m.onnx");
  std::string out;
  ASSERT_EQ(run(t, "export " + r.weights + " --out " + onnx, out), 0) << out;
  for (const std::string& model : {r.weights, onnx}) {
    const std::string dir = t.path(model == onnx ? "onnx" : "ckpt");
    ASSERT_EQ(run(t, "cam " + model + " " + r.img0 + " " + r.img1 + " --top-k 2 --out " + dir, out),
              0)
        << out;
    ASSERT_EQ(run(t, "features " + model + " --layers 1,3 " + r.img0 + " --out " + dir, out), 0)
        << out;
    ASSERT_EQ(
        run(t, "filters " + model + " --layer 3 --filters 0-1 --steps 3 --octaves 1 --out " + dir,
            out),
        0)
        << out;
  }
  const auto near = [](const nlohmann::json& a, const nlohmann::json& b) {
    return std::abs(a.get<double>() - b.get<double>()) <=
           1e-4 * std::max(1.0, std::abs(a.get<double>()));
  };
  const nlohmann::json c0 = read_json(t.path("ckpt/cam.json")),
                       c1 = read_json(t.path("onnx/cam.json"));
  ASSERT_EQ(c1["images"].size(), 2u) << c1.dump();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(c1["images"][i]["layer"], "4") << "the default layer, named as in the checkpoint";
    for (size_t k = 0; k < 2; ++k) {
      const auto &a = c0["images"][i]["classes"][k], &b = c1["images"][i]["classes"][k];
      EXPECT_EQ(a["name"], b["name"]);
      EXPECT_TRUE(near(a["probability"], b["probability"])) << a.dump() << " vs " << b.dump();
      EXPECT_EQ(a["peak"]["input"], b["peak"]["input"]) << a.dump() << " vs " << b.dump();
    }
  }
  const nlohmann::json f0 = read_json(t.path("ckpt/features.json")),
                       f1 = read_json(t.path("onnx/features.json"));
  for (size_t l = 0; l < 2; ++l) {
    const auto &a = f0["images"][0]["layers"][l], &b = f1["images"][0]["layers"][l];
    EXPECT_EQ(a["layer"], b["layer"]);
    EXPECT_EQ(a["shape"], b["shape"]);
    ASSERT_EQ(a["channels"].size(), b["channels"].size());
    for (size_t c = 0; c < a["channels"].size(); ++c)
      EXPECT_TRUE(near(a["channels"][c]["mean"], b["channels"][c]["mean"])) << l << " " << c;
  }
  const nlohmann::json g0 = read_json(t.path("ckpt/filters.json")),
                       g1 = read_json(t.path("onnx/filters.json"));
  ASSERT_EQ(g1["filters"].size(), 2u);
  for (size_t k = 0; k < 2; ++k)
    EXPECT_TRUE(near(g0["filters"][k]["final"], g1["filters"][k]["final"])) << g1.dump();
  // A layer name the graph does not have is named with the ones it has.
  EXPECT_NE(run(t, "cam " + onnx + " " + r.img0 + " --layer 9 --out " + t.path("o"), out), 0);
  EXPECT_TRUE(has(out, "no layer '9'")) << out;
}
