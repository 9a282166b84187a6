// Least-recently-used cache: a list in use order (front = newest) and a map from key to list node.
#include "kernels/dnnl/primitive_cache.h"

#include <cstdlib>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "convkit/error.h"
#include "convkit/kernel_cache.h"

namespace convkit {

namespace {

std::size_t initial_capacity() {
  const char* env = std::getenv("CONVKIT_PRIMITIVE_CACHE");
  if (env == nullptr || *env == '\0') return 1024;
  char* end = nullptr;
  const long long v = std::strtoll(env, &end, 10);
  CONVKIT_CHECK(*end == '\0' && v >= 1, "CONVKIT_PRIMITIVE_CACHE must be a whole number >= 1 ",
                "(entries in the oneDNN kernel cache), got '", env, "'");
  return std::size_t(v);
}

class Lru {
 public:
  std::shared_ptr<void> lookup(const std::string& key,
                               const std::function<std::shared_ptr<void>()>& make) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(key);
      if (it != index_.end()) {
        ++stats_.hits;
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
      }
      ++stats_.misses;
    }
    std::shared_ptr<void> made = make();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) return it->second->second;  // another thread built it meanwhile
    order_.emplace_front(key, std::move(made));
    index_.emplace(key, order_.begin());
    trim();
    return order_.front().second;
  }

  KernelCacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    KernelCacheStats s = stats_;
    s.size = order_.size();
    s.capacity = capacity_;
    return s;
  }
  void reset_stats() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = {};
  }
  void set_capacity(std::size_t c) {
    CONVKIT_CHECK(c >= 1, "set_kernel_cache_capacity: capacity must be >= 1, got ", c);
    std::lock_guard<std::mutex> lock(mu_);
    capacity_ = c;
    trim();
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    index_.clear();
    order_.clear();
  }

 private:
  void trim() {
    while (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      ++stats_.evictions;
    }
  }

  std::mutex mu_;
  std::size_t capacity_ = initial_capacity();
  std::list<std::pair<std::string, std::shared_ptr<void>>> order_;
  std::unordered_map<std::string, decltype(order_)::iterator> index_;
  KernelCacheStats stats_;
};

// Never destroyed: primitives released during static destruction would race oneDNN's own teardown.
Lru& lru() {
  static Lru* cache = new Lru;
  return *cache;
}

}  // namespace

KernelCacheStats kernel_cache_stats() { return lru().stats(); }
void reset_kernel_cache_stats() { lru().reset_stats(); }
void set_kernel_cache_capacity(std::size_t capacity) { lru().set_capacity(capacity); }
void clear_kernel_cache() { lru().clear(); }

namespace onednn {
std::shared_ptr<void> cache_lookup(const std::string& key,
                                   const std::function<std::shared_ptr<void>()>& make) {
  thread_local const std::string thread_tag = [] {
    std::ostringstream os;
    os << std::this_thread::get_id() << "|";
    return os.str();
  }();
  return lru().lookup(thread_tag + key, make);
}
}  // namespace onednn

}  // namespace convkit
