#include "convkit/data/augmented.h"

#include "convkit/error.h"
#include "convkit/random.h"

namespace convkit::data {

cv::Mat chw_to_image(const float* chw, int64_t channels, int64_t height, int64_t width) {
  const int H = int(height), W = int(width);
  std::vector<cv::Mat> planes;
  for (int64_t c = 0; c < channels; ++c) {
    cv::Mat plane;
    // cv::Mat over the caller's plane, read only: convertTo writes a new 8-bit Mat.
    cv::Mat(H, W, CV_32F, const_cast<float*>(chw + c * height * width))
        .convertTo(plane, CV_8U, 255.0);
    planes.push_back(plane);
  }
  if (channels == 1) return planes[0];
  cv::Mat image;
  cv::merge(planes, image);
  return image;
}

void image_to_chw(const cv::Mat& image, float* chw) {
  // v / 255.f by table, not v * (1 / 255.): the same floats the IDX reader makes, so an unchanged
  // image comes back bit for bit.
  static const cv::Mat table = [] {
    cv::Mat t(1, 256, CV_32F);
    for (int v = 0; v < 256; ++v) t.at<float>(v) = float(v) / 255.f;
    return t;
  }();
  const int H = image.rows, W = image.cols;
  std::vector<cv::Mat> planes;
  cv::split(image, planes);
  for (size_t c = 0; c < planes.size(); ++c) {
    cv::Mat dst(H, W, CV_32F,
                chw + c * size_t(H) * size_t(W));  // written in place: same size and type
    cv::LUT(planes[c], table, dst);
  }
}

namespace {
void check_images(const Shape& ex, const char* who) {
  CONVKIT_CHECK(ex.ndim() == 3 && (ex[0] == 1 || ex[0] == 3), who,
                ": examples must be images [C, H, W] with 1 or 3 channels, got ", ex.to_string());
}
}  // namespace

Augmented::Augmented(DatasetPtr base, TransformPtr transform)
    : base_(std::move(base)), transform_(std::move(transform)) {
  CONVKIT_CHECK(base_ != nullptr, "Augmented: no dataset");
  CONVKIT_CHECK(transform_ != nullptr, "Augmented: no transform");
  check_images(base_->example_shape(), "Augmented");
}

Batch Augmented::get_batch(const std::vector<int64_t>& indices) const {
  return base_->get_batch(indices);
}

Batch Augmented::get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const {
  Batch b = base_->get_epoch_batch(indices, epoch_seed);
  const Shape ex = example_shape();
  const int64_t C = ex[0], H = ex[1], W = ex[2];
  float* data = b.inputs.data<float>();
  for (size_t k = 0; k < indices.size(); ++k) {
    float* chw = data + int64_t(k) * C * H * W;
    Generator rng(example_seed(epoch_seed, indices[k]));
    cv::Mat out = transform_->apply(chw_to_image(chw, C, H, W), rng);
    CONVKIT_CHECK(out.rows == H && out.cols == W && out.channels() == C && out.depth() == CV_8U,
                  "Augmented: the transform made example ", indices[k], " a ", out.rows, "x",
                  out.cols, " image with ", out.channels(),
                  " channels; the dataset's examples are ", ex.to_string(),
                  " (transform: ", transform_->describe(), ")");
    image_to_chw(out, chw);
  }
  return b;
}

std::vector<cv::Mat> sample_images(const Dataset& ds, int64_t count) {
  const Shape ex = ds.example_shape();
  check_images(ex, "sample_images");
  const int64_t n = std::min(count, ds.size());
  std::vector<int64_t> idx;
  for (int64_t k = 0; k < n; ++k) idx.push_back(k * ds.size() / n);
  std::vector<cv::Mat> images;
  const int64_t chunk = 512;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    std::vector<int64_t> part(idx.begin() + begin, idx.begin() + std::min(n, begin + chunk));
    Batch b = ds.get_batch(part);
    const float* p = b.inputs.data<float>();
    for (size_t k = 0; k < part.size(); ++k)
      images.push_back(chw_to_image(p + int64_t(k) * ex.numel(), ex[0], ex[1], ex[2]));
  }
  return images;
}

}  // namespace convkit::data
