// Data loader throughput on JPEG files with a typical augmentation recipe, next to the training
// step it has to feed (issue 5, item 4). Prints a Markdown table for docs/benchmarks.md.
//
// Usage: loader_bench [epochs=3] [max_workers=2] [train_steps=10] [opencv_threads=OpenCV default]
//   32x32:   512 JPEGs, random_crop(padding=4) + horizontal_flip, standardized; feeds resnet20
//   224x224: 256 JPEGs, random_resized_crop(224) + horizontal_flip + color_jitter(0.4, 0.4, 0.4),
//            standardized; feeds resnet18 (when the model zoo registers it)
// The JPEGs are written once to a temporary folder (synthetic smooth images plus noise, quality 90,
// so decoding costs what a photo of that size costs). The dataset here is bench-local: cv::imread,
// BGR -> RGB, the transform, [C, H, W] floats. The loader is measured alone (the training step
// idle) and end to end (the training step fed by the loader on the same cores).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "convkit/convkit.h"

using namespace convkit;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {
double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

// Decodes JPEG files and augments them: what an image-folder dataset does per example.
class JpegFiles : public data::Dataset {
 public:
  JpegFiles(std::vector<std::string> files, int size, data::TransformPtr t)
      : files_(std::move(files)), size_(size), t_(std::move(t)) {}
  int64_t size() const override { return int64_t(files_.size()); }
  Shape example_shape() const override { return {3, size_, size_}; }
  int64_t num_classes() const override { return 10; }
  data::Batch get_batch(const std::vector<int64_t>& idx) const override {
    return load(idx, nullptr);
  }
  data::Batch get_epoch_batch(const std::vector<int64_t>& idx, uint64_t seed) const override {
    return load(idx, &seed);
  }

 private:
  data::Batch load(const std::vector<int64_t>& idx, const uint64_t* seed) const {
    const auto n = int64_t(idx.size());
    data::Batch b{Tensor::empty({n, 3, size_, size_}), Tensor::empty({n}, DType::i64), idx};
    for (int64_t k = 0; k < n; ++k) {
      cv::Mat img = cv::imread(files_[idx[k]], cv::IMREAD_COLOR);
      cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
      if (seed) {
        Generator rng(data::example_seed(*seed, idx[k]));
        img = t_->apply(img, rng);
      }
      data::image_to_chw(img, b.inputs.data<float>() + k * 3 * size_ * size_);
      b.labels.data<int64_t>()[k] = idx[k] % 10;
    }
    return b;
  }
  std::vector<std::string> files_;
  int size_;
  data::TransformPtr t_;
};

std::vector<std::string> write_jpegs(const fs::path& dir, int count, int size) {
  fs::create_directories(dir);
  std::vector<std::string> files;
  cv::RNG rng(size);
  for (int i = 0; i < count; ++i) {
    const std::string f = (dir / ("img" + std::to_string(i) + ".jpg")).string();
    files.push_back(f);
    if (fs::exists(f)) continue;
    // A smooth 8x8 colour field enlarged, plus noise: photo-like content for the decoder.
    cv::Mat small(8, 8, CV_8UC3), img, noise(size, size, CV_8UC3);
    rng.fill(small, cv::RNG::UNIFORM, 0, 256);
    cv::resize(small, img, {size, size}, 0, 0, cv::INTER_CUBIC);
    rng.fill(noise, cv::RNG::NORMAL, 0, 12);
    img += noise;
    cv::imwrite(f, img, {cv::IMWRITE_JPEG_QUALITY, 90});
  }
  return files;
}

// img/s of the loader alone over `epochs` epochs (after one warm-up epoch).
double loader_ips(const data::DatasetPtr& ds, int workers, int64_t batch, int epochs) {
  data::DataLoader dl(
      ds, {.batch_size = batch, .seed = 1, .prefetch = 2 * workers, .workers = workers});
  int64_t images = 0;
  Clock::time_point t0;
  for (int e = 0; e <= epochs; ++e) {
    if (e == 1) t0 = Clock::now(), images = 0;
    dl.start_epoch(e);
    while (auto b = dl.next()) images += b->inputs.size(0);
  }
  return double(images) / secs(t0);
}

// img/s of SGD training steps on `model`, inputs from `ds` through a loader (or, with workers = 0,
// one fixed batch: the step alone).
double train_ips(const std::string& model_name, int64_t size, const data::DatasetPtr& ds,
                 int workers, int64_t batch, int steps) {
  manual_seed(0);
  auto model = models::create_model(model_name, {3, 10, size});
  optim::SGD opt(optim::single_group(*model, 0.01, 5e-4), {.momentum = 0.9});
  model->train();
  data::DataLoader dl(ds, {.batch_size = batch,
                           .seed = 2,
                           .prefetch = std::max(2, 2 * workers),
                           .workers = std::max(1, workers)});
  dl.start_epoch(0);
  data::Batch fixed = *dl.next();
  auto step = [&](const data::Batch& b) {
    opt.zero_grad();
    Tensor loss = cross_entropy((*model)(b.inputs), b.labels);
    loss.backward();
    opt.step();
  };
  for (int i = 0; i < 2; ++i) step(fixed);  // warm-up: primitives, allocations
  int64_t epoch = 1;
  dl.start_epoch(epoch);
  const auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) {
    if (workers == 0) {
      step(fixed);
      continue;
    }
    auto b = dl.next();
    if (!b) dl.start_epoch(++epoch), b = dl.next();
    step(*b);
  }
  return double(steps * batch) / secs(t0);
}

bool registered(const std::string& name) {
  for (const auto& e : models::list_models())
    if (e.name == name) return true;
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::stoi(argv[1]) : 3;
  const int max_workers = argc > 2 ? std::stoi(argv[2]) : 2;
  const int steps = argc > 3 ? std::stoi(argv[3]) : 10;
  const fs::path dir = fs::temp_directory_path() / "convkit_loader_bench";
  const data::ChannelStats stats{{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};

  struct Case {
    int size, count;
    int64_t batch;
    data::TransformPtr recipe;
    std::string model;
  };
  const Case cases[] = {
      {32, 512, 128, data::compose({data::random_crop({.padding = 4}), data::horizontal_flip()}),
       "resnet20"},
      {224, 256, 32,
       data::compose({data::random_resized_crop({.height = 224, .width = 224}),
                      data::horizontal_flip(),
                      data::color_jitter({.brightness = 0.4, .contrast = 0.4, .saturation = 0.4})}),
       "resnet18"},
  };
  if (argc > 4) cv::setNumThreads(std::stoi(argv[4]));
  std::printf("threads (OpenMP, training step): %d; OpenCV threads: %d\n\n", omp_get_max_threads(),
              cv::getNumThreads());
  std::printf(
      "| input | recipe | workers | loader img/s | model | train step img/s (fixed batch) | train "
      "img/s fed by the loader |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    auto files = write_jpegs(dir / std::to_string(c.size), c.count, c.size);
    data::DatasetPtr ds = std::make_shared<data::Normalized>(
        std::make_shared<JpegFiles>(files, c.size, c.recipe), stats);
    const bool have_model = registered(c.model);
    const double step_alone = have_model ? train_ips(c.model, c.size, ds, 0, c.batch, steps) : 0;
    for (int w = 1; w <= max_workers; ++w) {
      const double load = loader_ips(ds, w, c.batch, epochs);
      std::printf("| %dx%d JPEG | %s | %d | %.0f | ", c.size, c.size, c.recipe->describe().c_str(),
                  w, load);
      if (have_model)
        std::printf("%s (batch %lld) | %.0f | %.0f |\n", c.model.c_str(), (long long)c.batch,
                    step_alone, train_ips(c.model, c.size, ds, w, c.batch, steps));
      else
        std::printf("%s: not registered (model zoo) | - | - |\n", c.model.c_str());
      std::fflush(stdout);
    }
  }
}
