#pragma once
// Small image files written for the image-dataset tests: solid-colour images whose colour says
// their class (so a test can check that no example carries another class's label), and each kind
// of bad file the bad-data policy must handle.
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

namespace convkit::test {

// A fresh, empty temp folder named after the running test; removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& rel = "") const;

 private:
  std::filesystem::path dir_;
};

// Class colours, RGB: red, green, blue for labels 0, 1, 2.
cv::Scalar class_rgb(int label);
// Writes an h x w image of class `label`'s colour (plus a little per-file variation from `variant`)
// to `path` through OpenCV (the extension picks the format); creates parent folders.
void write_class_image(const std::string& path, int label, int variant = 0, int w = 12, int h = 10);
// Writes a one-channel image.
void write_gray_image(const std::string& path, int w = 12, int h = 10);
// Writes `bytes` to `path` as they are (creates parent folders).
void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);
// A valid PNG whose IHDR claims `w` x `h` pixels (the image data is for 1 x 1): tests refusing a
// huge image from its header alone.
std::string png_claiming_size(uint32_t w, uint32_t h);
// A PNG of class `label` with its pixel data damaged but its signature, IHDR and IEND intact (the
// scan passes it; decoding fails).
std::string corrupt_png(int label);

}  // namespace convkit::test
