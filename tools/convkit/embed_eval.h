#pragma once
// `convkit eval --task embed` (eval_embed.cpp): its options and the run.
#include <CLI/CLI.hpp>
#include <string>

#include "commands.h"
#include "image_data.h"

namespace convkit::cli {

struct EmbedEvalArgs {
  std::string task = "classify";
  std::string seen, unseen;  // class lists; empty: from the model / the rest
  int64_t pairs = 6000, ways = 3, episodes = 1000;
  double far = 1e-3;
  double val_fraction = 0.1;
  uint64_t seed = 1;
};

void add_embed_eval_options(CLI::App& cmd, EmbedEvalArgs& args);
void run_eval_embed(const EmbedEvalArgs& args, const ModelArgs& model, const std::string& data,
                    const ImageDataArgs& images);

}  // namespace convkit::cli
