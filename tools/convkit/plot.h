#pragma once
// Charts as PNG files for `convkit report` and `train --plots`, drawn with cairo (Debian's
// libcairo2-dev): line charts (training curves, ROC and precision-recall curves, reliability
// diagrams) and heatmaps (the confusion matrix). Cairo rather than PLplot: it is a 2-D drawing
// library with antialiased text and an in-memory PNG writer, so a chart is a few dozen calls with
// full control of the layout, and it is already on every desktop Debian; PLplot would add its
// own device drivers and fonts for less control (docs/evaluation.md).
//
// Non-finite points are left out (a line breaks there); an empty chart still renders its axes and
// says "no data". Files are written whole or not at all (output_files.h).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace convkit::cli::plot {

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool markers = false;  // a dot on every point (few points: epochs)
};

enum class Corner { top_right, bottom_right, bottom_left };

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool diagonal = false;   // the y = x line (ROC chance, perfect calibration)
  bool log_y = false;      // logarithmic y axis (learning rates); non-positive y left out
  bool integer_x = false;  // x ticks on whole numbers only (epochs)
  Corner legend = Corner::top_right;  // where the curves are not (ROC: bottom right)
  double x_min = NAN, x_max = NAN;    // NaN: from the data
  double y_min = NAN, y_max = NAN;
};

struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> row_names, col_names;
  std::vector<std::vector<int64_t>> counts;  // [rows][cols]; colour: the share of the row
};

// PNG bytes of the chart, `width` x `height` pixels.
std::string render(const LineChart& chart, int width = 640, int height = 420);
std::string render(const Heatmap& map, int width = 0, int height = 0);  // 0: from the class count

}  // namespace convkit::cli::plot
