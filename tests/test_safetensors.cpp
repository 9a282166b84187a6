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
