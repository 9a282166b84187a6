#include "kernels/dnnl/concat.h"

#include "kernels/dnnl/context.h"

namespace convkit::onednn {

bool concat_accepts(const TensorList& xs, std::string* why) {
  for (const Tensor& x : xs) {
    if (x.dtype() != DType::f32) return *why = "not float32", false;
    // oneDNN rejects zero-sized memory descriptors in concat.
    if (x.numel() == 0) return *why = "an empty input", false;
  }
  return true;
}

void concat_forward(Tensor& y, const TensorList& xs, int dim) {
  std::string key = "concat/" + std::to_string(dim) + "/";
  for (const Tensor& x : xs) key += x.shape().to_string();
  auto prim = cached<dnnl::concat>(key, [&] {
    std::vector<dnnl::memory::desc> mds;
    for (const Tensor& x : xs) mds.push_back(plain_desc(x.shape()));
    return dnnl::concat(dnnl::concat::primitive_desc(plain_desc(y.shape()), dim, mds, engine()));
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DST, wrap(y)}};
  for (size_t i = 0; i < xs.size(); ++i) args.emplace(DNNL_ARG_MULTIPLE_SRC + int(i), wrap(xs[i]));
  prim->execute(stream(), args);
  stream().wait();
}

}  // namespace convkit::onednn
