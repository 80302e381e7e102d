// keep_freed_memory_for_reuse() caps glibc's heaps at malloc_arena_limit(). Built without
// sanitizers (CMakeLists.txt): AddressSanitizer replaces malloc, and the cap is about glibc's.
// Exits non-zero, saying why, when more heaps were made than the limit.
#include <malloc.h>
#include <stdio.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/allocator.h"

namespace {

// The heaps glibc has made so far, from malloc_info's report (one <heap nr="…"> each).
int heaps() {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  malloc_info(0, f);
  fclose(f);
  const std::string xml(buf, len);
  std::free(buf);
  int n = 0;
  for (size_t at = xml.find("<heap nr="); at != std::string::npos;
       at = xml.find("<heap nr=", at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

int main() {
  unity::keep_freed_memory_for_reuse();
  // Threads allocating at the same time each ask for a heap of their own; without the cap glibc
  // makes up to 8 per core.
  const int count = 4 * unity::malloc_arena_limit() + 4;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < count) std::this_thread::yield();
      std::vector<std::string> blocks;
      for (int k = 0; k < 2000; ++k) blocks.emplace_back(200, 'x');
    });
  }
  for (auto& t : threads) t.join();
  const int made = heaps();
  if (made > unity::malloc_arena_limit()) {
    fprintf(stderr, "%d threads made %d heaps, more than the limit of %d\n", count, made,
            unity::malloc_arena_limit());
    return 1;
  }
  printf("%d threads, %d heaps (limit %d)\n", count, made, unity::malloc_arena_limit());
  return 0;
}
