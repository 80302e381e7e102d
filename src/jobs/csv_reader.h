#pragma once
// A streaming RFC 4180 CSV reader over libcsv (Debian's libcsv-dev): quoted fields, "" escapes,
// embedded newlines, CRLF or LF line ends, and a leading UTF-8 byte-order mark (skipped). The file
// is read in blocks; only the current records are held in memory. Blank lines are skipped.
//
// Every field is checked to be valid UTF-8 without NUL bytes. Anything that is not CSV (a
// malformed quote, an unterminated quoted field at the end, a NUL byte, a field over
// kMaxFieldBytes, a record of more than `max_fields` fields) or not UTF-8 throws CsvError with
// the record number (1 = the first record, the header of an import). Spaces around fields are
// kept (RFC 4180: they are part of the field). Memory: one block, the records it completed and
// at most `max_fields` fields of the current record (a line of 20 million commas is refused
// after its first `max_fields`, not held).

#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct csv_parser;

namespace unity::jobs {

class CsvError : public std::runtime_error {
 public:
  CsvError(int64_t record, const std::string& message)
      : std::runtime_error(message), record_(record) {}
  int64_t record() const { return record_; }

 private:
  int64_t record_;
};

class CsvReader {
 public:
  static constexpr size_t kMaxFieldBytes = size_t{16} << 20;  // 16 MiB
  static constexpr size_t kDefaultMaxFields = 1000;           // IMPORT_MAX_COLUMNS' default

  // Opens `path`; throws CsvError(0, …) when it cannot be read.
  explicit CsvReader(const std::string& path, size_t max_fields = kDefaultMaxFields);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next record into `fields`; false at the end of the file. Throws CsvError.
  bool next(std::vector<std::string>& fields);
  // Reads the rest of the file with the same checks as next() but keeps no record (a first pass
  // that only validates and counts); returns how many records there were. Throws CsvError.
  int64_t skip_rest();
  // The number of the record next() returned last (1-based).
  int64_t record() const { return returned_; }
  // Bytes read from the file so far (for progress).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  friend struct CsvCallbacks;
  void fill();
  [[noreturn]] void fail(int64_t record, const std::string& message) const;

  std::FILE* file_ = nullptr;
  std::unique_ptr<csv_parser> parser_;
  std::deque<std::vector<std::string>> ready_;
  std::vector<std::string> current_;
  std::string bad_field_;  // set by a callback: a reason the current field is not acceptable
  size_t max_fields_;
  size_t fields_ = 0;         // fields of the record being parsed
  int64_t parsed_ = 0;        // records completed by the parser
  int64_t error_record_ = 0;  // the first record with a bad field
  int64_t returned_ = 0;
  uint64_t bytes_read_ = 0;
  bool first_block_ = true;
  bool eof_ = false;
  bool counting_ = false;  // skip_rest(): check fields, keep nothing
};

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
bool valid_utf8(std::string_view s);

}  // namespace unity::jobs
