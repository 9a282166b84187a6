#pragma once
// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian magic
// number (two zero bytes, a type code, the number of dimensions), one big-endian uint32 per
// dimension, then the data. Files may be gzipped (detected by the gzip magic bytes).
#include <cstdint>
#include <string>
#include <string_view>

#include "convkit/tensor.h"

namespace convkit::data {

// Reads an unsigned-byte IDX file into a uint8 tensor of the file's dimensions (images [N, 28, 28],
// labels [N]). Throws convkit::Error naming the path: missing file, bad magic, unsupported type
// code, dimensions whose product overflows, data shorter or longer than the dimensions need,
// corrupt gzip stream.
Tensor read_idx(const std::string& path);
// The same on a file's (gunzipped) bytes in memory; `path` only names them in messages.
Tensor parse_idx(std::string_view bytes, const std::string& path);

struct LabelledImages {
  Tensor images;  // float32 [N, 1, H, W], pixel values scaled to [0, 1]
  Tensor labels;  // int64 [N]
};

// Loads "<dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]" (MNIST / Fashion-MNIST layout).
// Throws naming the file when the image and label counts differ, the set is empty, or a label is
// not below `num_classes`.
LabelledImages load_mnist_split(const std::string& dir, bool train, int64_t num_classes = 10);

// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace convkit::data
