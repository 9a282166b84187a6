#include "support/image_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace convkit::test {

TempDir::TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = fs::temp_directory_path() / ("convkit_" + std::string(info->test_suite_name()) + "_" +
                                      info->name() + "_" + std::to_string(::getpid()));
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string TempDir::path(const std::string& rel) const {
  return rel.empty() ? dir_.string() : (dir_ / rel).string();
}

cv::Scalar class_rgb(int label) {
  static const cv::Scalar colours[] = {{220, 20, 20}, {20, 220, 20}, {20, 20, 220}};
  return colours[label % 3];
}

namespace {
void make_parent(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
}
}  // namespace

void write_class_image(const std::string& path, int label, int variant, int w, int h) {
  make_parent(path);
  cv::Scalar rgb = class_rgb(label);
  // OpenCV writes BGR.
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(rgb[2], rgb[1], rgb[0]));
  cv::circle(img, {w / 2, h / 2}, 1 + variant % 3,
             cv::Scalar(rgb[2] * 0.8, rgb[1] * 0.8, rgb[0] * 0.8), -1);
  ASSERT_TRUE(cv::imwrite(path, img)) << path;
}

void write_gray_image(const std::string& path, int w, int h) {
  make_parent(path);
  cv::Mat img(h, w, CV_8UC1, cv::Scalar(128));
  ASSERT_TRUE(cv::imwrite(path, img)) << path;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  make_parent(path);
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string png_claiming_size(uint32_t w, uint32_t h) {
  std::vector<uchar> buf;
  cv::imencode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)), buf);
  std::string png(buf.begin(), buf.end());
  // IHDR data starts at byte 16: width, height, big-endian.
  for (int k = 0; k < 4; ++k) {
    png[size_t(16 + k)] = char((w >> (24 - 8 * k)) & 0xff);
    png[size_t(20 + k)] = char((h >> (24 - 8 * k)) & 0xff);
  }
  return png;
}

std::string corrupt_png(int label) {
  cv::Scalar rgb = class_rgb(label);
  cv::Mat img(16, 16, CV_8UC3, cv::Scalar(rgb[2], rgb[1], rgb[0]));
  cv::randu(img, 0, 255);  // incompressible, so IDAT is long enough to damage in the middle
  std::vector<uchar> buf;
  cv::imencode(".png", img, buf);
  std::string png(buf.begin(), buf.end());
  size_t idat = png.find("IDAT");
  EXPECT_NE(idat, std::string::npos);
  for (size_t k = idat + 8; k < idat + 40 && k < png.size() - 12; ++k) png[k] = char(~png[k]);
  return png;
}

}  // namespace convkit::test
