#include "convkit/data/image_dataset.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <thread>

#include "convkit/random.h"

namespace convkit::data {

std::string ImagePreprocessing::to_json() const {
  return nlohmann::json{{"image_size", image_size},
                        {"load_size", effective_load_size()},
                        {"color", color == ColorMode::gray ? "gray" : "rgb"}}
      .dump();
}

ImagePreprocessing ImagePreprocessing::from_json(const std::string& json) {
  ImagePreprocessing p;
  try {
    auto j = nlohmann::json::parse(json);
    p.image_size = j.at("image_size").get<int64_t>();
    p.load_size = j.value("load_size", int64_t(0));
    std::string color = j.value("color", std::string("rgb"));
    CONVKIT_CHECK(color == "rgb" || color == "gray",
                  "preprocessing: color must be rgb or gray, got '", color, "'");
    p.color = color == "gray" ? ColorMode::gray : ColorMode::rgb;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("preprocessing: malformed description: ") + e.what());
  }
  CONVKIT_CHECK(p.image_size > 0 && p.load_size >= 0, "preprocessing: image_size ", p.image_size,
                " and load_size ", p.load_size, " must be positive");
  return p;
}

cv::Mat resize_shorter_side(const cv::Mat& image, int64_t size) {
  const int64_t w = image.cols, h = image.rows, shorter = std::min(w, h);
  if (shorter == size) return image;
  const double scale = double(size) / double(shorter);
  // The shorter side gets exactly `size`; the longer one rounds, and never below `size`.
  const int64_t nw = w == shorter ? size : std::max(size, int64_t(std::lround(double(w) * scale)));
  const int64_t nh = h == shorter ? size : std::max(size, int64_t(std::lround(double(h) * scale)));
  cv::Mat out;
  cv::resize(image, out, cv::Size(int(nw), int(nh)), 0, 0,
             size < shorter ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

cv::Mat crop_center_square(const cv::Mat& image, int64_t size) {
  CONVKIT_CHECK(image.cols >= size && image.rows >= size, "crop_center_square: a ", image.cols,
                " x ", image.rows, " image has no ", size, " x ", size, " window");
  const int x = int((image.cols - size) / 2), y = int((image.rows - size) / 2);
  return image(cv::Rect(x, y, int(size), int(size)));
}

namespace {
// 8-bit H x W x C (interleaved) -> float [C, H, W] / 255.
void to_chw(const cv::Mat& image, float* chw) {
  const int64_t h = image.rows, w = image.cols, c = image.channels();
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* row = image.ptr<uint8_t>(int(y));
    for (int64_t x = 0; x < w; ++x)
      for (int64_t ch = 0; ch < c; ++ch)
        chw[(ch * h + y) * w + x] = float(row[x * c + ch]) * (1.0f / 255.0f);
  }
}

cv::Mat fit(const cv::Mat& image, int64_t size) {
  return crop_center_square(resize_shorter_side(image, size), size);
}

// Runs body(k) for k in [0, n) on up to `threads` threads; rethrows the error of the lowest k, so a
// failure does not depend on scheduling.
template <class F>
void parallel_for(int64_t n, int threads, const F& body) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      try {
        body(k);
      } catch (...) {
        errors[size_t(k)] = std::current_exception();
      }
    }
  };
  const int64_t t = std::min<int64_t>(std::max(threads, 1), n);
  if (t <= 1) {
    run(0, n);
  } else {
    std::vector<std::thread> pool;
    for (int64_t p = 0; p < t; ++p) pool.emplace_back(run, n * p / t, n * (p + 1) / t);
    for (auto& th : pool) th.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}
}  // namespace

Tensor load_input_image(const std::string& path, const ImagePreprocessing& prep,
                        int64_t max_pixels) {
  cv::Mat img = read_image(path, prep.color, max_pixels).image;
  img = fit(resize_shorter_side(img, prep.effective_load_size()), prep.image_size);
  Tensor t = Tensor::empty({prep.channels(), prep.image_size, prep.image_size});
  to_chw(img, t.data<float>());
  return t;
}

struct ImageDataset::State {
  ImageSource source;
  ImageDatasetOptions opt;
  std::vector<std::vector<int64_t>> by_class;  // example indices of each class, in source order
  std::vector<int64_t> position;               // example -> its place in by_class[label]

  std::mutex mu;  // guards everything below
  std::vector<char> bad;
  std::vector<cv::Mat> cache;
  int64_t cache_used = 0, cached = 0;
  std::vector<DataIssue> issues;
  std::set<std::pair<std::string, ImageProblem>> reported;
  int64_t skipped = 0, converted = 0;

  // Records a problem once; returns false when it had been reported already.
  bool report(DataIssue issue) {
    std::lock_guard<std::mutex> lock(mu);
    if (!reported.insert({issue.path, issue.problem}).second) return false;
    if (issue.problem == ImageProblem::gray_in_rgb)
      ++converted;
    else if (issue.problem != ImageProblem::empty_class)
      ++skipped;
    issues.push_back(issue);
    if (opt.on_issue) opt.on_issue(issue);
    return true;
  }

  // Decodes example i without the policy (throws ImageFileError).
  cv::Mat decode(int64_t i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!cache.empty() && !cache[size_t(i)].empty()) return cache[size_t(i)];
    }
    const ImageEntry& e = source.entries()[size_t(i)];
    const ImagePreprocessing& prep = opt.preprocessing;
    DecodedImage d = read_image(e.path, prep.color, opt.max_pixels);
    if (d.was_gray && prep.color == ColorMode::rgb) {
      const std::string why =
          "grayscale image in an RGB data set (train with --grayscale if the whole set is gray)";
      if (opt.policy == BadDataPolicy::strict)
        throw ImageFileError(ImageProblem::gray_in_rgb, e.path, why);
      report({e.path, ImageProblem::gray_in_rgb, e.path + ": " + why, "converted (R = G = B)"});
    }
    cv::Mat img = resize_shorter_side(d.image, prep.effective_load_size());
    if (opt.cache_bytes > 0) {
      std::lock_guard<std::mutex> lock(mu);
      const auto bytes = int64_t(img.total() * img.elemSize());
      if (cache[size_t(i)].empty() && cache_used + bytes <= opt.cache_bytes) {
        cache[size_t(i)] = img;
        cache_used += bytes;
        ++cached;
      }
    }
    return img;
  }

  bool is_bad(int64_t i) {
    std::lock_guard<std::mutex> lock(mu);
    return bad[size_t(i)] != 0;
  }
};

ImageDataset::ImageDataset(const ImageSource& source, ImageDatasetOptions options)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.opt = std::move(options);
  const ImagePreprocessing& prep = s.opt.preprocessing;
  CONVKIT_CHECK(prep.image_size > 0, "ImageDataset: image_size must be positive, got ",
                prep.image_size);
  CONVKIT_CHECK(prep.load_size == 0 || prep.load_size >= prep.image_size,
                "ImageDataset: load_size ", prep.load_size, " is smaller than image_size ",
                prep.image_size, " (the centre crop needs at least image_size pixels)");
  CONVKIT_CHECK(s.opt.max_pixels > 0, "ImageDataset: max_pixels must be positive");
  const bool strict = s.opt.policy == BadDataPolicy::strict;

  for (const std::string& f : source.non_image_files()) {
    const std::string why = "not an image (no image extension) in a class folder";
    if (strict) throw ImageFileError(ImageProblem::not_an_image, f, why);
    s.report({f, ImageProblem::not_an_image, f + ": " + why, "skipped"});
  }

  for (const SkippedEntry& e : source.skipped_entries()) {
    if (strict) throw ImageFileError(ImageProblem::unreadable, e.path, e.reason);
    s.report({e.path, ImageProblem::unreadable, e.path + ": " + e.reason, "skipped"});
  }

  std::vector<ImageEntry> kept;
  if (s.opt.scan) {
    const auto& entries = source.entries();
    std::vector<std::exception_ptr> problems(entries.size());
    parallel_for(int64_t(entries.size()), s.opt.threads, [&](int64_t k) {
      try {
        check_image_file(entries[size_t(k)].path, s.opt.max_pixels);
      } catch (const ImageFileError&) {
        problems[size_t(k)] = std::current_exception();
      }
    });
    for (size_t k = 0; k < entries.size(); ++k) {
      if (!problems[k]) {
        kept.push_back(entries[k]);
        continue;
      }
      if (strict) std::rethrow_exception(problems[k]);
      try {
        std::rethrow_exception(problems[k]);
      } catch (const ImageFileError& e) {
        s.report({e.path(), e.problem(), e.what(), "skipped"});
      }
    }
  } else {
    kept = source.entries();
  }
  s.source = source.with_entries(std::move(kept));

  const int64_t n = int64_t(s.source.entries().size());
  s.by_class.assign(size_t(s.source.num_classes()), {});
  s.position.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    auto& members = s.by_class[size_t(s.source.entries()[size_t(i)].label)];
    s.position[size_t(i)] = int64_t(members.size());
    members.push_back(i);
  }
  s.bad.assign(size_t(n), 0);
  if (s.opt.cache_bytes > 0) s.cache.resize(size_t(n));
  CONVKIT_CHECK(n > 0, source.origin(), ": no usable images (all ", source.entries().size(),
                " listed files were skipped; see the warnings)");

  if (!source.fixed_classes()) {
    for (int64_t c = 0; c < s.source.num_classes(); ++c) {
      if (!s.by_class[size_t(c)].empty()) continue;
      const std::string& name = s.source.class_names()[size_t(c)];
      const std::string where = s.source.class_dirs().empty()
                                    ? s.source.origin() + " (class '" + name + "')"
                                    : s.source.class_dirs()[size_t(c)];
      const std::string why = "class '" + name + "' has no usable images";
      if (strict) throw ImageFileError(ImageProblem::empty_class, where, why);
      s.report({where, ImageProblem::empty_class, where + ": " + why,
                "kept (the model has an output for it that training never targets)"});
    }
  }
}

ImageDataset::ImageDataset(std::shared_ptr<State> state, TransformPtr transform)
    : state_(std::move(state)), transform_(std::move(transform)) {}

std::shared_ptr<ImageDataset> ImageDataset::with_transform(TransformPtr transform) const {
  return std::shared_ptr<ImageDataset>(new ImageDataset(state_, std::move(transform)));
}

int64_t ImageDataset::size() const { return int64_t(state_->source.entries().size()); }

Shape ImageDataset::example_shape() const {
  const ImagePreprocessing& p = state_->opt.preprocessing;
  return Shape({p.channels(), p.image_size, p.image_size});
}

int64_t ImageDataset::num_classes() const { return state_->source.num_classes(); }
std::vector<std::string> ImageDataset::class_names() const { return state_->source.class_names(); }

std::vector<int64_t> ImageDataset::labels() const {
  std::vector<int64_t> out;
  for (const ImageEntry& e : state_->source.entries()) out.push_back(e.label);
  return out;
}

const ImageEntry& ImageDataset::entry(int64_t index) const {
  CONVKIT_CHECK(index >= 0 && index < size(), "ImageDataset ", state_->source.origin(), ": index ",
                index, " out of range for ", size(), " images");
  return state_->source.entries()[size_t(index)];
}

const ImagePreprocessing& ImageDataset::preprocessing() const { return state_->opt.preprocessing; }

cv::Mat ImageDataset::image(int64_t index) const {
  State& s = *state_;
  const ImageEntry& want = entry(index);
  const auto& members = s.by_class[size_t(want.label)];
  const int64_t n = int64_t(members.size()), pos = s.position[size_t(index)];
  for (int64_t k = 0; k < n; ++k) {
    const int64_t j = members[size_t((pos + k) % n)];
    if (s.is_bad(j)) continue;
    try {
      return s.decode(j);
    } catch (const ImageFileError& e) {
      if (s.opt.policy == BadDataPolicy::strict) throw;
      {
        std::lock_guard<std::mutex> lock(s.mu);
        s.bad[size_t(j)] = 1;
      }
      s.report({e.path(), e.problem(), e.what(),
                "skipped (its examples use the next usable image of class '" +
                    s.source.class_names()[size_t(want.label)] + "')"});
    }
  }
  throw Error(detail::concat(s.source.origin(), ": none of the ", n, " images of class '",
                             s.source.class_names()[size_t(want.label)],
                             "' can be used (see the warnings)"));
}

Batch ImageDataset::assemble(const std::vector<int64_t>& indices,
                             const uint64_t* epoch_seed) const {
  const int64_t n = int64_t(indices.size());
  const Shape ex = example_shape();
  const int64_t c = ex[0], side = ex[1], row = ex.numel();
  for (int64_t i : indices) entry(i);  // range errors before any decoding
  Batch b{Tensor::empty({n, c, side, side}), Tensor::empty({n}, DType::i64), indices};
  float* dst = b.inputs.data<float>();
  int64_t* labels = b.labels.data<int64_t>();
  const int expected_type = c == 1 ? CV_8UC1 : CV_8UC3;
  parallel_for(n, state_->opt.threads, [&](int64_t k) {
    const int64_t i = indices[size_t(k)];
    cv::Mat img = image(i);
    if (transform_ && epoch_seed) {
      Generator gen(example_seed(*epoch_seed, i));
      img = transform_->apply(img, gen);
      CONVKIT_CHECK(img.type() == expected_type, "ImageDataset: transform ", transform_->describe(),
                    " returned a ", img.channels(), "-channel image of depth ", img.depth(),
                    "; the data set has ", c, " 8-bit channels");
    }
    to_chw(fit(img, side), dst + k * row);
    labels[k] = entry(i).label;
  });
  return b;
}

Batch ImageDataset::get_batch(const std::vector<int64_t>& indices) const {
  return assemble(indices, nullptr);
}

Batch ImageDataset::get_epoch_batch(const std::vector<int64_t>& indices,
                                    uint64_t epoch_seed) const {
  return assemble(indices, &epoch_seed);
}

int64_t ImageDataset::skipped_files() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->skipped;
}

int64_t ImageDataset::converted_files() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->converted;
}

int64_t ImageDataset::cached_images() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cached;
}

std::vector<DataIssue> ImageDataset::issues() const {
  std::vector<DataIssue> all;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    all = state_->issues;
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const DataIssue& a, const DataIssue& b) { return a.path < b.path; });
  return all;
}

}  // namespace convkit::data
