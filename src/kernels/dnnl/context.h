#pragma once
// Shared oneDNN (v2.6) state: one CPU engine, a stream per thread, plain-layout memory wrappers,
// and the bounded cache of primitives keyed by the full problem (shapes, strides, pads, prop kind,
// ...), so each primitive is created once per shape and reused (oneDNN's "build once, run many").
//
// Threads (oneDNN's threading guidance, dnnl_types.h "scratchpad_mode"): an engine may be shared;
// a stream must not be used by two threads at once, so each thread gets its own. Debian's oneDNN
// is built with DNNL_ENABLE_CONCURRENT_EXEC, where each primitive owns its scratchpad and "the same
// primitive cannot be run concurrently from two different threads", so cache entries are per
// calling thread (the thread id is part of the key; the bound is shared). Memory objects are built
// per call and our scratch buffers are thread_local, so nothing else is shared between callers.
#include <functional>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <typeinfo>

#include "convkit/tensor.h"
#include "kernels/dnnl/primitive_cache.h"

namespace convkit::onednn {

dnnl::engine& engine();
// This thread's in-order CPU stream.
dnnl::stream& stream();

dnnl::memory::dims dims_of(const Shape& s);
// Row-major f32 descriptor for a shape (tags a, ab, abc, abcd, abcde).
dnnl::memory::desc plain_desc(const Shape& s);
// Memory object over a tensor's data, plain layout, no copy.
dnnl::memory wrap(const Tensor& t);
dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& md);

// Returns the cached object for `key`, creating it with make() on a miss. Thread safe; the entry
// may be evicted later (include/convkit/kernel_cache.h) but lives on while the caller holds it.
template <class T>
std::shared_ptr<T> cached(const std::string& key, const std::function<T()>& make) {
  return std::static_pointer_cast<T>(cache_lookup(std::string(typeid(T).name()) + "|" + key, [&] {
    return std::static_pointer_cast<void>(std::make_shared<T>(make()));
  }));
}

// `src` in layout `want`: src itself when the layouts match, otherwise a reorder into a new buffer.
dnnl::memory to_layout(const dnnl::memory& src, const dnnl::memory::desc& want);
// Copies `src` into `dst` (reorder between layouts); a no-op when they are the same memory.
void reorder(const dnnl::memory& src, const dnnl::memory& dst);

}  // namespace convkit::onednn
