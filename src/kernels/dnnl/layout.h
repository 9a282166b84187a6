#pragma once
// Tensors that stay in oneDNN's layouts between ops (docs/architecture.md, "Layouts").
//
// A convolution's output is produced in the layout its primitive chose (e.g. nChw16c) and kept
// there: batch norm, ReLU, add, pooling and the next convolution read it as it is, so a ResNet
// step no longer reorders every activation out of and back into the blocked layout. A tensor in
// such a layout is a Tensor like any other; the first plain reader (data<T>(), a view, a
// reference kernel) converts its storage to row-major once (StorageLayout::to_plain).
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "convkit/tensor.h"

namespace convkit::onednn {

class DnnlLayout : public StorageLayout {
 public:
  DnnlLayout(dnnl::memory::desc md, Shape shape) : md_(std::move(md)), shape_(shape) {}
  const dnnl::memory::desc& desc() const { return md_; }
  void to_plain(const void* src, void* dst) const override;

 private:
  dnnl::memory::desc md_;
  Shape shape_;
};

// The descriptor t's bytes are in: its oneDNN layout's, or the plain row-major one. Describing a
// plain 4-D tensor this way never converts it.
dnnl::memory::desc desc_of(const Tensor& t);
// t's memory, in desc_of(t), without a copy.
dnnl::memory memory_of(const Tensor& t);
// t's memory in layout `want`: memory_of(t) when it already is, else a reorder of it into a new
// buffer that `keep` owns (it must outlive the primitive's execution).
dnnl::memory memory_in(const Tensor& t, const dnnl::memory::desc& want, Tensor& keep);
// A new f32 tensor of `shape` whose storage is in `md` (an ordinary tensor when md is plain).
Tensor new_tensor(const Shape& shape, const dnnl::memory::desc& md);
// A key naming a descriptor's dims and layout exactly, for primitive caches.
std::string desc_key(const dnnl::memory::desc& md);

}  // namespace convkit::onednn
