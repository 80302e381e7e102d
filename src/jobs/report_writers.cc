// CSV, JSON, XLSX and PDF writers of GenerateReports (see report_writers.h).
#include "jobs/report_writers.h"

#include <hpdf.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace unity::jobs {

namespace {

std::ofstream open_out(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw unavailable("cannot write report file " + path);
  return out;
}

void close_out(std::ofstream& out, const std::string& path) {
  out.close();
  if (!out) throw unavailable("cannot write report file " + path);
}

std::string shown(const ReportCell& c) { return c.number ? c.text : neutralise_formula(c.text); }

// --- CSV (RFC 4180) --------------------------------------------------------------------------

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

void csv_line(std::ostream& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out << ',';
    out << csv_field(fields[i]);
  }
  out << "\r\n";
}

// Key/value lines for the report, then per section: "section,NAME", the header, the rows and a
// blank line.
class CsvWriter final : public ReportWriter {
 public:
  std::string_view extension() const override { return "csv"; }
  void write(const Report& r, const std::string& path) const override {
    std::ofstream out = open_out(path);
    csv_line(out, {"report", r.report_type});
    csv_line(out, {"from", r.from});
    csv_line(out, {"to", r.to});
    csv_line(out, {"generated_at", r.generated_at});
    for (const auto& s : r.sections) {
      out << "\r\n";
      csv_line(out, {"section", s.name});
      csv_line(out, s.columns);
      std::vector<std::string> fields;
      for (const auto& row : s.rows) {
        fields.clear();
        for (const auto& c : row) fields.push_back(shown(c));
        csv_line(out, fields);
      }
    }
    close_out(out, path);
  }
};

// --- JSON --------------------------------------------------------------------------------------

// {"report_type","title","from","to","generated_at","sections":[{"name","columns",
// "rows":[{column: text}]}]}; decimals stay exact strings.
class JsonWriter final : public ReportWriter {
 public:
  std::string_view extension() const override { return "json"; }
  void write(const Report& r, const std::string& path) const override {
    nlohmann::ordered_json doc = {{"report_type", r.report_type},
                                  {"title", r.title},
                                  {"from", r.from},
                                  {"to", r.to},
                                  {"generated_at", r.generated_at}};
    nlohmann::ordered_json sections = nlohmann::ordered_json::array();
    for (const auto& s : r.sections) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (const auto& row : s.rows) {
        nlohmann::ordered_json o = nlohmann::ordered_json::object();
        for (size_t i = 0; i < s.columns.size() && i < row.size(); ++i) {
          o[s.columns[i]] = row[i].text;
        }
        rows.push_back(std::move(o));
      }
      sections.push_back({{"name", s.name}, {"columns", s.columns}, {"rows", std::move(rows)}});
    }
    doc["sections"] = std::move(sections);
    std::ofstream out = open_out(path);
    out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    close_out(out, path);
  }
};

// --- XLSX --------------------------------------------------------------------------------------

// A worksheet name Excel accepts: ≤ 31 characters, none of []:*?/\, unique in the workbook.
std::string sheet_name(const std::string& name, std::set<std::string>& used) {
  std::string base;
  for (char ch : name)
    base += std::string_view("[]:*?/\\").find(ch) == std::string_view::npos ? ch : '_';
  base = base.substr(0, 28);
  if (base.empty()) base = "sheet";
  std::string candidate = base;
  for (int n = 2; used.count(candidate); ++n) candidate = base + "_" + std::to_string(n);
  used.insert(candidate);
  return candidate;
}

struct WorkbookCloser {
  void operator()(lxw_workbook* wb) const {
    if (wb) workbook_close(wb);
  }
};

// One sheet "report" with the parameters, then one sheet per section: a bold header row, text
// cells as strings (neutralised), number cells as numbers.
class XlsxWriter final : public ReportWriter {
 public:
  std::string_view extension() const override { return "xlsx"; }
  void write(const Report& r, const std::string& path) const override {
    lxw_workbook* wb = workbook_new(path.c_str());
    if (!wb) throw unavailable("cannot write report file " + path);
    lxw_format* bold = workbook_add_format(wb);
    format_set_bold(bold);
    lxw_format* decimal = workbook_add_format(wb);
    format_set_num_format(decimal, "#,##0.00##");
    std::set<std::string> used;
    lxw_worksheet* info = workbook_add_worksheet(wb, sheet_name("report", used).c_str());
    const std::pair<const char*, const std::string*> params[] = {{"report", &r.report_type},
                                                                 {"title", &r.title},
                                                                 {"from", &r.from},
                                                                 {"to", &r.to},
                                                                 {"generated_at", &r.generated_at}};
    lxw_row_t y = 0;
    for (const auto& [k, v] : params) {
      worksheet_write_string(info, y, 0, k, bold);
      worksheet_write_string(info, y++, 1, neutralise_formula(*v).c_str(), nullptr);
    }
    for (const auto& s : r.sections) {
      lxw_worksheet* ws = workbook_add_worksheet(wb, sheet_name(s.name, used).c_str());
      for (size_t c = 0; c < s.columns.size(); ++c) {
        worksheet_write_string(ws, 0, lxw_col_t(c), neutralise_formula(s.columns[c]).c_str(), bold);
      }
      lxw_row_t row = 1;
      for (const auto& cells : s.rows) {
        for (size_t c = 0; c < cells.size(); ++c) {
          const ReportCell& cell = cells[c];
          if (cell.number && !cell.text.empty()) {
            worksheet_write_number(ws, row, lxw_col_t(c), std::strtod(cell.text.c_str(), nullptr),
                                   decimal);
          } else {
            worksheet_write_string(ws, row, lxw_col_t(c), neutralise_formula(cell.text).c_str(),
                                   nullptr);
          }
        }
        ++row;
      }
    }
    if (workbook_close(wb) != LXW_NO_ERROR) throw unavailable("cannot write report file " + path);
  }
};

// --- PDF ---------------------------------------------------------------------------------------

void pdf_error(HPDF_STATUS error, HPDF_STATUS detail, void* user) {
  *static_cast<std::string*>(user) =
      "libharu error " + std::to_string(error) + " (detail " + std::to_string(detail) + ")";
}

// The base-14 fonts speak WinAnsi: keep printable ASCII, '?' for the rest.
std::string pdf_text(std::string_view s, size_t width) {
  std::string out;
  for (char ch : s) out += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  if (out.size() > width) out = out.substr(0, width - 1) + "~";
  return out;
}

// A4 landscape pages of fixed-width (Courier) columns: the title and parameters, then each
// section with its header; long cells are cut with '~'.
class PdfWriter final : public ReportWriter {
 public:
  std::string_view extension() const override { return "pdf"; }
  void write(const Report& r, const std::string& path) const override {
    std::string error;
    HPDF_Doc doc = HPDF_New(pdf_error, &error);
    if (!doc) throw unavailable("cannot create PDF document for " + path);
    std::unique_ptr<std::remove_pointer_t<HPDF_Doc>, decltype(&HPDF_Free)> guard(doc, HPDF_Free);
    HPDF_SetCompressionMode(doc, HPDF_COMP_ALL);
    HPDF_Font font = HPDF_GetFont(doc, "Courier", nullptr);
    HPDF_Font bold = HPDF_GetFont(doc, "Courier-Bold", nullptr);
    Page page{doc, font, bold};
    page.line(r.title, bold, 12);
    page.line("From " + r.from + " to " + r.to + ", generated " + r.generated_at, font, 8);
    for (const auto& s : r.sections) {
      page.line("", font, 8);
      page.line(s.name, bold, 10);
      std::vector<size_t> widths(s.columns.size());
      for (size_t c = 0; c < s.columns.size(); ++c) widths[c] = s.columns[c].size();
      for (const auto& row : s.rows) {
        for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
          widths[c] = std::min<size_t>(std::max(widths[c], row[c].text.size()), 28);
        }
      }
      auto render = [&](auto cell_text, size_t n) {
        std::string line;
        for (size_t c = 0; c < n; ++c) {
          std::string t = pdf_text(cell_text(c), widths[c]);
          t.resize(widths[c] + 2, ' ');
          line += t;
        }
        return line;
      };
      page.line(render([&](size_t c) { return s.columns[c]; }, s.columns.size()), bold, 7);
      for (const auto& row : s.rows) {
        page.line(
            render([&](size_t c) { return row[c].text; }, std::min(row.size(), widths.size())),
            font, 7);
      }
    }
    page.finish();
    if (!error.empty() || HPDF_SaveToFile(doc, path.c_str()) != HPDF_OK) {
      throw unavailable("cannot write report file " + path + (error.empty() ? "" : ": " + error));
    }
  }

 private:
  struct Page {
    HPDF_Doc doc;
    HPDF_Font font, bold;
    HPDF_Page page = nullptr;
    float y = 0;
    static constexpr float kMargin = 36;
    void line(const std::string& text, HPDF_Font f, float size) {
      if (!page || y < kMargin + size) next();
      y -= size + 2;
      HPDF_Page_BeginText(page);
      HPDF_Page_SetFontAndSize(page, f, size);
      HPDF_Page_TextOut(page, kMargin, y, text.c_str());
      HPDF_Page_EndText(page);
    }
    void next() {
      page = HPDF_AddPage(doc);
      HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_LANDSCAPE);
      y = HPDF_Page_GetHeight(page) - kMargin;
    }
    void finish() {
      if (!page) next();
    }
  };
};

}  // namespace

std::string neutralise_formula(std::string_view text) {
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos) {
    return "'" + std::string(text);
  }
  return std::string(text);
}

bool is_report_format(std::string_view format) {
  return format == "csv" || format == "json" || format == "xlsx" || format == "pdf";
}

std::unique_ptr<ReportWriter> make_report_writer(std::string_view format) {
  if (format == "csv") return std::make_unique<CsvWriter>();
  if (format == "json") return std::make_unique<JsonWriter>();
  if (format == "xlsx") return std::make_unique<XlsxWriter>();
  if (format == "pdf") return std::make_unique<PdfWriter>();
  throw invalid_argument("unknown report format \"" + std::string(format) +
                         "\" (expected csv, json, xlsx or pdf)");
}

}  // namespace unity::jobs
