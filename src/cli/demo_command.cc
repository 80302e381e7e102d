// `unity demo`: on a fresh embedded database, seeds a demo tenant and runs every workflow of the
// seed through the real queue with real workers (in this process), then prints what happened:
// events recorded, jobs run, notifications per user, final stock and customer statistics.
//
// The database is STORAGE_PATH/demo.sqlite (or --database), recreated on every run, so the
// demo never touches the configured database.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/error.h"
#include "db/migrate.h"
#include "db/tenancy.h"
#include "erp/billing/billing_service.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/erp.h"
#include "erp/inventory/inventory_service.h"
#include "erp/procurement/procurement_service.h"
#include "erp/sales/sales_service.h"
#include "events/event_bus.h"
#include "http/tokens.h"
#include "jobs/jobs.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "queue/worker.h"

namespace unity::cli {

namespace {

using nlohmann::json;

// The demo's application: its own database, registry, dispatcher, bus and notifier.
class Demo {
 public:
  Demo(Config config, bool quiet)
      : config_(std::move(config)),
        quiet_(quiet),
        dispatcher_(config_, jobs_),
        bus_(jobs_, dispatcher_),
        notifier_(jobs_, dispatcher_) {
    erp::wire_erp(bus_, notifier_);
    jobs::wire_jobs(jobs_, bus_);
  }

  json run();

 private:
  void step(const std::string& what) {
    if (!quiet_) std::cout << "==> " << what << '\n' << std::flush;
  }
  // Runs workers until no job is ready: every queued listener and notification delivery.
  void work() {
    queue::WorkerOptions o;
    o.concurrency = 2;
    o.stop_when_empty = true;
    o.sleep_s = 0.05;
    o.name = "demo-worker";
    queue::Worker worker(db::connection_factory(config_), config_, jobs_, o, nullptr);
    worker.run();
    jobs_run_ += worker.stats().processed;
    jobs_failed_ += worker.stats().failed;
  }
  void seed();
  void purchase();
  void sell();
  void scans();
  json account();

  Config config_;
  bool quiet_;
  queue::JobRegistry jobs_;
  queue::Dispatcher dispatcher_;
  events::EventBus bus_;
  notify::DatabaseNotifier notifier_;
  std::unique_ptr<db::Connection> conn_;
  int64_t tenant_ = 0, jobs_run_ = 0, jobs_failed_ = 0;
  std::map<std::string, int64_t> users_;  // role → id
  int64_t initech_ = 0, hooli_ = 0, vendor_ = 0;
  std::string today_;
};

std::string plus_days(const std::string& date, int days) {
  return format_iso8601(parse_iso8601(date) + std::chrono::days(days)).substr(0, 10);
}

void Demo::seed() {
  step("Seeding tenant \"Demo Traders\": users, products, a vendor, customers");
  tenant_ = db::create_tenant(*conn_, "Demo Traders").id;
  conn_->set_tenant(tenant_);
  for (const char* role : {"admin", "manager", "inventory", "sales", "billing", "procurement"}) {
    users_[role] =
        db::create_user(*conn_, std::string(role) + "@demo.test", std::string("Demo ") + role, role)
            .id;
  }
  erp::catalog::CatalogService catalog(*conn_, bus_, users_["manager"]);
  for (const json& p : {json{{"sku", "COFFEE-1KG"},
                             {"name", "Coffee beans 1 kg"},
                             {"price", "15.00"},
                             {"cost", "8.00"},
                             {"reorder_level", "15"}},
                        json{{"sku", "TEA-500G"},
                             {"name", "Green tea 500 g"},
                             {"price", "7.50"},
                             {"cost", "3.50"},
                             {"reorder_level", "5"}},
                        json{{"sku", "MUG"},
                             {"name", "Ceramic mug"},
                             {"price", "6.00"},
                             {"cost", "2.00"},
                             {"reorder_level", "5"}}}) {
    catalog.create(erp::catalog::ProductDraft::from_json(p));
  }
  erp::crm::CrmService crm(*conn_, bus_, users_["sales"]);
  initech_ =
      crm
          .create_customer(erp::crm::CustomerDraft::from_json(
              {{"name", "Initech"},
               {"email", "ap@initech.test"},
               {"payment_terms_days", 30},
               {"contacts", {{{"name", "Peter Gibbons"}, {"email", "peter@initech.test"}}}}}))
          .id;
  auto lead = crm.create_lead(erp::crm::LeadDraft::from_json(
      {{"name", "Hooli"}, {"email", "buying@hooli.test"}, {"company", "Hooli"}}));
  hooli_ = crm.convert_lead(lead.id).id;
  vendor_ = erp::procurement::ProcurementService(*conn_, bus_, users_["procurement"])
                .create_vendor(erp::procurement::VendorDraft::from_json(
                    {{"name", "Bean Brothers"}, {"email", "orders@beanbros.test"}}))
                .id;
  work();
}

void Demo::purchase() {
  step("Purchase: a purchase order approved, then received into stock");
  erp::procurement::ProcurementService procurement(*conn_, bus_, users_["procurement"]);
  auto po = procurement.create_order(erp::procurement::OrderDraft::from_json(
      {{"vendor_id", vendor_},
       {"lines",
        {{{"sku", "COFFEE-1KG"}, {"quantity", "40"}, {"unit_cost", "8.00"}},
         {{"sku", "TEA-500G"}, {"quantity", "30"}, {"unit_cost", "3.50"}},
         {{"sku", "MUG"}, {"quantity", "10"}, {"unit_cost", "2.00"}}}}}));
  erp::procurement::ProcurementService(*conn_, bus_, users_["manager"]).approve(po.id);
  work();
  procurement.receive(erp::procurement::ReceiptDraft::from_json(
      {{"id", po.id},
       {"lines",
        {{{"sku", "COFFEE-1KG"},
          {"quantity", "40"},
          {"batch", "CF-01"},
          {"expiry_date", plus_days(today_, 20)}},
         {{"sku", "TEA-500G"},
          {"quantity", "30"},
          {"batch", "TE-01"},
          {"expiry_date", plus_days(today_, 5)}},
         {{"sku", "MUG"}, {"quantity", "10"}, {"batch", "MG-01"}}}}}));
  work();
}

void Demo::sell() {
  step("Sale: orders approved (invoices issued by the listener), fulfilled FIFO, paid");
  erp::sales::SalesService sales(*conn_, bus_, users_["sales"]);
  erp::sales::SalesService approver(*conn_, bus_, users_["manager"]);
  auto big = sales.create(erp::sales::OrderDraft::from_json(
      {{"customer_id", initech_},
       {"lines",
        {{{"sku", "COFFEE-1KG"}, {"quantity", "30"}}, {{"sku", "MUG"}, {"quantity", "8"}}}}}));
  auto small = sales.create(erp::sales::OrderDraft::from_json(
      {{"customer_id", hooli_}, {"lines", {{{"sku", "TEA-500G"}, {"quantity", "4"}}}}}));
  approver.approve(big.id);
  approver.approve(small.id);
  work();
  sales.fulfill(big.id, "MAIN");  // coffee and mugs fall below their reorder levels
  sales.fulfill(small.id, "MAIN");
  work();
  erp::billing::BillingService billing(*conn_, bus_, users_["billing"]);
  const auto big_invoice = *sales.find(big.id).invoice_id;
  const auto small_invoice = *sales.find(small.id).invoice_id;
  billing.pay(
      erp::billing::PaymentDraft::from_json({{"invoice_id", big_invoice}, {"amount", "200.00"}}));
  billing.pay(
      erp::billing::PaymentDraft::from_json({{"invoice_id", small_invoice}, {"amount", "30.00"}}));
  // An overpayment is refused and changes nothing.
  try {
    billing.pay(
        erp::billing::PaymentDraft::from_json({{"invoice_id", big_invoice}, {"amount", "300.00"}}));
  } catch (const Error& e) {
    if (!quiet_) std::cout << "    refused as it should be: " << e.what() << '\n';
  }
  work();
}

void Demo::scans() {
  step("Daily scans: stock expiry today, overdue invoices 31 days on");
  erp::inventory::InventoryService(*conn_, bus_).check_expiry(today_);
  erp::billing::BillingService(*conn_, bus_).check_overdue(plus_days(today_, 31));
  work();
}

json Demo::account() {
  json out = {{"database", config_.db_database},
              {"tenant_id", tenant_},
              {"jobs_run", jobs_run_},
              {"jobs_failed", jobs_failed_}};
  json events = json::object();
  conn_->query_each(
      "SELECT name, count(*) FROM domain_events WHERE tenant_id = $1 GROUP BY name "
      "ORDER BY name",
      {tenant_}, [&](const db::Row& r) { events[r.get<std::string>(0)] = r.get<int64_t>(1); });
  out["events"] = events;
  json inbox = json::array();
  conn_->query_each(
      "SELECT n.notifiable_type, n.notifiable_id, n.type, count(*) FROM notifications n "
      "WHERE n.tenant_id = $1 GROUP BY n.notifiable_type, n.notifiable_id, n.type "
      "ORDER BY n.notifiable_type DESC, n.notifiable_id, n.type",
      {tenant_}, [&](const db::Row& r) {
        inbox.push_back(
            {{"recipient", r.get<std::string>(0) + " " + std::to_string(r.get<int64_t>(1))},
             {"type", r.get<std::string>(2)},
             {"count", r.get<int64_t>(3)}});
      });
  for (auto& n : inbox) {
    for (const auto& [role, id] : users_) {
      if (n["recipient"] == "user " + std::to_string(id)) n["recipient"] = role + "@demo.test";
    }
    conn_->query_each("SELECT id, email FROM customer_contacts WHERE tenant_id = $1", {tenant_},
                      [&](const db::Row& r) {
                        if (n["recipient"] == "contact " + std::to_string(r.get<int64_t>(0)))
                          n["recipient"] = r.get<std::string>(1) + " (customer contact)";
                      });
  }
  out["notifications"] = inbox;
  erp::inventory::InventoryService stock(*conn_, bus_);
  json products = json::array();
  for (const char* sku : {"COFFEE-1KG", "TEA-500G", "MUG"}) {
    auto level = stock.stock(sku);
    products.push_back({{"sku", sku}, {"on_hand", level.on_hand.to_string()}});
  }
  out["stock"] = products;
  json customers = json::array();
  erp::crm::CrmService crm(*conn_, bus_);
  for (int64_t id : {initech_, hooli_}) {
    auto c = crm.find_customer(id);
    customers.push_back({{"name", c.name},
                         {"orders_count", c.orders_count},
                         {"total_spent", c.total_spent.to_string()},
                         {"average_order_value", c.average_order_value.to_string()},
                         {"outstanding_balance", c.outstanding_balance.to_string()}});
  }
  out["customers"] = customers;
  return out;
}

json Demo::run() {
  std::filesystem::create_directories(std::filesystem::path(config_.db_database).parent_path());
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(config_.db_database + suffix);
  {
    auto owner = db::open_connection(config_, db::Role::kOwner);
    db::Migrator(*owner, config_.db_app_role, config_.queue_table).migrate();
  }
  conn_ = db::open_connection(config_, db::Role::kApp);
  today_ = format_iso8601(system_clock().now()).substr(0, 10);
  seed();
  purchase();
  sell();
  scans();
  json out = account();
  // A ready token for the demo's admin, so the API can be tried on this database at once.
  conn_->set_tenant(tenant_);
  out["api_token"] =
      http::create_user_token(*conn_, users_["admin"], "demo", std::nullopt, system_clock()).token;
  return out;
}

std::string human(const json& a) {
  std::vector<std::vector<std::string>> events, inbox, stock, customers;
  for (const auto& [name, n] : a["events"].items())
    events.push_back({name, std::to_string(n.get<int64_t>())});
  for (const auto& n : a["notifications"]) {
    inbox.push_back({n["recipient"], n["type"], std::to_string(n["count"].get<int64_t>())});
  }
  for (const auto& s : a["stock"]) stock.push_back({s["sku"], s["on_hand"]});
  for (const auto& c : a["customers"]) {
    customers.push_back({c["name"], std::to_string(c["orders_count"].get<int64_t>()),
                         c["total_spent"], c["average_order_value"], c["outstanding_balance"]});
  }
  return "\nEvents recorded\n" + render_table({"event", "count"}, events) +
         "\nJobs run by the workers: " + std::to_string(a["jobs_run"].get<int64_t>()) + " (" +
         std::to_string(a["jobs_failed"].get<int64_t>()) + " failed)\n" +
         "\nNotifications per recipient\n" + render_table({"recipient", "type", "count"}, inbox) +
         "\nFinal stock\n" + render_table({"sku", "on_hand"}, stock) + "\nCustomer statistics\n" +
         render_table({"customer", "orders", "total_spent", "average_order", "outstanding"},
                      customers) +
         "\nThe demo database is " + a["database"].get<std::string>() +
         "; inspect it with DB_DATABASE=" + a["database"].get<std::string>() +
         " unity events:list --tenant " + std::to_string(a["tenant_id"].get<int64_t>()) + "\n" +
         "\nServe it over HTTP (the admin's API token is " + a["api_token"].get<std::string>() +
         "):\n  DB_DATABASE=" + a["database"].get<std::string>() + " unity serve --port=8080 &\n" +
         "  curl -H 'Authorization: Bearer " + a["api_token"].get<std::string>() +
         "' localhost:8080/api/v1/products\n";
}

}  // namespace

void add_demo_command(Commands& commands, Context& ctx) {
  commands.push_back(
      {"demo", "Run every workflow of the seed on a fresh demo database and show what happened",
       [&ctx](CLI::App& app) {
         auto path = std::make_shared<std::string>();
         app.add_option("--database", *path,
                        "The SQLite file to (re)create (default STORAGE_PATH/demo.sqlite)");
         app.callback([&ctx, path] {
           Config config = ctx.config();
           config.db_connection = DbConnection::kSqlite;
           config.queue_connection = QueueConnection::kDatabase;
           config.db_database = path->empty() ? config.storage_path + "/demo.sqlite" : *path;
           json account = Demo(config, ctx.json).run();
           if (account["jobs_failed"].get<int64_t>() != 0)
             throw internal_error("the demo's workers failed jobs: see queue:failed");
           ctx.emit(account, human(account));
         });
       }});
}

}  // namespace unity::cli
