// The library face of training: Trainer + Task + callbacks on tiny in-memory data, the non-finite
// guard and anomaly detection with a NaN planted in one op, samplers and collate with named
// tensors, and GoogLeNet's auxiliary losses against torchvision's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "convkit/convkit.h"
#include "convkit/models/googlenet.h"
#include "convkit/train/anomaly.h"
#include "support/golden.h"
#include "support/gradcheck.h"
#include "support/python_oracle.h"
#include "support/test_budget.h"

namespace convkit {
namespace {

// 48 examples [1, 4, 4] in 3 classes, seeded.
std::shared_ptr<data::TensorDataset> tiny_set(int64_t n = 48) {
  Generator g(3);
  Tensor x = Tensor::randn({n, 1, 4, 4}, &g);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[size_t(i)] = i % 3;
  return std::make_shared<data::TensorDataset>(x, Tensor::from_vector<int64_t>(labels, {n}));
}

// Passes its input through, except on forward call `nan_at` (1-based) where it takes log(-|x|-1):
// a NaN made by one known op ("log") inside one known module.
class PlantedNaN : public nn::Module {
 public:
  explicit PlantedNaN(int64_t nan_at) : nn::Module("PlantedNaN"), nan_at_(nan_at) {}
  Tensor forward(const Tensor& x) override {
    return ++calls_ == nan_at_ ? log(neg(abs(x)) - 1.0) : x;
  }

 private:
  int64_t nan_at_, calls_ = 0;
};

std::shared_ptr<nn::Sequential> mlp(int64_t nan_at) {
  manual_seed(1);
  auto m = std::make_shared<nn::Sequential>();
  m->add(std::make_shared<nn::Flatten>());
  m->add(std::make_shared<nn::Linear>(16, 8));
  m->add(std::make_shared<nn::ReLU>());
  m->add(std::make_shared<PlantedNaN>(nan_at));
  m->add(std::make_shared<nn::Linear>(8, 3));
  return m;
}

struct Rig {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::SGD> opt;
  train::ClassificationTask task{3};
  data::DataLoader loader;
  std::vector<std::string> messages;
  explicit Rig(int64_t nan_at = -1)
      : model(mlp(nan_at)),
        opt(std::make_unique<optim::SGD>(optim::single_group(*model, 0.1))),
        loader(tiny_set(), {.batch_size = 8, .shuffle = true, .seed = 2, .prefetch = 0}) {}
  std::unique_ptr<train::Trainer> trainer(train::TrainerOptions o) {
    auto t = std::make_unique<train::Trainer>(*model, *opt, task, loader, nullptr, o);
    t->on_message([this](const std::string& m) { messages.push_back(m); });
    return t;
  }
};

TEST(Trainer, TrainsATaskAndKeepsTheEpochLogs) {
  Rig s;
  auto val = data::DataLoader(tiny_set(12), {.batch_size = 6, .shuffle = false, .prefetch = 0});
  train::Trainer t(*s.model, *s.opt, s.task, s.loader, &val, {.epochs = 3});
  t.run();
  ASSERT_EQ(t.history().size(), 3u);
  for (const train::EpochRecord& r : t.history()) {
    EXPECT_TRUE(r.has_val);
    // loss and acc; no top5 with 3 classes (it would always be 100%)
    EXPECT_EQ(r.val.size(), 2u);
    EXPECT_EQ(r.val.count("top5"), 0u);
    EXPECT_GT(r.train.at("loss"), 0.0);
  }
  EXPECT_LT(t.history().back().train.at("loss"), t.history().front().train.at("loss"));
  EXPECT_EQ(t.context().state.step, 18);  // 6 batches x 3 epochs
}

TEST(Trainer, NonFiniteLossStopsNamingEpochStepAndBatch) {
  Rig s(/*nan_at=*/9);  // the 9th forward: epoch 2, its 3rd batch
  auto t = s.trainer({.epochs = 3});
  auto guard = std::make_shared<train::NonFiniteGuard>();
  t->add_callback(guard);
  EXPECT_THROW_WITH(t->run(), "the loss is NaN", "epoch 2, step 9", "batch 3 of 6",
                    "dataset indices", "clip");
  EXPECT_EQ(t->history().size(), 1u);
}

TEST(Trainer, NonFiniteGradientNamesTheFirstParameter) {
  Rig s;
  Tensor w = s.model->child("4")->named_parameters()[0].second;  // "4.weight"
  int calls = 0;
  w.register_hook([&](const Tensor& g) {
    return ++calls == 2 ? mul(g, std::numeric_limits<double>::infinity()) : Tensor();
  });
  auto t = s.trainer({.epochs = 1});
  t->add_callback(std::make_shared<train::NonFiniteGuard>());
  EXPECT_THROW_WITH(t->run(), "gradient of 4.weight has inf", "step 2");
}

TEST(Trainer, SkipNonFiniteSkipsThatManyBatchesAndGoesOn) {
  Rig s(/*nan_at=*/2);
  std::map<std::string, Tensor> before = s.model->state_dict();
  auto t = s.trainer({.epochs = 1});
  auto guard = std::make_shared<train::NonFiniteGuard>(/*max_skips=*/1);
  t->add_callback(guard);
  EXPECT_TRUE(t->run());
  EXPECT_EQ(guard->skipped(), 1);
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_NE(s.messages[0].find("skipped a non-finite batch (1 of at most 1)"), std::string::npos)
      << s.messages[0];
  EXPECT_EQ(t->history()[0].train.count("loss"), 1u);
  EXPECT_TRUE(std::isfinite(t->history()[0].train.at("loss")));
  EXPECT_EQ(t->context().state.step, 6);
}

TEST(Trainer, DetectAnomalyNamesTheOpAndItsModule) {
  Rig s(/*nan_at=*/4);
  auto t = s.trainer({.epochs = 1, .detect_anomaly = true});
  EXPECT_THROW_WITH(t->run(), "op 'log' produced NaN", "module '3'", "(PlantedNaN)");
  // The observers are gone afterwards: an ordinary forward with NaN does not throw.
  EXPECT_NO_THROW(log(Tensor::full({2}, -1.0)));
}

TEST(Trainer, DetectAnomalyNamesABackwardOp) {
  Tensor x = Tensor::full({3}, 0.0);
  x.set_requires_grad(true);
  nn::Sequential empty;
  train::AnomalyDetector detector(empty);
  Tensor y = sum(sqrt(x));  // finite forward; d sqrt / dx at 0 is inf
  EXPECT_THROW_WITH(y.backward(), "backward of op 'sqrt'", "inf");
}

// A sampler that serves the examples in fixed pairs, reversed every odd epoch.
class PairSampler : public data::Sampler {
 public:
  int64_t num_batches() const override { return 3; }
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const override {
    if (epoch % 2) return {{5, 4}, {3, 2}, {1, 0}};
    return {{0, 1}, {2, 3}, {4, 5}};
  }
};

TEST(Loader, APluggableSamplerAndCollateCarryNamedInputs) {
  auto ds = tiny_set(6);
  std::vector<float> f = {0, 10, 20, 30, 40, 50};
  ds->add_extra_input("features", Tensor::from_vector<float>(f, {6, 1}));
  for (int prefetch : {0, 2}) {
    data::DataLoader dl(ds, {.batch_size = 2,
                             .prefetch = prefetch,
                             .sampler = std::make_shared<PairSampler>(),
                             .collate = data::collate});
    EXPECT_EQ(dl.num_batches(), 3);
    dl.start_epoch(1, /*first_batch=*/1);
    auto b = dl.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->indices, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(b->inputs.shape(), Shape({2, 1, 4, 4}));
    ASSERT_EQ(b->extra_inputs.count("features"), 1u);
    EXPECT_EQ(b->extra_inputs["features"].data<float>()[0], 30.f);
    EXPECT_EQ(b->labels.data<int64_t>()[1], 2);
  }
  EXPECT_EQ(data::DataLoader(ds, {.sampler = std::make_shared<PairSampler>()}).epoch_order(0),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(Loader, CollateNamesTheExampleThatDoesNotFit) {
  data::Batch a{Tensor::zeros({1, 2}), Tensor::zeros({1}, DType::i64), {0}};
  data::Batch b{Tensor::zeros({1, 3}), Tensor::zeros({1}, DType::i64), {1}};
  EXPECT_THROW_WITH(data::collate({a, b}), "inputs of example 1", "[1,3]");
  b.inputs = Tensor::zeros({1, 2});
  a.targets["boxes"] = Tensor::zeros({1, 4});
  EXPECT_THROW_WITH(data::collate({a, b}), "example 1 has no target 'boxes'");
  b.targets["boxes"] = Tensor::ones({1, 4});
  data::Batch c = data::collate({a, b});
  EXPECT_EQ(c.targets["boxes"].shape(), Shape({2, 4}));
  EXPECT_EQ(c.indices, (std::vector<int64_t>{0, 1}));
}

// googlenet-aux trains with loss = CE(main) + 0.3 CE(aux1) + 0.3 CE(aux2), as torchvision's
// training reference; against PyTorch on the same weights and inputs (dropout off on both sides:
// its masks cannot match).
TEST(Trainer, GoogLeNetAuxLossMatchesTorchvision) {
  std::string why;
  if (!test::python_has("torch, torchvision", &why)) GTEST_SKIP() << why;
  if (!test::large_models_run_here()) GTEST_SKIP() << "13M parameters: dnnl in optimized builds";
  const std::string path = test::onnx_work_dir() + "/googlenet_aux_loss.safetensors";
  std::string out;
  ASSERT_EQ(test::run_python(
                std::string(CONVKIT_TESTS_DIR) + "/golden/gen_googlenet_aux.py " + path, &out),
            0)
      << out;
  io::SafetensorsFile f = io::load_safetensors(path);
  std::map<std::string, Tensor> state;
  for (const auto& [k, v] : f.tensors)
    if (k.rfind("state.", 0) == 0) state[k.substr(6)] = v;
  models::GoogLeNet model(3, 10, /*aux_logits=*/true, /*dropout=*/0.0, /*dropout_aux=*/0.0);
  for (const auto& [key, t] : model.state_dict())
    if (key.ends_with("num_batches_tracked") && !state.count(key)) state[key] = t;
  model.load_state_dict(state, /*strict=*/true, path);
  model.train();
  train::ClassificationTask task(10);
  data::Batch b{f.tensors.at("input"), f.tensors.at("labels"), {0, 1}};
  train::StepResult r = task.step(model, b);
  EXPECT_NEAR(r.loss.item(), f.tensors.at("loss").item(), 1e-4 * f.tensors.at("loss").item());
  r.loss.backward();
  for (const char* p : {"conv1.conv.weight", "aux1.fc2.weight", "aux2.conv.conv.weight"}) {
    Tensor g = model.child(std::string(p).substr(0, std::string(p).rfind('.')))
                   ->named_parameters()[0]
                   .second.grad();
    EXPECT_LE(test::rel_error(g, f.tensors.at(std::string("grad.") + p)),
              std::stod(f.metadata.at(std::string("tol_grad.") + p)))
        << p;
  }
  // The auxiliary terms are really in: the main loss alone differs.
  EXPECT_GT(std::abs(r.loss.item() - f.tensors.at("main_loss").item()), 0.1);
  // In eval mode the auxiliary heads are off and the loss is the main one.
  model.eval();
  NoGradGuard no_grad;
  EXPECT_NEAR(task.step(model, b).loss.item(), f.tensors.at("eval_loss").item(), 1e-3);
}

// examples/train_two_inputs.cpp (an image + a feature vector, a custom Task) runs and learns.
TEST(Examples, TwoInputProgramTrainsThroughTheTrainer) {
  const std::string out =
      (std::filesystem::temp_directory_path() / ("two_inputs_" + std::to_string(::getpid())))
          .string();
  ASSERT_EQ(std::system((std::string(CONVKIT_EXAMPLE_TWO_INPUTS) + " 4 > " + out).c_str()), 0);
  std::ifstream in(out);
  std::vector<double> losses;
  std::string line;
  while (std::getline(in, line)) {
    double loss = 0;
    if (std::sscanf(line.c_str(), "epoch %*d: loss %lf", &loss) == 1) losses.push_back(loss);
  }
  std::filesystem::remove(out);
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), 0.8 * losses.front());
}

// Marks the first epoch as the only best one, as a checkpoint callback would after a peak.
struct BestOnlyFirst : train::Callback {
  void on_epoch_end(train::TrainContext&, train::EpochRecord& r) override { r.best = r.epoch == 1; }
};

TEST(Trainer, EarlyStoppingStopsAfterPatienceEpochsWithoutABestAndKeepsItsCount) {
  Rig s;
  auto t = s.trainer({.epochs = 10});
  auto stopper = std::make_shared<train::EarlyStopping>(2);
  t->add_callback(std::make_shared<BestOnlyFirst>()).add_callback(stopper);
  t->run();
  // Epoch 1 is the best; epochs 2 and 3 are not: the patience of 2 runs out after epoch 3.
  EXPECT_EQ(t->history().size(), 3u);
  ASSERT_FALSE(s.messages.empty());
  EXPECT_NE(s.messages.back().find("early stopping: no better acc for 2 epochs"), std::string::npos)
      << s.messages.back();
  // The count survives a resume through the training state.
  train::TrainState state;
  stopper->save_state(state);
  train::EarlyStopping restored(2);
  restored.load_state(state);
  train::TrainState again;
  restored.save_state(again);
  EXPECT_EQ(again.extra.at("early_stopping_since_best"), "2");
  state.extra["early_stopping_since_best"] = "2x";
  EXPECT_THROW_WITH(restored.load_state(state), "early_stopping_since_best", "'2x'");
}

}  // namespace
}  // namespace convkit
