// The five reports of GenerateReports, read from a tenant's rows (see report_job.h). Every sum is
// exact: rows are streamed with query_each and added up with Decimal.
#include <map>
#include <unordered_map>

#include "core/decimal.h"
#include "core/error.h"
#include "jobs/report_job.h"
#include "jobs/valuation.h"

namespace unity::jobs {

const char* const kSalesLinesSql =
    "SELECT o.id, o.customer_id, o.fulfilled_at, ol.product_id, ol.quantity, ol.line_total, "
    "ol.cost FROM orders o JOIN order_lines ol ON ol.tenant_id = o.tenant_id AND ol.order_id = "
    "o.id WHERE o.tenant_id = $1 AND o.status = 'fulfilled' AND o.fulfilled_at >= $2 AND "
    "o.fulfilled_at < $3 ORDER BY o.id, ol.id";

namespace {

using Cancelled = std::function<bool()>;

// Polls `cancelled` every 4096 calls.
class Poll {
 public:
  explicit Poll(const Cancelled& cancelled) : cancelled_(cancelled) {}
  void operator()() {
    if ((++n_ & 4095) == 0 && cancelled_ && cancelled_()) {
      throw Error(ErrorCode::kDeadlineExceeded, "report generation cancelled");
    }
  }

 private:
  const Cancelled& cancelled_;
  int64_t n_ = 0;
};

Decimal dec(const db::Row& r, size_t i) {
  if (r.is_null(i)) return Decimal();
  return Decimal::parse(r.get<std::string>(i));
}
ReportCell num(Decimal d) { return number_cell(d.to_string()); }
ReportCell num(int64_t n) { return number_cell(std::to_string(n)); }
ReportCell txt(std::string s) { return text_cell(std::move(s)); }

struct Product {
  std::string sku, name;
};
std::unordered_map<int64_t, Product> products_of(db::Connection& conn, int64_t tenant) {
  std::unordered_map<int64_t, Product> out;
  conn.query_each("SELECT id, sku, name FROM products WHERE tenant_id = $1", {tenant},
                  [&](const db::Row& r) {
                    out[r.get<int64_t>(0)] = {r.get<std::string>(1), r.get<std::string>(2)};
                  });
  return out;
}
std::unordered_map<int64_t, std::string> names_of(db::Connection& conn, const char* table,
                                                  int64_t tenant) {
  std::unordered_map<int64_t, std::string> out;
  conn.query_each(std::string("SELECT id, name FROM ") + table + " WHERE tenant_id = $1", {tenant},
                  [&](const db::Row& r) { out[r.get<int64_t>(0)] = r.get<std::string>(1); });
  return out;
}

// --- sales -------------------------------------------------------------------------------------

struct SalesFigures {
  int64_t lines = 0;
  Decimal quantity, revenue, cost;
  void add(Decimal q, Decimal rev, Decimal c) {
    ++lines;
    quantity += q;
    revenue += rev;
    cost += c;
  }
};

void build_sales(db::Connection& conn, int64_t tenant, const std::string& start,
                 const std::string& end, Report& report, Poll& poll) {
  const auto products = products_of(conn, tenant);
  const auto customers = names_of(conn, "customers", tenant);
  ReportSection orders{"orders",
                       {"order_id", "customer_id", "customer", "fulfilled_at", "lines", "quantity",
                        "revenue", "cost_of_goods", "margin"},
                       {}};
  std::map<int64_t, SalesFigures> by_product;
  SalesFigures total, order;
  int64_t order_id = 0, customer_id = 0, order_count = 0;
  std::string fulfilled_at;
  auto flush = [&] {
    if (order.lines == 0) return;
    const auto c = customers.find(customer_id);
    orders.rows.push_back({num(order_id), num(customer_id),
                           txt(c == customers.end() ? "" : c->second), txt(fulfilled_at),
                           num(order.lines), num(order.quantity), num(order.revenue),
                           num(order.cost), num(order.revenue - order.cost)});
    ++order_count;
    order = {};
  };
  conn.query_each(kSalesLinesSql, {tenant, start, end}, [&](const db::Row& r) {
    poll();
    if (r.get<int64_t>(0) != order_id) {
      flush();
      order_id = r.get<int64_t>(0);
      customer_id = r.get<int64_t>(1);
      fulfilled_at = r.get<std::string>(2);
    }
    const Decimal q = dec(r, 4), rev = dec(r, 5), cost = dec(r, 6);
    order.add(q, rev, cost);
    by_product[r.get<int64_t>(3)].add(q, rev, cost);
    total.add(q, rev, cost);
  });
  flush();
  ReportSection per_product{
      "products",
      {"product_id", "sku", "name", "quantity", "revenue", "cost_of_goods", "margin"},
      {}};
  for (const auto& [id, f] : by_product) {
    const auto p = products.find(id);
    per_product.rows.push_back({num(id), txt(p == products.end() ? "" : p->second.sku),
                                txt(p == products.end() ? "" : p->second.name), num(f.quantity),
                                num(f.revenue), num(f.cost), num(f.revenue - f.cost)});
  }
  ReportSection totals{
      "totals", {"orders", "lines", "quantity", "revenue", "cost_of_goods", "margin"}, {}};
  totals.rows.push_back({num(order_count), num(total.lines), num(total.quantity),
                         num(total.revenue), num(total.cost), num(total.revenue - total.cost)});
  report.sections = {std::move(orders), std::move(per_product), std::move(totals)};
}

// --- inventory ---------------------------------------------------------------------------------

void build_inventory(db::Connection& conn, int64_t tenant, const std::string& end, Report& report,
                     Poll& poll) {
  const auto products = products_of(conn, tenant);
  std::unordered_map<int64_t, std::string> locations;
  conn.query_each("SELECT id, code FROM locations WHERE tenant_id = $1", {tenant},
                  [&](const db::Row& r) { locations[r.get<int64_t>(0)] = r.get<std::string>(1); });
  ReportSection stock{
      "stock", {"product_id", "sku", "name", "location", "on_hand", "value", "average_cost"}, {}};
  ValuationTotal total;
  FifoLayers layers;
  int64_t product = 0, location = 0;
  auto flush = [&] {
    if (layers.movements() == 0) return;
    total.add(layers);
    if (!layers.on_hand().is_zero()) {
      const Valuation v = layers.valuation();
      const auto p = products.find(product);
      stock.rows.push_back({num(product), txt(p == products.end() ? "" : p->second.sku),
                            txt(p == products.end() ? "" : p->second.name),
                            txt(locations[location]), num(v.on_hand), num(v.fifo_value),
                            num(v.average_cost)});
    }
    layers.clear();
  };
  conn.query_each(
      "SELECT product_id, location_id, quantity, unit_cost FROM stock_movements "
      "WHERE tenant_id = $1 AND occurred_at < $2 "
      "ORDER BY product_id, location_id, occurred_at, id",
      {tenant, end}, [&](const db::Row& r) {
        poll();
        if (r.get<int64_t>(0) != product || r.get<int64_t>(1) != location) {
          flush();
          product = r.get<int64_t>(0);
          location = r.get<int64_t>(1);
        }
        layers.apply(dec(r, 2), dec(r, 3));
      });
  flush();
  const Valuation all = total.valuation();
  ReportSection totals{"totals", {"rows", "on_hand", "value"}, {}};
  totals.rows.push_back({num(int64_t(stock.rows.size())), num(all.on_hand), num(all.fifo_value)});
  report.sections = {std::move(stock), std::move(totals)};
}

// --- financial ---------------------------------------------------------------------------------

void build_financial(db::Connection& conn, int64_t tenant, const std::string& start,
                     const std::string& end, const std::string& to, Report& report, Poll& poll) {
  const auto customers = names_of(conn, "customers", tenant);
  auto customer = [&](int64_t id) {
    const auto c = customers.find(id);
    return txt(c == customers.end() ? "" : c->second);
  };
  ReportSection invoices{"invoices",
                         {"invoice_id", "order_id", "customer_id", "customer", "status",
                          "issued_at", "due_date", "total", "paid", "balance"},
                         {}};
  Decimal invoiced, outstanding, overdue;
  conn.query_each(
      "SELECT id, order_id, customer_id, status, issued_at, due_date, total, paid FROM invoices "
      "WHERE tenant_id = $1 AND issued_at >= $2 AND issued_at < $3 ORDER BY issued_at, id",
      {tenant, start, end}, [&](const db::Row& r) {
        poll();
        const Decimal total = dec(r, 6), paid = dec(r, 7), balance = total - paid;
        const std::string status = r.get<std::string>(3);
        const std::string due = r.get<std::string>(5).substr(0, 10);
        invoiced += total;
        outstanding += balance;
        if (balance > Decimal() && (status == "overdue" || due < to)) overdue += balance;
        invoices.rows.push_back({num(r.get<int64_t>(0)), num(r.get<int64_t>(1)),
                                 num(r.get<int64_t>(2)), customer(r.get<int64_t>(2)), txt(status),
                                 txt(r.get<std::string>(4)), txt(due), num(total), num(paid),
                                 num(balance)});
      });
  ReportSection payments{
      "payments", {"payment_id", "invoice_id", "customer_id", "customer", "paid_at", "amount"}, {}};
  Decimal received;
  conn.query_each(
      "SELECT p.id, p.invoice_id, i.customer_id, p.paid_at, p.amount FROM payments p "
      "JOIN invoices i ON i.id = p.invoice_id "
      "WHERE p.tenant_id = $1 AND p.paid_at >= $2 AND p.paid_at < $3 ORDER BY p.paid_at, p.id",
      {tenant, start, end}, [&](const db::Row& r) {
        poll();
        const Decimal amount = dec(r, 4);
        received += amount;
        payments.rows.push_back({num(r.get<int64_t>(0)), num(r.get<int64_t>(1)),
                                 num(r.get<int64_t>(2)), customer(r.get<int64_t>(2)),
                                 txt(r.get<std::string>(3)), num(amount)});
      });
  ReportSection totals{
      "totals",
      {"invoices", "invoiced", "payments", "payments_received", "outstanding", "overdue"},
      {}};
  totals.rows.push_back({num(int64_t(invoices.rows.size())), num(invoiced),
                         num(int64_t(payments.rows.size())), num(received), num(outstanding),
                         num(overdue)});
  report.sections = {std::move(invoices), std::move(payments), std::move(totals)};
}

// --- customer ----------------------------------------------------------------------------------

void build_customer(db::Connection& conn, int64_t tenant, const std::string& start,
                    const std::string& end, Report& report, Poll& poll) {
  struct Figures {
    std::string name, email;
    int64_t orders = 0;
    Decimal spent, outstanding;
  };
  std::map<int64_t, Figures> by_customer;
  conn.query_each("SELECT id, name, email FROM customers WHERE tenant_id = $1", {tenant},
                  [&](const db::Row& r) {
                    auto& f = by_customer[r.get<int64_t>(0)];
                    f.name = r.get<std::string>(1);
                    f.email = r.is_null(2) ? "" : r.get<std::string>(2);
                  });
  conn.query_each(
      "SELECT customer_id, total FROM orders WHERE tenant_id = $1 AND status = 'fulfilled' "
      "AND fulfilled_at >= $2 AND fulfilled_at < $3",
      {tenant, start, end}, [&](const db::Row& r) {
        poll();
        auto& f = by_customer[r.get<int64_t>(0)];
        ++f.orders;
        f.spent += dec(r, 1);
      });
  conn.query_each(
      "SELECT customer_id, total, paid FROM invoices WHERE tenant_id = $1 AND status <> 'paid'",
      {tenant}, [&](const db::Row& r) {
        poll();
        by_customer[r.get<int64_t>(0)].outstanding += dec(r, 1) - dec(r, 2);
      });
  ReportSection customers{
      "customers", {"customer_id", "name", "email", "orders", "spent", "outstanding"}, {}};
  Decimal spent, outstanding;
  int64_t orders = 0;
  for (const auto& [id, f] : by_customer) {
    customers.rows.push_back(
        {num(id), txt(f.name), txt(f.email), num(f.orders), num(f.spent), num(f.outstanding)});
    orders += f.orders;
    spent += f.spent;
    outstanding += f.outstanding;
  }
  ReportSection totals{"totals", {"customers", "orders", "spent", "outstanding"}, {}};
  totals.rows.push_back(
      {num(int64_t(customers.rows.size())), num(orders), num(spent), num(outstanding)});
  report.sections = {std::move(customers), std::move(totals)};
}

// --- procurement -------------------------------------------------------------------------------

void build_procurement(db::Connection& conn, int64_t tenant, const std::string& start,
                       const std::string& end, Report& report, Poll& poll) {
  const auto vendor_names = names_of(conn, "vendors", tenant);
  auto vendor = [&](int64_t id) {
    const auto v = vendor_names.find(id);
    return v == vendor_names.end() ? std::string() : v->second;
  };
  struct Figures {
    int64_t orders = 0, receipts = 0;
    Decimal ordered, received_quantity, received_value;
  };
  std::map<int64_t, Figures> by_vendor;
  ReportSection pos{"purchase_orders",
                    {"purchase_order_id", "vendor_id", "vendor", "status", "created_at", "total"},
                    {}};
  conn.query_each(
      "SELECT id, vendor_id, status, created_at, total FROM purchase_orders "
      "WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id",
      {tenant, start, end}, [&](const db::Row& r) {
        poll();
        const int64_t v = r.get<int64_t>(1);
        const Decimal total = dec(r, 4);
        auto& f = by_vendor[v];
        ++f.orders;
        f.ordered += total;
        pos.rows.push_back({num(r.get<int64_t>(0)), num(v), txt(vendor(v)),
                            txt(r.get<std::string>(2)), txt(r.get<std::string>(3)), num(total)});
      });
  ReportSection receipts{"receipts",
                         {"receipt_id", "purchase_order_id", "vendor_id", "vendor", "received_at",
                          "quantity", "value"},
                         {}};
  int64_t receipt_id = 0, po_id = 0, vendor_id = 0;
  std::string received_at;
  Decimal quantity, value;
  auto flush = [&] {
    if (receipt_id == 0) return;
    auto& f = by_vendor[vendor_id];
    ++f.receipts;
    f.received_quantity += quantity;
    f.received_value += value;
    receipts.rows.push_back({num(receipt_id), num(po_id), num(vendor_id), txt(vendor(vendor_id)),
                             txt(received_at), num(quantity), num(value)});
    quantity = value = Decimal();
  };
  conn.query_each(
      "SELECT g.id, g.purchase_order_id, po.vendor_id, g.received_at, gl.quantity, pol.unit_cost "
      "FROM goods_receipts g JOIN purchase_orders po ON po.id = g.purchase_order_id "
      "JOIN goods_receipt_lines gl ON gl.goods_receipt_id = g.id "
      "JOIN purchase_order_lines pol ON pol.id = gl.purchase_order_line_id "
      "WHERE g.tenant_id = $1 AND g.received_at >= $2 AND g.received_at < $3 "
      "ORDER BY g.id, gl.id",
      {tenant, start, end}, [&](const db::Row& r) {
        poll();
        if (r.get<int64_t>(0) != receipt_id) {
          flush();
          receipt_id = r.get<int64_t>(0);
          po_id = r.get<int64_t>(1);
          vendor_id = r.get<int64_t>(2);
          received_at = r.get<std::string>(3);
        }
        const Decimal q = dec(r, 4);
        quantity += q;
        value += q * dec(r, 5);
      });
  flush();
  ReportSection vendors{"vendors",
                        {"vendor_id", "vendor", "purchase_orders", "ordered", "receipts",
                         "received_quantity", "received_value"},
                        {}};
  Figures all;
  for (const auto& [id, f] : by_vendor) {
    vendors.rows.push_back({num(id), txt(vendor(id)), num(f.orders), num(f.ordered),
                            num(f.receipts), num(f.received_quantity), num(f.received_value)});
    all.orders += f.orders;
    all.receipts += f.receipts;
    all.ordered += f.ordered;
    all.received_quantity += f.received_quantity;
    all.received_value += f.received_value;
  }
  ReportSection totals{
      "totals",
      {"purchase_orders", "ordered", "receipts", "received_quantity", "received_value"},
      {}};
  totals.rows.push_back({num(all.orders), num(all.ordered), num(all.receipts),
                         num(all.received_quantity), num(all.received_value)});
  report.sections = {std::move(pos), std::move(receipts), std::move(vendors), std::move(totals)};
}

}  // namespace

Report build_report(db::Connection& conn, const ReportRequest& request,
                    const std::string& generated_at, const Cancelled& cancelled) {
  validate_report_request(request);
  const int64_t tenant = conn.require_tenant();
  const auto [start, end] = report_interval(request.from, request.to);
  Report report;
  report.report_type = request.report_type;
  std::string title = request.report_type;
  title[0] = char(title[0] - 'a' + 'A');
  report.title = title + " report " + request.from + " to " + request.to;
  report.from = request.from;
  report.to = request.to;
  report.generated_at = generated_at;
  Poll poll(cancelled);
  const std::string& type = request.report_type;
  if (type == "sales") build_sales(conn, tenant, start, end, report, poll);
  if (type == "inventory") build_inventory(conn, tenant, end, report, poll);
  if (type == "financial") build_financial(conn, tenant, start, end, request.to, report, poll);
  if (type == "customer") build_customer(conn, tenant, start, end, report, poll);
  if (type == "procurement") build_procurement(conn, tenant, start, end, report, poll);
  return report;
}

}  // namespace unity::jobs
