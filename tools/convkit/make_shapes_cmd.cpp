// convkit make-shapes: a synthetic image set of simple shapes in class folders, with boxes.csv.
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "convkit/data/shapes.h"

namespace convkit::cli {

namespace {
struct MakeShapesArgs {
  std::string out;
  data::ShapesOptions shapes;
  int threads = 2;
};

void run_make_shapes(const MakeShapesArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t objects = data::write_shapes_dataset(a.out, a.shapes, a.threads);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "wrote %lld %dx%d PNG images of %zu classes (%lld objects) to %s in %.1f s; boxes: "
      "%s/boxes.csv\n",
      (long long)a.shapes.count, a.shapes.size, a.shapes.size, a.shapes.classes.size(),
      (long long)objects, a.out.c_str(), secs, a.out.c_str());
}
}  // namespace

void add_make_shapes(CLI::App& app) {
  auto a = std::make_shared<MakeShapesArgs>();
  data::ShapesOptions& o = a->shapes;
  auto* cmd = app.add_subcommand(
      "make-shapes", "Write a synthetic image set of shapes (class folders + boxes.csv)");
  cmd->add_option("--out,-o", a->out, "Output folder (one sub-folder per class)")->required();
  cmd->add_option("--count,-n", o.count, "Images (classes take turns, so they are balanced)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--size", o.size, "Width and height in pixels")
      ->capture_default_str()
      ->check(CLI::Range(16, 4096));
  cmd->add_option("--classes", o.classes,
                  "Shapes to draw, from: circle, square, triangle, star, pentagon, hexagon, cross")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--objects-max", o.objects_max,
                  "Objects per image: uniform in [1, K], all of the image's class")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_option("--noise", o.noise, "Largest std of the Gaussian pixel noise (0-255 scale)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 128.0));
  cmd->add_option("--min-contrast", o.min_contrast,
                  "Smallest RGB distance between an object and its background")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 200.0));
  cmd->add_option("--seed", o.seed, "Random seed (the same seed writes the same files)")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads drawing and encoding images")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->callback([a] { run_make_shapes(*a); });
}

}  // namespace convkit::cli
