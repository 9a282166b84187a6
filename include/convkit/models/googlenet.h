#pragma once
// GoogLeNet (Szegedy et al. 2015, Inception v1) exactly as torchvision 0.14 builds it, so that its
// state dicts load key for key: every convolution is BasicConv2d (conv without bias, batch norm
// with eps 1e-3, ReLU); nine Inception modules (four branches: 1x1; 1x1 bottleneck then 3x3;
// 1x1 bottleneck then "5x5", which torchvision builds as 3x3 (pytorch/vision#906) and we keep for
// weight compatibility; 3x3/1 max pool then 1x1 projection) concatenated over channels; ceil-mode
// max pools; global average pooling, dropout 0.2, dense. 6,624,904 parameters without the
// auxiliary heads for 3 channels and 1000 classes. Any input of at least 15x15 runs.
//
// Auxiliary classifiers (aux_logits): after inception4a and inception4d, adaptive 4x4 average
// pooling, 1x1 conv to 128, fc 1024, ReLU, dropout 0.7, fc classes. forward() returns the main
// logits only (as torchvision in eval mode); forward_with_aux() also returns the two auxiliary
// logits in training mode, for the paper's loss main + 0.3 * (aux1 + aux2).
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

class BasicConv2d : public nn::Module {
 public:
  BasicConv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
};

class Inception : public nn::Module {
 public:
  Inception(int64_t in, int64_t ch1x1, int64_t ch3x3red, int64_t ch3x3, int64_t ch5x5red,
            int64_t ch5x5, int64_t pool_proj);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<BasicConv2d> branch1;
  std::shared_ptr<nn::Sequential> branch2, branch3, branch4;
};

class InceptionAux : public nn::Module {
 public:
  InceptionAux(int64_t in, int64_t num_classes, double dropout = 0.7);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<BasicConv2d> conv;
  std::shared_ptr<nn::Linear> fc1, fc2;
  std::shared_ptr<nn::Dropout> dropout;
};

struct GoogLeNetOutputs {
  Tensor logits;
  Tensor aux1, aux2;  // undefined unless aux_logits and training mode
};

class GoogLeNet : public nn::Module {
 public:
  GoogLeNet(int64_t in_channels, int64_t num_classes, bool aux_logits = false, double dropout = 0.2,
            double dropout_aux = 0.7);
  Tensor forward(const Tensor& x) override;
  GoogLeNetOutputs forward_with_aux(const Tensor& x);
  std::shared_ptr<BasicConv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::MaxPool2d> maxpool1, maxpool2, maxpool3, maxpool4;
  std::shared_ptr<Inception> inception3a, inception3b, inception4a, inception4b, inception4c,
      inception4d, inception4e, inception5a, inception5b;
  std::shared_ptr<InceptionAux> aux1, aux2;  // null without aux_logits
  std::shared_ptr<nn::GlobalAvgPool2d> avgpool;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> fc;
};

}  // namespace convkit::models
