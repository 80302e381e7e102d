// The seed's queue priorities end to end with the real binary, on both drivers: payments and
// stock alerts are dispatched on `high`, reports on `low`, everything else on DB_QUEUE;
// `listeners:list` shows each listener's and job type's queue and whether its payloads are
// encrypted at rest; and a plain `queue:work` (no
// --queue) runs the jobs of all three queues, high first.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/erp_fixture.h"

namespace unity::cli {
namespace {

using testing::Driver;

class QueuePrioritiesCliTest : public testing::ErpCliFixture {
 protected:
  void set_up_fixture() override {
    ASSERT_EQ(unity("user:create --tenant 1 --email m@acme.test --name Max --role manager").exit,
              0);
    ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"2.50\","
       "\"reorder_level\":\"5\"}'");
    ok("stock:receive --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"10\",\"unit_cost\":"
       "\"1\"}'");
    ok("customer:create --tenant 1 --user 1 --data='{\"name\":\"Initech\",\"email\":\"ap@initech."
       "test\",\"contacts\":[{\"name\":\"Peter\",\"email\":\"p@initech.test\"}]}'");
  }
  // The queue of every waiting job, by type (one queue per type here).
  std::map<std::string, std::string> queued() {
    std::map<std::string, std::string> out;
    db_->owner()->query_each("SELECT type, queue FROM jobs", {}, [&](const db::Row& r) {
      out[r.get<std::string>(0)] = r.get<std::string>(1);
    });
    return out;
  }
  int64_t count_jobs() { return db_->owner()->query_int("SELECT count(*) FROM jobs"); }
  // The queues of the jobs with ids up to `max_id` the workers started, in the order they started
  // (worker.log). Jobs dispatched by the jobs themselves have higher ids.
  std::vector<std::string> started_queues(int64_t max_id) {
    std::ifstream in(db_->config().storage_path + "/logs/worker.log");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j["event"] == "job.start" && j["job_id"].get<int64_t>() <= max_id)
        out.push_back(j["queue"]);
    }
    return out;
  }
  void work_until_empty() {
    auto w = ok("queue:work --stop-when-empty --backoff 0");
    EXPECT_EQ(w["exit"], "empty") << w.dump();
    EXPECT_EQ(w["failed"], 0) << w.dump();
  }
};

TEST_P(QueuePrioritiesCliTest, PaymentsAndStockAlertsGoHighReportsGoLow) {
  ok("order:create --tenant 1 --user 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":\"A-1\","
     "\"quantity\":\"4\"}]}'");
  ok("order:approve --tenant 1 --user 1 --data='{\"id\":1}'");
  EXPECT_EQ(queued()["listener.GenerateInvoiceFromOrder"], "default");
  work_until_empty();  // issues the invoice
  ASSERT_EQ(count_jobs(), 0);

  ok("stock:adjust --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"-8\"}'");  // 2 < 5
  ok("invoice:pay --tenant 1 --user 1 --data='{\"invoice_id\":1,\"amount\":\"4\"}'");
  ok("report sales --tenant 1 --user 1 --from 2000-01-01 --to 2099-12-31 --format=csv");
  ok("queue:dispatch diag.noop --tenant 1");
  auto q = queued();
  EXPECT_EQ(q["listener.SendLowStockNotification"], "high");
  EXPECT_EQ(q["listener.SendPaymentConfirmation"], "high");
  EXPECT_EQ(q["GenerateReports"], "low");
  EXPECT_EQ(q["diag.noop"], "default");
}

TEST_P(QueuePrioritiesCliTest, ListenersListShowsEachListenersAndJobsQueue) {
  std::map<std::string, std::string> listener_queue, job_queue;
  for (const auto& l : ok("listeners:list")) {
    if (l["kind"] == "job") {
      job_queue[l["job"]] = l["queue"];
    } else if (l["queued"] == true) {
      listener_queue[l["listener"]] = l["queue"];
    }
  }
  EXPECT_EQ(listener_queue["SendPaymentConfirmation"], "high");
  EXPECT_EQ(listener_queue["SendLowStockNotification"], "high");
  EXPECT_EQ(listener_queue["SendStockExpiryAlert"], "high");
  EXPECT_EQ(listener_queue["GenerateInvoiceFromOrder"], "default");
  EXPECT_EQ(job_queue["GenerateReports"], "low");
  EXPECT_EQ(job_queue["SyncExternalData"], "low");
  EXPECT_EQ(job_queue["ProcessBulkImport"], "default");
  EXPECT_EQ(job_queue["notify.deliver"], "default");
  EXPECT_EQ(job_queue.count("listener.SendPaymentConfirmation"), 0u) << "listed as a listener";
  const std::string text = unity("listeners:list").out;
  EXPECT_NE(text.find("queued:high"), std::string::npos) << text;
  EXPECT_NE(text.find("GenerateReports"), std::string::npos) << text;
}

TEST_P(QueuePrioritiesCliTest, ListenersListShowsWhichJobTypesAreEncryptedAtRest) {
  std::map<std::string, nlohmann::json> encrypted;  // by job type or listener
  for (const auto& l : ok("listeners:list")) {
    ASSERT_TRUE(l.contains("encrypted")) << l.dump();
    encrypted[l["kind"] == "job" ? l["job"].get<std::string>() : l["listener"].get<std::string>()] =
        l["encrypted"];
  }
  EXPECT_EQ(encrypted["diag.secret"], true);  // registered with JobOptions::encrypted
  EXPECT_EQ(encrypted["diag.write"], false);
  EXPECT_EQ(encrypted["ProcessBulkImport"], false);
  EXPECT_EQ(encrypted["SendLowStockNotification"], false);
  // The table: an "encrypted" column after the queue, "yes" on diag.secret's row.
  std::map<std::string, std::vector<std::string>> cells;  // by the line's first word
  std::istringstream text(unity("listeners:list").out);
  for (std::string line; std::getline(text, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (!w.empty()) cells[w[0]] = w;
  }
  EXPECT_EQ(cells["job"],
            (std::vector<std::string>{"job", "queue", "encrypted", "tries", "timeout"}));
  EXPECT_EQ(cells["event"], (std::vector<std::string>{"event", "listener", "runs", "encrypted",
                                                      "tries", "timeout"}));
  ASSERT_GE(cells["diag.secret"].size(), 3u);
  EXPECT_EQ(cells["diag.secret"][2], "yes");
  ASSERT_GE(cells["diag.write"].size(), 3u);
  EXPECT_EQ(cells["diag.write"][2], "no");
}

TEST_P(QueuePrioritiesCliTest, PlainQueueWorkRunsAllThreeQueuesHighFirst) {
  ok("report sales --tenant 1 --user 1 --from 2000-01-01 --to 2099-12-31 --format=csv");
  ok("queue:dispatch diag.noop --tenant 1 --count=3");
  ok("stock:adjust --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"-8\"}'");
  ok("queue:dispatch diag.noop --tenant 1 --queue=high");
  const int64_t max_id = db_->owner()->query_int("SELECT max(id) FROM jobs");
  work_until_empty();
  EXPECT_EQ(count_jobs(), 0) << "a job was left without a worker";
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM reports WHERE status = 'completed'"), 1);
  const auto order = started_queues(max_id);
  const std::map<std::string, int> rank = {{"high", 0}, {"default", 1}, {"low", 2}};
  ASSERT_GE(order.size(), 6u);
  EXPECT_EQ(order.front(), "high");
  EXPECT_EQ(order.back(), "low");
  for (size_t i = 1; i < order.size(); ++i) {
    EXPECT_LE(rank.at(order[i - 1]), rank.at(order[i])) << "job " << i << " of " << order.size();
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, QueuePrioritiesCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::cli
