#include "core/allocator.h"

#include <malloc.h>

namespace unity {

void keep_freed_memory_for_reuse() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

}  // namespace unity
