// parse_dotenv (declared in config.h): the `.env` dialect of Laravel / phpdotenv, reduced to
// what config.h documents.

#include <cstdlib>

#include "core/config.h"
#include "core/error.h"

namespace unity {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_name_char(char c, bool first) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

bool is_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0)) return false;
  }
  return true;
}

// A cursor over the whole text; line_ counts the '\n's consumed, for messages.
class DotenvParser {
 public:
  DotenvParser(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  std::map<std::string, std::string> parse() {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // a UTF-8 byte order mark
    while (pos_ < text_.size()) {
      skip_blanks();
      if (peek() == '#') skip_to_line_end();
      if (!at_line_end()) parse_assignment();
      consume_newline();
    }
    return std::move(vars_);
  }

 private:
  void parse_assignment() {
    std::string key = take_word();
    if (key == "export" && is_blank(peek())) {
      skip_blanks();
      key = take_word();
    }
    skip_blanks();
    if (peek() != '=') fail(line_, "expected \"=\" after " + quote_for_message(key));
    if (!is_name(key)) fail(line_, "invalid variable name " + quote_for_message(key));
    ++pos_;
    skip_blanks();
    vars_[key] = value();
  }

  std::string value() {
    if (peek() == '\'') return single_quoted();
    if (peek() == '"') return double_quoted();
    return unquoted();
  }

  // Up to the line end or a '#' that starts the value or follows a blank; trailing blanks dropped.
  std::string unquoted() {
    std::string out;
    std::string blanks;
    for (bool first = true; !at_line_end(); first = false) {
      const char c = peek();
      if (is_blank(c)) {
        blanks += c;
        ++pos_;
        continue;
      }
      if (c == '#' && (first || !blanks.empty())) {
        skip_to_line_end();
        break;
      }
      out += blanks;
      blanks.clear();
      append_char_or_expansion(out);
    }
    return out;
  }

  std::string single_quoted() {
    const int start_line = line_;
    const size_t close = text_.find('\'', ++pos_);
    const size_t line_end = text_.find('\n', pos_);
    if (close == std::string::npos || close > line_end) fail(start_line, "unterminated '");
    std::string out = text_.substr(pos_, close - pos_);
    pos_ = close + 1;
    finish_line();
    return out;
  }

  // May span lines; escapes \n \t \" \\ \$; other backslashes are kept as written.
  std::string double_quoted() {
    const int start_line = line_;
    std::string out;
    ++pos_;
    for (;;) {
      if (pos_ >= text_.size()) fail(start_line, "unterminated \"");
      const char c = text_[pos_];
      if (c == '"') break;
      if (c == '\\') {
        append_escape(out, start_line);
      } else if (c == '\r' && text_.compare(pos_, 2, "\r\n") == 0) {
        ++pos_;
      } else {
        if (c == '\n') ++line_;
        append_char_or_expansion(out);
      }
    }
    ++pos_;
    finish_line();
    return out;
  }

  void append_escape(std::string& out, int start_line) {
    if (pos_ + 1 >= text_.size()) fail(start_line, "unterminated \"");
    const char c = text_[pos_ + 1];
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case '"':
      case '\\':
      case '$':
        out += c;
        break;
      default:
        out += '\\';
        out += c;
        if (c == '\n') ++line_;
    }
    pos_ += 2;
  }

  // Appends the character at pos_, or the value of a ${NAME} that starts there.
  void append_char_or_expansion(std::string& out) {
    if (text_.compare(pos_, 2, "${") != 0) {
      out += text_[pos_++];
      return;
    }
    const size_t close = text_.find('}', pos_);
    const size_t line_end = text_.find('\n', pos_);
    if (close == std::string::npos || close > line_end) fail(line_, "unterminated ${");
    const std::string name = text_.substr(pos_ + 2, close - pos_ - 2);
    if (!is_name(name))
      fail(line_, "invalid variable name " + quote_for_message(name) + " in ${...}");
    pos_ = close + 1;
    if (const auto it = vars_.find(name); it != vars_.end()) {
      out += it->second;
    } else if (const char* env = std::getenv(name.c_str())) {
      out += env;
    }
  }

  // After a closing quote only blanks and a comment may follow.
  void finish_line() {
    skip_blanks();
    if (peek() == '#') skip_to_line_end();
    if (!at_line_end()) fail(line_, "unexpected text after the closing quote");
  }

  std::string take_word() {
    const size_t start = pos_;
    while (!at_line_end() && !is_blank(peek()) && peek() != '=') ++pos_;
    return text_.substr(start, pos_ - start);
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at_line_end() const {
    return pos_ >= text_.size() || text_[pos_] == '\n' || text_.compare(pos_, 2, "\r\n") == 0;
  }
  void skip_blanks() {
    while (is_blank(peek())) ++pos_;
  }
  void skip_to_line_end() {
    while (!at_line_end()) ++pos_;
  }
  void consume_newline() {
    if (peek() == '\r') ++pos_;
    if (peek() == '\n') ++pos_, ++line_;
  }
  [[noreturn]] void fail(int line, const std::string& reason) const {
    throw invalid_argument(source_ + ":" + std::to_string(line) + ": " + reason);
  }

  const std::string& text_;
  const std::string& source_;
  size_t pos_ = 0;
  int line_ = 1;
  std::map<std::string, std::string> vars_;
};

}  // namespace

std::map<std::string, std::string> parse_dotenv(const std::string& text,
                                                const std::string& source) {
  return DotenvParser(text, source).parse();
}

}  // namespace unity
