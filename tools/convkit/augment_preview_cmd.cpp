// convkit augment-preview: a PNG grid of augmented samples, one row per example (the original in
// the first column), to check a recipe by eye before training with it.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "augment_options.h"
#include "commands.h"
#include "convkit/data/augmented.h"
#include "convkit/data/idx.h"
#include "convkit/random.h"
#include "image_data.h"

namespace convkit::cli {

namespace {
struct PreviewArgs {
  std::string data = "fashion-mnist";
  std::string split = "train";
  int64_t count = 8;
  int64_t variants = 7;
  int scale = 0;  // 0: enlarge small images to about 96 pixels
  uint64_t seed = 0;
  std::string out = "augment_preview.png";
  data::AugmentFlags augment;
  ImageDataArgs images;
};

// Example rows [C, H, W] of `batch` -> 8-bit images, enlarged by `scale` (nearest neighbour, so
// pixels stay visible).
std::vector<cv::Mat> to_images(const data::Batch& batch, int scale) {
  const Shape s = batch.inputs.shape();
  std::vector<cv::Mat> out;
  for (int64_t k = 0; k < s[0]; ++k) {
    cv::Mat img =
        data::chw_to_image(batch.inputs.data<float>() + k * s[1] * s[2] * s[3], s[1], s[2], s[3]);
    cv::resize(img, img, {}, scale, scale, cv::INTER_NEAREST);
    out.push_back(img);
  }
  return out;
}

void run_preview(const PreviewArgs& a) {
  const std::string dir = a.data == "fashion-mnist" ? data::kFashionMnistDir : a.data;
  // An image set is augmented on the decoded image and then resized to --image-size, as training
  // does; IDX examples are augmented at their own size, which the transform must keep.
  std::shared_ptr<data::ImageDataset> images;
  data::DatasetPtr ds;
  if (is_image_data(dir)) {
    data::ImagePreprocessing prep;
    prep.image_size = a.images.image_size;
    prep.load_size = a.images.load_size;
    prep.color = a.images.grayscale ? data::ColorMode::gray : data::ColorMode::rgb;
    ds = images = open_image_data(dir, prep, a.images);
    std::printf("data: %s\n", describe_image_data(dir, *images).c_str());
  } else {
    ds = data::fashion_mnist(dir, a.split == "train");
    const Shape ex = ds->example_shape();
    CONVKIT_CHECK(a.augment.crop == 0 || (a.augment.crop == ex[1] && a.augment.crop == ex[2]),
                  "augment-preview: --crop ", a.augment.crop, " would change the size of ", dir,
                  "'s ", ex[1], "x", ex[2],
                  " IDX examples, and IDX examples keep their size (it is the model's input); "
                  "leave --crop out (or give ",
                  ex[1],
                  "), or preview an image folder or .csv list, whose crops are resized to "
                  "--image-size");
  }
  data::TransformPtr t = augmentation_for(a.augment, ds);
  CONVKIT_CHECK(t != nullptr,
                "augment-preview: no augmentation given (use --augment FILE.json or "
                "flags such as --hflip --pad 4)");
  std::printf("augmentation: %s\n", t->describe().c_str());
  data::DatasetPtr augmented_images = images ? images->with_transform(t) : nullptr;
  data::Augmented idx_aug(ds, t);
  const data::Dataset& aug =
      images ? *augmented_images : static_cast<const data::Dataset&>(idx_aug);

  Generator pick(a.seed);
  std::vector<int64_t> idx;
  const int64_t n = std::min(a.count, ds->size());
  while (int64_t(idx.size()) < n) {
    auto i = int64_t(pick.next_u64() % uint64_t(ds->size()));
    if (std::find(idx.begin(), idx.end(), i) == idx.end()) idx.push_back(i);
  }
  const Shape ex = ds->example_shape();
  const int scale = a.scale > 0 ? a.scale : std::max<int>(1, int(96 / std::max(ex[1], ex[2])));
  // columns[v][k]: example k in variant v (0 = the original).
  std::vector<std::vector<cv::Mat>> columns{to_images(aug.get_batch(idx), scale)};
  for (int64_t v = 0; v < a.variants; ++v)
    columns.push_back(to_images(aug.get_epoch_batch(idx, data::example_seed(a.seed, v)), scale));

  const int gap = 2, ch = int(ex[1]) * scale, cw = int(ex[2]) * scale;
  const int rows = int(n), cols = int(columns.size());
  cv::Mat grid(rows * (ch + gap) + gap, cols * (cw + gap) + gap, columns[0][0].type(),
               cv::Scalar::all(128));
  for (int c = 0; c < cols; ++c)
    for (int r = 0; r < rows; ++r)
      columns[c][r].copyTo(grid(cv::Rect(gap + c * (cw + gap), gap + r * (ch + gap), cw, ch)));
  if (grid.channels() == 3) cv::cvtColor(grid, grid, cv::COLOR_RGB2BGR);  // imwrite expects BGR
  CONVKIT_CHECK(cv::imwrite(a.out, grid), "augment-preview: cannot write ", a.out,
                " (check the directory exists and the name ends in .png)");
  std::printf("wrote %s: %d examples (rows) x original + %lld augmentations (columns)\n",
              a.out.c_str(), rows, (long long)a.variants);
}
}  // namespace

void add_augment_preview(CLI::App& app) {
  auto a = std::make_shared<PreviewArgs>();
  auto* cmd =
      app.add_subcommand("augment-preview", "Write a PNG grid of augmented samples of a dataset");
  cmd->add_option("--data", a->data,
                  "fashion-mnist, a directory with MNIST-layout IDX files, an image folder or a "
                  ".csv list")
      ->capture_default_str();
  cmd->add_option("--split", a->split, "train | test")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "test"}));
  cmd->add_option("--count,-n", a->count, "Examples (rows)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--variants", a->variants,
                  "Augmented versions of each example (columns after the original)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--scale", a->scale, "Enlarge each image this many times (0: to about 96 pixels)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", a->seed, "Seed for the choice of examples and the augmentation")
      ->capture_default_str();
  cmd->add_option("--out,-o", a->out, "Output PNG")
      ->capture_default_str()
      ->check([](const std::string& path) -> std::string {
        // Checked before any work: OpenCV picks the encoder by extension and throws without one.
        const std::string ext = std::filesystem::path(path).extension().string();
        if (ext == ".png" || ext == ".PNG") return "";
        return "the preview is a PNG: give a file name ending in .png, not '" + path + "'";
      });
  add_augment_options(*cmd, a->augment);
  add_image_data_options(*cmd, a->images, /*training=*/true);
  cmd->callback([a] { run_preview(*a); });
}

}  // namespace convkit::cli
