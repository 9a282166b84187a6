#include "image_data.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "convkit/data/idx.h"
#include "convkit/infer/evaluate.h"

namespace convkit::cli {

namespace fs = std::filesystem;

void add_image_data_options(CLI::App& cmd, ImageDataArgs& a, bool training) {
  const char* g = "Image folders and CSV lists (--data DIR|FILE.csv; docs/data.md)";
  if (training) {
    cmd.add_option("--image-size", a.image_size,
                   "Model input size S: the shorter side is resized to --load-size, then the "
                   "centre SxS is cropped")
        ->group(g)
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd.add_option("--load-size", a.load_size,
                   "Shorter side after decoding (default: --image-size)")
        ->group(g)
        ->check(CLI::NonNegativeNumber);
    cmd.add_flag("--grayscale", a.grayscale, "Decode images as one gray channel (default: RGB)")
        ->group(g);
  }
  cmd.add_option("--cache", a.cache_mib, "Keep up to this many MiB of decoded images in memory")
      ->group(g)
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--strict", a.strict,
               "Stop at the first unusable file (default: report it with its path and skip it)")
      ->group(g);
  cmd.add_option("--max-pixels", a.max_pixels, "Images with more pixels are bad data")
      ->group(g)
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

bool is_image_data(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == ".csv") return true;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;  // the IDX loader names the missing folder
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.path().filename().string().find("-idx") != std::string::npos) return false;
  return true;
}

std::shared_ptr<data::ImageDataset> open_image_data(const std::string& path,
                                                    const data::ImagePreprocessing& prep,
                                                    const ImageDataArgs& a,
                                                    const std::vector<std::string>& classes) {
  data::ImageDatasetOptions o;
  o.preprocessing = prep;
  o.policy = a.strict ? data::BadDataPolicy::strict : data::BadDataPolicy::skip;
  o.max_pixels = a.max_pixels;
  o.cache_bytes = int64_t(a.cache_mib * 1024 * 1024);
  // The loader's workers assemble batches in parallel already.
  o.threads = 1;
  auto shown = std::make_shared<std::atomic<int>>(0);
  o.on_issue = [shown](const data::DataIssue& i) {
    constexpr int kShown = 50;
    const int n = ++*shown;
    if (n <= kShown)
      std::fprintf(stderr, "convkit: warning: %s; %s\n", i.message.c_str(), i.action.c_str());
    else if (n == kShown + 1)
      std::fprintf(
          stderr,
          "convkit: warning: more data problems; not shown (the epoch summary counts them)\n");
  };
  try {
    return std::make_shared<data::ImageDataset>(data::ImageSource::open(path, classes), o);
  } catch (const data::ImageFileError& e) {
    throw Error(std::string(e.what()) +
                " (--strict; without it, the file is reported and skipped)");
  }
}

ModelData data_for_model(const infer::ModelBundle& m, const std::string& path,
                         const std::string& split, const ImageDataArgs& args) {
  ModelData d;
  if (!path.empty() && is_image_data(path)) {
    d.name = path;
    d.images = open_image_data(path, m.preprocessing, args, m.class_names);
    std::printf("data: %s\n", describe_image_data(path, *d.images).c_str());
    // An embedding model's outputs are its dimensions, not classes (the folder's are identities).
    const bool embedding = m.metadata.count("embedding") > 0;
    CONVKIT_CHECK(embedding || m.num_classes <= 0 || d.images->num_classes() == m.num_classes,
                  m.source, ": the model predicts ", m.num_classes, " classes, but ", path, " has ",
                  d.images->num_classes());
    d.inputs = infer::standardized(m, d.images, path);
    return d;
  }
  const std::string dir = path.empty() ? data::kFashionMnistDir : path;
  if (m.trained_on_images)
    throw Error(detail::concat(
        m.describe(), " was trained on image files (", m.in_channels, "x", m.image_size, "x",
        m.image_size, ", ", m.num_classes, " classes); ",
        path.empty() ? "give its data with --data FOLDER or --data LIST.csv"
                     : dir + " holds MNIST-layout IDX files; give an image folder or a .csv list",
        " (predict also takes image files: convkit predict MODEL IMAGE...)"));
  d.name = dir + "/" + split;
  d.inputs = infer::standardized(m, data::fashion_mnist(dir, split == "train"), d.name);
  return d;
}

std::string describe_image_data(const std::string& path, const data::ImageDataset& ds) {
  const data::ImagePreprocessing& p = ds.preprocessing();
  std::string s = detail::concat(path, ": ", ds.size(), " images in ", ds.num_classes(),
                                 " classes, ", p.color == data::ColorMode::gray ? "gray" : "RGB",
                                 " ", p.image_size, "x", p.image_size);
  if (p.effective_load_size() != p.image_size)
    s += detail::concat(" (shorter side ", p.effective_load_size(), ", centre crop)");
  if (ds.skipped_files() > 0)
    s += detail::concat("; ", ds.skipped_files(), " unusable files skipped");
  if (ds.converted_files() > 0)
    s += detail::concat("; ", ds.converted_files(), " grayscale files converted to RGB");
  return s;
}

}  // namespace convkit::cli
