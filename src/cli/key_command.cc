// unity key:generate [--force] [--show]: a fresh APP_KEY (core/secretbox.h), the key that seals
// the payloads of encrypted job types, written into ./.env (the file Config::load reads).
//
// The file is rewritten whole and atomically (a temporary file in the same folder, then a
// rename), mode 0600, every other line kept as it was. An APP_KEY already set in the file is
// replaced only with --force. The configuration is not loaded: the command works even when
// the current APP_KEY is malformed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/config.h"
#include "core/error.h"
#include "core/secretbox.h"

namespace unity::cli {

namespace {

constexpr const char* kEnvFile = ".env";

struct KeyArgs {
  bool force = false;
  bool show = false;
};

Error io_error(const std::string& what) {
  const int e = errno;
  std::string m =
      what + " " + kEnvFile + ": " + std::error_code(e, std::generic_category()).message();
  return e == EACCES || e == EPERM || e == EROFS ? permission_denied(std::move(m))
                                                 : unavailable(std::move(m));
}

std::optional<std::string> read_env_file() {
  std::ifstream in(kEnvFile, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw io_error("cannot read");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether `line` assigns APP_KEY ("APP_KEY=…", "export APP_KEY = …").
bool assigns_app_key(std::string_view line) {
  const auto skip_blanks = [&line] {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  };
  skip_blanks();
  if (line.starts_with("export ") || line.starts_with("export\t")) {
    line.remove_prefix(7);
    skip_blanks();
  }
  if (!line.starts_with("APP_KEY")) return false;
  line.remove_prefix(7);
  skip_blanks();
  return line.starts_with('=');
}

// `text` with its APP_KEY lines replaced by one `APP_KEY=<key>` where the first was, or with
// that line appended when there was none.
std::string with_app_key(const std::string& text, const std::string& key) {
  std::string out;
  bool written = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string_view line(text.data() + start, end - start);
    start = end;
    if (!assigns_app_key(line)) {
      out += line;
    } else if (!written) {
      const bool crlf = line.ends_with("\r\n");
      out += "APP_KEY=" + key + (crlf ? "\r\n" : "\n");
      written = true;
    }
  }
  if (!written) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += "APP_KEY=" + key + "\n";
  }
  return out;
}

// Replaces ./.env with `text` at once: readers see the old file or the new one, never a part.
void write_env_file(const std::string& text) {
  std::string temp = std::string(kEnvFile) + ".XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) throw io_error("cannot write");
  int failure = 0;  // the first errno
  const auto check = [&failure](bool ok) {
    if (!ok && failure == 0) failure = errno != 0 ? errno : EIO;
  };
  check(::fchmod(fd, 0600) == 0);
  for (size_t done = 0; failure == 0 && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    check(n > 0);
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (failure == 0) check(::fsync(fd) == 0);
  check(::close(fd) == 0);
  if (failure == 0) check(::rename(temp.c_str(), kEnvFile) == 0);
  if (failure != 0) {
    ::unlink(temp.c_str());
    errno = failure;
    throw io_error("cannot write");
  }
}

void define_key_generate(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<KeyArgs>();
  app.add_flag("--force", a->force, "Replace an APP_KEY already set in .env");
  app.add_flag("--show", a->show, "Print the new key instead of writing it");
  app.footer(
      "Jobs sealed with a replaced key open only while that key is listed in APP_PREVIOUS_KEYS.");
  app.callback([&ctx, a] {
    const std::string key = secretbox::encode_key(secretbox::new_key());
    if (a->show) {
      ctx.emit({{"key", key}}, key);
      return;
    }
    const std::optional<std::string> text = read_env_file();
    bool replaced = false;
    if (text) {
      const auto vars = parse_dotenv(*text, kEnvFile);  // malformed: refused, nothing written
      const auto it = vars.find("APP_KEY");
      replaced = it != vars.end() && !it->second.empty();
      if (replaced && !a->force) {
        throw already_exists(
            "APP_KEY is already set in .env; use --force to replace it (jobs sealed with the old "
            "key then need it in APP_PREVIOUS_KEYS)");
      }
    }
    write_env_file(with_app_key(text.value_or(""), key));
    ctx.emit({{"path", kEnvFile}, {"replaced", replaced}},
             replaced
                 ? "APP_KEY replaced in .env (list the old key in APP_PREVIOUS_KEYS while jobs "
                   "sealed with it remain)"
                 : "APP_KEY set in .env");
  });
}

}  // namespace

void add_key_commands(Commands& commands, Context& ctx) {
  commands.push_back({"key:generate", "Write a fresh APP_KEY (encrypted job payloads) into .env",
                      [&ctx](CLI::App& app) { define_key_generate(app, ctx); }});
}

}  // namespace unity::cli
