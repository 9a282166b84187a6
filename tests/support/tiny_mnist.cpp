#include "support/tiny_mnist.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

namespace convkit::test {

namespace {
void put_u32(std::ofstream& f, uint32_t v) {
  unsigned char b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  f.write(reinterpret_cast<char*>(b), 4);
}

void write_split(const std::string& dir, const std::string& prefix, int n,
                 const std::vector<std::vector<uint8_t>>& patterns, std::mt19937& rng) {
  std::ofstream img(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
  std::ofstream lab(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
  put_u32(img, 0x00000803);
  put_u32(img, uint32_t(n));
  put_u32(img, 28);
  put_u32(img, 28);
  put_u32(lab, 0x00000801);
  put_u32(lab, uint32_t(n));
  std::uniform_int_distribution<int> noise(-60, 60);
  for (int i = 0; i < n; ++i) {
    uint8_t label = uint8_t(i % 10);
    lab.put(char(label));
    for (uint8_t p : patterns[label]) img.put(char(std::clamp(int(p) + noise(rng), 0, 255)));
  }
}
}  // namespace

void write_tiny_mnist(const std::string& dir, int n_train, int n_test, unsigned seed) {
  std::filesystem::create_directories(dir);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::vector<std::vector<uint8_t>> patterns(10, std::vector<uint8_t>(28 * 28));
  for (auto& p : patterns)
    for (auto& v : p) v = uint8_t(pixel(rng));
  write_split(dir, "train", n_train, patterns, rng);
  write_split(dir, "t10k", n_test, patterns, rng);
}

}  // namespace convkit::test
