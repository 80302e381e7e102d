#include "support/cli.h"

#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "support/process.h"

namespace unity::testing {

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

namespace {
CliRun run(const std::string& binary, const std::string& dir, const std::string& env,
           const std::string& args, const std::string& prefix, const std::string& stdin_text) {
  const std::string in = dir + "/.in", out = dir + "/.out", err = dir + "/.err";
  std::ofstream(in) << stdin_text;
  const std::string cmd = "cd '" + dir + "' && env " + env + " " + prefix + " '" + binary + "' " +
                          args + " <'" + in + "' >'" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}
}  // namespace

CliRun run_cli(const std::string& dir, const std::string& env, const std::string& args,
               const std::string& prefix, const std::string& stdin_text) {
  return run(unity_binary(), dir, env, args, prefix, stdin_text);
}

CliRun run_program(const std::string& binary, const std::string& dir, const std::string& env,
                   const std::string& args) {
  return run(binary, dir, env, args, "", "");
}

size_t line_count(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace unity::testing
