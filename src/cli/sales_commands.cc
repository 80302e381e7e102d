// Domain commands of the CRM, sales and billing modules: customer:create|show, lead:create|convert,
// order:create|approve|fulfill|show, invoice:pay|show, invoices:check-overdue, and
// location:create. Writes take --tenant, --user and --data; each write and its events commit
// together. Output shapes: DESIGN.md "Output contract".
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/domain_args.h"
#include "cli/scans.h"
#include "core/error.h"
#include "core/json.h"
#include "erp/billing/billing_service.h"
#include "erp/crm/crm_service.h"
#include "erp/erp.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"
#include "erp/sales/sales_service.h"
#include "erp/views.h"

namespace unity::cli {

namespace {

using erp::billing::BillingService;
using erp::billing::Invoice;
using erp::crm::CrmService;
using erp::crm::Customer;
using erp::sales::Order;
using erp::sales::SalesService;

using erp::customer_json;
using erp::invoice_json;
using erp::order_json;

std::string customer_human(const Customer& c) {
  return "Customer " + std::to_string(c.id) + ": " + c.name +
         (c.email ? " <" + *c.email + ">" : "") + ", terms " +
         std::to_string(c.payment_terms_days) + " days, " + std::to_string(c.contacts.size()) +
         " contact(s); " + std::to_string(c.orders_count) + " order(s), spent " +
         c.total_spent.to_string() + " (average " + c.average_order_value.to_string() +
         "), outstanding " + c.outstanding_balance.to_string();
}

std::string order_human(const Order& o) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : o.lines) {
    rows.push_back({l.sku, l.quantity.to_string(), l.unit_price.to_string(),
                    l.line_total.to_string(), l.cost ? l.cost->to_string() : ""});
  }
  return "Order " + std::to_string(o.id) + " (" + o.status + ") for customer " +
         std::to_string(o.customer_id) + ", total " + o.total.to_string() +
         (o.invoice_id ? ", invoice " + std::to_string(*o.invoice_id) : "") + "\n" +
         render_table({"sku", "quantity", "unit_price", "line_total", "cost"}, rows);
}

std::string invoice_human(const Invoice& i) {
  return "Invoice " + std::to_string(i.id) + " (" + i.status + ") for order " +
         std::to_string(i.order_id) + ": total " + i.total.to_string() + ", paid " +
         i.paid.to_string() + ", balance " + i.balance().to_string() + ", due " + i.due_date;
}

int64_t id_of(const nlohmann::json& data) {
  erp::reject_unknown_fields(data, {"id"});
  return require_int(data, "id");
}

// A command that opens a domain session and prints what `act` returns as (json, human).
using Action = std::function<std::pair<nlohmann::json, std::string>(Context&, Session&)>;

std::function<void(CLI::App&)> domain(Context& ctx, Action act) {
  return [&ctx, act](CLI::App& app) {
    auto a = std::make_shared<DomainArgs>();
    add_domain_options(app, *a);
    app.callback([&ctx, a, act] {
      Session s = open_session(ctx, *a);
      auto [json, human] = act(ctx, s);
      ctx.emit(json, human);
    });
  };
}

std::pair<nlohmann::json, std::string> show(const Customer& c) {
  return {customer_json(c), customer_human(c)};
}
std::pair<nlohmann::json, std::string> show(const Order& o) {
  return {order_json(o), order_human(o)};
}
std::pair<nlohmann::json, std::string> show(const Invoice& i) {
  return {invoice_json(i), invoice_human(i)};
}

void add_crm(Commands& commands, Context& ctx) {
  commands.push_back({"customer:create",
                      "Create a customer {name,email,payment_terms_days,contacts:[{name,email}]}",
                      domain(ctx, [](Context& c, Session& s) {
                        return show(
                            CrmService(s.conn, c.bus(), s.user)
                                .create_customer(erp::crm::CustomerDraft::from_json(s.data)));
                      })});
  commands.push_back(
      {"customer:show", "A customer {id} with contacts, statistics and outstanding balance",
       domain(ctx, [](Context& c, Session& s) {
         return show(CrmService(s.conn, c.bus(), s.user).find_customer(id_of(s.data)));
       })});
  commands.push_back(
      {"lead:create", "Create a lead {name,email,company}", domain(ctx, [](Context& c, Session& s) {
         auto l = CrmService(s.conn, c.bus(), s.user)
                      .create_lead(erp::crm::LeadDraft::from_json(s.data));
         return std::pair{erp::lead_json(l), "Lead " + std::to_string(l.id) + ": " + l.name};
       })});
  commands.push_back({"lead:convert", "Convert a lead {id} into a customer",
                      domain(ctx, [](Context& c, Session& s) {
                        Customer cu =
                            CrmService(s.conn, c.bus(), s.user).convert_lead(id_of(s.data));
                        auto [j, human] = show(cu);
                        return std::pair{j, "Converted: " + human};
                      })});
}

void add_sales(Commands& commands, Context& ctx) {
  commands.push_back({"order:create",
                      "Create a sales order {customer_id,lines:[{sku,quantity,unit_price}]}",
                      domain(ctx, [](Context& c, Session& s) {
                        return show(SalesService(s.conn, c.bus(), s.user)
                                        .create(erp::sales::OrderDraft::from_json(s.data)));
                      })});
  commands.push_back({"order:approve", "Approve a draft order {id} (its invoice follows)",
                      domain(ctx, [](Context& c, Session& s) {
                        return show(SalesService(s.conn, c.bus(), s.user).approve(id_of(s.data)));
                      })});
  commands.push_back(
      {"order:fulfill", "Fulfil an approved order {id,location}: stock leaves FIFO",
       domain(ctx, [](Context& c, Session& s) {
         erp::reject_unknown_fields(s.data, {"id", "location"});
         return show(
             SalesService(s.conn, c.bus(), s.user)
                 .fulfill(
                     require_int(s.data, "id"),
                     optional_string(s.data, "location").value_or(erp::inventory::kMainLocation)));
       })});
  commands.push_back({"order:show", "An order {id} with its lines and invoice",
                      domain(ctx, [](Context& c, Session& s) {
                        return show(SalesService(s.conn, c.bus(), s.user).find(id_of(s.data)));
                      })});
}

void add_billing(Commands& commands, Context& ctx) {
  commands.push_back({"invoice:pay",
                      "Record a payment {invoice_id,amount} (never more than the balance)",
                      domain(ctx, [](Context& c, Session& s) {
                        auto r = BillingService(s.conn, c.bus(), s.user)
                                     .pay(erp::billing::PaymentDraft::from_json(s.data));
                        nlohmann::json j = invoice_json(r.invoice);
                        j["payment_id"] = r.payment_id;
                        return std::pair{j, "Payment " + std::to_string(r.payment_id) +
                                                " recorded. " + invoice_human(r.invoice)};
                      })});
  commands.push_back({"invoice:show", "An invoice {id}: total, paid, balance, due date",
                      domain(ctx, [](Context& c, Session& s) {
                        return show(BillingService(s.conn, c.bus(), s.user).find(id_of(s.data)));
                      })});
}

struct OverdueArgs {
  std::optional<int64_t> tenant;
  std::string as_of;
};

void define_check_overdue(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<OverdueArgs>();
  app.add_option("--tenant", a->tenant, "Only this tenant (default: every tenant)");
  app.add_option("--as-of", a->as_of, "The scan's date, YYYY-MM-DD (default: today, UTC)");
  app.callback([&ctx, a] {
    const std::string as_of = a->as_of.empty() ? jobs::date_of(system_clock().now()) : a->as_of;
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : jobs::check_overdue_for_tenants(
             scan_context(ctx), jobs::scan_tenants(ctx.app(), a->tenant), as_of)) {
      const auto& d = f.invoice;
      out.push_back({{"tenant_id", f.tenant_id},
                     {"invoice_id", d.invoice_id},
                     {"customer_id", d.customer_id},
                     {"balance", d.balance.to_string()},
                     {"due_date", d.due_date},
                     {"days_overdue", d.days_overdue}});
      rows.push_back({std::to_string(f.tenant_id), std::to_string(d.invoice_id),
                      std::to_string(d.customer_id), d.balance.to_string(), d.due_date,
                      std::to_string(d.days_overdue)});
    }
    ctx.emit(out,
             render_table({"tenant", "invoice", "customer", "balance", "due_date", "days_overdue"},
                          rows));
  });
}

}  // namespace

void add_sales_commands(Commands& commands, Context& ctx) {
  add_crm(commands, ctx);
  add_sales(commands, ctx);
  add_billing(commands, ctx);
  commands.push_back({"invoices:check-overdue",
                      "The daily overdue scan: InvoiceOverdue for unpaid invoices past due",
                      [&ctx](CLI::App& app) { define_check_overdue(app, ctx); }});
  commands.push_back({"location:create", "Create a stock location {code,name}",
                      domain(ctx, [](Context& c, Session& s) {
                        erp::reject_unknown_fields(s.data, {"code", "name"});
                        const std::string code = require_string(s.data, "code");
                        auto l = erp::inventory::InventoryService(s.conn, c.bus(), s.user)
                                     .create_location(
                                         code, optional_string(s.data, "name").value_or(code));
                        return std::pair{erp::location_json(l), "Location " + std::to_string(l.id) +
                                                                    ": " + l.code + " " + l.name};
                      })});
}

}  // namespace unity::cli
