#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "convkit/tensor.h"

namespace convkit {

namespace {
// Large blocks are 2 MiB aligned and advised as transparent huge pages: activations bigger than
// malloc's mmap threshold otherwise fault in 4 KiB pages on every step (shared/DESIGN.md).
constexpr std::size_t kSmallAlign = 64;
constexpr std::size_t kHugePage = std::size_t(2) << 20;
// Blocks from this size on are recycled; smaller ones are left to malloc's own bins.
constexpr std::size_t kCachedFrom = std::size_t(16) << 10;

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

// How a request of `bytes` is served: alignment and rounded size (the cache's size class).
struct Block {
  std::size_t align, alloc;
  bool cached() const { return alloc >= kCachedFrom; }
};
Block block_for(std::size_t bytes) {
  if (bytes >= kHugePage) return {kHugePage, round_up(bytes, kHugePage)};
  // 4 KiB classes: a training step asks for the same sizes every time, so exact reuse is the
  // common case, and page granularity keeps near-equal requests in one class.
  if (bytes >= kCachedFrom) return {kSmallAlign, round_up(bytes, 4096)};
  return {kSmallAlign, round_up(bytes == 0 ? 1 : bytes, kSmallAlign)};
}

// Freed blocks of 16 KiB and more wait here for the next request of the same size class. Without
// this, every training step gives its activations back to glibc, which unmaps (>= mmap threshold)
// or trims them, and the next step faults all of them in again: measured on the 2-core VM, ~5 ms
// per 2 MiB huge page, and for ResNet-20 training 20-28% of the step (bench_train with glibc
// tunables that disable trimming vs without). Bounded: past kMaxCached bytes, blocks go back.
// A request takes the smallest cached block of its class or up to a quarter larger: a detector's
// RoI tensors change size every step, and exact classes alone filled the cache with sizes that
// never came back (its training slowed from 169 to 131 img/s over three epochs, 1.1 GB resident).
class BlockCache {
 public:
  // A cached block of at least `alloc` bytes (and at most 5/4 of it), or null; `*got` its size.
  void* take(std::size_t alloc, std::size_t* got) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = free_.lower_bound(alloc); it != free_.end() && it->first <= alloc + alloc / 4;
         ++it) {
      if (it->second.empty()) continue;
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= it->first;
      *got = it->first;
      return p;
    }
    return nullptr;
  }
  bool give(void* p, std::size_t alloc) {
#ifdef CONVKIT_SANITIZE_BUILD
    // Recycled blocks would hide use-after-free from AddressSanitizer.
    (void)p, (void)alloc;
    return false;
#endif
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ + alloc > kMaxCached) return false;
    free_[alloc].push_back(p);
    cached_ += alloc;
    return true;
  }

 private:
  // 4 GiB: a 512 x 512 style-transfer iteration frees more than 1 GiB (docs/style.md, "Speed").
  static constexpr std::size_t kMaxCached = std::size_t(4) << 30;
  std::mutex mu_;
  std::map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_ = 0;
};

// Never destroyed: tensors released during static destruction may still return blocks.
BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;
  return *cache;
}
}  // namespace

Storage::Storage(std::size_t bytes) : bytes_(bytes) {
  const Block b = block_for(bytes);
  if (b.cached() && (data_ = block_cache().take(b.alloc, &alloc_))) return;
  alloc_ = b.alloc;
  data_ = std::aligned_alloc(b.align, b.alloc);
  if (!data_) throw std::bad_alloc();
  if (b.align == kHugePage) madvise(data_, b.alloc, MADV_HUGEPAGE);
}

Storage::Storage(void* external, std::size_t bytes, std::function<void(void*)> deleter)
    : data_(external), bytes_(bytes), owned_(false), deleter_(std::move(deleter)) {}

Storage::Storage(std::size_t bytes, std::shared_ptr<const StorageLayout> layout,
                 std::size_t plain_bytes)
    : Storage(bytes) {
  layout_ = std::move(layout);
  plain_bytes_ = plain_bytes;
  laid_out_.store(layout_ != nullptr, std::memory_order_release);
}

std::shared_ptr<const StorageLayout> Storage::layout() const {
  if (!laid_out_.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard<std::mutex> lock(layout_mu_);
  return layout_;
}

void Storage::make_plain() const {
  std::lock_guard<std::mutex> lock(layout_mu_);
  if (!layout_) return;  // another thread converted it meanwhile
  Storage plain(plain_bytes_);
  layout_->to_plain(data_, plain.data_);
  // Swap buffers: this storage keeps the plain one, `plain` frees the laid-out one.
  std::swap(data_, plain.data_);
  std::swap(bytes_, plain.bytes_);
  std::swap(alloc_, plain.alloc_);
  layout_.reset();
  laid_out_.store(false, std::memory_order_release);
}

void Storage::release() {
  if (owned_) {
    if (alloc_ < kCachedFrom || !block_cache().give(data_, alloc_)) std::free(data_);
  } else if (deleter_) {
    deleter_(data_);
  }
}

Storage::~Storage() { release(); }

}  // namespace convkit
