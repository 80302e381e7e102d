#pragma once
// Small text helpers shared by the layers: one spelling of what would otherwise be copied by hand.

#include <string>
#include <string_view>

namespace unity {

// `text` with the ASCII letters A-Z turned to a-z and every other byte kept as it is, whatever the
// process locale (std::tolower follows LC_CTYPE: in a Turkish locale 'I' would not become 'i', in
// a Latin-1 one bytes of UTF-8 text would change). For keys compared without case: e-mail
// addresses, host names, header names, cron month and day names, hex ids. Thread-safe.
std::string ascii_lower(std::string_view text);

}  // namespace unity
