#pragma once
// A file compiled into the binary (see cmake/EmbedFiles.cmake).

#include <string_view>
#include <vector>

namespace unity {

struct EmbeddedFile {
  std::string_view name;      // file name without folders, e.g. "0001_foundation.sql"
  std::string_view contents;  // the file's bytes
};

}  // namespace unity
