#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "convkit/io/safetensors.h"
#include "support/gradcheck.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
std::string tmp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("convkit_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string with_header(const std::string& json, const std::string& data = "") {
  std::string s(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) s[i] = char((n >> (8 * i)) & 0xff);
  return s + json + data;
}
}  // namespace

TEST(Safetensors, RoundTrip) {
  std::string p = tmp_path("rt.safetensors");
  std::map<std::string, Tensor> ts{{"conv1.weight", Tensor::randn({4, 3, 3, 3})},
                                   {"labels", Tensor::arange(0, 5, 1, DType::i64)},
                                   {"img", Tensor::full({2, 2}, 7, DType::u8)},
                                   {"scalar", Tensor::full({}, 3.0, DType::f64)}};
  io::save_safetensors(p, ts, {{"model", "lenet5"}});
  io::SafetensorsFile f = io::load_safetensors(p);
  EXPECT_EQ(f.metadata.at("model"), "lenet5");
  ASSERT_EQ(f.tensors.size(), 4u);
  for (auto& [k, t] : ts) {
    EXPECT_EQ(f.tensors.at(k).shape(), t.shape()) << k;
    EXPECT_EQ(f.tensors.at(k).dtype(), t.dtype()) << k;
    EXPECT_EQ(test::max_abs_diff(f.tensors.at(k), t), 0.0) << k;
  }
  EXPECT_FALSE(fs::exists(p + ".tmp-" + std::to_string(::getpid())));
}

TEST(Safetensors, BadFilesNameThePathAndProblem) {
  std::string p = tmp_path("bad.safetensors");
  EXPECT_THROW_WITH(io::load_safetensors(tmp_path("missing.safetensors")), "missing.safetensors",
                    "cannot open");
  write_bytes(p, "");
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "too short");
  write_bytes(p, with_header("{\"a\":"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "not valid JSON");
  write_bytes(p, std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8) + "{}");
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "exceeds the file size");
  write_bytes(p, with_header(R"({"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", "xx"));
  EXPECT_THROW_WITH(io::load_safetensors(p), "'w'", "unsupported dtype");
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "1234"));
  EXPECT_THROW_WITH(io::load_safetensors(p), "'w'", "outside");
  write_bytes(p,
              with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678"));
  EXPECT_THROW_WITH(io::load_safetensors(p), "'w'", "needs 12");
  // A valid file cut short loses its data section.
  io::save_safetensors(p, {{"w", Tensor::ones({16})}});
  fs::resize_file(p, fs::file_size(p) - 10);
  EXPECT_THROW_WITH(io::load_safetensors(p), "'w'", "truncated");
}

TEST(Safetensors, UnwritableFolderIsReported) {
  EXPECT_THROW_WITH(
      io::save_safetensors("/nonexistent-dir/x.safetensors", {{"w", Tensor::ones({1})}}),
      "/nonexistent-dir/x.safetensors", "cannot create");
}

// Files that the old reader accepted although they are malformed (issue 16): each is refused with
// the path and the problem.
TEST(Safetensors, MalformedButParseableFilesAreRefused) {
  std::string p = tmp_path("malformed.safetensors");
  const std::string w = R"("w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]})";
  // The well-formed file these are variations of.
  write_bytes(p, with_header("{" + w + "}", "ab"));
  EXPECT_EQ(io::load_safetensors(p).tensors.at("w").numel(), 2);
  // Bytes after the last tensor, or between two, belong to no tensor.
  write_bytes(p, with_header("{" + w + "}", "abHIDDEN"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "bytes [2, 8)", "belong to no tensor");
  write_bytes(p, with_header("{" + w + R"(,"v":{"dtype":"U8","shape":[1],"data_offsets":[5,6]}})",
                             "abXYZc"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "bytes [2, 5)", "belong to no tensor");
  // A key given twice (JSON parsers keep one silently), at the top and inside a tensor.
  write_bytes(p, with_header("{" + w + "," + w + "}", "ab"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "'w' twice");
  write_bytes(
      p,
      with_header(R"({"w":{"dtype":"U8","dtype":"F32","shape":[2],"data_offsets":[0,2]}})", "ab"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "'dtype' twice");
  // Nesting no header needs (printing it in a message would recurse as deep).
  write_bytes(p, with_header(R"({"w":{"dtype":[[[[[[[[[[[[1]]]]]]]]]]]],"shape":[]}})"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "nests deeper than 8");
  // A shape given as a number.
  write_bytes(p, with_header(R"({"w":{"dtype":"U8","shape":2,"data_offsets":[0,2]}})", "ab"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "'w' has shape 2, not an array");
  // An element count that overflows int64 (it wrapped to a small number before).
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4],)"
                             R"("data_offsets":[0,0]}})"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "'w'", "overflows int64");
  // A count that fits int64 but whose byte count does not fit 64 bits.
  write_bytes(p, with_header(R"({"w":{"dtype":"F64","shape":[2305843009213693952,2],)"
                             R"("data_offsets":[0,0]}})"));
  EXPECT_THROW_WITH(io::load_safetensors(p), p, "'w'", "byte count", "overflows");
}

TEST(Shape, CheckedNumelRefusesOverflowAndNegativeDimensions) {
  EXPECT_EQ(Shape({3, 4, 5}).checked_numel(), 60);
  EXPECT_EQ(Shape({int64_t(1) << 20, 0, int64_t(1) << 20}).checked_numel(), 0);
  // Empty, but its strides would overflow.
  EXPECT_THROW_WITH(Shape({int64_t(1) << 40, 0, int64_t(1) << 40}).checked_numel(),
                    "overflows int64");
  EXPECT_EQ(Shape({int64_t(1) << 31, int64_t(1) << 31}).checked_numel(), int64_t(1) << 62);
  EXPECT_THROW_WITH(Shape({int64_t(1) << 32, int64_t(1) << 32}).checked_numel(),
                    "[4294967296,4294967296]", "overflows int64");
  EXPECT_THROW_WITH(Shape({2, -3}).checked_numel(), "negative dimension", "[2,-3]");
}
