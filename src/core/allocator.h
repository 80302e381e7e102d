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
void keep_freed_memory_for_reuse();

}  // namespace unity
