// An example of a batch (as Laravel's Bus::batch): the invoice e-mails of a day's orders go out
// as one batch; `then` reports the day done once every e-mail has gone, `catch` alerts someone at
// the first e-mail that fails for good (the rest are then skipped), `finally` always runs.
//
// The batch is dispatched in the caller's transaction (it exists if and only if that commits),
// and its counters are kept in the transactions that complete its jobs, so they stay exact even
// when a worker is killed mid-batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "queue/batch.h"
#include "queue/dispatch.h"
#include "queue/worker.h"
#include "support/test_db.h"

namespace example {

using namespace unity;

// --- the user's code ----------------------------------------------------------------------------

// Where e-mails go (an SMTP client in production). Thread-safe: jobs run on worker threads.
class Mailer {
 public:
  void send(const std::string& to, const std::string& subject) {
    if (to.find("bounce") != std::string::npos) throw unavailable("mailbox " + to + " rejected");
    std::lock_guard lock(mu_);
    sent_.push_back(to + ": " + subject);
  }
  std::vector<std::string> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> sent_;  // guarded by mu_
};

// One invoice e-mail: {"invoice_id","email"}.
class SendInvoiceEmail final : public queue::Job {
 public:
  explicit SendInvoiceEmail(Mailer& mailer) : mailer_(mailer) {}
  void handle(queue::JobContext& ctx) override {
    const auto p = parse_json_object(ctx.payload(), "invoice e-mail");
    mailer_.send(require_string(p, "email"),
                 "Invoice #" + std::to_string(require_int(p, "invoice_id")));
  }

 private:
  Mailer& mailer_;
};

// The batch's callbacks: {"to","subject"} to the billing team.
class NotifyBilling final : public queue::Job {
 public:
  explicit NotifyBilling(Mailer& mailer) : mailer_(mailer) {}
  void handle(queue::JobContext& ctx) override {
    const auto p = parse_json_object(ctx.payload(), "billing notice");
    mailer_.send(require_string(p, "to"), require_string(p, "subject"));
  }

 private:
  Mailer& mailer_;
};

void register_billing_jobs(queue::JobRegistry& registry, Mailer& mailer) {
  registry.add("billing.send_invoice_email", {.tries = 3, .transactional = false},
               [&mailer] { return std::make_unique<SendInvoiceEmail>(mailer); });
  registry.add("billing.notify", {}, [&mailer] { return std::make_unique<NotifyBilling>(mailer); });
}

struct Invoice {
  int64_t id;
  std::string email;
};

// Batches the invoice e-mails of one day's orders.
queue::DispatchedBatch send_invoices_for_day(db::Connection& conn, const queue::Dispatcher& d,
                                             int64_t tenant_id, const std::string& day,
                                             const std::vector<Invoice>& invoices) {
  auto notice = [](const std::string& subject) {
    queue::JobSpec s{.type = "billing.notify"};
    s.payload = nlohmann::json{{"to", "billing@acme.test"}, {"subject", subject}}.dump();
    return s;
  };
  queue::BatchSpec batch;
  batch.name = "invoice e-mails " + day;
  for (const Invoice& inv : invoices) {
    queue::JobSpec s{.type = "billing.send_invoice_email"};
    s.payload = nlohmann::json{{"invoice_id", inv.id}, {"email", inv.email}}.dump();
    batch.jobs.push_back({{s}, std::nullopt});
  }
  batch.then_job = notice("all invoices of " + day + " sent");
  batch.catch_job = notice("invoice e-mails of " + day + " failed");
  return queue::dispatch_batch(conn, d, tenant_id, batch);
}

// --- its test -----------------------------------------------------------------------------------

class InvoiceBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = unity::testing::TestDatabase::create(unity::testing::Driver::kSqlite);
    conn_ = db_->app();
    register_billing_jobs(registry_, mailer_);
    tenant_ = db::create_tenant(*conn_, "Acme").id;
  }
  void run_worker() {
    queue::WorkerOptions o{.concurrency = 4, .stop_when_empty = true};
    o.backoff = queue::Backoff::parse("0");  // retry at once (the e-mail job has 3 tries)
    for (int i = 0; i < 5 && conn_->query_int("SELECT count(*) FROM jobs") > 0; ++i) {
      queue::Worker(db::connection_factory(db_->config()), db_->config(), registry_, o, nullptr)
          .run();
    }
  }
  queue::Batch batch(const std::string& id) { return *queue::batch_find(*conn_, tenant_, id); }

  std::unique_ptr<unity::testing::TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  queue::JobRegistry registry_;
  Mailer mailer_;
  int64_t tenant_ = 0;
};

TEST_F(InvoiceBatchTest, EveryInvoiceSentThenBillingIsTold) {
  queue::Dispatcher d(db_->config(), registry_);
  db::Transaction tx(*conn_);  // e.g. the transaction that closes the day
  auto b = send_invoices_for_day(*conn_, d, tenant_, "2026-12-01",
                                 {{1, "ann@a.test"}, {2, "bob@b.test"}, {3, "cy@c.test"}});
  tx.commit();
  run_worker();
  const auto sent = mailer_.sent();
  EXPECT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent.back(), "billing@acme.test: all invoices of 2026-12-01 sent");
  EXPECT_EQ(batch(b.batch_id).progress(), 100);
}

TEST_F(InvoiceBatchTest, ABouncedInvoiceAlertsBillingOnce) {
  queue::Dispatcher d(db_->config(), registry_);
  auto b = send_invoices_for_day(*conn_, d, tenant_, "2026-12-02",
                                 {{4, "bounce@x.test"}, {5, "dee@d.test"}});
  run_worker();
  const auto sent = mailer_.sent();
  EXPECT_EQ(std::count(sent.begin(), sent.end(),
                       "billing@acme.test: invoice e-mails of 2026-12-02 failed"),
            1);
  EXPECT_EQ(
      std::count(sent.begin(), sent.end(), "billing@acme.test: all invoices of 2026-12-02 sent"),
      0);
  const queue::Batch after = batch(b.batch_id);
  EXPECT_EQ(after.failed_jobs, 1);
  EXPECT_TRUE(after.cancelled_at_us);  // no allow_failures: the first failure cancels the rest
  EXPECT_EQ(after.pending_jobs, 0);
}

}  // namespace example
