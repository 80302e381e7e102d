#include "jobs/csv_reader.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <csv.h>

namespace unity::jobs {

namespace {

constexpr size_t kBlock = size_t{64} << 10;

// libcsv grows its field buffer through this; refusing past the cap makes csv_parse fail with
// CSV_ENOMEM instead of buffering a whole non-CSV file as one field.
void* capped_realloc(void* p, size_t n) {
  if (n > CsvReader::kMaxFieldBytes + kBlock) return nullptr;
  return std::realloc(p, n);
}

int no_space(unsigned char) { return 0; }

}  // namespace

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

struct CsvCallbacks {
  static void field(void* s, size_t len, void* data) {
    auto* r = static_cast<CsvReader*>(data);
    if (++r->fields_ > r->max_fields_) {  // keep nothing past the limit; fill() throws
      if (r->bad_field_.empty()) {
        r->bad_field_ = "the record has more than " + std::to_string(r->max_fields_) +
                        " fields (IMPORT_MAX_COLUMNS)";
      }
      return;
    }
    const std::string_view value(len == 0 ? "" : static_cast<const char*>(s), len);
    if (r->bad_field_.empty()) {
      if (value.find('\0') != std::string_view::npos) {
        r->bad_field_ = "the file is not CSV: it contains a NUL byte (binary data)";
      } else if (!valid_utf8(value)) {
        r->bad_field_ = "the file is not valid UTF-8";
      }
    }
    if (!r->counting_) r->current_.emplace_back(value);
  }
  static void record(int, void* data) {
    auto* r = static_cast<CsvReader*>(data);
    ++r->parsed_;
    r->fields_ = 0;
    // No exception may cross libcsv's C frames: remember the first bad record, throw later.
    if (!r->bad_field_.empty() && r->error_record_ == 0) r->error_record_ = r->parsed_;
    if (r->counting_) return;
    r->ready_.push_back(std::move(r->current_));
    r->current_.clear();
  }
};

CsvReader::CsvReader(const std::string& path, size_t max_fields)
    : parser_(std::make_unique<csv_parser>()), max_fields_(max_fields) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) {
    throw CsvError(0, "cannot open " + path + ": " + std::strerror(errno));
  }
  if (csv_init(parser_.get(), CSV_STRICT | CSV_STRICT_FINI) != 0) {
    std::fclose(file_);
    file_ = nullptr;
    throw CsvError(0, "cannot initialise the CSV parser");
  }
  csv_set_space_func(parser_.get(), no_space);
  csv_set_realloc_func(parser_.get(), capped_realloc);
}

CsvReader::~CsvReader() {
  csv_free(parser_.get());
  if (file_) std::fclose(file_);
}

void CsvReader::fail(int64_t record, const std::string& message) const {
  throw CsvError(record, message + " (record " + std::to_string(record) + ")");
}

void CsvReader::fill() {
  std::string buf(kBlock, '\0');
  while (ready_.empty() && !eof_) {
    size_t n = std::fread(buf.data(), 1, buf.size(), file_);
    if (n == 0) {
      if (std::ferror(file_)) throw CsvError(parsed_ + 1, "cannot read the file");
      eof_ = true;
      if (csv_fini(parser_.get(), CsvCallbacks::field, CsvCallbacks::record, this) != 0) {
        fail(parsed_ + 1,
             "the file is not CSV: " + std::string(csv_strerror(csv_error(parser_.get()))));
      }
      if (error_record_ != 0) fail(error_record_, bad_field_);
      if (!bad_field_.empty()) fail(parsed_ + 1, bad_field_);
      break;
    }
    bytes_read_ += n;
    const char* p = buf.data();
    if (first_block_) {
      first_block_ = false;
      if (n >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        n -= 3;
      }
      // Text files have no NUL byte: say "binary" before any UTF-8 complaint.
      if (std::memchr(p, '\0', n) != nullptr) {
        fail(1, "the file is not CSV: it contains a NUL byte (binary data)");
      }
    }
    const size_t used =
        csv_parse(parser_.get(), p, n, CsvCallbacks::field, CsvCallbacks::record, this);
    if (error_record_ != 0) fail(error_record_, bad_field_);
    if (!bad_field_.empty()) fail(parsed_ + 1, bad_field_);  // in the record not yet complete
    if (used != n) {
      const int err = csv_error(parser_.get());
      if (err == CSV_ENOMEM) {
        fail(parsed_ + 1, "the file is not CSV: a field is longer than " +
                              std::to_string(kMaxFieldBytes >> 20) + " MiB");
      }
      fail(parsed_ + 1, "the file is not CSV: " + std::string(csv_strerror(err)));
    }
  }
}

int64_t CsvReader::skip_rest() {
  const auto queued = static_cast<int64_t>(ready_.size());
  ready_.clear();
  const int64_t before = parsed_;
  counting_ = true;
  fill();  // in counting mode nothing becomes ready: it reads to the end
  counting_ = false;
  const int64_t n = queued + (parsed_ - before);
  returned_ += n;
  return n;
}

bool CsvReader::next(std::vector<std::string>& fields) {
  if (ready_.empty()) fill();
  if (ready_.empty()) return false;
  fields = std::move(ready_.front());
  ready_.pop_front();
  ++returned_;
  return true;
}

}  // namespace unity::jobs
