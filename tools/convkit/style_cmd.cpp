// convkit style: neural style transfer (style/transfer.h) of a content image in the style of
// another, with a progress line showing the three losses (docs/style.md).
#include <unistd.h>

#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "commands.h"
#include "convkit/data/image_file.h"
#include "convkit/style/transfer.h"
#include "progress.h"

namespace convkit::cli {

namespace {
struct StyleArgs {
  std::string content, style, output, weights;
  std::string solver = "lbfgs", init = "content", progress = "auto";
  std::vector<std::string> style_layers;  // NAME or NAME:WEIGHT
  bool preserve_color = false;
  style::TransferOptions options;
  RuntimeOptions runtime;
};

std::vector<style::StyleLayer> parse_layers(const std::vector<std::string>& specs) {
  std::vector<style::StyleLayer> out;
  for (const std::string& spec : specs) {
    const size_t colon = spec.find(':');
    style::StyleLayer l{spec.substr(0, colon), 1.0 / double(specs.size())};
    if (colon != std::string::npos) {
      try {
        l.weight = std::stod(spec.substr(colon + 1));
      } catch (const std::exception&) {
        throw Error("style: --style-layers entry '" + spec +
                    "' is not NAME or NAME:WEIGHT (e.g. relu3_1:0.2)");
      }
    }
    out.push_back(l);
  }
  return out;
}

// One line redrawn in place on a terminal; otherwise a plain line every 10% of a scale.
style::ProgressFn progress_line(const std::string& mode) {
  const bool live = mode == "always" || (mode == "auto" && isatty(fileno(stderr)));
  if (mode == "never") return {};
  return [live](const style::TransferProgress& p) {
    const bool last = p.iteration == p.iterations;
    if (!live && !last && p.iteration % std::max<int64_t>(p.iterations / 10, 1) != 0) return;
    const int width = 20;
    const int filled = int(width * p.iteration / p.iterations);
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
    std::fprintf(
        stderr,
        "%sscale %lld/%lld %lldx%lld [%s] %lld/%lld content %.4g style %.4g tv %.4g "
        "%.2f s/it ETA %s%s",
        live ? "\r\033[K" : "", (long long)p.scale + 1, (long long)p.scales, (long long)p.size,
        (long long)p.size, bar.c_str(), (long long)p.iteration, (long long)p.iterations, p.content,
        p.style, p.tv, p.seconds / double(p.iteration),
        format_duration(p.seconds / double(p.iteration) * double(p.iterations - p.iteration))
            .c_str(),
        live && !last ? "" : "\n");
  };
}

void run_style(StyleArgs& a) {
  apply_runtime_options(a.runtime);
  style::TransferOptions& o = a.options;
  o.solver = a.solver == "adam" ? style::Solver::adam : style::Solver::lbfgs;
  o.init = a.init == "noise" ? style::Init::noise : style::Init::content;
  o.color = a.preserve_color ? style::Color::luminance_only : style::Color::keep_style;
  if (!a.style_layers.empty()) o.style_layers = parse_layers(a.style_layers);
  const cv::Mat content = data::read_image(a.content, data::ColorMode::rgb).image;
  const cv::Mat style_img = data::read_image(a.style, data::ColorMode::rgb).image;
  style::VggFeatures net = a.weights.empty() ? style::VggFeatures::random(19, o.seed)
                                             : style::VggFeatures::from_file(a.weights);
  std::printf("features: %s\n",
              a.weights.empty()
                  ? "VGG-19 with random filters (no --weights: transfers texture, not "
                    "ImageNet-trained style; docs/style.md)"
                  : ("VGG-" + std::to_string(net.num_convs() + 3) + " from " + a.weights).c_str());
  const style::TransferResult r =
      style::transfer(net, content, style_img, o, progress_line(a.progress));
  cv::Mat bgr;
  cv::cvtColor(r.image, bgr, cv::COLOR_RGB2BGR);
  bool written = false;
  try {
    written = cv::imwrite(a.output, bgr);
  } catch (const cv::Exception&) {
    written = false;
  }
  CONVKIT_CHECK(written, "style: could not write ", a.output,
                " (use a .png or .jpg name in a writable folder)");
  std::printf("wrote %s (%dx%d, %lld iterations, %.3f s/iteration at the last scale)\n",
              a.output.c_str(), r.image.cols, r.image.rows, (long long)r.iterations,
              r.seconds_per_iteration);
  if (r.diverged) throw Error(r.message + " Wrote it to " + a.output + ".");
}
}  // namespace

void add_style(CLI::App& app) {
  auto a = std::make_shared<StyleArgs>();
  auto* cmd = app.add_subcommand(
      "style", "Neural style transfer: CONTENT painted in the style of STYLE (Gatys et al.)");
  cmd->add_option("--content", a->content, "Content image file")->required();
  cmd->add_option("--style", a->style, "Style image file")->required();
  cmd->add_option("--output,-o", a->output, "Output image file (.png, .jpg)")->required();
  cmd->add_option("--weights", a->weights,
                  "VGG weights with torchvision's names (.safetensors or .onnx); default: random "
                  "VGG-19 filters")
      ->check(CLI::ExistingFile);
  cmd->add_option("--size", a->options.size, "Output size (size x size)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--iters", a->options.iterations, "Iterations per scale")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--scales", a->options.scales, "Coarse-to-fine passes (size halved for each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  cmd->add_option("--optimizer", a->solver, "lbfgs | adam")
      ->capture_default_str()
      ->check(CLI::IsMember({"lbfgs", "adam"}));
  cmd->add_option("--lr", a->options.lr, "Learning rate (default: 1 for lbfgs, 0.02 for adam)");
  cmd->add_option("--history", a->options.history_size, "L-BFGS history size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--init", a->init, "content | noise")
      ->capture_default_str()
      ->check(CLI::IsMember({"content", "noise"}));
  cmd->add_flag("--preserve-color", a->preserve_color,
                "Luminance-only transfer: keep the content's colours");
  cmd->add_option("--content-layer", a->options.content_layer, "Content layer")
      ->capture_default_str();
  cmd->add_option("--style-layers", a->style_layers,
                  "Style layers as NAME or NAME:WEIGHT (default: relu1_1 to relu5_1, 0.2 each)")
      ->delimiter(',');
  cmd->add_option("--content-weight", a->options.content_weight)->capture_default_str();
  cmd->add_option("--style-weight", a->options.style_weight)->capture_default_str();
  cmd->add_option("--tv-weight", a->options.tv_weight)->capture_default_str();
  cmd->add_option("--seed", a->options.seed, "Seed of the noise init and the random filters")
      ->capture_default_str();
  cmd->add_option("--progress", a->progress, "auto | always | never")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_style(*a); });
}

}  // namespace convkit::cli
