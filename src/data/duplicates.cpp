#include "convkit/data/duplicates.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>

#include "convkit/error.h"

namespace convkit::data {

namespace {
// The unnormalized DCT-II basis (scipy.fftpack.dct, norm=None): C[k][n] = 2 cos(pi k (2n+1) / 2N).
// One scale for every coefficient, so the median comparison sees what imagehash sees (OpenCV's
// orthonormal cv::dct scales the DC row and column differently).
struct DctBasis {
  float c[32][32];
  DctBasis() {
    for (int k = 0; k < 32; ++k)
      for (int n = 0; n < 32; ++n)
        c[k][n] = float(2 * std::cos(std::numbers::pi * k * (2 * n + 1) / 64.0));
  }
};
const DctBasis& basis() {
  static const DctBasis b;
  return b;
}
}  // namespace

uint64_t perceptual_hash_32x32(const float* g) {
  const DctBasis& b = basis();
  // Only the 8 x 8 lowest frequencies are needed: D = C8 X C8^T, with C8 the first 8 basis rows.
  // imagehash transforms axis 0 (columns) first, then axis 1 (rows); the result is the same.
  double t[8][32];  // C8 X
  for (int k = 0; k < 8; ++k)
    for (int n = 0; n < 32; ++n) {
      double s = 0;
      for (int m = 0; m < 32; ++m) s += double(b.c[k][m]) * g[m * 32 + n];
      t[k][n] = s;
    }
  double d[64];
  for (int k = 0; k < 8; ++k)
    for (int l = 0; l < 8; ++l) {
      double s = 0;
      for (int n = 0; n < 32; ++n) s += t[k][n] * double(b.c[l][n]);
      d[k * 8 + l] = s;
    }
  double sorted[64];
  std::copy(d, d + 64, sorted);
  std::sort(sorted, sorted + 64);
  const double median = (sorted[31] + sorted[32]) / 2;  // numpy.median of an even count
  uint64_t h = 0;
  for (int i = 0; i < 64; ++i) h = (h << 1) | (d[i] > median ? 1 : 0);
  return h;
}

uint64_t perceptual_hash(const cv::Mat& image) {
  CONVKIT_CHECK(
      image.depth() == CV_8U && (image.channels() == 1 || image.channels() == 3) && !image.empty(),
      "perceptual_hash: expected an 8-bit gray or RGB image, got ", image.cols, " x ", image.rows,
      " with ", image.channels(), " channels");
  cv::Mat gray = image, small;
  if (image.channels() == 3) cv::cvtColor(image, gray, cv::COLOR_RGB2GRAY);
  cv::resize(gray, small, cv::Size(32, 32), 0, 0, cv::INTER_AREA);
  cv::Mat f;
  small.convertTo(f, CV_32F);
  return perceptual_hash_32x32(f.ptr<float>(0));
}

uint64_t pixel_hash(const cv::Mat& image) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t byte) { h = (h ^ byte) * 1099511628211ull; };
  for (int v : {image.rows, image.cols, image.channels()})
    for (int k = 0; k < 4; ++k) mix(uint64_t(v >> (8 * k)) & 0xff);
  for (int r = 0; r < image.rows; ++r) {
    const uint8_t* p = image.ptr<uint8_t>(r);
    for (size_t i = 0; i < size_t(image.cols) * image.channels(); ++i) mix(p[i]);
  }
  return h;
}

int hamming_distance(uint64_t a, uint64_t b) { return std::popcount(a ^ b); }

ImageFingerprint fingerprint(const cv::Mat& image) {
  ImageFingerprint f{pixel_hash(image), perceptual_hash(image), {}};
  cv::Mat gray = image, small;
  if (image.channels() == 3) cv::cvtColor(image, gray, cv::COLOR_RGB2GRAY);
  cv::resize(gray, small, cv::Size(16, 16), 0, 0, cv::INTER_AREA);
  for (int r = 0; r < 16; ++r) std::copy_n(small.ptr<uint8_t>(r), 16, f.thumbnail.data() + r * 16);
  return f;
}

double thumbnail_difference(const ImageFingerprint& a, const ImageFingerprint& b) {
  double ma = 0, mb = 0;
  for (int i = 0; i < 256; ++i) {
    ma += a.thumbnail[size_t(i)];
    mb += b.thumbnail[size_t(i)];
  }
  const double shift = (ma - mb) / 256;
  double sum = 0;
  for (int i = 0; i < 256; ++i)
    sum += std::abs(double(a.thumbnail[size_t(i)]) - double(b.thumbnail[size_t(i)]) - shift);
  return sum / 256;
}

std::vector<ImageFingerprint> fingerprints(const Dataset& ds,
                                           const std::function<void(int64_t, int64_t)>& progress) {
  const Shape s = ds.example_shape();
  CONVKIT_CHECK(s.ndim() == 3 && (s[0] == 1 || s[0] == 3),
                "fingerprints: expected examples [1 or 3, H, W], got ", s.to_string());
  const int64_t n = ds.size(), c = s[0], h = s[1], w = s[2];
  std::vector<ImageFingerprint> out(static_cast<size_t>(n));
  constexpr int64_t kBatch = 256;
  for (int64_t begin = 0; begin < n; begin += kBatch) {
    const int64_t end = std::min(n, begin + kBatch);
    std::vector<int64_t> idx(size_t(end - begin));
    for (int64_t i = begin; i < end; ++i) idx[size_t(i - begin)] = i;
    const Tensor x = ds.get_batch(idx).inputs;
    const float* p = x.data<float>();
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t k = 0; k < end - begin; ++k) {
      cv::Mat im(int(h), int(w), c == 1 ? CV_8UC1 : CV_8UC3);
      const float* e = p + k * c * h * w;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx)
          for (int64_t ch = 0; ch < c; ++ch) {
            const float v = e[(ch * h + y) * w + xx];
            // NaN (a broken loader) becomes 0 rather than undefined behaviour in the cast.
            const float clamped = std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f;
            im.ptr<uint8_t>(int(y))[xx * c + ch] = uint8_t(std::lround(clamped * 255));
          }
      out[size_t(begin + k)] = fingerprint(im);
    }
    if (progress) progress(end, n);
  }
  return out;
}

std::vector<DuplicatePair> find_duplicates(const std::vector<ImageFingerprint>& first,
                                           const std::vector<ImageFingerprint>& second,
                                           int max_distance, bool same_set, double max_difference) {
  CONVKIT_CHECK(max_distance >= 0 && max_distance <= 64,
                "find_duplicates: the Hamming distance must be in [0, 64], got ", max_distance);
  CONVKIT_CHECK(max_difference >= 0, "find_duplicates: the thumbnail difference must be >= 0, got ",
                max_difference);
  std::vector<std::vector<DuplicatePair>> per_row(first.size());
  // All pairs: 60,000 x 10,000 popcounts take about a second, and need no index.
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t a = 0; a < int64_t(first.size()); ++a)
    for (int64_t b = same_set ? a + 1 : 0; b < int64_t(second.size()); ++b) {
      const ImageFingerprint &x = first[size_t(a)], &y = second[size_t(b)];
      const int d = hamming_distance(x.perceptual, y.perceptual);
      const bool exact = x.exact == y.exact;
      if (!exact && d > max_distance) continue;
      const double diff = thumbnail_difference(x, y);
      if (exact || diff <= max_difference) per_row[size_t(a)].push_back({a, b, d, diff, exact});
    }
  std::vector<DuplicatePair> out;
  for (auto& row : per_row) out.insert(out.end(), row.begin(), row.end());
  return out;
}

}  // namespace convkit::data
