#pragma once
// The one error model of Unity (STYLE.md "Errors").
//
// An Error carries a canonical code (Abseil's names) and a message a person can act on. Everything
// that fails throws unity::Error; drivers translate their database's errors into codes in one
// place; the CLI maps codes to exit codes (exit_code()); the worker records what handlers throw.

#include <stdexcept>
#include <string>
#include <string_view>

namespace unity {

enum class ErrorCode {
  kInvalidArgument,     // the caller's input is wrong: fix the input
  kNotFound,            // a named thing does not exist (or belongs to another tenant)
  kAlreadyExists,       // a unique thing exists already
  kFailedPrecondition,  // the system is not in a state that allows this (e.g. schema changed)
  kPermissionDenied,    // the actor may not do this
  kUnavailable,         // a transient failure: retrying may succeed (database busy or down)
  kDeadlineExceeded,    // a time limit passed
  kInternal,            // a bug or an invariant broken
};

// "invalid_argument", "not_found", ... (the canonical names).
std::string_view error_code_name(ErrorCode code);

// Process exit code for a CLI failing with `code`: 2 invalid_argument, 3 not_found,
// 4 already_exists, 5 failed_precondition, 6 permission_denied, 7 unavailable,
// 8 deadline_exceeded, 1 internal. (0 is success.)
int exit_code(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message);

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// Shorthands: throw invalid_argument("...") reads like the code it raises.
[[noreturn]] void throw_error(ErrorCode code, std::string message);
inline Error invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error already_exists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
inline Error failed_precondition(std::string m) {
  return {ErrorCode::kFailedPrecondition, std::move(m)};
}
inline Error permission_denied(std::string m) {
  return {ErrorCode::kPermissionDenied, std::move(m)};
}
inline Error unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
inline Error deadline_exceeded(std::string m) {
  return {ErrorCode::kDeadlineExceeded, std::move(m)};
}
inline Error internal_error(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

// Quotes input for a message: quote_for_message("abc") is "\"abc\"". Text past 64 characters
// is cut and "..." marks the cut, so a huge input cannot flood a log. No escaping.
std::string quote_for_message(std::string_view text);

}  // namespace unity
