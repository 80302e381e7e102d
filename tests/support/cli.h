#pragma once
// Running the real `unity` binary from tests: its exit code, stdout and stderr.

#include <string>

namespace unity::testing {

struct CliRun {
  int exit = -1;
  std::string out, err;
};

// Runs `unity ARGS` (shell syntax) in `dir` with the extra environment `env` ("K=v K2=v2"),
// `stdin_text` on standard input, and `prefix` before the binary (e.g. "runuser -u nobody --").
CliRun run_cli(const std::string& dir, const std::string& env, const std::string& args,
               const std::string& prefix = "", const std::string& stdin_text = "");

// Runs `BINARY ARGS` the same way (e.g. unity_bench_binary()).
CliRun run_program(const std::string& binary, const std::string& dir, const std::string& env,
                   const std::string& args);

// How many lines `s` has (bad input must print exactly one on stderr).
size_t line_count(const std::string& s);

}  // namespace unity::testing
