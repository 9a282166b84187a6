// The README's library example (keep the two identical): a small CNN trained on Fashion-MNIST.
#include <convkit/convkit.h>

#include <cstdio>
using namespace convkit;

int main() {
  auto train = data::fashion_mnist(data::kFashionMnistDir, /*train=*/true);
  auto test = data::fashion_mnist(data::kFashionMnistDir, /*train=*/false);
  nn::Sequential model{std::make_shared<nn::Conv2d>(1, 32, 3, /*stride=*/1, /*padding=*/1),
                       std::make_shared<nn::BatchNorm2d>(32),
                       std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::MaxPool2d>(2, 2),
                       std::make_shared<nn::Conv2d>(32, 64, 3, 1, 1),
                       std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::MaxPool2d>(2, 2),
                       std::make_shared<nn::Flatten>(),
                       std::make_shared<nn::Dropout>(0.3),
                       std::make_shared<nn::Linear>(64 * 7 * 7, 10)};
  optim::SGD opt(optim::single_group(model, /*lr=*/0.05, /*weight_decay=*/5e-4), {.momentum = 0.9});
  data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 1});
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    model.train();
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) {
      opt.zero_grad();
      Tensor loss = cross_entropy(model(batch->inputs), batch->labels, /*label_smoothing=*/0.1);
      loss.backward();
      opt.step();
    }
    data::DataLoader test_loader(test, {.batch_size = 256, .shuffle = false});
    std::printf("test accuracy %.2f%%\n", 100 * train::evaluate(model, test_loader, 10).top1);
  }
  train::save_weights("cnn.safetensors", model);
}
