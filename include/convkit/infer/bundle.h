#pragma once
// A model bundle: everything needed to turn an image into a prediction with a trained model (the
// module, its name, class names, input shape, how image files were prepared in training, and the
// input standardization), loaded from any of the three files convkit meets (docs/inference.md):
//
//   load_checkpoint   a weights file written by `convkit train` (its metadata names the registry
//                     model, its config, class names, preprocessing and standardization);
//   load_torchvision  a plain safetensors state dict under torchvision's names (e.g. written by
//                     `safetensors.torch.save_file(model.state_dict(), ...)`) plus a registry name;
//   load_onnx_bundle  an .onnx file; `convkit export` writes the checkpoint's metadata into it, so
//                     the bundle is the same as the checkpoint's; other ONNX files give their
//                     declared input shape and no class names or standardization.
// load_bundle picks by the file: .onnx, a safetensors file with convkit metadata, or otherwise a
// torchvision state dict (which needs BundleOptions::model).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/data/image_dataset.h"
#include "convkit/nn/module.h"

namespace convkit::infer {

struct ModelBundle {
  std::shared_ptr<nn::Module> module;
  std::string name;    // registry name ("resnet18"), or the ONNX metadata's, or "onnx"
  std::string source;  // the file it was loaded from (errors name it)
  int64_t in_channels = 0;
  int64_t image_size = 0;   // the input height = width the model was trained / exported at
  int64_t num_classes = 0;  // 0: unknown until the first forward (ONNX without metadata)
  std::vector<std::string> class_names;  // empty: classes are named by index
  // How an image file becomes the model's input before standardization (decode, resize the
  // shorter side, centre crop, colour mode). For a model trained on tensors (IDX files) this is
  // its input size and channels with no extra resize.
  data::ImagePreprocessing preprocessing;
  // True when `preprocessing` describes image files as training saw them (the config records it,
  // or torchvision's ImageNet evaluation transform); false for models trained on IDX tensors and
  // for ONNX files without convkit metadata.
  bool trained_on_images = false;
  data::ChannelStats standardization;  // per-channel mean / std; empty: inputs are used as they are
  // Smallest square input the model accepts (models::ModelEntry::min_input_size); 0 with
  // fixed_input_size when the model runs only at image_size, 0 without it when unknown (ONNX).
  int64_t min_input_size = 0;
  bool fixed_input_size = false;
  std::map<std::string, std::string> metadata;  // the file's metadata, passed on by export

  // "resnet18 (runs/best.safetensors)": how errors name the model.
  std::string describe() const;
  // Class k's name, or its index when the bundle has no names.
  std::string class_name(int64_t k) const;
};

// A convkit weights file (train::save_weights with "model" and "config" metadata). Throws naming
// the file when it is not one, its config is malformed, or a tensor does not fit the model.
ModelBundle load_checkpoint(const std::string& path);

struct TorchvisionOptions {
  std::string model;        // registry name, required ("resnet18")
  int64_t num_classes = 0;  // 0: read from the file's classifier weights
  int64_t in_channels = 3;  // channels of the first layer
  int64_t image_size = 0;   // 0: the registry's input size (224 for ImageNet models)
  int64_t load_size = 0;    // 0: image_size * 256 / 224, torchvision's Resize(256) for 224
  std::vector<std::string> class_names;  // optional
  // torchvision's ImageNet statistics (transforms.Normalize in its reference scripts).
  data::ChannelStats standardization{{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
};
// A plain state dict under torchvision's names. Throws naming the file and the first tensor that
// is missing, unexpected or of another shape, and the model when the name is unknown.
ModelBundle load_torchvision(const std::string& path, const TorchvisionOptions& options);

// An .onnx file (io::load_onnx). Without convkit metadata, the input shape comes from the graph's
// declared input [N, C, H, W] (an unknown H/W takes `image_size`, which must then be given).
ModelBundle load_onnx_bundle(const std::string& path, int64_t image_size = 0);

struct BundleOptions {
  TorchvisionOptions torchvision;  // used for a safetensors file without convkit metadata
  int64_t image_size = 0;          // for an ONNX file without a declared input size
};
// The loader the file calls for: a path ending in .onnx -> load_onnx_bundle; a safetensors file
// with convkit metadata -> load_checkpoint; any other safetensors file -> load_torchvision (throws
// asking for a model name when options.torchvision.model is empty).
ModelBundle load_bundle(const std::string& path, const BundleOptions& options = {});

// The metadata that makes a file load back as this bundle: the bundle's own metadata with "model"
// and "config" (in_channels, num_classes, image_size, class_names, normalization, preprocessing)
// set from the bundle (export writes it into ONNX files).
std::map<std::string, std::string> bundle_metadata(const ModelBundle& bundle);

// The smallest square input registered model `name` runs on with `in_channels` channels: the
// registry's min_input_size when it has one; otherwise (models whose head is sized from the input)
// found by building the model for sizes below its reference size and running one forward each
// (binary search; the model must run at its reference size, as the zoo tests check). For error
// messages: it costs about log2(reference size) forward passes.
int64_t smallest_input_size(const std::string& name, int64_t in_channels);

// Throws naming the bundle and the accepted size when an input of `size` x `size` cannot run
// through it: below min_input_size, or another size than image_size for a fixed-size model.
void check_input_size(const ModelBundle& bundle, int64_t size);

}  // namespace convkit::infer
