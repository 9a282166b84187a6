#pragma once
// The LRU store behind onednn::cached<T>() (contract: include/convkit/kernel_cache.h). Entries are
// type-erased; the key carries the type so two kernels may use the same problem string, and the
// calling thread, since a primitive must not run on two threads at once (kernels/dnnl/context.h).
#include <functional>
#include <memory>
#include <string>

namespace convkit::onednn {

// The entry for `key`, built with make() on a miss (outside the lock; when two threads race on
// one key the first insertion wins and both get it).
std::shared_ptr<void> cache_lookup(const std::string& key,
                                   const std::function<std::shared_ptr<void>()>& make);

}  // namespace convkit::onednn
