#pragma once
// Shared oneDNN (v2.6) state: one CPU engine and stream, plain-layout memory wrappers, and a cache
// of primitives keyed by the full problem (shapes, strides, pads, prop kind, ...), so each
// primitive is created once per shape and reused (oneDNN's "build once, run many").
#include <functional>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>

#include "convkit/tensor.h"

namespace convkit::onednn {

dnnl::engine& engine();
dnnl::stream& stream();

dnnl::memory::dims dims_of(const Shape& s);
// Row-major f32 descriptor for a shape (tags a, ab, abc, abcd, abcde).
dnnl::memory::desc plain_desc(const Shape& s);
// Memory object over a tensor's data, plain layout, no copy.
dnnl::memory wrap(const Tensor& t);
dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& md);

// Returns the cached object for `key`, creating it with make() on first use. Thread safe.
template <class T>
std::shared_ptr<T> cached(const std::string& key, const std::function<T()>& make) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<T>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto p = std::make_shared<T>(make());
  cache.emplace(key, p);
  return p;
}

// `src` in layout `want`: src itself when the layouts match, otherwise a reorder into a new buffer.
dnnl::memory to_layout(const dnnl::memory& src, const dnnl::memory::desc& want);
// Copies `src` into `dst` (reorder between layouts); a no-op when they are the same memory.
void reorder(const dnnl::memory& src, const dnnl::memory& dst);

}  // namespace convkit::onednn
