#include "ept/model/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <limits>

namespace ept {

bool tune_allocator() {
  static const bool applied = [] {
    const char* setting = std::getenv("EPT_MALLOC_TUNING");
    if (setting && std::strcmp(setting, "0") == 0) return false;
    // Tensors up to 2 GiB come from the heap, and freed memory is never handed back to the kernel (-1).
    return mallopt(M_MMAP_THRESHOLD, std::numeric_limits<int>::max()) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1 &&
           mallopt(M_TOP_PAD, 256 << 20) == 1;
  }();
  return applied;
}

bool tune_allocator_if_requested() {
  const char* setting = std::getenv("EPT_MALLOC_TUNING");
  return setting && std::strcmp(setting, "1") == 0 && tune_allocator();
}

}  // namespace ept
