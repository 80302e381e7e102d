#pragma once
// The file formats of GenerateReports: a Report (titled sections of rows) written as CSV, JSON,
// XLSX (libxlsxwriter: a workbook a spreadsheet program opens) or PDF (libharu: tabular text
// pages). Writers know nothing about the database; report_job.cc builds the Report.
//
// Cells are text. A cell marked `number` holds a decimal in canonical form ("12.50", "-3.0000")
// and is written as a number where the format has numbers (JSON keeps the exact text as a
// string; XLSX writes a numeric cell). Text cells that a spreadsheet would run as a formula
// (starting with '=', '+', '-', '@', a tab or a carriage return) are neutralised in CSV and XLSX
// by a leading single quote (OWASP "CSV injection").
//
// Errors: write() throws Error(kUnavailable) when the file cannot be written (naming the path),
// kInvalidArgument for an unknown format name. A failed write may leave a partial file at `path`:
// callers write to a temporary name and rename (report_job.cc does).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace unity::jobs {

struct ReportCell {
  std::string text;
  bool number = false;
};
inline ReportCell text_cell(std::string s) { return {std::move(s), false}; }
inline ReportCell number_cell(std::string s) { return {std::move(s), true}; }

struct ReportSection {
  std::string name;  // "orders", "products", "totals", …
  std::vector<std::string> columns;
  std::vector<std::vector<ReportCell>> rows;  // each as wide as `columns`
};

struct Report {
  std::string report_type;  // sales | inventory | financial | customer | procurement
  std::string title;        // "Sales report 2026-03-01 to 2026-03-31"
  std::string from, to;     // YYYY-MM-DD, inclusive
  std::string generated_at;
  std::vector<ReportSection> sections;
};

// A text cell as a spreadsheet may safely show it: prefixed with "'" when it starts with one of
// = + - @ \t \r; unchanged otherwise.
std::string neutralise_formula(std::string_view text);

class ReportWriter {
 public:
  virtual ~ReportWriter() = default;
  virtual std::string_view extension() const = 0;  // "csv", "json", "xlsx", "pdf"
  // Writes `report` to `path` (created or truncated).
  virtual void write(const Report& report, const std::string& path) const = 0;
};

// "csv" | "json" | "xlsx" | "pdf"; anything else → kInvalidArgument.
std::unique_ptr<ReportWriter> make_report_writer(std::string_view format);
bool is_report_format(std::string_view format);

}  // namespace unity::jobs
