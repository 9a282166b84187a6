#include "init_options.h"

#include <cstdio>

#include "convkit/io/state_dict.h"
#include "convkit/nn/transfer.h"

namespace convkit::cli {

void add_init_options(CLI::App& cmd, InitArgs& args) {
  cmd.add_option("--init", args.init,
                 "Start from these weights (convkit checkpoint, torchvision-named .safetensors, "
                 "or .onnx): loaded by name; tensors of another shape (the head) keep their init")
      ->check(CLI::ExistingFile);
  cmd.add_option("--freeze", args.freeze,
                 "Freeze the parameters under this dotted prefix (e.g. layer1, conv1); frozen "
                 "batch norms stay in eval mode. Repeatable");
  cmd.add_option("--lr-mult", args.lr_mult,
                 "PREFIX=F: parameters under PREFIX train at lr * F (e.g. fc=10). Repeatable");
}

std::pair<std::string, double> parse_lr_mult(const std::string& arg) {
  const size_t eq = arg.rfind('=');
  CONVKIT_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < arg.size(), "--lr-mult '", arg,
                "': expected PREFIX=FACTOR, e.g. fc=10");
  const std::string num = arg.substr(eq + 1);
  size_t used = 0;
  double f = -1;
  try {
    f = std::stod(num, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  CONVKIT_CHECK(used == num.size() && f >= 0, "--lr-mult '", arg, "': '", num,
                "' is not a factor >= 0");
  return {arg.substr(0, eq), f};
}

void apply_init(const InitArgs& args, nn::Module& model) {
  if (!args.init.empty()) {
    nn::LoadReport r =
        nn::load_matching(model, io::read_state_dict(args.init), {.source = args.init});
    std::printf("%s", r.to_string().c_str());
  }
  for (const std::string& prefix : args.freeze)
    std::printf("freeze %s: %d parameter tensors\n", prefix.c_str(), model.freeze_prefix(prefix));
  if (!args.freeze.empty())
    std::printf("trainable parameters: %lld of %lld\n", (long long)model.num_parameters(true),
                (long long)model.num_parameters());
}

std::vector<optim::ParamGroup> init_param_groups(const InitArgs& args, const nn::Module& model,
                                                 double lr, double weight_decay,
                                                 bool no_decay_on_bias_and_bn) {
  optim::GroupOptions o;
  o.lr = lr;
  o.weight_decay = weight_decay;
  o.no_decay_on_bias_and_bn = no_decay_on_bias_and_bn;
  for (const std::string& a : args.lr_mult) o.lr_mult.push_back(parse_lr_mult(a));
  return optim::param_groups(model, o);
}

}  // namespace convkit::cli
