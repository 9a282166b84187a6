#include <sys/mman.h>

#include <cstdlib>
#include <new>

#include "convkit/tensor.h"

namespace convkit {

namespace {
// Large blocks are 2 MiB aligned and advised as transparent huge pages: activations bigger than
// malloc's mmap threshold otherwise fault in 4 KiB pages on every step (shared/DESIGN.md).
constexpr std::size_t kSmallAlign = 64;
constexpr std::size_t kHugePage = std::size_t(2) << 20;

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }
}  // namespace

Storage::Storage(std::size_t bytes) : bytes_(bytes) {
  std::size_t align = bytes >= kHugePage ? kHugePage : kSmallAlign;
  std::size_t alloc = round_up(bytes == 0 ? 1 : bytes, align);
  data_ = std::aligned_alloc(align, alloc);
  if (!data_) throw std::bad_alloc();
  if (align == kHugePage) madvise(data_, alloc, MADV_HUGEPAGE);
}

Storage::Storage(void* external, std::size_t bytes, std::function<void(void*)> deleter)
    : data_(external), bytes_(bytes), owned_(false), deleter_(std::move(deleter)) {}

Storage::~Storage() {
  if (owned_)
    std::free(data_);
  else if (deleter_)
    deleter_(data_);
}

}  // namespace convkit
