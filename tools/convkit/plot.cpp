#include "plot.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "convkit/error.h"

namespace convkit::cli::plot {

namespace {
// Tableau 10, the matplotlib default cycle.
constexpr double kColours[10][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                    {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                                    {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}, {0.74, 0.74, 0.13},
                                    {0.09, 0.75, 0.81}};

// Cairo's text loads fontconfig's configuration once and keeps it for the process; releasing both
// at exit keeps the leak checker's report (ASan builds) to our own allocations.
void release_fonts_at_exit() {
  static const bool registered = [] {
    std::atexit([] {
      cairo_debug_reset_static_data();
      FcFini();
    });
    return true;
  }();
  (void)registered;
}

struct Surface {
  cairo_surface_t* s;
  cairo_t* cr;
  Surface(int w, int h)
      : s((release_fonts_at_exit(), cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h))),
        cr(cairo_create(s)) {
    CONVKIT_CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "plot: cannot create a ", w,
                  " x ", h, " image");
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  ~Surface() {
    cairo_destroy(cr);
    cairo_surface_destroy(s);
  }
  Surface(const Surface&) = delete;
  Surface& operator=(const Surface&) = delete;

  std::string png() {
    cairo_surface_flush(s);
    std::string bytes;
    auto append = [](void* closure, const unsigned char* data, unsigned int n) {
      static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), n);
      return CAIRO_STATUS_SUCCESS;
    };
    CONVKIT_CHECK(cairo_surface_write_to_png_stream(s, append, &bytes) == CAIRO_STATUS_SUCCESS,
                  "plot: cannot encode the chart as PNG");
    return bytes;
  }
};

enum class Align { left, centre, right };

void text(cairo_t* cr, const std::string& s, double x, double y, double size, Align align,
          bool bold = false, bool vertical = false) {
  cairo_save(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_translate(cr, x, y);
  if (vertical) cairo_rotate(cr, -M_PI / 2);
  const double dx = align == Align::left ? 0 : align == Align::centre ? -e.width / 2 : -e.width;
  cairo_move_to(cr, dx - e.x_bearing, size * 0.35);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

// Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double lo, double hi, bool integers = false, int target = 6) {
  const double span = hi - lo;
  const double raw = integers ? std::max(1.0, span / target) : span / target;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string tick_label(double v, bool log) {
  char buf[32];
  if (log)
    std::snprintf(buf, sizeof buf, "1e%d", int(std::lround(v)));
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

std::string render(const LineChart& c, int width, int height) {
  CONVKIT_CHECK(width >= 200 && height >= 150, "plot: a chart needs at least 200 x 150 pixels");
  Surface s(width, height);
  cairo_t* cr = s.cr;
  const double left = 64, right = 16, top = 34, bottom = 48;
  const double pw = width - left - right, ph = height - top - bottom;
  auto ty = [&](double y) { return c.log_y ? std::log10(y) : y; };
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!c.log_y || y > 0);
  };

  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& ser : c.series)
    for (size_t i = 0; i < std::min(ser.x.size(), ser.y.size()); ++i)
      if (usable(ser.x[i], ser.y[i])) {
        x0 = std::min(x0, ser.x[i]);
        x1 = std::max(x1, ser.x[i]);
        y0 = std::min(y0, ty(ser.y[i]));
        y1 = std::max(y1, ty(ser.y[i]));
      }
  const bool empty = !std::isfinite(x0);
  if (empty) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (std::isfinite(c.x_min)) x0 = c.x_min;
  if (std::isfinite(c.x_max)) x1 = c.x_max;
  if (std::isfinite(c.y_min)) y0 = ty(c.y_min);
  if (std::isfinite(c.y_max)) y1 = ty(c.y_max);
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  if (!std::isfinite(c.y_min) && !std::isfinite(c.y_max)) {  // a margin above and below
    const double m = (y1 - y0) * 0.05;
    y0 -= m;
    y1 += m;
  }
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text(cr, c.title, width / 2.0, 16, 14, Align::centre, true);
  text(cr, c.x_label, left + pw / 2, height - 12, 12, Align::centre);
  text(cr, c.y_label, 14, top + ph / 2, 12, Align::centre, false, true);
  cairo_set_line_width(cr, 1);
  for (double t : ticks(x0, x1, c.integer_x)) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, px(t), top);
    cairo_line_to(cr, px(t), top + ph);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, tick_label(t, false), px(t), top + ph + 12, 10, Align::centre);
  }
  for (double t : ticks(y0, y1)) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, left, py(t));
    cairo_line_to(cr, left + pw, py(t));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, tick_label(t, c.log_y), left - 6, py(t), 10, Align::right);
  }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_rectangle(cr, left, top, pw, ph);
  cairo_stroke(cr);

  cairo_save(cr);
  cairo_rectangle(cr, left, top, pw, ph);
  cairo_clip(cr);
  if (c.diagonal) {
    const double dashes[] = {4, 4};
    cairo_set_dash(cr, dashes, 2, 0);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_move_to(cr, px(0), py(0));
    cairo_line_to(cr, px(1), py(1));
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  }
  cairo_set_line_width(cr, 1.8);
  for (size_t k = 0; k < c.series.size(); ++k) {
    const Series& ser = c.series[k];
    const double* col = kColours[k % 10];
    cairo_set_source_rgb(cr, col[0], col[1], col[2]);
    bool drawing = false;
    for (size_t i = 0; i < std::min(ser.x.size(), ser.y.size()); ++i) {
      if (!usable(ser.x[i], ser.y[i])) {
        drawing = false;  // a gap, not a line through a guess
        continue;
      }
      const double x = px(ser.x[i]), y = py(ty(ser.y[i]));
      drawing ? cairo_line_to(cr, x, y) : cairo_move_to(cr, x, y);
      drawing = true;
    }
    cairo_stroke(cr);
    if (ser.markers)
      for (size_t i = 0; i < std::min(ser.x.size(), ser.y.size()); ++i)
        if (usable(ser.x[i], ser.y[i])) {
          cairo_arc(cr, px(ser.x[i]), py(ty(ser.y[i])), 2.8, 0, 2 * M_PI);
          cairo_fill(cr);
        }
  }
  cairo_restore(cr);
  if (empty) {
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    text(cr, "no data", left + pw / 2, top + ph / 2, 14, Align::centre);
  }

  // Legend, in a corner inside the plot, on a white box.
  std::vector<size_t> named;
  for (size_t k = 0; k < c.series.size(); ++k)
    if (!c.series[k].name.empty()) named.push_back(k);
  if (!named.empty()) {
    cairo_set_font_size(cr, 11);
    double wmax = 0;
    for (size_t k : named) {
      cairo_text_extents_t e;
      cairo_text_extents(cr, c.series[k].name.c_str(), &e);
      wmax = std::max(wmax, e.width);
    }
    const double bw = wmax + 34, bh = 16.0 * double(named.size()) + 8;
    const double bx = c.legend == Corner::bottom_left ? left + 6 : left + pw - bw - 6;
    const double by = c.legend == Corner::top_right ? top + 6 : top + ph - bh - 6;
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill(cr);
    for (size_t n = 0; n < named.size(); ++n) {
      const double* col = kColours[named[n] % 10];
      const double y = by + 12 + 16.0 * double(n);
      cairo_set_source_rgb(cr, col[0], col[1], col[2]);
      cairo_set_line_width(cr, 2.5);
      cairo_move_to(cr, bx + 6, y);
      cairo_line_to(cr, bx + 24, y);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, c.series[named[n]].name, bx + 28, y, 11, Align::left);
    }
  }
  return s.png();
}

std::string render(const Heatmap& m, int width, int height) {
  const size_t rows = m.counts.size(), cols = rows ? m.counts[0].size() : 0;
  CONVKIT_CHECK(rows > 0 && cols > 0 && m.row_names.size() == rows && m.col_names.size() == cols,
                "plot: a heatmap needs counts and a name for every row and column");
  for (const auto& r : m.counts)
    CONVKIT_CHECK(r.size() == cols, "plot: heatmap rows of different lengths");
  const double cell = std::clamp(480.0 / double(std::max(rows, cols)), 12.0, 48.0);
  const double left = 130, top = 40, bottom = 110;
  if (width <= 0) width = int(left + cell * double(cols) + 20);
  if (height <= 0) height = int(top + cell * double(rows) + bottom);
  width = std::max(width, 260);
  Surface s(width, height);
  cairo_t* cr = s.cr;
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  text(cr, m.title, width / 2.0, 16, 14, Align::centre, true);
  const double font = std::min(11.0, cell * 0.4);
  for (size_t r = 0; r < rows; ++r) {
    int64_t total = 0;
    for (int64_t v : m.counts[r]) total += v;
    for (size_t c = 0; c < cols; ++c) {
      const double share = total > 0 ? double(m.counts[r][c]) / double(total) : 0;
      // White to dark blue by the share of the row (recall on the diagonal).
      const double g = 1 - share;
      cairo_set_source_rgb(cr, 0.03 + 0.97 * g, 0.19 + 0.81 * g, 0.42 + 0.58 * g);
      cairo_rectangle(cr, left + cell * double(c), top + cell * double(r), cell, cell);
      cairo_fill(cr);
      if (cell >= 18 && m.counts[r][c] != 0) {
        share > 0.5 ? cairo_set_source_rgb(cr, 1, 1, 1) : cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text(cr, std::to_string(m.counts[r][c]), left + cell * (double(c) + 0.5),
             top + cell * (double(r) + 0.5), font, Align::centre);
      }
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, m.row_names[r].substr(0, 18), left - 6, top + cell * (double(r) + 0.5), 11,
         Align::right);
  }
  for (size_t c = 0; c < cols; ++c)
    text(cr, m.col_names[c].substr(0, 18), left + cell * (double(c) + 0.5),
         top + cell * double(rows) + 6, 11, Align::right, false, true);
  text(cr, m.x_label, left + cell * double(cols) / 2, height - 10, 12, Align::centre);
  text(cr, m.y_label, 14, top + cell * double(rows) / 2, 12, Align::centre, false, true);
  return s.png();
}

}  // namespace convkit::cli::plot
