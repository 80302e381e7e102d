// ProcessBulkImport: the RFC 4180 reader (quotes, "" escapes, embedded newlines, CRLF, BOM, bad
// input), the column map, and on both drivers through a real worker: validation errors with row
// and column, upserts by natural key, inventory receipts through the ledger with their events, a
// killed import resumed without duplicates, file-level failures that write nothing, tenant
// isolation, and the import / imports:show commands.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "erp/catalog/catalog_service.h"
#include "erp/catalog/events.h"
#include "erp/crm/crm_service.h"
#include "erp/crm/events.h"
#include "erp/erp.h"
#include "erp/procurement/procurement_service.h"
#include "events/event_bus.h"
#include "events/event_store.h"
#include "jobs/csv_reader.h"
#include "jobs/import_job.h"
#include "jobs/jobs.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"
#include "queue/worker.h"
#include "support/cli.h"
#include "support/test_db.h"

namespace unity::jobs {
namespace {

namespace fs = std::filesystem;
using testing::Driver;
using testing::TestDatabase;

std::string temp_file(const std::string& name, const std::string& content) {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("unity-import-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

std::vector<std::vector<std::string>> read_all(const std::string& content) {
  CsvReader reader(temp_file("read.csv", content));
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> rec;
  while (reader.next(rec)) out.push_back(rec);
  return out;
}

using Records = std::vector<std::vector<std::string>>;

// --- The reader --------------------------------------------------------------------------------

TEST(CsvReader, ReadsPlainRecordsWithLfOrCrlfAndNoFinalNewline) {
  EXPECT_EQ(read_all("a,b\n1,2\n"), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(read_all("a,b\r\n1,2\r\n3,4"), (Records{{"a", "b"}, {"1", "2"}, {"3", "4"}}));
  EXPECT_EQ(read_all("a,,c\n,,\n"), (Records{{"a", "", "c"}, {"", "", ""}}));
}

TEST(CsvReader, QuotesEscapesAndEmbeddedNewlines) {
  EXPECT_EQ(read_all("\"a,b\",\"say \"\"hi\"\"\",\"line1\r\nline2\nline3\"\r\nx,y,z\r\n"),
            (Records{{"a,b", "say \"hi\"", "line1\r\nline2\nline3"}, {"x", "y", "z"}}));
  EXPECT_EQ(read_all("\"\",\" spaced \"\n"), (Records{{"", " spaced "}}));
}

TEST(CsvReader, SkipsTheByteOrderMarkAndKeepsUtf8AndSpaces) {
  EXPECT_EQ(read_all("\xEF\xBB\xBFsku,name\nA-1, Café ☕ \n"),
            (Records{{"sku", "name"}, {"A-1", " Café ☕ "}}));
}

TEST(CsvReader, StreamsFieldsAcrossBlockBoundaries) {
  const std::string big(200000, 'x');
  std::string content = "h\n";
  for (int i = 0; i < 3; ++i) content += "\"" + big + "\n" + big + "\"\n";
  auto recs = read_all(content);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[3][0], big + "\n" + big);
}

TEST(CsvReader, SkipRestCountsTheRecordsLeftWithTheSameChecks) {
  std::string content = "h1,h2\r\n";
  for (int i = 0; i < 20000; ++i) content += "\"a\nb\",c" + std::to_string(i) + "\r\n";
  CsvReader reader(temp_file("skip.csv", content));
  std::vector<std::string> rec;
  ASSERT_TRUE(reader.next(rec));
  ASSERT_TRUE(reader.next(rec));
  EXPECT_EQ(reader.skip_rest(), 19999);
  EXPECT_EQ(reader.record(), 20001);
  EXPECT_FALSE(reader.next(rec));

  CsvReader bad(temp_file("skip-bad.csv", content + "ok,\xC3\x28\r\nlast,x\r\n"));
  ASSERT_TRUE(bad.next(rec));  // the bad record is blocks away
  try {
    bad.skip_rest();
    FAIL() << "invalid UTF-8 was accepted";
  } catch (const CsvError& e) {
    EXPECT_EQ(e.record(), 20002);
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
}

TEST(CsvReader, RejectsWhatIsNotCsvOrNotUtf8WithTheRecord) {
  try {
    read_all("a,b\n1,\"x\"y\n");
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_EQ(e.record(), 2);
    EXPECT_NE(std::string(e.what()).find("not CSV"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_all("a,b\n1,\"unterminated\n"), CsvError);
  try {
    read_all("a,b\n1,2\n3,\xC3\x28\n");
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_EQ(e.record(), 3);
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_all(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)), CsvError);
  EXPECT_THROW(CsvReader("/nonexistent/file.csv"), CsvError);
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));  // a surrogate
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));      // overlong
  EXPECT_TRUE(valid_utf8("ok \xF0\x9F\x98\x80"));
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Regression: one record of 20 million empty fields took 1.07 GB resident.
TEST(CsvReader, ARecordWiderThanTheLimitIsRefusedWithoutHoldingItsFields) {
  const std::string path =
      temp_file("wide.csv", "a,b\n1,2\n" + std::string(20'000'000, ',') + "\nlast,row\n");
  const long before = peak_rss_kib();
  for (const bool counting : {false, true}) {
    CsvReader reader(path, 1000);
    std::vector<std::string> rec;
    try {  // the error comes with the block that holds it (here the first one)
      if (counting) {
        reader.skip_rest();
      } else {
        while (reader.next(rec)) {
        }
      }
      FAIL() << "a record of 20,000,001 fields was accepted";
    } catch (const CsvError& e) {
      EXPECT_EQ(e.record(), 3);
      EXPECT_NE(std::string(e.what()).find("more than 1000 fields (IMPORT_MAX_COLUMNS)"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_LT(peak_rss_kib() - before, 64 * 1024) << "KiB more at the peak";
  EXPECT_EQ(read_all("a,b,c\n1,2,3\n").size(), 2u);  // the default limit is far away
  CsvReader exact(temp_file("exact.csv", "a,b,c\n"), 3);
  std::vector<std::string> rec;
  EXPECT_TRUE(exact.next(rec));
  EXPECT_THROW(CsvReader(temp_file("over.csv", "a,b,c,d\n"), 3).next(rec), CsvError);
}

TEST(ColumnMap, ParsesAndRejectsUnknownFields) {
  auto m = parse_column_map("products", "sku=SKU, name = Product Name ,price=Price");
  EXPECT_EQ(m, (ColumnMap{{"sku", "SKU"}, {"name", "Product Name"}, {"price", "Price"}}));
  EXPECT_TRUE(parse_column_map("products", "").empty());
  EXPECT_THROW(parse_column_map("products", "colour=Colour"), Error);
  EXPECT_THROW(parse_column_map("products", "sku"), Error);
  EXPECT_THROW(parse_column_map("gadgets", ""), Error);
}

// --- The job on both drivers --------------------------------------------------------------------

class ImportJobTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    dispatcher_ = std::make_unique<queue::Dispatcher>(db_->config(), jobs_);
    bus_ = std::make_unique<events::EventBus>(jobs_, *dispatcher_);
    notifier_ = std::make_unique<notify::DatabaseNotifier>(jobs_, *dispatcher_);
    erp::wire_erp(*bus_, *notifier_);
    wire_jobs(jobs_, *bus_, clock_);
    a_ = db::create_tenant(*conn_, "Acme").id;
    b_ = db::create_tenant(*conn_, "Globex").id;
    conn_->set_tenant(a_);
  }

  void drain() {
    queue::WorkerOptions o;
    o.stop_when_empty = true;
    o.backoff = queue::Backoff::parse("0");
    queue::Worker(db::connection_factory(db_->config()), db_->config(), jobs_, o, nullptr).run();
  }
  int64_t start(const std::string& type, const std::string& content, const ColumnMap& map = {}) {
    const int64_t id =
        create_import(*conn_, db_->dir() + "/storage", type,
                      temp_file("in-" + type + ".csv", content), std::nullopt, clock_);
    dispatcher_->dispatch(*conn_, *conn_->tenant(), kProcessBulkImport,
                          import_payload(id, map, std::nullopt));
    return id;
  }
  nlohmann::json import(const std::string& type, const std::string& content,
                        const ColumnMap& map = {}) {
    const int64_t id = start(type, content, map);
    drain();
    return import_status(*conn_, id);
  }
  int64_t count(const std::string& sql) { return conn_->query_int(sql, {*conn_->tenant()}); }
  int64_t events(const std::string& name) {
    return conn_->query_int("SELECT COUNT(*) FROM domain_events WHERE tenant_id = $1 AND name = $2",
                            {*conn_->tenant(), name});
  }

  ManualClock clock_{TimePoint(std::chrono::seconds(1'800'000'000))};
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  queue::JobRegistry jobs_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<notify::DatabaseNotifier> notifier_;
  int64_t a_ = 0, b_ = 0;
};

TEST_P(ImportJobTest, ProductsWithAMapRecordBadRowsWithRowAndColumn) {
  const std::string csv =
      "\xEF\xBB\xBFSKU,Product Name,Price,Cost,Notes\r\n"
      "A-1,Apple,1.50,0.75,\r\n"
      "B-2,Pear,abc,1,\r\n"  // row 3: bad price
      "C-3,,2,1,\r\n"        // row 4: no name
      // Row 5 spans two lines (in a column not imported: names refuse control characters).
      "\"D-4\",\"Widget, \"\"deluxe\"\"\",3,,\"two\nlines\"\r\n"
      "E-5,Short\r\n";  // row 6: too few fields
  auto s = import("products", csv,
                  {{"sku", "SKU"}, {"name", "Product Name"}, {"price", "Price"}, {"cost", "Cost"}});
  EXPECT_EQ(s["status"], "completed_with_errors") << s.dump();
  EXPECT_EQ(s["total_rows"], 5);
  EXPECT_EQ(s["imported_rows"], 2);
  EXPECT_EQ(s["failed_rows"], 3);
  ASSERT_EQ(s["errors"].size(), 3u) << s.dump();
  EXPECT_EQ(s["errors"][0]["row"], 3);
  EXPECT_EQ(s["errors"][0]["column"], "Price");
  EXPECT_EQ(s["errors"][1]["row"], 4);
  EXPECT_EQ(s["errors"][1]["column"], "Product Name");
  EXPECT_EQ(s["errors"][2]["row"], 6);
  EXPECT_TRUE(s["errors"][2]["column"].is_null());
  for (const auto& e : s["errors"]) EXPECT_FALSE(e["message"].get<std::string>().empty());
  auto d4 = erp::catalog::load_product_by_sku(*conn_, "D-4");
  ASSERT_TRUE(d4);
  EXPECT_EQ(d4->name, "Widget, \"deluxe\"");
  EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 2);
  EXPECT_EQ(events("ProductCreated"), 2);
}

TEST_P(ImportJobTest, WithoutAMapColumnsMatchFieldNamesInAnyCase) {
  auto s = import("products", "Name,SKU,PRICE,Unit,Ignored\nApple,A-1,2,kg,zzz\n");
  EXPECT_EQ(s["status"], "completed") << s.dump();
  auto p = erp::catalog::load_product_by_sku(*conn_, "A-1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->unit, "kg");
  EXPECT_EQ(p->price.to_string(2), "2.00");
}

TEST_P(ImportJobTest, UpsertsByNaturalKeySoImportingTwiceDoesNotDuplicate) {
  ASSERT_EQ(import("products", "sku,name,price\nA-1,Apple,1\nB-2,Pear,2\n")["status"], "completed");
  auto again = import("products", "sku,name,price\nA-1,Green apple,1.25\nB-2,Pear,2\n");
  EXPECT_EQ(again["status"], "completed") << again.dump();
  EXPECT_EQ(again["imported_rows"], 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 2);
  auto a = erp::catalog::load_product_by_sku(*conn_, "A-1");
  EXPECT_EQ(a->name, "Green apple");
  EXPECT_EQ(a->price.to_string(2), "1.25");
  EXPECT_EQ(events("ProductCreated"), 2);
  EXPECT_EQ(events("ProductUpdated"), 1);  // B-2 did not change

  const std::string customers =
      "name,email,payment_terms_days\nAda,ada@x.test,15\nBob,bob@x.test,\n";
  EXPECT_EQ(import("customers", customers)["status"], "completed");
  auto c2 = import("customers", "name,email\nAda L.,ADA@x.test\nBob,bob@x.test\n");
  EXPECT_EQ(c2["status"], "completed") << c2.dump();
  EXPECT_EQ(count("SELECT COUNT(*) FROM customers WHERE tenant_id = $1"), 2);
  EXPECT_EQ(conn_
                ->query_one("SELECT name, payment_terms_days FROM customers WHERE tenant_id = $1 "
                            "AND email = 'ada@x.test'",
                            {a_})
                ->get<std::string>(0),
            "Ada L.");
  EXPECT_EQ(events("CustomerCreated"), 2);

  EXPECT_EQ(import("vendors", "name,email\nAcme Supply,sales@acme.test\n")["status"], "completed");
  auto v2 = import("vendors", "Name,Email\nAcme Supply Ltd,sales@acme.test\nbad,nope\n");
  EXPECT_EQ(v2["status"], "completed_with_errors") << v2.dump();
  EXPECT_EQ(v2["errors"][0]["row"], 3);
  EXPECT_EQ(v2["errors"][0]["column"], "Email");
  EXPECT_EQ(count("SELECT COUNT(*) FROM vendors WHERE tenant_id = $1"), 1);
  EXPECT_EQ(
      conn_->query_one("SELECT name FROM vendors WHERE tenant_id = $1", {a_})->get<std::string>(0),
      "Acme Supply Ltd");
}

// The bulk path for products (one lookup-and-insert per chunk, events appended in bulk) gives
// what row-by-row writes would, in file order, whatever the chunk size.
TEST_P(ImportJobTest, BulkProductUpsertsKeepFileOrderWithinAndAcrossChunks) {
  const std::string csv =
      "sku,name,price,cost\n"
      "NEW-1,New,5,1\n"                      // row 2: created
      "OLD-1,Old renamed,1,\n"               // row 3: an existing product renamed
      "NEW-1,New v2,6,\n"                    // row 4: updates row 2's product; its cost stays 1
      "BAD,Bad,-1,\n"                        // row 5: a negative price
      "OLD-2,Same,2,\n"                      // row 6: unchanged: no write, no event
      "NEW-2,\"Other, \"\"x\"\"\",3,0.5\n";  // row 7
  for (const int64_t chunk : {int64_t{1000}, int64_t{2}}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    const int64_t tenant = chunk == 2 ? b_ : a_;
    conn_->set_tenant(tenant);
    ASSERT_EQ(import("products", "sku,name,price\nOLD-1,Old,1\nOLD-2,Same,2\n")["status"],
              "completed");
    const int64_t id = create_import(*conn_, db_->dir() + "/storage", "products",
                                     temp_file("bulk.csv", csv), std::nullopt, clock_);
    ImportRunOptions o;
    o.chunk_rows = chunk;
    run_import(*conn_, *bus_, id, {}, std::nullopt, clock_, o);
    auto s = import_status(*conn_, id);
    EXPECT_EQ(s["status"], "completed_with_errors") << s.dump();
    EXPECT_EQ(s["imported_rows"], 5);
    EXPECT_EQ(s["failed_rows"], 1);
    ASSERT_EQ(s["errors"].size(), 1u);
    EXPECT_EQ(s["errors"][0]["row"], 5);
    EXPECT_EQ(s["errors"][0]["column"], "price");
    auto n1 = erp::catalog::load_product_by_sku(*conn_, "NEW-1");
    ASSERT_TRUE(n1);
    EXPECT_EQ(n1->name, "New v2");
    EXPECT_EQ(n1->price.to_string(2), "6.00");
    EXPECT_EQ(n1->cost.to_string(2), "1.00");
    EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "OLD-1")->name, "Old renamed");
    EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "NEW-2")->name, "Other, \"x\"");
    EXPECT_FALSE(erp::catalog::load_product_by_sku(*conn_, "BAD"));
    EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 4);
    EXPECT_EQ(events("ProductCreated"), 4);  // OLD-1, OLD-2, NEW-1, NEW-2
    EXPECT_EQ(events("ProductUpdated"), 2);  // OLD-1 renamed, NEW-1's second row
    // Each stored ProductCreated is the event the registry rebuilds from it, and the text the
    // bulk path wrote is the object the event describes.
    for (const auto& stored : events::EventStore(*conn_).list({.type = "ProductCreated"})) {
      const auto event = bus_->registry().read(stored.name, events::meta_of(stored),
                                               nlohmann::json::parse(stored.payload));
      nlohmann::json object;
      event->write_payload(object);
      EXPECT_EQ(nlohmann::json::parse(stored.payload), object) << stored.payload;
      const auto& created = dynamic_cast<const erp::catalog::ProductCreated&>(*event);
      auto product = erp::catalog::load_product_by_sku(*conn_, created.sku());
      ASSERT_TRUE(product);
      EXPECT_EQ(created.product_id(), product->id);
    }
  }
}

// When the bulk attempt fails as a whole (here a synchronous listener refuses one product, so
// the chunk's dispatch_all throws), the chunk is rolled back to its savepoint and rerun row by
// row: only the refused row fails, every other row of the chunk is imported once.
TEST_P(ImportJobTest, AChunkWhoseBulkAttemptFailsIsRerunRowByRow) {
  bus_->listen_sync<erp::catalog::ProductCreated>(
      "RefusesOne", [](const erp::catalog::ProductCreated& e, db::Connection&) {
        if (e.sku() == "NO-2") throw invalid_argument("sku NO-2 is refused by a listener");
      });
  auto s = import("products", "sku,name,price\nOK-1,One,1\nNO-2,Two,2\nOK-3,Three,3\n");
  EXPECT_EQ(s["status"], "completed_with_errors") << s.dump();
  EXPECT_EQ(s["imported_rows"], 2);
  ASSERT_EQ(s["errors"].size(), 1u);
  EXPECT_EQ(s["errors"][0]["row"], 3);
  EXPECT_EQ(s["errors"][0]["column"], "sku");
  EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 2);
  EXPECT_FALSE(erp::catalog::load_product_by_sku(*conn_, "NO-2"));
  EXPECT_EQ(events("ProductCreated"), 2);
}

// Everything an import leaves in the connection's tenant: the import's status, the rows, the
// stored events (customer_id and product_id given as the row's e-mail or SKU, checked to name
// that row) and the queued jobs. Events and jobs are compared as sets: within a chunk the bulk
// path appends the creations before the updates, row by row interleaves them in file order.
std::string import_outcome(db::Connection& conn, const std::string& type, int64_t import_id) {
  const int64_t tenant = conn.require_tenant();
  auto status = import_status(conn, import_id);
  status.erase("id");
  std::string out = status.dump() + "\n";
  std::map<int64_t, std::string> key_of;
  const std::string rows =
      type == "products"
          ? "SELECT id, name, sku, 0, created_at, updated_at, price, cost, reorder_level, unit "
            "FROM products WHERE tenant_id = $1 ORDER BY sku"
      : type == "customers"
          ? "SELECT id, name, email, payment_terms_days, created_at, updated_at FROM customers "
            "WHERE tenant_id = $1 ORDER BY email"
          : "SELECT id, name, email, 0, created_at, updated_at FROM vendors WHERE tenant_id = $1 "
            "ORDER BY email";
  conn.query_each(rows, {tenant}, [&](const db::Row& r) {
    key_of[r.get<int64_t>(0)] = r.get<std::string>(2);
    out += r.get<std::string>(1) + "|" + r.get<std::string>(2) + "|" +
           std::to_string(r.get<int64_t>(3)) + "|" + r.get<std::string>(4) + "|" +
           r.get<std::string>(5);
    for (size_t c = 6; c < r.size(); ++c) out += "|" + r.get<std::string>(c);
    out += "\n";
  });
  std::vector<std::string> lines;
  conn.query_each(
      "SELECT name, payload, user_id FROM domain_events WHERE tenant_id = $1 ORDER BY id", {tenant},
      [&](const db::Row& r) {
        auto payload = nlohmann::json::parse(r.get<std::string>(1));
        for (const char* key : {"customer_id", "product_id"}) {
          if (!payload.contains(key)) continue;
          const int64_t id = payload[key];
          EXPECT_TRUE(key_of.count(id)) << payload.dump();
          payload[key] = key_of[id];
        }
        lines.push_back(r.get<std::string>(0) + " " + payload.dump() + "\n");
      });
  conn.query_each(
      "SELECT type FROM jobs WHERE tenant_id = $1 ORDER BY id", {tenant},
      [&](const db::Row& r) { lines.push_back("job " + r.get<std::string>(0) + "\n"); });
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) out += l;
  return out;
}

// Customers and vendors take the bulk path (one INSERT … ON CONFLICT DO NOTHING per chunk,
// CustomerCreated appended in bulk, then the updates by e-mail): a chunk of new, existing (other
// case), repeated-in-file and bad rows leaves exactly what the row-by-row path leaves, whatever
// the chunk size.
TEST_P(ImportJobTest, BulkCustomersAndVendorsLeaveWhatRowByRowLeaves) {
  const std::map<std::string, std::string> files = {
      {"customers",
       "name,email,payment_terms_days\n"
       "New,new@x.test,15\n"             // row 2: created
       "Old renamed,OLD@x.test,\n"       // row 3: the existing one renamed, its terms stay
       "New v2,NEW@X.test,20\n"          // row 4: updates row 2's customer
       "Bad,not-an-email,\n"             // row 5: a bad e-mail
       "Late,late@x.test,400\n"          // row 6: terms out of range
       "Frac,frac@x.test,1.5\n"          // row 7: not a whole number
       ",noname@x.test,\n"               // row 8: no name
       "Other,other@x.test,\n"           // row 9: created
       "Other again,OTHER@x.test,7\n"},  // row 10: updates row 9's
      {"vendors",
       "name,email\nNew,new@x.test\nOld renamed,OLD@x.test\nNew v2,NEW@X.test\nBad,nope\n"
       ",noname@x.test\nOther,other@x.test\nOther again,OTHER@x.test\n"}};
  int tenants = 0;
  for (const auto& [type, csv] : files) {
    for (const int64_t chunk : {int64_t{1000}, int64_t{2}}) {
      std::string outcome[2];
      for (const bool bulk : {false, true}) {
        SCOPED_TRACE(type + " chunk " + std::to_string(chunk) + (bulk ? " bulk" : " row by row"));
        conn_->set_tenant(std::nullopt);
        conn_->set_tenant(db::create_tenant(*conn_, "T" + std::to_string(++tenants)).id);
        if (type == "customers") {
          erp::crm::CustomerDraft old;
          old.name = "Old";
          old.email = "old@x.test";
          old.payment_terms_days = 10;
          erp::crm::CrmService(*conn_, *bus_, std::nullopt, clock_).create_customer(old);
        } else {
          erp::procurement::ProcurementService(*conn_, *bus_, std::nullopt, clock_)
              .create_vendor({"Old", "old@x.test"});
        }
        const int64_t id =
            create_import(*conn_, db_->dir() + "/storage", type,
                          temp_file("bulk-" + type + ".csv", csv), std::nullopt, clock_);
        ImportRunOptions o;
        o.chunk_rows = chunk;
        o.bulk = bulk;
        run_import(*conn_, *bus_, id, {}, std::nullopt, clock_, o);
        outcome[bulk] = import_outcome(*conn_, type, id);
      }
      EXPECT_EQ(outcome[1], outcome[0]) << type << " chunk " << chunk;
      if (type == "customers") {
        EXPECT_NE(outcome[1].find("\"failed_rows\":4"), std::string::npos) << outcome[1];
        EXPECT_NE(outcome[1].find("New v2|new@x.test|20|"), std::string::npos) << outcome[1];
        EXPECT_NE(outcome[1].find("Old renamed|old@x.test|10|"), std::string::npos) << outcome[1];
        EXPECT_EQ(events("CustomerCreated"), 3);  // Old, New, Other
      } else {
        EXPECT_NE(outcome[1].find("\"failed_rows\":2"), std::string::npos) << outcome[1];
        EXPECT_NE(outcome[1].find("Other again|other@x.test|"), std::string::npos) << outcome[1];
        EXPECT_EQ(count("SELECT COUNT(*) FROM vendors WHERE tenant_id = $1"), 3);
      }
    }
  }
}

// Products on PostgreSQL go through COPY into a staging table, then one INSERT … SELECT: text
// the COPY format gives a meaning to (backslashes, "\N", "\.") and non-ASCII arrive unchanged,
// and the rows, events and errors are those of the multi-row INSERT path and of the row-by-row
// path. (Tabs and newlines are refused by the domain's text checks, the same way on every path;
// the driver's escaping of them is tested in ConformanceTest. SQLite has no COPY: there the
// COPY run takes the INSERT path.)
TEST_P(ImportJobTest, ProductsThroughCopyLeaveWhatInsertAndRowByRowLeave) {
  const std::string csv =
      "sku,name,price,cost,unit\n"
      "T-1,\"tab\there\",1,,pcs\n"
      "T-2,\"back\\slash \\N \\. end\\\",2,0.5,\"k\\g\"\n"
      "T-3,\"line\nbreak\r\nCRLF\",3,,\n"
      "T-4,\"quotes ' \"\" , ;\",4,1,\n"
      "T-5,Caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac,5,,\n"
      "OLD,Old renamed,9,,\n"
      "T-1,\"tab\tagain\",6,,\n"
      "BAD,Bad,-1,,\n"
      "\\N,\"\\N\",7,,\n";
  int tenants = 0;
  for (const int64_t chunk : {int64_t{1000}, int64_t{3}}) {
    std::string outcome[3];  // row by row, INSERT, COPY
    for (int way = 0; way < 3; ++way) {
      SCOPED_TRACE("chunk " + std::to_string(chunk) + " way " + std::to_string(way));
      conn_->set_tenant(std::nullopt);
      conn_->set_tenant(db::create_tenant(*conn_, "P" + std::to_string(++tenants)).id);
      erp::catalog::CatalogService(*conn_, *bus_, std::nullopt, clock_)
          .create(erp::catalog::ProductDraft::from_json(
              {{"sku", "OLD"}, {"name", "Old"}, {"price", "9"}}));
      const int64_t id = create_import(*conn_, db_->dir() + "/storage", "products",
                                       temp_file("copy.csv", csv), std::nullopt, clock_);
      ImportRunOptions o;
      o.chunk_rows = chunk;
      o.bulk = way > 0;
      o.copy = way == 2;
      run_import(*conn_, *bus_, id, {}, std::nullopt, clock_, o);
      outcome[way] = import_outcome(*conn_, "products", id);
    }
    EXPECT_EQ(outcome[1], outcome[0]) << "chunk " << chunk;
    EXPECT_EQ(outcome[2], outcome[0]) << "chunk " << chunk;
    EXPECT_NE(outcome[2].find("\"failed_rows\":4,\"imported_rows\":5"), std::string::npos)
        << outcome[2];
    auto p = erp::catalog::load_product_by_sku(*conn_, "T-2");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "back\\slash \\N \\. end\\");
    EXPECT_EQ(p->unit, "k\\g");
    EXPECT_FALSE(erp::catalog::load_product_by_sku(*conn_, "T-1"));  // a tab in both its rows
    EXPECT_FALSE(erp::catalog::load_product_by_sku(*conn_, "T-3"));  // a newline
    EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "T-5")->name,
              "Caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac");
    EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "\\N")->name, "\\N");
    EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 5);
    EXPECT_EQ(events("ProductCreated"), 5);
  }
}

// The bulk path really is one append for the chunk: a synchronous CustomerCreated listener
// already sees every new customer's event stored when it runs for the first one (row by row it
// would see them one at a time). A listener refusing one customer makes the bulk attempt fail;
// the chunk is rerun row by row and only that row fails.
TEST_P(ImportJobTest, CustomersOfAChunkAreCreatedInOneAppendAndARefusalFallsBackRowByRow) {
  std::vector<int64_t> stored_when_called;
  bus_->listen_sync<erp::crm::CustomerCreated>(
      "CountsAndRefusesOne", [&](const erp::crm::CustomerCreated& e, db::Connection& c) {
        stored_when_called.push_back(c.query_int(
            "SELECT COUNT(*) FROM domain_events WHERE tenant_id = $1 AND name = 'CustomerCreated'",
            {c.require_tenant()}));
        if (e.data().email == "refused@x.test") {
          throw invalid_argument("email refused@x.test is refused by a listener");
        }
      });
  auto s = import("customers", "name,email\nA,a@x.test\nB,b@x.test\nC,c@x.test\n");
  EXPECT_EQ(s["status"], "completed") << s.dump();
  EXPECT_EQ(stored_when_called, (std::vector<int64_t>{3, 3, 3}));

  stored_when_called.clear();
  s = import("customers", "name,email\nD,d@x.test\nR,refused@x.test\nE,e@x.test\n");
  EXPECT_EQ(s["status"], "completed_with_errors") << s.dump();
  EXPECT_EQ(s["imported_rows"], 2);
  ASSERT_EQ(s["errors"].size(), 1u);
  EXPECT_EQ(s["errors"][0]["row"], 3);
  EXPECT_EQ(s["errors"][0]["column"], "email");
  EXPECT_EQ(count("SELECT COUNT(*) FROM customers WHERE tenant_id = $1"), 5);
  EXPECT_EQ(events("CustomerCreated"), 5);
}

TEST(ProductCreatedPayload, HandWrittenTextEqualsTheDumpedObject) {
  for (const std::string name : {"plain", "quote \" back \\ slash", "line\nbreak\ttab\x01",
                                 "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac"}) {
    const erp::catalog::ProductCreated e(events::new_event_meta(1, 2), 42, "SKU-" + name, name,
                                         Decimal::parse("12.5"), Decimal::parse("0.0001"),
                                         Decimal(), "kg \"x\"");
    nlohmann::json object;
    e.write_payload(object);
    EXPECT_EQ(e.payload_json(), object.dump()) << name;
  }
}

TEST_P(ImportJobTest, InventoryRowsAreReceiptsOnTheStockLedgerWithTheirEvents) {
  ASSERT_EQ(import("products", "sku,name,price,cost\nA-1,Apple,2,1\n")["status"], "completed");
  auto s = import("inventory",
                  "sku,quantity,unit_cost,batch\nA-1,10,1.10,B1\nA-1,5,,B2\nZZZ,1,1,\nA-1,-3,1,\n");
  EXPECT_EQ(s["status"], "completed_with_errors") << s.dump();
  EXPECT_EQ(s["imported_rows"], 2);
  ASSERT_EQ(s["errors"].size(), 2u);
  EXPECT_EQ(s["errors"][0]["row"], 4);
  EXPECT_EQ(s["errors"][0]["column"], "sku");  // unknown SKU
  EXPECT_EQ(s["errors"][1]["row"], 5);
  EXPECT_EQ(count("SELECT COUNT(*) FROM stock_movements WHERE tenant_id = $1"), 2);
  EXPECT_EQ(events("StockMovementRecorded"), 2);
  EXPECT_EQ(conn_
                ->query_one("SELECT unit_cost FROM stock_batches WHERE tenant_id = $1 AND "
                            "batch = 'B2'",
                            {a_})
                .has_value(),
            true);
}

TEST_P(ImportJobTest, AKilledImportResumesWithoutImportingARowTwice) {
  ASSERT_EQ(import("products", "sku,name,price\nA-1,Apple,2\n")["status"], "completed");
  std::string csv = "sku,quantity,unit_cost\n";
  for (int i = 0; i < 10; ++i) csv += "A-1,1,1\n";
  csv += "A-1,oops,1\n";  // row 12
  const int64_t id = create_import(*conn_, db_->dir() + "/storage", "inventory",
                                   temp_file("resume.csv", csv), std::nullopt, clock_);
  // The first delivery dies after committing two chunks of 3 rows.
  ImportRunOptions o;
  o.chunk_rows = 3;
  o.cancelled = [asked = 0]() mutable { return ++asked > 2; };  // asked before each chunk
  EXPECT_THROW(run_import(*conn_, *bus_, id, {}, std::nullopt, clock_, o), Error);
  auto mid = import_status(*conn_, id);
  EXPECT_EQ(mid["status"], "processing");
  EXPECT_EQ(mid["imported_rows"], 6);
  EXPECT_EQ(count("SELECT COUNT(*) FROM stock_movements WHERE tenant_id = $1"), 6);
  // Redelivered: the real job picks up at row 8.
  dispatcher_->dispatch(*conn_, a_, kProcessBulkImport, import_payload(id, {}, std::nullopt));
  drain();
  auto s = import_status(*conn_, id);
  EXPECT_EQ(s["status"], "completed_with_errors") << s.dump();
  EXPECT_EQ(s["total_rows"], 11);
  EXPECT_EQ(s["imported_rows"], 10);
  EXPECT_EQ(s["failed_rows"], 1);
  ASSERT_EQ(s["errors"].size(), 1u);
  EXPECT_EQ(s["errors"][0]["row"], 12);
  EXPECT_EQ(s["errors"][0]["column"], "quantity");
  EXPECT_EQ(count("SELECT COUNT(*) FROM stock_movements WHERE tenant_id = $1"), 10);
  EXPECT_EQ(events("StockMovementRecorded"), 10);
  // A third delivery of a finished import does nothing.
  dispatcher_->dispatch(*conn_, a_, kProcessBulkImport, import_payload(id, {}, std::nullopt));
  drain();
  EXPECT_EQ(count("SELECT COUNT(*) FROM stock_movements WHERE tenant_id = $1"), 10);
}

TEST_P(ImportJobTest, FileLevelErrorsFailWithOneRowZeroEntryAndWriteNothing) {
  std::string good = "sku,name,price\n";
  for (int i = 0; i < 1200; ++i) good += "S-" + std::to_string(i) + ",Thing,1\n";  // > 2 chunks
  struct Case {
    std::string name, content;
    ColumnMap map;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"not csv", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), {}, "not CSV"},
      {"bad quote", good + "X,\"a\"b,1\n", {}, "not CSV"},
      {"missing mapped column", good, {{"name", "Title"}}, "Title"},
      {"missing required column", "sku,price\nA,1\n", {}, "name"},
      {"invalid utf-8 at the end", good + "X,\xFF\xFE,1\n", {}, "UTF-8"},
      {"empty", "", {}, "empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = import("products", c.content, c.map);
    EXPECT_EQ(s["status"], "failed") << s.dump();
    ASSERT_EQ(s["errors"].size(), 1u) << s.dump();
    EXPECT_EQ(s["errors"][0]["row"], 0);
    EXPECT_NE(s["errors"][0]["message"].get<std::string>().find(c.expect), std::string::npos)
        << s.dump();
    EXPECT_EQ(s["imported_rows"], 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 0);
    EXPECT_EQ(events("ProductCreated"), 0);
  }
}

TEST_P(ImportJobTest, ARecordOfTwentyMillionFieldsFailsTheFileAndWritesNothing) {
  auto s = import("products", "sku,name,price\nA-1,Apple,1\n" + std::string(20'000'000, ',') +
                                  "\nB-2,Pear,2\n");
  EXPECT_EQ(s["status"], "failed") << s.dump();
  ASSERT_EQ(s["errors"].size(), 1u);
  EXPECT_EQ(s["errors"][0]["row"], 0);
  EXPECT_EQ(s["errors"][0]["message"],
            "the record has more than 1000 fields (IMPORT_MAX_COLUMNS) (record 3)");
  EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 0);
}

TEST_P(ImportJobTest, ATwoGibFileIsRefusedAtDispatchAndFailedByTheJob) {
  const std::string big = db_->dir() + "/big.csv";
  { std::ofstream(big) << "sku,name,price\n"; }
  fs::resize_file(big, uint64_t{2} << 30);  // sparse: no 2 GiB written
  try {
    create_import(*conn_, db_->dir() + "/storage", "products", big, std::nullopt, clock_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos);
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM import_logs WHERE tenant_id = $1"), 0);
  // A row that names such a file anyway (the job checks again).
  const int64_t id = conn_->query_int(
      "INSERT INTO import_logs (tenant_id, import_type, file_path, created_at, updated_at) "
      "VALUES ($1, 'products', $2, $3, $3) RETURNING id",
      {a_, big, std::string("2027-01-15T00:00:00Z")});
  dispatcher_->dispatch(*conn_, a_, kProcessBulkImport, import_payload(id, {}, std::nullopt));
  drain();
  auto s = import_status(*conn_, id);
  EXPECT_EQ(s["status"], "failed");
  EXPECT_EQ(s["errors"][0]["row"], 0);
  EXPECT_NE(s["errors"][0]["message"].get<std::string>().find("too large"), std::string::npos);
  fs::remove(big);
}

TEST_P(ImportJobTest, TenantsAreIsolated) {
  const int64_t id = import("products", "sku,name,price\nA-1,Apple,1\n")["id"];
  conn_->set_tenant(b_);
  EXPECT_EQ(count("SELECT COUNT(*) FROM products WHERE tenant_id = $1"), 0);
  EXPECT_THROW(import_status(*conn_, id), Error);
  auto s = import("products", "sku,name,price\nA-1,Other apple,3\n");
  EXPECT_EQ(s["status"], "completed");
  EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "A-1")->name, "Other apple");
  conn_->set_tenant(a_);
  EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "A-1")->name, "Apple");
  EXPECT_EQ(db_->owner()->query_int("SELECT COUNT(*) FROM products"), 2);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ImportJobTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

// --- The commands -------------------------------------------------------------------------------

class ImportCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
    ASSERT_EQ(unity("tenant:create Acme").exit, 0);
    ASSERT_EQ(unity("tenant:create Globex").exit, 0);
  }
  testing::CliRun unity(const std::string& args, const std::string& env = "") {
    return testing::run_cli(db_->dir(), db_->env_for_cli() + " " + env, args);
  }
  nlohmann::json ok(const std::string& args, const std::string& env = "") {
    testing::CliRun r = unity(args + " --json", env);
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_P(ImportCliTest, ImportWithTheSyncQueueThenShow) {
  const std::string file = db_->dir() + "/products.csv";
  std::ofstream(file) << "Code,Title,Cost Price\nA-1,Apple,2\nB-2,Pear,x\n";
  auto out =
      ok("import products " + file + " --tenant 1 --map=sku=Code,name=Title,price='Cost Price'",
         "QUEUE_CONNECTION=sync");
  ASSERT_TRUE(out.contains("job_id")) << out.dump();
  ASSERT_TRUE(out.contains("import_id")) << out.dump();
  fs::remove(file);  // the job works on its own copy
  auto shown =
      ok("imports:show " + std::to_string(out["import_id"].get<int64_t>()) + " --tenant 1");
  EXPECT_EQ(shown["id"], out["import_id"]);
  EXPECT_EQ(shown["status"], "completed_with_errors");
  EXPECT_EQ(shown["total_rows"], 2);
  EXPECT_EQ(shown["imported_rows"], 1);
  EXPECT_EQ(shown["failed_rows"], 1);
  ASSERT_EQ(shown["errors"].size(), 1u);
  EXPECT_EQ(shown["errors"][0],
            (nlohmann::json{
                {"row", 3}, {"column", "Cost Price"}, {"message", shown["errors"][0]["message"]}}));
  auto p = ok("product:show --tenant 1 --data='{\"sku\":\"A-1\"}'");
  EXPECT_EQ(p["name"], "Apple");
  // The readable form names the error.
  auto human =
      unity("imports:show " + std::to_string(out["import_id"].get<int64_t>()) + " --tenant 1");
  EXPECT_NE(human.out.find("Cost Price"), std::string::npos) << human.out;
  // Another tenant cannot see it.
  auto other = unity("imports:show " + std::to_string(out["import_id"].get<int64_t>()) +
                     " --tenant 2 --json");
  EXPECT_NE(other.exit, 0);
}

TEST_P(ImportCliTest, BadInvocationsPrintOneLineAndDispatchNothing) {
  const std::string file = db_->dir() + "/p.csv";
  std::ofstream(file) << "sku,name,price\nA,B,1\n";
  for (const std::string& args : std::vector<std::string>{
           "import gadgets " + file + " --tenant 1", "import products /nonexistent.csv --tenant 1",
           "import products " + file + " --tenant 1 --map=colour=C",
           "import products " + file + " --tenant 99", std::string("imports:show 42 --tenant 1")}) {
    auto r = unity(args, "QUEUE_CONNECTION=sync");
    EXPECT_NE(r.exit, 0) << args;
    EXPECT_EQ(testing::line_count(r.err), 1u) << args << ": " << r.err;
  }
  auto db = db_->owner();
  EXPECT_EQ(db->query_int("SELECT COUNT(*) FROM import_logs"), 0);
  EXPECT_EQ(db->query_int("SELECT COUNT(*) FROM jobs"), 0);
}

TEST_P(ImportCliTest, DatabaseQueueLeavesItPendingForAWorker) {
  const std::string file = db_->dir() + "/c.csv";
  std::ofstream(file) << "name,email\nAda,ada@x.test\n";
  auto out = ok("import customers " + file + " --tenant 1", "QUEUE_CONNECTION=database");
  auto id = std::to_string(out["import_id"].get<int64_t>());
  EXPECT_EQ(ok("imports:show " + id + " --tenant 1")["status"], "pending");
  ASSERT_EQ(unity("queue:work --stop-when-empty", "QUEUE_CONNECTION=database").exit, 0);
  auto s = ok("imports:show " + id + " --tenant 1");
  EXPECT_EQ(s["status"], "completed") << s.dump();
  EXPECT_EQ(s["imported_rows"], 1);
}

// Regression: with QUEUE_CONNECTION=sync the job runs inside `import`, and an import that failed
// still exited 0 (Guarantee 10: bad input exits non-zero).
TEST_P(ImportCliTest, AFailedImportWithTheSyncQueueExitsNonZero) {
  const std::string file = db_->dir() + "/wide.csv";
  std::ofstream(file) << "sku,name,price\nA-1,Apple,2\n";
  auto r = unity("import products " + file + " --tenant 1 --json",
                 "QUEUE_CONNECTION=sync IMPORT_MAX_COLUMNS=2");
  EXPECT_EQ(r.exit, 5) << r.out << r.err;
  const std::string last = r.err.substr(r.err.rfind("\n{\"error\":") + 1);  // --json: an object
  EXPECT_EQ(testing::line_count(last), 1u) << r.err;
  EXPECT_NE(last.find("more than 2 fields (IMPORT_MAX_COLUMNS)"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["status"], "failed");  // the outcome is still printed
  EXPECT_EQ(db_->owner()->query_int("SELECT COUNT(*) FROM products"), 0);
  // A missing column, with the default limit.
  std::ofstream(file) << "sku,price\nA-1,2\n";
  r = unity("import products " + file + " --tenant 1", "QUEUE_CONNECTION=sync");
  EXPECT_EQ(r.exit, 5) << r.out << r.err;
  EXPECT_NE(r.err.find("no column for required field name"), std::string::npos) << r.err;
  // IMPORT_MAX_COLUMNS is checked at start.
  r = unity("import products " + file + " --tenant 1", "IMPORT_MAX_COLUMNS=0");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("IMPORT_MAX_COLUMNS must be an integer from 1 to 100000"), std::string::npos)
      << r.err;
}

INSTANTIATE_TEST_SUITE_P(Drivers, ImportCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::jobs
