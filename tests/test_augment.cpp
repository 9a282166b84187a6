// Augmentation transforms: determinism, geometry, fill modes, colour statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "convkit/data/augment.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::data;

namespace {
// An image whose pixels are all different (where 8 bits allow), from a seeded generator.
cv::Mat noise_image(int h, int w, int channels, uint64_t seed = 1) {
  cv::Mat m(h, w, CV_8UC(channels));
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// A 1-row image read back as a vector, for border checks.
std::vector<int> row(const cv::Mat& m, int r = 0) {
  std::vector<int> v;
  for (int c = 0; c < m.cols; ++c) v.push_back(m.at<uchar>(r, c));
  return v;
}

std::vector<TransformPtr> every_random_transform() {
  return {horizontal_flip(),
          vertical_flip(),
          random_crop({.padding = 4, .fill = {FillMode::reflect, 0}}),
          random_resized_crop({.height = 20, .width = 24}),
          scale_jitter({.min_side = 32, .max_side = 48, .height = 24, .width = 24}),
          random_affine({.rotation = 30,
                         .width_shift = 0.1,
                         .height_shift = 0.1,
                         .shear = 10,
                         .zoom = 0.2,
                         .fill = {FillMode::nearest, 0}}),
          color_jitter({.brightness = 0.4, .contrast = 0.4, .saturation = 0.4}),
          channel_shift(30),
          pca_lighting(0.5, ColorPca{{0.2, 0.05, 0.01},
                                     {{0.58, 0.58, 0.58}, {0.7, 0, -0.7}, {0.4, -0.8, 0.4}}}),
          random_erasing({.p = 1.0, .random_value = true}),
          cutout(8),
          random_apply(0.5, horizontal_flip(1.0))};
}
}  // namespace

TEST(Augment, EveryTransformIsAFunctionOfTheSeedAndLeavesItsInputAlone) {
  const cv::Mat image = noise_image(28, 32, 3);
  const cv::Mat original = image.clone();
  for (const TransformPtr& t : every_random_transform()) {
    SCOPED_TRACE(t->describe());
    Generator a(123), b(123);
    cv::Mat x = t->apply(image, a), y = t->apply(image, b);
    EXPECT_TRUE(same(x, y));
    EXPECT_EQ(a.next_u64(), b.next_u64());  // both consumed the same draws
    EXPECT_TRUE(same(image, original));
    int differ = 0;  // across seeds the outputs vary (a flip is a coin toss, so count)
    for (uint64_t s = 0; s < 8; ++s) {
      Generator g(s);
      differ += !same(t->apply(image, g), x);
    }
    EXPECT_GE(differ, 2);
  }
}

TEST(Augment, FlippingTwiceIsTheIdentityAndMirrors) {
  const cv::Mat image = noise_image(5, 7, 1);
  Generator g(0);
  for (const TransformPtr& f : {horizontal_flip(1.0), vertical_flip(1.0)}) {
    cv::Mat once = f->apply(image, g);
    EXPECT_FALSE(same(once, image));
    EXPECT_TRUE(same(f->apply(once, g), image));
  }
  cv::Mat h = horizontal_flip(1.0)->apply(image, g);
  EXPECT_EQ(h.at<uchar>(2, 0), image.at<uchar>(2, 6));
  cv::Mat v = vertical_flip(1.0)->apply(image, g);
  EXPECT_EQ(v.at<uchar>(0, 3), image.at<uchar>(4, 3));
  EXPECT_TRUE(same(horizontal_flip(0.0)->apply(image, g), image));
}

TEST(Augment, RandomCropWithPaddingKeepsTheSizeAndShiftsTheImage) {
  const cv::Mat image = noise_image(12, 10, 1);
  auto crop = random_crop({.padding = 3});
  for (uint64_t s = 0; s < 10; ++s) {
    Generator g(s);
    cv::Mat out = crop->apply(image, g);
    ASSERT_EQ(out.size(), image.size());
    // Exactly one shift (dy, dx) within the padding reproduces the output from the input.
    int matches = 0;
    for (int dy = -3; dy <= 3; ++dy)
      for (int dx = -3; dx <= 3; ++dx) {
        cv::Mat shifted(image.size(), CV_8UC1, cv::Scalar(0));
        cv::Rect src =
            cv::Rect(dx, dy, image.cols, image.rows) & cv::Rect(0, 0, image.cols, image.rows);
        image(src).copyTo(shifted(cv::Rect(src.x - dx, src.y - dy, src.width, src.height)));
        matches += same(shifted, out);
      }
    EXPECT_EQ(matches, 1) << "seed " << s;
  }
  Generator g(0);
  EXPECT_EQ(random_crop({.height = 8, .width = 6})->apply(image, g).size(), cv::Size(6, 8));
  EXPECT_THROW_WITH(random_crop({.height = 20, .width = 20, .padding = 2})->apply(image, g),
                    "random_crop", "20x20 crop does not fit", "12x10");
}

TEST(Augment, FillModesFollowKeras) {
  // Row "1 2 3 4" padded by 2 and cropped to the padded size (a single possible window).
  const cv::Mat image = (cv::Mat_<uchar>(1, 4) << 1, 2, 3, 4);
  auto padded = [&](FillMode mode) {
    Generator g(0);
    return row(
        random_crop({.height = 5, .width = 8, .padding = 2, .fill = {mode, 9}})->apply(image, g),
        2);
  };
  EXPECT_EQ(padded(FillMode::constant), (std::vector<int>{9, 9, 1, 2, 3, 4, 9, 9}));
  EXPECT_EQ(padded(FillMode::nearest), (std::vector<int>{1, 1, 1, 2, 3, 4, 4, 4}));
  EXPECT_EQ(padded(FillMode::reflect), (std::vector<int>{2, 1, 1, 2, 3, 4, 4, 3}));
  EXPECT_EQ(padded(FillMode::wrap), (std::vector<int>{3, 4, 1, 2, 3, 4, 1, 2}));
  // Warps fill the same way: shifting right by 2 pulls in input columns -2 and -1.
  auto shifted = [&](FillMode mode) {
    Generator g(0);
    return row(affine({.shift_x = 2}, {mode, 9})->apply(image, g));
  };
  EXPECT_EQ(shifted(FillMode::constant), (std::vector<int>{9, 9, 1, 2}));
  EXPECT_EQ(shifted(FillMode::nearest), (std::vector<int>{1, 1, 1, 2}));
  EXPECT_EQ(shifted(FillMode::reflect), (std::vector<int>{2, 1, 1, 2}));
  EXPECT_EQ(shifted(FillMode::wrap), (std::vector<int>{3, 4, 1, 2}));
  EXPECT_THROW_WITH(parse_fill_mode("mirror"), "'mirror'", "constant, nearest, reflect, wrap");
}

TEST(Augment, AffineWithZeroRangesIsTheIdentity) {
  const cv::Mat image = noise_image(9, 11, 3);
  Generator g(5);
  EXPECT_TRUE(same(random_affine({})->apply(image, g), image));
  EXPECT_TRUE(same(affine({})->apply(image, g), image));
  // 90 degrees counter-clockwise on a square image: the top row becomes the left column, reversed.
  const cv::Mat sq = noise_image(7, 7, 1);
  cv::Mat r = affine({.rotation = 90})->apply(sq, g);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(r.at<uchar>(6 - i, 0), sq.at<uchar>(0, i)) << i;
  // Zoom 2 about the centre: the centre pixel stays, its neighbour moves two pixels away.
  std::vector<double> m = affine_matrix(7, 7, {.zoom = 2});
  EXPECT_DOUBLE_EQ(m[0] * 3 + m[2], 3);
  EXPECT_DOUBLE_EQ(m[0] * 4 + m[2], 5);
  EXPECT_THROW_WITH(random_affine({.zoom = 1.5}), "random_affine", "zoom", "1.5");
}

TEST(Augment, ResizedCropsHaveTheRequestedSize) {
  const cv::Mat image = noise_image(40, 30, 3);
  Generator g(1);
  // The whole image at its own aspect ratio and size: nothing changes.
  EXPECT_TRUE(
      same(random_resized_crop({.scale = {1, 1}, .ratio = {0.75, 0.75}})->apply(image, g), image));
  EXPECT_EQ(random_resized_crop({.height = 16, .width = 24})->apply(image, g).size(),
            cv::Size(24, 16));
  cv::Mat s =
      scale_jitter({.min_side = 32, .max_side = 40, .height = 24, .width = 24})->apply(image, g);
  EXPECT_EQ(s.size(), cv::Size(24, 24));
  EXPECT_THROW_WITH(scale_jitter({.min_side = 16, .max_side = 40, .height = 24, .width = 24}),
                    "scale_jitter", "min_side 16");
  EXPECT_THROW_WITH(random_resized_crop({.scale = {0.5, 0.1}}), "random_resized_crop", "scale");
  cv::Mat small = resize(10, 20)->apply(image, g);
  EXPECT_EQ(small.size(), cv::Size(20, 10));
  cv::Mat c = center_crop(2, 2)->apply(image, g);
  EXPECT_TRUE(same(c, image(cv::Rect(14, 19, 2, 2))));
}

TEST(Augment, ColourTransformsDoWhatTheySay) {
  Generator g(3);
  // Saturation blends with the grey image, which for grey pixels is the pixel itself.
  cv::Mat grey_rgb(6, 6, CV_8UC3, cv::Scalar(90, 90, 90));
  EXPECT_TRUE(same(color_jitter({.saturation = 0.9})->apply(grey_rgb, g), grey_rgb));
  // Brightness scales a flat image to another flat image within the factor range.
  cv::Mat flat(6, 6, CV_8UC1, cv::Scalar(100));
  cv::Mat b = color_jitter({.brightness = 0.5})->apply(flat, g);
  double lo, hi;
  cv::minMaxLoc(b, &lo, &hi);
  EXPECT_EQ(lo, hi);
  EXPECT_GE(lo, 50);
  EXPECT_LE(hi, 150);
  // Channel shift adds one offset per channel.
  cv::Mat mid(4, 4, CV_8UC3, cv::Scalar(100, 120, 140));
  cv::Mat s = channel_shift(20)->apply(mid, g);
  cv::Scalar mean, sd;
  cv::meanStdDev(s, mean, sd);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(sd[c], 0);
  EXPECT_NE(mean[0] - 100, mean[1] - 120);
  // PCA lighting along a single grey component moves every channel by the same amount.
  cv::Mat l =
      pca_lighting(1.0, ColorPca{{0.1, 0, 0},
                                 {{1 / std::sqrt(3.0), 1 / std::sqrt(3.0), 1 / std::sqrt(3.0)},
                                  {1, 0, 0},
                                  {0, 1, 0}}})
          ->apply(mid, g);
  cv::Mat diff;
  cv::subtract(l, mid, diff, cv::noArray(), CV_32S);
  cv::Scalar d = cv::mean(diff);
  EXPECT_NE(d[0], 0);
  EXPECT_EQ(d[0], d[1]);
  EXPECT_EQ(d[1], d[2]);
}

TEST(Augment, ColourPcaRecoversAKnownCovariance) {
  // Pixels drawn from N(0.5, V diag(lambda) V^T): the PCA must return lambda and V.
  const double lambda[3] = {0.012, 0.004, 0.001};
  const double v[3][3] = {
      {0.6, 0.64, 0.48}, {-0.8, 0.48, 0.36}, {0, -0.6, 0.8}};  // orthonormal rows
  Generator g(11);
  std::vector<cv::Mat> images;
  for (int n = 0; n < 40; ++n) {
    cv::Mat m(32, 32, CV_8UC3);
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        double z[3] = {g.normal(0, std::sqrt(lambda[0])), g.normal(0, std::sqrt(lambda[1])),
                       g.normal(0, std::sqrt(lambda[2]))};
        for (int c = 0; c < 3; ++c) {
          double p = 0.5 + z[0] * v[0][c] + z[1] * v[1][c] + z[2] * v[2][c];
          m.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<uchar>(p * 255);
        }
      }
    images.push_back(m);
  }
  ColorPca pca = color_pca(images);
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(pca.eigenvalues[k], lambda[k], 0.05 * lambda[k]) << k;
    double dot = 0;
    for (int c = 0; c < 3; ++c) dot += pca.eigenvectors[k][c] * v[k][c];
    EXPECT_GT(std::abs(dot), 0.99) << k;
  }
  EXPECT_THROW_WITH(pca_lighting(0.1, pca)->apply(cv::Mat(3, 3, CV_8UC1, cv::Scalar(0)), g),
                    "pca_lighting", "3 channels", "image has 1");
}

TEST(Augment, ErasingBlanksOneRectangleOfTheRequestedArea) {
  const cv::Mat white(40, 50, CV_8UC1, cv::Scalar(255));
  for (uint64_t s = 0; s < 10; ++s) {
    Generator g(s);
    cv::Mat out = random_erasing({.p = 1.0, .scale = {0.1, 0.2}})->apply(white, g);
    cv::Mat zero = out == 0;
    const int n = cv::countNonZero(zero);
    EXPECT_GE(n, int(0.1 * 2000 * 0.8)) << s;
    EXPECT_LE(n, int(0.2 * 2000 * 1.2)) << s;
    EXPECT_EQ(cv::boundingRect(zero).area(), n) << s;  // a solid rectangle
  }
  for (uint64_t s = 0; s < 10; ++s) {
    Generator g(s);
    cv::Mat zero = cutout(10)->apply(white, g) == 0;
    cv::Rect box = cv::boundingRect(zero);
    EXPECT_EQ(box.area(), cv::countNonZero(zero));
    EXPECT_LE(box.width, 10);
    EXPECT_LE(box.height, 10);
    EXPECT_GE(box.area(), 25);  // at least a quarter of the square lies inside
  }
  Generator g(0);
  EXPECT_TRUE(same(random_erasing({.p = 0})->apply(white, g), white));
  EXPECT_THROW_WITH(cutout(0), "cutout", "size");
}

TEST(Augment, ComposeAppliesInOrderAndDescribesItself) {
  auto t =
      compose({random_crop({.padding = 4, .fill = {FillMode::reflect, 0}}), horizontal_flip()});
  EXPECT_EQ(t->describe(),
            "compose(random_crop(size=input, padding=4, fill=reflect), horizontal_flip(p=0.5))");
  const cv::Mat image = noise_image(8, 8, 1);
  Generator g(0);
  cv::Mat once = compose({horizontal_flip(1.0), vertical_flip(1.0)})->apply(image, g);
  cv::Mat both;
  cv::flip(image, both, -1);
  EXPECT_TRUE(same(once, both));
  EXPECT_THROW_WITH(horizontal_flip()->apply(cv::Mat(3, 3, CV_32FC1), g), "horizontal_flip",
                    "8-bit");
  EXPECT_THROW_WITH(horizontal_flip(1.5), "horizontal_flip", "[0, 1]", "1.5");
}
