#include "core/thread_name.h"

#include <pthread.h>

#include <array>
#include <string>

namespace unity {

void name_this_thread(std::string_view name) {
  std::string cut(name.substr(0, 15));
  pthread_setname_np(pthread_self(), cut.c_str());
}

std::string current_thread_name() {
  std::array<char, 16> buf{};
  if (pthread_getname_np(pthread_self(), buf.data(), buf.size()) != 0) return {};
  return buf.data();
}

}  // namespace unity
