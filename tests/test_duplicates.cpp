// Leakage checks: the perceptual hash (against scipy's DCT, as imagehash computes pHash), its
// robustness to re-encoding, and the duplicate search across and within sets.
#include <gtest/gtest.h>

#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "convkit/data/dataset.h"
#include "convkit/data/duplicates.h"
#include "convkit/random.h"
#include "support/gradcheck.h"
#include "support/image_files.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

cv::Mat noise_image(uint64_t seed, int size = 48) {
  cv::Mat small(6, 6, CV_8UC3), big;
  cv::RNG rng(seed);
  rng.fill(small, cv::RNG::UNIFORM, 0, 256);
  cv::resize(small, big, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);  // smooth structure
  return big;
}

// imagehash.phash without PIL's resize: dct(dct(x, axis=0), axis=1)[:8, :8] > median.
TEST(Duplicates, PerceptualHashMatchesImagehashsDct) {
  std::string why;
  if (!test::python_has("numpy, scipy.fftpack", &why)) GTEST_SKIP() << why;
  test::TempDir t;
  Generator gen(3);
  std::vector<float> values(5 * 1024);
  for (float& v : values) v = float(gen.uniform() * 255);
  for (int k = 0; k < 1024; ++k) values[4 * 1024 + k] = float((k % 32) * 8);  // a ramp: ties
  const std::string in = t.path("x.f32");
  test::write_bytes(
      in, std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  std::string out;
  ASSERT_EQ(test::run_python("-c \"import numpy as np, scipy.fftpack as f\n"
                             "x = np.fromfile('" +
                                 in +
                                 "', dtype=np.float32).astype(np.float64).reshape(-1, 32, 32)\n"
                                 "for p in x:\n"
                                 "  d = f.dct(f.dct(p, axis=0), axis=1)[:8, :8]\n"
                                 "  bits = (d > np.median(d)).flatten()\n"
                                 "  print(int(''.join('1' if b else '0' for b in bits), 2))\"",
                             &out),
            0)
      << out;
  std::istringstream lines(out);
  for (int k = 0; k < 5; ++k) {
    unsigned long long expected = 0;
    ASSERT_TRUE(lines >> expected) << out;
    EXPECT_EQ(data::perceptual_hash_32x32(values.data() + k * 1024), uint64_t(expected))
        << "image " << k;
  }
}

TEST(Duplicates, ReencodedAndBrightenedCopiesStayClose) {
  const cv::Mat a = noise_image(1), b = noise_image(2);
  const uint64_t ha = data::perceptual_hash(a);
  cv::Mat brighter, half, jpeg;
  a.convertTo(brighter, -1, 1.0, 12);
  cv::resize(a, half, cv::Size(24, 24), 0, 0, cv::INTER_AREA);
  std::vector<uchar> bytes;
  cv::imencode(".jpg", a, bytes, {cv::IMWRITE_JPEG_QUALITY, 70});
  jpeg = cv::imdecode(bytes, cv::IMREAD_COLOR);
  EXPECT_LE(data::hamming_distance(ha, data::perceptual_hash(brighter)), 4);
  EXPECT_LE(data::hamming_distance(ha, data::perceptual_hash(half)), 4);
  EXPECT_LE(data::hamming_distance(ha, data::perceptual_hash(jpeg)), 4);
  EXPECT_GT(data::hamming_distance(ha, data::perceptual_hash(b)), 12);
  EXPECT_EQ(data::pixel_hash(a), data::pixel_hash(a.clone()));
  EXPECT_NE(data::pixel_hash(a), data::pixel_hash(brighter));
  EXPECT_THROW_WITH(data::perceptual_hash(cv::Mat(4, 4, CV_32FC1)), "8-bit gray or RGB");
}

Tensor as_tensor(const std::vector<cv::Mat>& images) {
  const int s = images[0].rows;
  Tensor x = Tensor::empty({int64_t(images.size()), 3, s, s});
  for (size_t n = 0; n < images.size(); ++n)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < s; ++y)
        for (int i = 0; i < s; ++i)
          x.data<float>()[((n * 3 + c) * s + y) * s + i] =
              images[n].at<cv::Vec3b>(y, i)[c] / 255.0f;
  return x;
}

// A planted copy and a planted near copy are the only findings across two sets.
TEST(Duplicates, PlantedCopiesAreFoundAcrossAndWithinSets) {
  std::vector<cv::Mat> train, test;
  for (int k = 0; k < 20; ++k) train.push_back(noise_image(100 + k, 32));
  for (int k = 0; k < 10; ++k) test.push_back(noise_image(200 + k, 32));
  test.push_back(train[3].clone());
  std::vector<uchar> bytes;  // the near copy: re-encoded as a JPEG
  cv::imencode(".jpg", train[7], bytes, {cv::IMWRITE_JPEG_QUALITY, 85});
  test.push_back(cv::imdecode(bytes, cv::IMREAD_COLOR));
  const auto ptrain =
      data::fingerprints(data::TensorDataset(as_tensor(train), Tensor::zeros({20}, DType::i64), 2));
  const auto ptest =
      data::fingerprints(data::TensorDataset(as_tensor(test), Tensor::zeros({12}, DType::i64), 2));
  // Distinct smooth noise images are 16 or more bits apart; JPEG at 85 moves 32 x 32 ones by up
  // to 6 bits (measured over 30 of them).
  const auto pairs = data::find_duplicates(ptrain, ptest, 8);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].a, 3);
  EXPECT_EQ(pairs[0].b, 10);
  EXPECT_TRUE(pairs[0].exact);
  EXPECT_EQ(pairs[0].distance, 0);
  EXPECT_EQ(pairs[1].a, 7);
  EXPECT_EQ(pairs[1].b, 11);
  EXPECT_FALSE(pairs[1].exact);
  EXPECT_LE(pairs[1].distance, 8);
  // Within one set: only a < b, so a copy is one pair, not two, and no image pairs with itself.
  const auto within = data::find_duplicates(ptest, ptest, 8, /*same_set=*/true);
  EXPECT_TRUE(within.empty());
  std::vector<data::ImageFingerprint> twice = ptrain;
  twice.push_back(ptrain[5]);
  const auto again = data::find_duplicates(twice, twice, 0, true);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].a, 5);
  EXPECT_EQ(again[0].b, 20);
  EXPECT_THROW_WITH(data::find_duplicates(ptrain, ptest, 65), "[0, 64]");
}

}  // namespace
}  // namespace convkit
