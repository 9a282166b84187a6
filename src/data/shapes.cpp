#include "convkit/data/shapes.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "convkit/data/transform.h"
#include "convkit/error.h"
#include "convkit/random.h"

namespace convkit::data {

namespace fs = std::filesystem;

const std::vector<std::string>& shape_names() {
  static const std::vector<std::string> names = {"circle",   "square",  "triangle", "star",
                                                 "pentagon", "hexagon", "cross"};
  return names;
}

void check_shapes_options(const ShapesOptions& o) {
  CONVKIT_CHECK(o.count > 0, "make-shapes: count must be positive, got ", o.count);
  CONVKIT_CHECK(o.size >= 16 && o.size <= 4096, "make-shapes: size must lie in [16, 4096], got ",
                o.size);
  CONVKIT_CHECK(!o.classes.empty(), "make-shapes: no classes");
  CONVKIT_CHECK(o.objects_max >= 1 && o.objects_max <= 16,
                "make-shapes: objects-max must lie in [1, 16], got ", o.objects_max);
  CONVKIT_CHECK(o.noise >= 0 && o.noise <= 128, "make-shapes: noise must lie in [0, 128], got ",
                o.noise);
  CONVKIT_CHECK(o.min_contrast >= 0 && o.min_contrast <= 200,
                "make-shapes: min-contrast must lie in [0, 200], got ", o.min_contrast);
  for (size_t i = 0; i < o.classes.size(); ++i) {
    const auto& names = shape_names();
    CONVKIT_CHECK(std::find(names.begin(), names.end(), o.classes[i]) != names.end(),
                  "make-shapes: unknown shape '", o.classes[i],
                  "' (known: circle, square, triangle, star, pentagon, hexagon, cross)");
    for (size_t j = 0; j < i; ++j)
      CONVKIT_CHECK(o.classes[j] != o.classes[i], "make-shapes: class '", o.classes[i],
                    "' is listed twice");
  }
}

namespace {
using Vec = cv::Vec3d;  // RGB

struct Background {
  Vec from, to;
  double cos_a = 0, sin_a = 0;  // gradient direction; from == to for a solid colour
  int size = 0;
  Vec at(double x, double y) const {
    const double t =
        std::clamp(((x - size / 2.0) * cos_a + (y - size / 2.0) * sin_a) / size + 0.5, 0.0, 1.0);
    return from + (to - from) * t;
  }
};

Vec random_colour(Generator& g) {
  return Vec(g.uniform(0, 256), g.uniform(0, 256), g.uniform(0, 256));
}

// Vertices of the unit shape (circumradius 1, centred at 0) rotated by `angle`; empty for a circle.
std::vector<cv::Point2d> outline(const std::string& shape, double angle) {
  std::vector<cv::Point2d> local;
  const double pi = std::numbers::pi;
  auto regular = [&](int n, double start, double inner) {
    const int k_max = inner > 0 ? 2 * n : n;
    for (int k = 0; k < k_max; ++k) {
      const double r = inner > 0 && k % 2 ? inner : 1.0;
      const double a = start + 2 * pi * k / k_max;
      local.push_back({r * std::cos(a), r * std::sin(a)});
    }
  };
  if (shape == "square")
    regular(4, pi / 4, 0);
  else if (shape == "triangle")
    regular(3, -pi / 2, 0);
  else if (shape == "pentagon")
    regular(5, -pi / 2, 0);
  else if (shape == "hexagon")
    regular(6, 0, 0);
  else if (shape == "star")
    regular(5, -pi / 2, 0.45);
  else if (shape == "cross") {
    const double w = 0.32, e = 1 / std::sqrt(1 + w * w);  // arm tips on the unit circle
    for (auto [x, y] : {std::pair{w, 1.0},
                        {w, w},
                        {1.0, w},
                        {1.0, -w},
                        {w, -w},
                        {w, -1.0},
                        {-w, -1.0},
                        {-w, -w},
                        {-1.0, -w},
                        {-1.0, w},
                        {-w, w},
                        {-w, 1.0}})
      local.push_back({x * e, y * e});
  }
  std::vector<cv::Point2d> out;
  const double c = std::cos(angle), s = std::sin(angle);
  for (const auto& p : local) out.push_back({c * p.x - s * p.y, s * p.x + c * p.y});
  return out;
}

struct Placed {
  cv::Point2d centre;
  double radius;
  std::vector<cv::Point2d> vertices;  // image coordinates; empty for a circle
  ShapeObject box;
};

Placed place(const std::string& shape, double radius, double angle, cv::Point2d centre, int size) {
  Placed p{centre, radius, {}, {}};
  double x0 = centre.x - radius, x1 = centre.x + radius, y0 = centre.y - radius,
         y1 = centre.y + radius;
  std::vector<cv::Point2d> unit = outline(shape, angle);
  if (!unit.empty()) {
    x0 = y0 = 1e9;
    x1 = y1 = -1e9;
    for (const auto& u : unit) {
      cv::Point2d v = centre + u * radius;
      p.vertices.push_back(v);
      x0 = std::min(x0, v.x), x1 = std::max(x1, v.x), y0 = std::min(y0, v.y),
      y1 = std::max(y1, v.y);
    }
  }
  p.box = {0, std::max(0.0, x0), std::max(0.0, y0), std::min(double(size), x1),
           std::min(double(size), y1)};
  return p;
}

bool overlaps(const ShapeObject& a, const ShapeObject& b) {
  return a.x_min < b.x_max + 1 && b.x_min < a.x_max + 1 && a.y_min < b.y_max + 1 &&
         b.y_min < a.y_max + 1;
}

// Draws in OpenCV's pixel-centre coordinates (ours minus 0.5) with 4 fractional bits.
constexpr int kShift = 4;
cv::Point fixed(cv::Point2d p) {
  return {int(std::lround((p.x - 0.5) * (1 << kShift))),
          int(std::lround((p.y - 0.5) * (1 << kShift)))};
}

void draw(cv::Mat& img, const Placed& p, const cv::Scalar& colour, int line_type) {
  if (p.vertices.empty()) {
    cv::circle(img, fixed(p.centre), int(std::lround(p.radius * (1 << kShift))), colour, cv::FILLED,
               line_type, kShift);
  } else {
    std::vector<cv::Point> pts;
    for (const auto& v : p.vertices) pts.push_back(fixed(v));
    cv::fillPoly(img, std::vector<std::vector<cv::Point>>{pts}, colour, line_type, kShift);
  }
}
}  // namespace

ShapesImage draw_shapes_image(const ShapesOptions& o, int64_t index) {
  check_shapes_options(o);
  Generator g(example_seed(o.seed, index));
  const int s = o.size;
  ShapesImage out;
  out.label = index % int64_t(o.classes.size());
  const std::string& shape = o.classes[size_t(out.label)];

  Background bg{random_colour(g), {}, 0, 0, s};
  bg.to = g.uniform() < 0.5 ? bg.from : random_colour(g);
  const double a = g.uniform(0, 2 * std::numbers::pi);
  bg.cos_a = std::cos(a);
  bg.sin_a = std::sin(a);
  cv::Mat img(s, s, CV_8UC3);
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x) {
      Vec c = bg.at(x + 0.5, y + 0.5);
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(cv::saturate_cast<uint8_t>(c[0]), cv::saturate_cast<uint8_t>(c[1]),
                    cv::saturate_cast<uint8_t>(c[2]));
    }
  out.mask = cv::Mat::zeros(s, s, CV_8UC1);

  const int n = 1 + int(g.uniform(0, o.objects_max));
  // Several objects share the image: shrink them so that they fit side by side.
  const double scale = 1 / std::sqrt(double(n));
  for (int k = 0; k < n; ++k) {
    Placed p;
    for (int attempt = 0; attempt < 30; ++attempt) {
      const double radius = std::max(4.0, g.uniform(0.22, 0.45) * s * scale);
      const double angle = g.uniform(0, 2 * std::numbers::pi);
      const cv::Point2d centre(g.uniform(radius + 1, s - radius - 1),
                               g.uniform(radius + 1, s - radius - 1));
      p = place(shape, radius, angle, centre, s);
      if (std::none_of(out.objects.begin(), out.objects.end(),
                       [&](const ShapeObject& b) { return overlaps(b, p.box); }))
        break;
    }
    const Vec behind = bg.at(p.centre.x, p.centre.y);
    Vec colour = random_colour(g);
    for (int attempt = 0; attempt < 100 && cv::norm(colour - behind) < o.min_contrast; ++attempt)
      colour = random_colour(g);
    if (cv::norm(colour - behind) < o.min_contrast) colour = Vec(255, 255, 255) - behind;
    draw(img, p, cv::Scalar(colour[0], colour[1], colour[2]), cv::LINE_AA);
    draw(out.mask, p, cv::Scalar(255), cv::LINE_8);
    p.box.label = out.label;
    out.objects.push_back(p.box);
  }
  const double sigma = g.uniform(0, o.noise);
  if (sigma > 0) {
    cv::Mat noise(s, s, CV_32FC3);
    cv::RNG rng(g.next_u64());
    rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
    cv::Mat f;
    img.convertTo(f, CV_32FC3);
    f += noise;
    f.convertTo(img, CV_8UC3);  // saturates
  }
  out.image = img;
  return out;
}

int64_t write_shapes_dataset(const std::string& dir, const ShapesOptions& o, int threads) {
  check_shapes_options(o);
  threads = std::max(1, threads);
  for (const auto& c : o.classes) fs::create_directories(fs::path(dir) / c);
  const int digits = std::max<int>(5, int(std::to_string(o.count - 1).size()));
  std::vector<std::string> files(size_t(o.count));
  std::vector<std::vector<ShapeObject>> boxes(size_t(o.count));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  auto work = [&](int t) {
    try {
      for (int64_t i = t; i < o.count; i += threads) {
        ShapesImage im = draw_shapes_image(o, i);
        std::string num = std::to_string(i);
        num.insert(0, size_t(std::max(0, digits - int(num.size()))), '0');
        const std::string& cls = o.classes[size_t(im.label)];
        files[size_t(i)] = cls + "/" + cls + "_" + num + ".png";
        cv::Mat bgr;
        cv::cvtColor(im.image, bgr, cv::COLOR_RGB2BGR);
        const std::string path = (fs::path(dir) / files[size_t(i)]).string();
        CONVKIT_CHECK(cv::imwrite(path, bgr), path,
                      ": cannot write the image (disk full or no permission?)");
        boxes[size_t(i)] = std::move(im.objects);
      }
    } catch (...) {
      errors[size_t(t)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);

  const std::string csv = (fs::path(dir) / "boxes.csv").string();
  std::ofstream f(csv);
  CONVKIT_CHECK(f.good(), csv, ": cannot write the box list");
  f << "file,class,x_min,y_min,x_max,y_max\n";
  char buf[128];
  int64_t objects = 0;
  for (int64_t i = 0; i < o.count; ++i)
    for (const ShapeObject& b : boxes[size_t(i)]) {
      std::snprintf(buf, sizeof buf, ",%.2f,%.2f,%.2f,%.2f\n", b.x_min, b.y_min, b.x_max, b.y_max);
      f << files[size_t(i)] << ',' << o.classes[size_t(b.label)] << buf;
      ++objects;
    }
  CONVKIT_CHECK(f.good(), csv, ": write error");
  return objects;
}

}  // namespace convkit::data
