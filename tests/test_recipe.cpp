// Augmentation recipes (JSON and flags) and the Augmented dataset.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "convkit/data/augment.h"
#include "convkit/data/augmented.h"
#include "convkit/data/recipe.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::data;

namespace {
// n examples [C, 6, 8] with intensities k/255 (exact in 8 bits), labels cycling over 2 classes.
DatasetPtr image_set(int64_t n, int64_t channels, uint64_t seed = 0) {
  Generator g(seed);
  std::vector<float> v(size_t(n * channels * 48));
  for (float& x : v) x = float(g.next_u64() % 256) / 255.f;
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % 2;
  return std::make_shared<TensorDataset>(Tensor::from_vector<float>(v, {n, channels, 6, 8}),
                                         Tensor::from_vector<int64_t>(labels, {n}));
}

std::vector<float> row_of(const Batch& b, int64_t k) {
  const int64_t per = b.inputs.numel() / b.inputs.size(0);
  const float* p = b.inputs.data<float>() + k * per;
  return std::vector<float>(p, p + per);
}

const RecipeContext kNoData;
}  // namespace

TEST(Recipe, ParsesEveryTransformAndDescribesIt) {
  const std::string text = R"({"transforms": [
    {"type": "random_crop", "padding": 4, "fill": "reflect"},
    {"type": "horizontal_flip"},
    {"type": "random_apply", "p": 0.8, "transforms": [
      {"type": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.2}]},
    {"type": "random_affine", "rotation": 10, "shift": 0.1, "zoom": 0.1, "fill": "constant", "fill_value": 128},
    {"type": "affine", "shift": [1, -2]},
    {"type": "random_resized_crop", "size": [24, 32], "scale": [0.5, 1]},
    {"type": "scale_jitter", "min_side": 40, "max_side": 48, "size": 32},
    {"type": "channel_shift", "range": 10},
    {"type": "pca_lighting", "std": 0.1, "eigenvalues": [0.2, 0.02, 0.005],
     "eigenvectors": [[0.58, 0.58, 0.58], [0.7, 0, -0.7], [0.4, -0.8, 0.4]]},
    {"type": "random_erasing", "p": 0.25, "value": "random"},
    {"type": "cutout", "size": 8},
    {"type": "vertical_flip", "p": 0.1},
    {"type": "resize", "size": 30},
    {"type": "center_crop", "size": 28}]})";
  TransformPtr t = parse_recipe(text, kNoData);
  const std::string d = t->describe();
  for (const char* part :
       {"random_crop(size=input, padding=4, fill=reflect)", "horizontal_flip(p=0.5)",
        "random_apply(p=0.8, compose(color_jitter(brightness=0.4, contrast=0.4, saturation=0.2)))",
        "width_shift=0.1, height_shift=0.1", "fill=constant, fill_value=128", "shift=[1, -2]",
        "random_resized_crop(size=24x32, scale=[0.5, 1]",
        "scale_jitter(min_side=40, max_side=48, size=32x32)", "channel_shift(range=10)",
        "pca_lighting(std=0.1, eigenvalues=[0.2, 0.02, 0.005])", "value=random", "cutout(size=8",
        "vertical_flip(p=0.1)", "resize(size=30x30)", "center_crop(size=28x28)"})
    EXPECT_NE(d.find(part), std::string::npos) << "missing " << part << " in " << d;
  Generator g(0);
  cv::Mat out = t->apply(cv::Mat(40, 50, CV_8UC3, cv::Scalar(10, 20, 30)), g);
  EXPECT_EQ(out.size(), cv::Size(28, 28));
  // A bare list is a recipe too.
  EXPECT_EQ(parse_recipe(R"([{"type": "horizontal_flip", "p": 1}])", kNoData)->describe(),
            "compose(horizontal_flip(p=1))");
}

TEST(Recipe, ErrorsNameTheRecipeTheTransformAndTheKey) {
  EXPECT_THROW_WITH(
      parse_recipe(R"([{"type": "horizontal_flip"}, {"type": "random_crop", "paddin": 4}])",
                   kNoData, "aug.json"),
      "recipe aug.json: transform 1 (random_crop): unknown key 'paddin'",
      "known: size, padding, fill");
  EXPECT_THROW_WITH(parse_recipe(R"([{"type": "rotate"}])", kNoData), "transform 0",
                    "unknown type 'rotate'", "random_affine");
  EXPECT_THROW_WITH(parse_recipe(R"([{"p": 1}])", kNoData), "transform 0", "needs a \"type\"");
  EXPECT_THROW_WITH(parse_recipe(R"([{"type": "random_crop", "padding": "4"}])", kNoData),
                    "transform 0 (random_crop): 'padding' must be an integer, got \"4\"");
  EXPECT_THROW_WITH(parse_recipe(R"([{"type": "random_crop", "padding": -1}])", kNoData),
                    "transform 0 (random_crop): random_crop: padding must be non-negative, got -1");
  EXPECT_THROW_WITH(parse_recipe(R"([{"type": "random_affine", "fill": "mirror"}])", kNoData),
                    "transform 0 (random_affine)", "fill mode 'mirror'");
  EXPECT_THROW_WITH(
      parse_recipe(R"([{"type": "random_apply", "transforms": [{"type": "cutout"}]}])", kNoData),
      "transform 0 (random_apply): transform 0 (cutout): needs 'size'");
  EXPECT_THROW_WITH(parse_recipe(R"([{"type": "pca_lighting"}])", kNoData), "(pca_lighting)",
                    "no training images", "'eigenvalues'");
  EXPECT_THROW_WITH(parse_recipe(R"({"transform": []})", kNoData),
                    "unknown top-level key 'transform'");
  EXPECT_THROW_WITH(parse_recipe("[{", kNoData, "bad.json"), "recipe bad.json: not valid JSON");
  EXPECT_THROW_WITH(load_recipe("/nonexistent/aug.json", kNoData), "/nonexistent/aug.json",
                    "cannot open");
}

TEST(Recipe, PcaLightingComputesItsComponentsFromTheTrainingImages) {
  int calls = 0;
  RecipeContext ctx{[&] {
    ++calls;
    std::vector<cv::Mat> v;
    for (int k = 0; k < 4; ++k)
      v.push_back(cv::Mat(4, 4, CV_8UC3, cv::Scalar(50 * k, 40 * k, 10 * k)));
    return v;
  }};
  EXPECT_EQ(calls, 0);
  TransformPtr t = parse_recipe(R"([{"type": "pca_lighting", "std": 0.2}])", ctx);
  EXPECT_EQ(calls, 1);
  EXPECT_NE(t->describe().find("std=0.2"), std::string::npos);
}

TEST(Recipe, FlagsBecomeARecipeInAFixedOrder) {
  AugmentFlags f;
  EXPECT_EQ(build_augmentation(f, kNoData), nullptr);
  f.hflip = true;
  f.pad = 2;
  f.fill = "wrap";
  f.erase = 0.5;
  f.color_jitter = {0.3};
  f.rotate = 15;
  EXPECT_EQ(
      build_augmentation(f, kNoData)->describe(),
      "compose(random_crop(size=input, padding=2, fill=wrap), horizontal_flip(p=0.5), "
      "random_affine(rotation=15, width_shift=0, height_shift=0, shear=0, zoom=0, fill=wrap), "
      "color_jitter(brightness=0.3, contrast=0.3, saturation=0.3), "
      "random_erasing(p=0.5, scale=[0.02, 0.33], ratio=[0.3, 3.3], value=0))");
  AugmentFlags s;
  s.scale_jitter = {40, 48};
  s.crop = 32;
  EXPECT_EQ(build_augmentation(s, kNoData)->describe(),
            "compose(scale_jitter(min_side=40, max_side=48, size=32x32))");
  f.recipe = "aug.json";
  EXPECT_THROW_WITH(build_augmentation(f, kNoData), "--augment aug.json cannot be combined");
  s.color_jitter = {0.1, 0.2};
  EXPECT_THROW_WITH(build_augmentation(s, kNoData), "--color-jitter takes B or B,C,S");
}

TEST(Recipe, LoadsAFile) {
  auto path = std::filesystem::temp_directory_path() / "convkit_test_recipe.json";
  std::ofstream(path) << R"({"transforms": [{"type": "vertical_flip", "p": 1}]})";
  AugmentFlags f;
  f.recipe = path.string();
  EXPECT_EQ(build_augmentation(f, kNoData)->describe(), "compose(vertical_flip(p=1))");
  std::filesystem::remove(path);
}

TEST(Augmented, ImagesAndTensorsConvertExactly) {
  auto ds = image_set(3, 3);
  Batch b = ds->get_batch({0, 1, 2});
  std::vector<float> back(size_t(3 * 48));
  cv::Mat img = chw_to_image(b.inputs.data<float>() + 48 * 3, 3, 6, 8);
  ASSERT_EQ(img.type(), CV_8UC3);
  // Channel 1 of pixel (y=2, x=5) of example 1.
  EXPECT_EQ(img.at<cv::Vec3b>(2, 5)[1], std::lround(255 * b.inputs.at({1, 1, 2, 5})));
  image_to_chw(img, back.data());
  EXPECT_EQ(back, row_of(b, 1));
}

TEST(Augmented, EachExampleDependsOnlyOnTheEpochSeedAndItsIndex) {
  for (int64_t channels : {1, 3}) {
    auto base = image_set(10, channels);
    auto aug =
        std::make_shared<Augmented>(base, compose({random_crop({.padding = 2}), horizontal_flip(),
                                                   color_jitter({.brightness = 0.3})}));
    Batch a = aug->get_epoch_batch({4, 7, 2}, 99);
    Batch b = aug->get_epoch_batch({2}, 99);
    EXPECT_EQ(row_of(a, 2), row_of(b, 0));  // same example, another batch: same augmentation
    EXPECT_NE(row_of(a, 0), row_of(aug->get_epoch_batch({4}, 100), 0));  // next epoch differs
    EXPECT_NE(row_of(a, 0), row_of(base->get_batch({4}), 0));
    EXPECT_EQ(row_of(aug->get_batch({4}), 0), row_of(base->get_batch({4}), 0));  // no seed: as is
    EXPECT_EQ(a.labels.at({1}), 1);
  }
}

TEST(Augmented, RejectsTransformsThatChangeTheShape) {
  auto aug = std::make_shared<Augmented>(image_set(2, 1), resize(3, 3));
  EXPECT_THROW_WITH(aug->get_epoch_batch({1}, 0), "Augmented", "example 1 a 3x3 image", "[1,6,8]",
                    "resize(size=3x3)");
  EXPECT_THROW_WITH(Augmented(image_set(2, 1), nullptr), "Augmented: no transform");
  auto flat =
      std::make_shared<TensorDataset>(Tensor::zeros({2, 5}), Tensor::zeros({2}, DType::i64));
  EXPECT_THROW_WITH(Augmented(flat, horizontal_flip()), "Augmented", "[C, H, W]", "[5]");
}

TEST(Augmented, SampleImagesSpreadOverTheDataset) {
  auto ds = image_set(10, 3);
  std::vector<cv::Mat> s = sample_images(*ds, 4);
  ASSERT_EQ(s.size(), 4u);
  std::vector<float> back(48 * 3);
  image_to_chw(s[3], back.data());
  EXPECT_EQ(back, row_of(ds->get_batch({7}), 0));  // indices 0, 2, 5, 7
}

TEST(Recipe, TheExampleRecipesParseAndRun) {
  // tests/golden/data -> the repository root.
  const auto root =
      std::filesystem::path(CONVKIT_GOLDEN_DIR).parent_path().parent_path().parent_path();
  RecipeContext ctx{
      [] { return std::vector<cv::Mat>{cv::Mat(8, 8, CV_8UC3, cv::Scalar(10, 200, 90))}; }};
  const std::pair<const char*, cv::Mat> cases[] = {
      {"fashion_mnist.json", cv::Mat(28, 28, CV_8UC1, cv::Scalar(128))},
      {"cifar.json", cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3))},
      {"keras_geometry.json", cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3))},
      {"imagenet.json", cv::Mat(300, 400, CV_8UC3, cv::Scalar(1, 2, 3))},
      {"vgg_multiscale.json", cv::Mat(300, 400, CV_8UC3, cv::Scalar(1, 2, 3))}};
  for (const auto& [name, image] : cases) {
    SCOPED_TRACE(name);
    TransformPtr t = load_recipe((root / "examples/recipes" / name).string(), ctx);
    Generator g(0);
    cv::Mat out = t->apply(image, g);
    const int expected = image.rows > 100 ? 224 : image.rows;
    EXPECT_EQ(out.size(), cv::Size(expected, expected));
    EXPECT_EQ(out.type(), image.type());
  }
}
