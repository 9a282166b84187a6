#pragma once
// Convolution arithmetic of a model (docs/demos.md): one traced forward pass at a given input
// size, and for each op on the path to the output its shapes, window (kernel, stride, padding,
// dilation), parameters, multiply-accumulates and receptive field.
//
//   output size (conv, pool)  o = floor((n + 2p - d(f - 1) - 1) / s) + 1   (d = 1: (n+2p-f)/s + 1)
//   conv MACs per image       o_h o_w C_out (C_in / groups) f_h f_w;  linear: in * out
//   receptive field           r_out = r_in + d(f - 1) j_in,   j_out = j_in s   (j: the jump, the
//                             input pixels between neighbouring outputs), centre of output 0:
//                             c_out = c_in + (d(f - 1)/2 - p) j_in    (Araujo et al., Distill 2019)
// Ops that mix several inputs (residual adds, channel concats) take the largest receptive field of
// their inputs; global pooling, flattening and linear layers see the whole input. The receptive
// field is the theoretical one: every input pixel that can reach the unit.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/shape.h"

namespace convkit::models {

struct LayerArithmetic {
  std::string op;  // the traced op: "conv2d", "max_pool2d", "linear", "relu", "add", ...
  Shape input, output;
  // The window of conv2d and the pools (0 for other ops); the padding is what the op applied
  // (for Padding::same, the top/left side).
  int64_t kernel_h = 0, kernel_w = 0, stride_h = 0, stride_w = 0, pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1, groups = 1;
  bool ceil_mode = false;
  int64_t params = 0;  // weights and biases this op reads (conv2d, linear, batch_norm)
  int64_t macs = 0;    // multiply-accumulates per image (conv2d, linear)
  // Receptive field of one output unit in input pixels, and the jump (fractional after
  // upsampling). `global`: every output unit sees the whole input (global pooling, flattening,
  // linear layers, and what mixes in their outputs); rf is then the input size.
  double rf_h = 1, rf_w = 1, jump_h = 1, jump_w = 1;
  double center_h = 0, center_w = 0;  // input coordinates of output unit (0, 0)'s centre
  bool global = false;
};

struct ModelArithmetic {
  Shape input;                          // [1, C, H, W]
  std::vector<LayerArithmetic> layers;  // in the order they run
  int64_t params = 0;                   // all of the module's parameters
  int64_t macs = 0;                     // sum over layers
};

// Runs `model` once on zeros of shape [1, channels, height, width] (eval mode and no autograd for
// the call; the mode is restored) and reports every op on the path to its output. Throws what the
// model throws for an input it cannot take.
ModelArithmetic conv_arithmetic(nn::Module& model, int64_t channels, int64_t height, int64_t width);

// The output size formula for one window: floor((n + 2p - d(f-1) - 1) / s) + 1 (ceil with
// ceil_mode), as text with the numbers in, e.g. "floor((28 + 2*2 - 5) / 1) + 1 = 28".
std::string output_size_formula(int64_t n, int64_t f, int64_t s, int64_t p, int64_t d,
                                bool ceil_mode, int64_t result);

}  // namespace convkit::models
