// convkit demo: spiral (demo_spiral.cpp), conv-arithmetic and receptive-field (here, over
// models::conv_arithmetic).
#include <cstdio>

#include "commands.h"
#include "convkit/models/arithmetic.h"
#include "convkit/nn/summary.h"
#include "demo.h"
#include "model_spec.h"

namespace convkit::cli {

namespace {

bool windowed(const models::LayerArithmetic& l) { return l.kernel_h > 0; }

std::string shape_text(const Shape& s) {
  std::string out;
  for (int d = 1; d < s.ndim(); ++d) out += (d > 1 ? "x" : "") + std::to_string(s.dim(d));
  return out;
}

models::ModelArithmetic arithmetic_of(const ModelSpec& spec, SpecifiedModel& m) {
  models::ModelArithmetic a;
  with_input_size_hint(spec, m, [&] {
    a = models::conv_arithmetic(*m.module, m.in_channels, m.image_size, m.image_size);
  });
  return a;
}

// Every layer's output size by the formula, and its parameters and MACs.
void run_conv_arithmetic(const ModelSpec& spec, bool all_ops) {
  SpecifiedModel m = build_model(spec);
  const models::ModelArithmetic a = arithmetic_of(spec, m);
  std::printf(
      "%s, input %s\n\n"
      "output size of a convolution or pooling window (n: input size, f: kernel, p: padding,\n"
      "s: stride, d: dilation):  o = floor((n + 2p - d(f-1) - 1) / s) + 1\n"
      "parameters of a convolution: C_out (C_in / groups) f_h f_w + C_out (bias)\n"
      "MACs of a convolution: o_h o_w C_out (C_in / groups) f_h f_w; of a dense layer: in x "
      "out\n\n",
      m.name.c_str(), shape_text(a.input).c_str());
  std::printf("%-3s %-20s %-14s %-14s %-44s %12s %15s\n", "#", "op", "input", "output",
              "output height by the formula", "params", "MACs");
  int row = 0;
  for (const models::LayerArithmetic& l : a.layers) {
    ++row;
    if (!all_ops && !windowed(l) && l.params == 0 && l.macs == 0) continue;
    std::string formula;
    if (windowed(l)) {
      formula = models::output_size_formula(l.input.dim(2), l.kernel_h, l.stride_h, l.pad_h,
                                            l.dilation_h, l.ceil_mode, l.output.dim(2));
      if (l.groups > 1) formula += " (groups " + std::to_string(l.groups) + ")";
    }
    std::printf("%-3d %-20s %-14s %-14s %-44s %12s %15s\n", row, l.op.c_str(),
                shape_text(l.input).c_str(), shape_text(l.output).c_str(), formula.c_str(),
                l.params ? nn::with_commas(l.params).c_str() : "",
                l.macs ? nn::with_commas(l.macs).c_str() : "");
  }
  const double flops = 2 * double(a.macs);
  std::printf("\ntotal: %s parameters, %s MACs per image (%.3g %s at 2 FLOPs per MAC)\n",
              nn::with_commas(a.params).c_str(), nn::with_commas(a.macs).c_str(),
              flops >= 1e9 ? flops * 1e-9 : flops * 1e-6, flops >= 1e9 ? "GFLOPs" : "MFLOPs");
  if (!all_ops)
    std::printf("(rows without a window, parameters or MACs are left out; --all shows them)\n");
}

// The receptive field after every windowed layer, and of the last spatial layer.
void run_receptive_field(const ModelSpec& spec) {
  SpecifiedModel m = build_model(spec);
  const models::ModelArithmetic a = arithmetic_of(spec, m);
  std::printf(
      "%s, input %s\n\n"
      "r: receptive field (input pixels one unit sees), j: jump (input pixels between "
      "neighbouring\n"
      "units), c: centre of unit (0, 0) in input pixels. Through a window of kernel f, stride s,\n"
      "padding p, dilation d:  r' = r + d(f-1) j,  j' = j s,  c' = c + (d(f-1)/2 - p) j\n"
      "(a residual add or concat takes its widest input)\n\n",
      m.name.c_str(), shape_text(a.input).c_str());
  std::printf("%-3s %-20s %-14s %-5s %-7s %-5s %-14s %-10s %s\n", "#", "op", "output", "f", "s",
              "p", "r", "j", "c");
  int row = 0;
  const models::LayerArithmetic* last_spatial = nullptr;
  for (const models::LayerArithmetic& l : a.layers) {
    ++row;
    if (l.output.ndim() == 4 && !l.global) last_spatial = &l;
    if (!windowed(l)) continue;
    char f[48], s[24], p[24], r[64], j[32], c[32];
    std::snprintf(f, sizeof f, "%lld", (long long)l.kernel_h);
    if (l.dilation_h > 1)
      std::snprintf(f, sizeof f, "%lld,d%lld", (long long)l.kernel_h, (long long)l.dilation_h);
    std::snprintf(s, sizeof s, "%lld", (long long)l.stride_h);
    std::snprintf(p, sizeof p, "%lld", (long long)l.pad_h);
    std::snprintf(r, sizeof r, "%gx%g", l.rf_h, l.rf_w);
    std::snprintf(j, sizeof j, "%g", l.jump_h);
    std::snprintf(c, sizeof c, "%g", l.center_h);
    std::printf("%-3d %-20s %-14s %-5s %-7s %-5s %-14s %-10s %s\n", row, l.op.c_str(),
                shape_text(l.output).c_str(), f, s, p, r, j, c);
  }
  if (last_spatial)
    std::printf(
        "\nthe last spatial layer (%s, %s): each unit sees %gx%g input pixels (the input is "
        "%lldx%lld)%s\n",
        last_spatial->op.c_str(), shape_text(last_spatial->output).c_str(), last_spatial->rf_h,
        last_spatial->rf_w, (long long)a.input.dim(2), (long long)a.input.dim(3),
        last_spatial->rf_h >= double(a.input.dim(2))
            ? "; wider than the input: its border units see padding"
            : "");
}

}  // namespace

void add_demo(CLI::App& app) {
  auto* demo =
      app.add_subcommand("demo", "Teaching demos: spiral, conv-arithmetic, receptive-field");
  demo->require_subcommand(1);

  auto sp = std::make_shared<SpiralArgs>();
  auto* spiral = demo->add_subcommand(
      "spiral",
      "Softmax vs a one-hidden-layer ReLU network on the 3-arm spiral, trained from scratch; "
      "PNGs of both decision regions");
  spiral->add_option("--out,-o", sp->out, "Folder for softmax.png and network.png")
      ->capture_default_str();
  spiral->add_option("--points", sp->points, "Points per class")
      ->capture_default_str()
      ->check(CLI::Range(2, 100000));
  spiral->add_option("--classes", sp->classes, "Arms of the spiral")
      ->capture_default_str()
      ->check(CLI::Range(2, 6));
  spiral->add_option("--hidden", sp->hidden, "ReLU units in the network's hidden layer")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  spiral->add_option("--noise", sp->noise, "Angle noise (standard deviation, radians)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  spiral->add_option("--lr", sp->lr, "Gradient descent step size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  spiral->add_option("--reg", sp->reg, "L2 regularization strength (0.5 reg sum W^2)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  spiral->add_option("--softmax-steps", sp->linear_steps, "Steps for the softmax classifier")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  spiral->add_option("--network-steps", sp->network_steps, "Steps for the network")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  spiral->add_option("--seed", sp->seed, "Seed of the data and the initial weights")
      ->capture_default_str();
  spiral->callback([sp] { run_demo_spiral(*sp); });

  struct ArithmeticArgs {
    ModelSpec spec;
    bool all = false;
  };
  auto ar = std::make_shared<ArithmeticArgs>();
  auto* arith = demo->add_subcommand(
      "conv-arithmetic",
      "Each layer's output size by floor((n+2p-f)/s)+1, with parameters and MACs");
  add_model_spec_options(*arith, ar->spec);
  arith->get_option("model")->required();
  arith->add_flag("--all", ar->all, "Also the ops without a window, parameters or MACs");
  arith->callback([ar] { run_conv_arithmetic(ar->spec, ar->all); });

  auto rf = std::make_shared<ModelSpec>();
  auto* field = demo->add_subcommand(
      "receptive-field", "The receptive field, jump and centre after every window of a model");
  add_model_spec_options(*field, *rf);
  field->get_option("model")->required();
  field->callback([rf] { run_receptive_field(*rf); });
}

}  // namespace convkit::cli
