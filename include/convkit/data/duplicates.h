#pragma once
// Duplicate and near-duplicate images, for leakage checks between training, validation and test
// sets (`convkit check-data`, docs/evaluation.md). A test image that also sits in the training
// set (or differs only by re-encoding, resizing or a small brightness change) inflates every
// number measured on it.
//
// Exact duplicates: equal 8-bit pixels (FNV-1a over the size and the bytes). Near duplicates: the
// DCT perceptual hash (pHash, as the Python `imagehash` package computes it: grayscale, 32 x 32,
// 2-D DCT-II, the 8 x 8 lowest frequencies compared with their median: 64 bits) within a Hamming
// distance finds candidates, and the 16 x 16 grayscale thumbnails confirm them: their mean
// absolute difference, each thumbnail's mean brightness removed. The hash alone is too coarse for
// small images: on Fashion-MNIST, 46,900 train/test pairs are within 4 bits (most are merely
// similar garments); candidates then verified, as larger deduplication tools do. Images are 8-bit
// cv::Mat, gray or RGB.
#include <array>
#include <cstdint>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"

namespace convkit::data {

// The 64-bit pHash of `image` (bit 8 * i + j, from the most significant: coefficient (i, j) of the
// 8 x 8 block is above the block's median). The 32 x 32 grayscale image it starts from is resized
// with area averaging (INTER_AREA; imagehash uses PIL's Lanczos, so hashes agree to a few bits).
uint64_t perceptual_hash(const cv::Mat& image);
// The same from the 32 x 32 grayscale values (float, row-major, 1024 of them): the part that is
// compared with imagehash bit for bit (tests/test_duplicates.cpp, through scipy's DCT).
uint64_t perceptual_hash_32x32(const float* gray);
// FNV-1a 64 over the rows, columns, channels and pixel bytes.
uint64_t pixel_hash(const cv::Mat& image);
int hamming_distance(uint64_t a, uint64_t b);

struct ImageFingerprint {
  uint64_t exact = 0, perceptual = 0;
  std::array<uint8_t, 256> thumbnail{};  // 16 x 16 grayscale, area-averaged
};
// The fingerprint of one 8-bit gray or RGB image.
ImageFingerprint fingerprint(const cv::Mat& image);
// Mean absolute difference of two thumbnails after subtracting each one's mean (0-255 levels).
double thumbnail_difference(const ImageFingerprint& a, const ImageFingerprint& b);
// The fingerprints of every example of `ds` (unstandardized tensors [C, H, W] in [0, 1], as an
// IDX or image dataset gives them, turned back into 8-bit pixels), in batches. `progress(done,
// total)` is called after each batch when given.
std::vector<ImageFingerprint> fingerprints(
    const Dataset& ds, const std::function<void(int64_t, int64_t)>& progress = {});

struct DuplicatePair {
  int64_t a = 0, b = 0;   // example indices in the first and the second set
  int distance = 0;       // Hamming distance of the perceptual hashes (0 for most exact copies)
  double difference = 0;  // thumbnail_difference
  bool exact = false;     // equal pixels
};
// Every pair (a in `first`, b in `second`) with equal pixels, or with perceptual hashes within
// `max_distance` bits and thumbnails within `max_difference`, ordered by a then b. With `same_set`
// (first and second are the same set), only pairs a < b. Throws on max_distance outside [0, 64]
// or a negative max_difference.
std::vector<DuplicatePair> find_duplicates(const std::vector<ImageFingerprint>& first,
                                           const std::vector<ImageFingerprint>& second,
                                           int max_distance, bool same_set = false,
                                           double max_difference = 4);

}  // namespace convkit::data
