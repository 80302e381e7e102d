#pragma once
// How a Unity process asks the C allocator to treat memory it frees. Called first thing in main()
// by every executable that runs queue or HTTP work (`unity`, `unity-bench`).

namespace unity {

// SQLite drops a connection's page cache whenever another connection has committed, so a server
// or worker frees and reallocates its pages at almost every transaction. With glibc's defaults
// that churn returns the heap's top to the kernel and grows it back each time (brk, munmap and the
// page faults after them cost more than the queries: measured on POST /api/v1/orders, and on the
// W1 drain, where a harness without this ran at about 0.65x). Keep freed memory for reuse
// instead: trimmed only past 64 MiB, and large blocks from the heap rather than a fresh mapping.
// And at most malloc_arena_limit() heaps: glibc gives threads up to 8 per core, each holding its
// own freed memory, so a worker's 16 executors running transactional jobs kept ~2.5 MiB more
// resident than the same work on one heap per core (W4: 21.3 -> 18.6 MiB, throughput unchanged
// within the noise; threads still allocate small blocks from their own cache first).
void keep_freed_memory_for_reuse();

// One heap per core, at least two.
int malloc_arena_limit();

}  // namespace unity
