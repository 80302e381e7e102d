#include "core/allocator.h"

#include <malloc.h>

#include <algorithm>
#include <thread>

namespace unity {

int malloc_arena_limit() {
  return std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
}

void keep_freed_memory_for_reuse() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_ARENA_MAX, malloc_arena_limit());
}

}  // namespace unity
