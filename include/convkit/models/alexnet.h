#pragma once
// AlexNet (Krizhevsky et al. 2012) in two forms, and ZFNet (Zeiler & Fergus 2014). All three are
// `features` (convolutions and pooling) then `classifier` (dropout and dense layers), the layout
// that models::convolutionalize() turns into a sliding-window score map.
//
//  - AlexNet: torchvision 0.14's layout ("One weird trick", Krizhevsky 2014): 64-192-384-256-256
//    channels, no LRN, an adaptive 6x6 average pool so that any input >= 63x63 runs; 61,100,840
//    parameters for 3 channels and 1000 classes. A torchvision state dict loads key for key.
//  - AlexNetPaper: the 2012 paper's: 96 11x11/4 filters, local response normalization (n=5,
//    alpha=1e-4, beta=0.75, k=2) after conv1 and conv2, overlapping 3x3/2 max pooling, 256-384-
//    384-256 channels, dropout 0.5 before fc6 and fc7, the paper's init (weights N(0, 0.01), bias 1
//    in conv2, conv4, conv5 and the dense layers, 0 elsewhere). `two_towers` keeps the paper's
//    split over two GPUs as groups=2 in conv2, conv4, conv5 (60,965,224 parameters, as Caffe's
//    bvlc_alexnet); without it every filter sees every channel (62,378,344). The paper's 224 is
//    really 227 (the size for which 11x11/4 tiles exactly); the dense head is sized from
//    image_size (fc6 sees the 6x6 maps at 227), so the model runs at that size only.
//  - ZFNet: AlexNetPaper with the first layer that the deconvnet visualizations called for: 7x7/2
//    filters (96), then conv2 5x5/2, both followed by 3x3/2 max pooling (ceil mode, as in Caffe,
//    so that 224 -> 110 -> 55 -> 26 -> 13 -> 6 as in the paper's figure 3) and LRN; the rest as
//    AlexNet without the towers. 62,357,608 parameters at 224.
// `gap` replaces the dense head by global average pooling + one dense layer (the network-in-
// network / class-activation-map head): any input size then runs, and the CAM of a class is the
// last conv maps weighted by that class's dense weights.
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

class AlexNet : public nn::Module {
 public:
  AlexNet(int64_t in_channels, int64_t num_classes, bool gap = false, double dropout = 0.5);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Module> avgpool;  // AdaptiveAvgPool2d(6, 6), or GlobalAvgPool2d with gap
  std::shared_ptr<nn::Sequential> classifier;
};

struct AlexNetPaperOptions {
  bool zfnet = false;      // ZFNet's 7x7/2 first layer and 5x5/2 second layer
  bool two_towers = true;  // groups=2 in conv2, conv4, conv5 (the paper's two GPUs); not for ZFNet
  bool gap = false;        // global-average-pooling head instead of fc6-fc8
  int64_t image_size = 227;  // sizes fc6 (ignored with gap)
  double dropout = 0.5;
};

class AlexNetPaper : public nn::Module {
 public:
  AlexNetPaper(int64_t in_channels, int64_t num_classes, const AlexNetPaperOptions& o);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Sequential> classifier;
};

}  // namespace convkit::models
