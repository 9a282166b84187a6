#pragma once
// Starting from weights on the command line (docs/transfer.md): --init FILE, --freeze PREFIX...,
// --lr-mult PREFIX=F... Shared by the commands that train.
#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/optim/optimizer.h"

namespace convkit::cli {

struct InitArgs {
  std::string init;                  // a convkit checkpoint, torchvision-named safetensors or .onnx
  std::vector<std::string> freeze;   // parameter-name prefixes to freeze
  std::vector<std::string> lr_mult;  // "PREFIX=F": those parameters train at lr * F
};

void add_init_options(CLI::App& cmd, InitArgs& args);

// "fc=10" -> ("fc", 10). Throws convkit::Error naming the argument when it is not PREFIX=NUMBER
// with a number >= 0.
std::pair<std::string, double> parse_lr_mult(const std::string& arg);

// On a freshly built model: loads --init by name and shape (nn::load_matching: tensors of another
// shape, such as a head for another class count, keep the model's init), then freezes each
// --freeze prefix. Prints the load report and the frozen counts.
void apply_init(const InitArgs& args, nn::Module& model);

// The optimizer's groups: frozen parameters left out, --lr-mult prefixes at lr * F
// (optim::param_groups).
std::vector<optim::ParamGroup> init_param_groups(const InitArgs& args, const nn::Module& model,
                                                 double lr, double weight_decay,
                                                 bool no_decay_on_bias_and_bn);

}  // namespace convkit::cli
