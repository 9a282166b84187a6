#pragma once
// Each model family's file registers its entries through one function declared here; the
// registry calls them in this order, which is the order of `convkit summary --list`.
#include <vector>

#include "convkit/models/registry.h"

namespace convkit::models::detail {

// Keras' BatchNormalization defaults: epsilon 1e-3, momentum 0.99 (its weight on the old value,
// 0.01 in PyTorch's convention).
constexpr double kKerasBnEps = 1e-3, kKerasBnMomentum = 0.01;
// Keras' default init for the Keras-layout models: Glorot-uniform conv and dense kernels (a
// depthwise kernel's fans sum to 9*(C+1) in both frameworks' conventions), zero biases.
void keras_init(nn::Module& model);  // mobilenet.cpp

void add_lenet_models(std::vector<ModelEntry>& out);             // lenet.cpp
void add_small_cnn_models(std::vector<ModelEntry>& out);         // small_cnn.cpp
void add_alexnet_models(std::vector<ModelEntry>& out);           // alexnet.cpp (and ZFNet)
void add_vgg_models(std::vector<ModelEntry>& out);               // vgg.cpp
void add_googlenet_models(std::vector<ModelEntry>& out);         // googlenet.cpp
void add_resnet_cifar_models(std::vector<ModelEntry>& out);      // resnet_cifar.cpp
void add_resnet_models(std::vector<ModelEntry>& out);            // resnet.cpp
void add_mobilenet_models(std::vector<ModelEntry>& out);         // mobilenet.cpp (v1 and v2)
void add_xception_models(std::vector<ModelEntry>& out);          // xception.cpp
void add_inception_resnet_models(std::vector<ModelEntry>& out);  // inception_resnet.cpp

}  // namespace convkit::models::detail
