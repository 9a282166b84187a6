#include "convkit/models/image_metadata.h"

#include "convkit/ops.h"

namespace convkit::models {

ImageMetadataNet::ImageMetadataNet(std::shared_ptr<nn::Module> image_branch, int64_t image_features,
                                   ImageMetadataOptions options)
    : nn::Module("ImageMetadataNet"), opt_(std::move(options)) {
  CONVKIT_CHECK(opt_.use_image || opt_.use_metadata,
                "ImageMetadataNet: both branches are off; keep the image or the metadata");
  CONVKIT_CHECK(!opt_.use_metadata || opt_.numeric + int64_t(opt_.vocab_sizes.size()) > 0,
                "ImageMetadataNet: the metadata branch has no columns");
  int64_t head_in = 0;
  if (opt_.use_image) {
    image = register_module("image", std::move(image_branch));
    head_in += image_features;
  }
  if (opt_.use_metadata) {
    for (size_t k = 0; k < opt_.vocab_sizes.size(); ++k) {
      CONVKIT_CHECK(opt_.vocab_sizes[k] > 0, "ImageMetadataNet: categorical column ", k,
                    " has no categories");
      embeddings.push_back(
          register_parameter("embedding" + std::to_string(k),
                             Tensor::randn({opt_.vocab_sizes[k], opt_.embedding_dim})));
    }
    const int64_t in = opt_.numeric + int64_t(opt_.vocab_sizes.size()) * opt_.embedding_dim;
    metadata = register_module("metadata", std::make_shared<nn::Linear>(in, opt_.metadata_hidden));
    head_in += opt_.metadata_hidden;
  }
  head = register_module("head", std::make_shared<nn::Linear>(head_in, opt_.num_classes));
}

nn::TensorList ImageMetadataNet::forward_many(const nn::TensorList& inputs) {
  CONVKIT_CHECK(inputs.size() == 3, "ImageMetadataNet takes {image, numeric, categorical}, got ",
                inputs.size(), " inputs");
  const Tensor &x = inputs[0], &num = inputs[1], &cat = inputs[2];
  const int64_t b = x.size(0), k = int64_t(opt_.vocab_sizes.size());
  CONVKIT_CHECK(num.ndim() == 2 && num.size(0) == b && num.size(1) == opt_.numeric,
                "ImageMetadataNet: numeric input ", num.shape().to_string(), " should be [", b,
                ", ", opt_.numeric, "]");
  CONVKIT_CHECK(
      cat.dtype() == DType::i64 && cat.ndim() == 2 && cat.size(0) == b && cat.size(1) == k,
      "ImageMetadataNet: categorical input ", cat.shape().to_string(), " ", dtype_name(cat.dtype()),
      " should be [", b, ", ", k, "] int64");
  nn::TensorList parts;
  if (image) parts.push_back(relu((*image)(x)));
  if (metadata) {
    nn::TensorList meta;
    if (opt_.numeric > 0) meta.push_back(num);
    for (int64_t c = 0; c < k; ++c) {
      std::vector<int64_t> column(b);  // [B, K] -> column c, [B]
      for (int64_t i = 0; i < b; ++i) column[i] = cat.data<int64_t>()[i * k + c];
      meta.push_back(index_select(embeddings[c], 0, Tensor::from_vector(column, {b})));
    }
    parts.push_back(relu((*metadata)(meta.size() == 1 ? meta[0] : concat(meta, /*dim=*/1))));
  }
  return {(*head)(parts.size() == 1 ? parts[0] : concat(parts, /*dim=*/1))};
}

}  // namespace convkit::models
