#include "output_files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "convkit/error.h"

namespace convkit::cli {

namespace fs = std::filesystem;

void make_output_dir(const std::string& dir, const char* command) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error(std::string(command) + ": --out " + dir + " exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec)
    throw Error(std::string(command) + ": cannot create the output folder " + dir + " (" +
                ec.message() + ")");
}

void write_text_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      throw Error(path + ": cannot create the file (" + std::strerror(errno) +
                  "); check that the folder exists and is writable");
    f.write(content.data(), std::streamsize(content.size()));
    f.flush();
    if (!f.good()) {
      const int err = errno;
      f.close();
      fs::remove(tmp);
      throw Error(path + ": write failed (" + std::strerror(err) + "; is the disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw Error(path + ": cannot replace the file (" + ec.message() + ")");
  }
}

void write_png(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr = rgb;
  if (rgb.channels() == 3) cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);  // imencode expects BGR
  std::vector<uchar> bytes;
  CONVKIT_CHECK(cv::imencode(".png", bgr, bytes), path, ": cannot encode the image as PNG");
  write_text_file(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace convkit::cli
