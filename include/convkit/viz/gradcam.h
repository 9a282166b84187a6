#pragma once
// Class activation maps (docs/visualization.md): where in the image the evidence for a class lies.
//
//   Grad-CAM (Selvaraju et al. 2017, eq. 1-2): A = the layer's output [N, K, h, w], y_c the class
//     score (logit), G = dy_c/dA. Channel weights alpha_k = mean_ij G_kij;
//     map = ReLU(sum_k alpha_k A_k)                                            [h, w]
//   Grad-CAM++ (Chattopadhay et al. 2018, eq. 19 with the exp(score) trick, as pytorch-grad-cam
//     writes it): a_kij = G^2 / (2 G^2 + (sum_ij A_kij) G^3), 0 where G == 0 (or the denominator
//     is); alpha_k = sum_ij a_kij ReLU(G_kij); map = ReLU(sum_k alpha_k A_k).
//   CAM (Zhou et al. 2016): for a network ending in global average pooling then a linear layer W,
//     map = sum_k W[c, k] A_k (no ReLU). There dy_c/dA_kij = W[c, k] / (h w), so
//     Grad-CAM = ReLU(CAM) / (h w) exactly (tested).
//
// Gradients go back only as far as the chosen layer: its output is replaced (forward hook) by a
// detached leaf that requires grad and the parameters are frozen for the call, so nothing before
// the layer is recorded and no weight gradient is computed (PyTorch 1.13's equivalent takes half
// the time of a full backward). The model runs as it is: put it in eval mode first.
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/infer/bundle.h"
#include "convkit/nn/module.h"
#include "convkit/tensor.h"

namespace convkit::viz {

enum class CamMethod { grad_cam, grad_cam_pp, cam };
// "gradcam", "gradcam++", "cam"; parse throws listing the three.
CamMethod parse_cam_method(const std::string& name);
const char* cam_method_name(CamMethod m);

struct CamOptions {
  CamMethod method = CamMethod::grad_cam;
  std::string layer;  // dotted module path; "" = default_cam_layer (layer.h)
  // CAM only: the linear classifier after global pooling; "" = the last Linear module.
  std::string classifier;
  // The classes explained for every image; empty = each image's top_k predicted classes.
  std::vector<int64_t> classes;
  int64_t top_k = 1;
};

// One map: image `image` of the batch explained for class `class_index`.
struct CamMap {
  int64_t image = 0;
  int64_t class_index = 0;
  double score = 0;  // the class's logit
  Tensor map;        // [h, w] float32 at the layer's resolution, before upsampling or scaling
  // False when the activations, gradients or the map hold a NaN or infinity (map is then zeros):
  // nothing meaningful can be shown.
  bool finite = true;
};

struct CamResult {
  std::string layer;         // the layer used (the default when options.layer was empty)
  Tensor logits;             // [N, num_classes]
  std::vector<CamMap> maps;  // image-major, then in the order of the classes
};

// The maps of `options.method` for inputs [N, C, H, W] (standardized model inputs). Throws
// convkit::Error (naming `model_name`) for an unknown layer (listing valid names near it), a
// layer whose output is not [N, K, h, w], a class index outside [0, num_classes), top_k < 1, a
// model whose output is not [N, num_classes], and for CAM a classifier that is not Linear or whose
// in_features differs from K.
CamResult class_activation_maps(nn::Module& model, const Tensor& inputs, const CamOptions& options,
                                const std::string& model_name = "model");

// The library's one call: image (8-bit RGB or gray, any size) -> its explanations, each with the
// map upsampled to the model input, scaled to [0, 1] (heatmap.h: normalize_map), and an overlay
// on the image as the model sees it (resized and centre-cropped as the bundle prepares images).
struct Explanation {
  std::string layer;  // the layer explained (CamResult::layer)
  int64_t class_index = 0;
  std::string class_name;
  double score = 0;
  double probability = 0;
  Tensor map;       // [h, w] raw, as CamMap::map
  Tensor heatmap;   // [S, S] in [0, 1]
  cv::Mat overlay;  // CV_8UC3 RGB, S x S; empty when !finite
  bool finite = true;
};
std::vector<Explanation> explain(const infer::ModelBundle& bundle, const cv::Mat& image,
                                 const CamOptions& options);

}  // namespace convkit::viz
