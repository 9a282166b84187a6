// Training states that are malformed or belong to another run (issue 16): each is refused naming
// the file and what is wrong, before any training resumes from it.
#include <gtest/gtest.h>

#include <cmath>

#include "convkit/io/safetensors.h"
#include "convkit/models/registry.h"
#include "convkit/optim/adam.h"
#include "convkit/optim/sgd.h"
#include "convkit/train/checkpoint.h"
#include "support/gradcheck.h"
#include "support/image_files.h"

using namespace convkit;
using test::TempDir;

namespace {
std::shared_ptr<nn::Module> small_model() {
  manual_seed(1);
  return models::create_model("lenet5-modern", {1, 10, 28});
}

// A state after one step of `opt`.
void save_after_one_step(const std::string& path, nn::Module& m, optim::Optimizer& opt) {
  for (auto& p : m.parameters()) p.set_grad(Tensor::ones(p.shape()));
  opt.step();
  train::TrainState s;
  s.epoch = 2;
  s.step = 40;
  s.rng_state = default_generator().state();
  train::save_train_state(path, m, opt, s);
}

// Rewrites the state at `path` after `edit` changed its tensors or metadata.
template <class F>
void edit_state(const std::string& path, F&& edit) {
  io::SafetensorsFile f = io::load_safetensors(path);
  edit(f.tensors, f.metadata);
  io::save_safetensors(path, f.tensors, f.metadata);
}
}  // namespace

TEST(TrainStateBad, AnotherOptimizerIsRefused) {
  TempDir t;
  const std::string p = t.path("state.safetensors");
  auto m = small_model();
  optim::SGD sgd(optim::single_group(*m, 0.1), {.momentum = 0.9});
  save_after_one_step(p, *m, sgd);
  optim::Adam adam(optim::single_group(*m, 0.1));
  EXPECT_THROW_WITH(train::load_train_state(p, *m, adam), p,
                    "saved by the SGD optimizer, this run uses Adam");
  // A file without the optimizer's name (written before it was recorded): its slots give it away.
  edit_state(p, [](auto&, auto& meta) { meta.erase("optimizer"); });
  EXPECT_THROW_WITH(train::load_train_state(p, *m, adam), p, "'optim.0.0.momentum_buffer'",
                    "is not one Adam keeps");
  optim::SGD again(optim::single_group(*m, 0.1), {.momentum = 0.9});
  EXPECT_NO_THROW(train::load_train_state(p, *m, again));
}

TEST(TrainStateBad, MissingOptimizerSlotIsRefused) {
  TempDir t;
  const std::string p = t.path("state.safetensors");
  auto m = small_model();
  optim::Adam adam(optim::single_group(*m, 0.01));
  save_after_one_step(p, *m, adam);
  edit_state(p, [](auto& tensors, auto&) { tensors.erase("optim.0.1.exp_avg"); });
  optim::Adam fresh(optim::single_group(*m, 0.01));
  EXPECT_THROW_WITH(train::load_train_state(p, *m, fresh), p, "optimizer entries but holds",
                    "slot is missing");
  // A parameter's whole slot set gone (the optimizer alone would take it for "no gradient yet").
  save_after_one_step(p, *m, adam);
  edit_state(p, [](auto& tensors, auto&) {
    for (const char* slot : {"exp_avg", "exp_avg_sq", "step"})
      tensors.erase(std::string("optim.0.2.") + slot);
  });
  EXPECT_THROW_WITH(train::load_train_state(p, *m, fresh), p, "slot is missing");
}

TEST(TrainStateBad, NegativeCountersAndMalformedMetadataNameTheFile) {
  TempDir t;
  const std::string p = t.path("state.safetensors");
  auto m = small_model();
  optim::SGD sgd(optim::single_group(*m, 0.1), {.momentum = 0.9});
  struct Case {
    std::string key, value, expect;
  };
  const Case cases[] = {
      {"epoch", "-1", "'epoch' is -1"},
      {"step", "-40", "'step' is -40"},
      {"next_batch", "-7", "'next_batch' is -7"},
      {"epoch", "two", "'epoch' is not an integer"},
      {"rng_state", "not a generator", "'rng_state'"},
      {"group_lrs", "0.1 oops", "'group_lrs' is not a list of numbers"},
      {"group_lrs", "-0.5", "the learning rate -0.5"},
      {"best_metric", "0.5 0.7", "'best_metric' holds 2 numbers"},
      {"plateau_state", "1 x", "'plateau_state' is not a list of numbers"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key + " = " + c.value);
    save_after_one_step(p, *m, sgd);
    edit_state(p, [&](auto&, auto& meta) { meta[c.key] = c.value; });
    EXPECT_THROW_WITH(train::load_train_state(p, *m, sgd), p, c.expect);
  }
  // What save_train_state writes for a fresh plateau schedule (its best loss starts at inf).
  save_after_one_step(p, *m, sgd);
  edit_state(p, [&](auto&, auto& meta) { meta["plateau_state"] = "inf 0 0"; });
  EXPECT_EQ(train::load_train_state(p, *m, sgd).plateau_state[0], HUGE_VAL);
}
