#pragma once
// Names the calling thread as `top -H`, `ps -L`, gdb and perf show it ("unity exec 3"). Linux
// keeps at most 15 bytes: longer names are cut. Best effort: a failure changes nothing.

#include <string>
#include <string_view>

namespace unity {

void name_this_thread(std::string_view name);

// The name the calling thread has ("" when it cannot be read).
std::string current_thread_name();

}  // namespace unity
