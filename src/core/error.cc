#include "core/error.h"

#include <utility>

namespace unity {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

int exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 2;
    case ErrorCode::kNotFound:
      return 3;
    case ErrorCode::kAlreadyExists:
      return 4;
    case ErrorCode::kFailedPrecondition:
      return 5;
    case ErrorCode::kPermissionDenied:
      return 6;
    case ErrorCode::kUnavailable:
      return 7;
    case ErrorCode::kDeadlineExceeded:
      return 8;
    case ErrorCode::kInternal:
      return 1;
  }
  return 1;
}

Error::Error(ErrorCode code, std::string message)
    : std::runtime_error(std::move(message)), code_(code) {}

void throw_error(ErrorCode code, std::string message) { throw Error(code, std::move(message)); }

std::string quote_for_message(std::string_view text) {
  constexpr size_t kMaxChars = 64;
  // Appended piecewise: `"\"" + std::string(...)` trips GCC 12's -Wrestrict false positive at -O3.
  std::string out = "\"";
  out.append(text.substr(0, kMaxChars));
  if (text.size() > kMaxChars) out += "...";
  return out += '"';
}

}  // namespace unity
