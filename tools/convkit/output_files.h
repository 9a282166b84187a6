#pragma once
// Files the commands write for a person or a script (JSON, CSV, HTML, PNG): written whole or not
// at all (a temporary file in the same folder, then a rename), and any failure (a full disk, a
// read-only folder) throws naming the file and the reason, so a command never exits 0 with a
// truncated report.
#include <opencv2/core.hpp>
#include <string>

namespace convkit::cli {

// Creates `dir` (and its parents) for the outputs of `command`; throws when it cannot, or when
// `dir` exists and is no directory.
void make_output_dir(const std::string& dir, const char* command);

void write_text_file(const std::string& path, const std::string& content);

// An 8-bit image in RGB (or gray) order as PNG.
void write_png(const std::string& path, const cv::Mat& rgb);

}  // namespace convkit::cli
