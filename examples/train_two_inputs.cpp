// A model with two inputs (an image and a feature vector) trained by the Trainer through a custom
// Task: the CNN's pooled image features are concatenated with the vector before the dense head.
// Synthetic data: the class is whether the image's brightness plus the first feature is positive.
#include <convkit/convkit.h>

#include <cstdio>
#include <cstdlib>
using namespace convkit;

struct TwoInputNet : nn::Module {
  TwoInputNet() : nn::Module("TwoInputNet") {
    cnn->add(std::make_shared<nn::Conv2d>(1, 8, 3, /*stride=*/1, /*padding=*/1));
    cnn->add(std::make_shared<nn::ReLU>());
    cnn->add(std::make_shared<nn::GlobalAvgPool2d>());  // [B, 8]
  }
  using nn::Module::forward;  // the one-input forward stays visible (it throws for this model)
  Tensor forward(const Tensor& image, const Tensor& features) {  // [B,1,8,8], [B,4] -> [B,2]
    return (*head)(concat({(*cnn)(image), features}, /*dim=*/1));
  }
  std::shared_ptr<nn::Sequential> cnn = register_module("cnn", std::make_shared<nn::Sequential>());
  std::shared_ptr<nn::Linear> head = register_module("head", std::make_shared<nn::Linear>(12, 2));
};

struct TwoInputTask : train::Task {
  train::StepResult step(nn::Module& model, const data::Batch& b) override {
    Tensor logits =
        static_cast<TwoInputNet&>(model).forward(b.inputs, b.extra_inputs.at("features"));
    Tensor loss = cross_entropy(logits, b.labels);
    double acc = double(metrics::topk_correct(logits, b.labels, 1)) / double(b.labels.size(0));
    return {loss, {{"loss", loss.item()}, {"acc", acc}}, b.labels.size(0)};
  }
  train::Logs evaluate(nn::Module&, data::DataLoader&) override { return {}; }  // no validation
  std::vector<std::string> metric_names() const override { return {}; }
  std::string best_metric() const override { return "acc"; }
};

int main(int argc, char** argv) {
  const int64_t n = 256, epochs = argc > 1 ? std::atoll(argv[1]) : 10;
  manual_seed(1);
  Tensor images = Tensor::randn({n, 1, 8, 8}), features = Tensor::randn({n, 4});
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    double brightness = 0;
    for (int64_t k = 0; k < 64; ++k) brightness += images.data<float>()[i * 64 + k] / 8.0;
    labels[i] = brightness + features.data<float>()[i * 4] > 0;
  }
  auto ds = std::make_shared<data::TensorDataset>(images, Tensor::from_vector(labels, {n}));
  ds->add_extra_input("features", features);
  TwoInputNet model;
  optim::SGD opt(optim::single_group(model, /*lr=*/0.1), {.momentum = 0.9});
  TwoInputTask task;
  data::DataLoader loader(ds, {.batch_size = 32, .seed = 1});
  train::Trainer trainer(model, opt, task, loader, /*val_loader=*/nullptr, {.epochs = epochs});
  trainer.run();
  for (const train::EpochRecord& r : trainer.history())
    std::printf("epoch %lld: loss %.4f acc %.2f%%\n", (long long)r.epoch, r.train.at("loss"),
                100 * r.train.at("acc"));
}
