#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "convkit/tensor.h"

namespace convkit {

namespace {
// Large blocks are 2 MiB aligned and advised as transparent huge pages: activations bigger than
// malloc's mmap threshold otherwise fault in 4 KiB pages on every step (shared/DESIGN.md).
constexpr std::size_t kSmallAlign = 64;
constexpr std::size_t kHugePage = std::size_t(2) << 20;

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

// Freed large blocks wait here for the next request of the same rounded size. Without this,
// glibc serves each 2 MiB-aligned block with a fresh mmap and returns it with munmap, so every
// training step faults all of its activations in again (measured on a 2-core VM: ~5 ms per 2 MiB
// huge page, 20 ms for one [128,16,32,32] conv output, against ~5 ms for the conv itself).
// Bounded: past kMaxCached bytes, freed blocks go back to the system.
// (Minimal stand-in for the size-bucketed caching allocator of shared/DESIGN.md.)
class LargeBlockCache {
 public:
  void* take(std::size_t alloc) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(alloc);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= alloc;
    return p;
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
  static constexpr std::size_t kMaxCached = std::size_t(1) << 30;
  std::mutex mu_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_ = 0;
};

// Never destroyed: tensors released during static destruction may still return blocks.
LargeBlockCache& large_blocks() {
  static LargeBlockCache* cache = new LargeBlockCache;
  return *cache;
}
}  // namespace

Storage::Storage(std::size_t bytes) : bytes_(bytes) {
  std::size_t align = bytes >= kHugePage ? kHugePage : kSmallAlign;
  std::size_t alloc = round_up(bytes == 0 ? 1 : bytes, align);
  if (align == kHugePage && (data_ = large_blocks().take(alloc))) return;
  data_ = std::aligned_alloc(align, alloc);
  if (!data_) throw std::bad_alloc();
  if (align == kHugePage) madvise(data_, alloc, MADV_HUGEPAGE);
}

Storage::Storage(void* external, std::size_t bytes, std::function<void(void*)> deleter)
    : data_(external), bytes_(bytes), owned_(false), deleter_(std::move(deleter)) {}

Storage::~Storage() {
  if (owned_) {
    const bool large = bytes_ >= kHugePage;
    if (!large || !large_blocks().give(data_, round_up(bytes_, kHugePage))) std::free(data_);
  } else if (deleter_) {
    deleter_(data_);
  }
}

}  // namespace convkit
