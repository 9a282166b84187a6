#pragma once
// An image branch and a tabular metadata branch, concatenated before the classifier
// (docs/transfer.md, "Metadata inputs"):
//   image features  f = relu(image_branch(image))                          [B, F]
//   metadata        m = relu(W [numeric, e_1(c_1), ..., e_K(c_K)] + b)     [B, hidden]
//   logits          head([f, m])                                           [B, classes]
// where numeric holds the standardized numeric columns and e_k(c) is row c of column k's
// embedding table [vocab_k, embedding_dim] (initialized N(0, 1), as torch.nn.Embedding).
// use_image / use_metadata drop a branch: the image-only and metadata-only baselines.
#include <memory>
#include <vector>

#include "convkit/nn/layers.h"

namespace convkit::models {

struct ImageMetadataOptions {
  int64_t num_classes = 2;
  int64_t numeric = 0;               // numeric columns
  std::vector<int64_t> vocab_sizes;  // categories of each categorical column
  int64_t embedding_dim = 4;         // per categorical column
  int64_t metadata_hidden = 16;
  bool use_image = true, use_metadata = true;
};

class ImageMetadataNet : public nn::Module {
 public:
  // `image_branch` maps images [B, C, H, W] to [B, image_features] (e.g. a registry model built
  // with num_classes = image_features). Throws when both branches are off or a vocabulary is empty.
  ImageMetadataNet(std::shared_ptr<nn::Module> image_branch, int64_t image_features,
                   ImageMetadataOptions options);
  // {image [B, C, H, W] float32, numeric [B, numeric] float32, categorical [B, K] int64 (category
  // indices)} -> {logits [B, classes]}. Throws naming the input whose shape or dtype is wrong.
  nn::TensorList forward_many(const nn::TensorList& inputs) override;
  const ImageMetadataOptions& options() const { return opt_; }

  std::shared_ptr<nn::Module> image;  // null without the image branch
  std::vector<Tensor> embeddings;     // "embedding0", ...: [vocab_k, embedding_dim]
  std::shared_ptr<nn::Linear> metadata, head;

 private:
  ImageMetadataOptions opt_;
};

}  // namespace convkit::models
