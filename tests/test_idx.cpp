#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "convkit/data/idx.h"
#include "support/gradcheck.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
std::string tmp(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("convkit_idx_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return (d / name).string();
}
std::string idx_bytes(std::vector<uint32_t> dims, const std::string& data) {
  std::string s = {0, 0, 8, char(dims.size())};
  for (uint32_t d : dims) s += {char(d >> 24), char(d >> 16), char(d >> 8), char(d)};
  return s + data;
}
void write(const std::string& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}
void write_gz(const std::string& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}
}  // namespace

TEST(Idx, ReadsPlainAndGzipped) {
  std::string data = {1, 2, 3, 4, 5, 6};
  write(tmp("a.idx"), idx_bytes({2, 3}, data));
  write_gz(tmp("a.idx.gz"), idx_bytes({2, 3}, data));
  for (const char* name : {"a.idx", "a.idx.gz"}) {
    Tensor t = data::read_idx(tmp(name));
    EXPECT_EQ(t.shape(), Shape({2, 3}));
    EXPECT_EQ(t.dtype(), DType::u8);
    EXPECT_EQ(t.at({1, 2}), 6.0);
  }
}

TEST(Idx, BadFilesAreReportedWithPath) {
  EXPECT_THROW_WITH(data::read_idx(tmp("nope.idx")), "nope.idx", "not found");
  write(tmp("bad.idx"), "hello world");
  EXPECT_THROW_WITH(data::read_idx(tmp("bad.idx")), "bad.idx", "bad magic");
  write(tmp("short.idx"), idx_bytes({2, 3}, "abc"));
  EXPECT_THROW_WITH(data::read_idx(tmp("short.idx")), "short.idx", "need 6");
  std::string gz = tmp("cut.idx.gz");
  write_gz(gz, idx_bytes({100, 100}, std::string(10000, 'x')));
  fs::resize_file(gz, fs::file_size(gz) / 2);
  EXPECT_THROW_WITH(data::read_idx(gz), "cut.idx.gz");
}

TEST(Idx, LoadsFashionMnistWhenInstalled) {
  if (!fs::exists(std::string(data::kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  data::LabelledImages test = data::load_mnist_split(data::kFashionMnistDir, /*train=*/false);
  EXPECT_EQ(test.images.shape(), Shape({10000, 1, 28, 28}));
  EXPECT_EQ(test.labels.shape(), Shape({10000}));
  int64_t counts[10] = {};
  for (int64_t i = 0; i < 10000; ++i) counts[test.labels.data<int64_t>()[i]]++;
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], 1000);  // the test split is balanced
}

// Dimensions whose product overflows int64 wrapped to a small count, so a tiny file passed the
// size check; now the header is refused naming the file.
TEST(Idx, OverflowingDimensionsAreRefused) {
  write(tmp("huge.idx"), idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, ""));
  EXPECT_THROW_WITH(data::read_idx(tmp("huge.idx")), "huge.idx", "overflows int64");
  // 2^32 * 2^32 would wrap to 0 and match an empty data section.
  EXPECT_THROW_WITH(data::parse_idx(idx_bytes({65536, 65536, 65536, 65536}, ""), "mem.idx"),
                    "mem.idx", "overflows int64");
}

TEST(Idx, BadLabelsAndEmptySetsNameTheFile) {
  const fs::path dir = fs::path(tmp("split"));
  fs::create_directories(dir);
  auto write_split = [&](uint32_t n, const std::string& labels) {
    write((dir / "t10k-images-idx3-ubyte").string(), idx_bytes({n, 2, 2}, std::string(4 * n, 'x')));
    write((dir / "t10k-labels-idx1-ubyte").string(), idx_bytes({n}, labels));
  };
  write_split(3, {0, 9, 2});
  EXPECT_EQ(data::load_mnist_split(dir.string(), /*train=*/false).labels.numel(), 3);
  write_split(3, {0, 12, 2});
  EXPECT_THROW_WITH(data::load_mnist_split(dir.string(), /*train=*/false), "t10k-labels-idx1-ubyte",
                    "label 12 of example 1", "out of range for 10");
  write_split(0, "");
  EXPECT_THROW_WITH(data::load_mnist_split(dir.string(), /*train=*/false), "t10k-images-idx3-ubyte",
                    "no images");
}
