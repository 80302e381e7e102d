#include "db/postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cstring>
#include <thread>
#include <unordered_map>

#include "core/config.h"
#include "core/embedded_file.h"
#include "core/error.h"

namespace unity::db {
const std::vector<unity::EmbeddedFile>& postgres_migration_files();

namespace {

constexpr unsigned kTimestampTzOid = 1184;
constexpr unsigned kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
                   kFloat4Oid = 700, kFloat8Oid = 701;

std::string first_line(const char* text) {
  std::string s = text ? text : "";
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

// The one place PostgreSQL SQLSTATEs become unity::Error codes (STYLE.md "Errors"). `message` is
// the server's primary message only: never the statement's text, which may quote what a user
// typed and means nothing to them.
Error translate(const char* sqlstate, const std::string& message) {
  std::string st = sqlstate ? sqlstate : "";
  if (st == "23505") return already_exists(message);
  if (st == "23503") return not_found("a referenced row does not exist (" + message + ")");
  if (st == "42501") return permission_denied(message);
  if (st == "40001" || st == "40P01" || st == "55P03") return unavailable(message);
  if (st.starts_with("08") || st.starts_with("57P")) return unavailable(message);
  if (st.starts_with("22") || st.starts_with("23")) return invalid_argument(message);
  if (st == "P0001") return failed_precondition(message);
  return internal_error(message + (st.empty() ? "" : " [" + st + "]"));
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// "2026-11-28 02:27:32.5+00" (the session runs in UTC) → "2026-11-28T02:27:32.500000Z", the form
// the SQLite driver stores, so both drivers read back the same text.
std::string normalize_timestamp(std::string_view pg) {
  std::string_view base = pg.substr(0, 19);  // YYYY-MM-DD HH:MM:SS
  std::string out(base);
  if (out.size() == 19) out[10] = 'T';
  std::string frac;
  if (pg.size() > 19 && pg[19] == '.') {
    size_t i = 20;
    while (i < pg.size() && pg[i] >= '0' && pg[i] <= '9') frac += pg[i++];
  }
  frac.resize(6, '0');
  return out + "." + frac + "Z";
}

Value cell(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return kNull;
  const char* text = PQgetvalue(res, row, col);
  const int len = PQgetlength(res, row, col);
  switch (PQftype(res, col)) {
    case kBoolOid:
      return int64_t{text[0] == 't' ? 1 : 0};
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t v = 0;
      std::from_chars(text, text + len, v);
      return v;
    }
    case kFloat4Oid:
    case kFloat8Oid:
      return std::strtod(text, nullptr);
    case kTimestampTzOid:
      return normalize_timestamp(std::string_view(text, len));
    default:
      return std::string(text, static_cast<size_t>(len));
  }
}

// COPY's text format: a backslash, tab, newline or carriage return in a value is written as its
// backslash escape (every other byte stands for itself); a NULL is \N (written by the caller).
void append_copy_text(std::string& out, std::string_view value) {
  size_t from = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const char* escaped = c == '\\'   ? "\\\\"
                          : c == '\t' ? "\\t"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                                      : nullptr;
    if (!escaped) continue;
    out.append(value, from, i - from);
    out += escaped;
    from = i + 1;
  }
  out.append(value, from, value.size() - from);
}

constexpr size_t kCopyBuffer = 64 * 1024;  // bytes handed to libpq per PQputCopyData

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PostgresOptions options) : options_(std::move(options)) {
    caps_.skip_locked = true;
    caps_.listen_notify = true;
    caps_.row_level_security = true;
    caps_.concurrent_writers = true;
    caps_.copy_from = true;
    connect();
  }
  ~PgConnection() override {
    if (conn_) PQfinish(conn_);
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  const Capabilities& capabilities() const override { return caps_; }
  std::string describe() const override {
    if (!conn_) return "postgres";
    return std::string("postgres db=") + PQdb(conn_) + " host=" + PQhost(conn_) +
           " port=" + PQport(conn_);
  }

  void execute_script(std::string_view sql) override { run_script(sql, true); }

  int64_t execute(std::string_view sql, const Params& params) override {
    int64_t changed = 0;
    with_reconnect([&] {
      sync_tenant();
      Result res = exec_prepared(sql, params);
      const char* n = PQcmdTuples(res.get());
      changed = (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
    });
    return changed;
  }

  void query_each(std::string_view sql, const Params& params, const RowCallback& on_row) override {
    bool delivered = false;
    with_reconnect([&] {
      if (delivered) throw unavailable("connection to PostgreSQL lost during a result");
      sync_tenant();
      const std::string& name = prepared_name(sql);
      ParamArrays p(params);
      if (!PQsendQueryPrepared(conn_, name.c_str(), p.count(), p.values(), nullptr, nullptr, 0)) {
        throw connection_error("sending query");
      }
      PQsetSingleRowMode(conn_);
      std::shared_ptr<const std::vector<std::string>> columns;
      Error pending = internal_error("");
      bool failed = false;
      while (PGresult* raw = PQgetResult(conn_)) {
        Result res(raw);
        ExecStatusType st = PQresultStatus(raw);
        if (st == PGRES_SINGLE_TUPLE) {
          if (failed) continue;
          if (!columns) columns = column_names(raw);
          std::vector<Value> values;
          const int n = PQnfields(raw);
          values.reserve(n);
          for (int c = 0; c < n; ++c) values.push_back(cell(raw, 0, c));
          delivered = true;
          try {
            on_row(Row(columns, std::move(values)));
          } catch (const Error& e) {
            // Drain the rest before rethrowing so the session stays usable.
            pending = e;
            failed = true;
          }
        } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !failed) {
          pending = error_of(raw);
          failed = true;
        }
      }
      if (failed) throw pending;
    });
  }

  int64_t copy_rows(std::string_view table, const std::vector<std::string>& columns,
                    const std::vector<CopyRow>& rows) override {
    for (const CopyRow& row : rows) {  // checked before COPY starts: nothing half-sent
      if (row.size() != columns.size()) {
        throw invalid_argument("COPY into " + std::string(table) + ": a row has " +
                               std::to_string(row.size()) + " values for " +
                               std::to_string(columns.size()) + " columns");
      }
      for (const auto& v : row) {
        if (v && v->find('\0') != std::string::npos) {
          throw invalid_argument("COPY into " + std::string(table) +
                                 ": a value contains a NUL byte");
        }
      }
    }
    if (rows.empty()) return 0;
    std::string sql = "COPY " + pg_quote_identifier(table) + " (";
    for (size_t c = 0; c < columns.size(); ++c) {
      sql += (c ? ", " : "") + pg_quote_identifier(columns[c]);
    }
    sql += ") FROM STDIN";
    int64_t loaded = 0;
    with_reconnect([&] {
      sync_tenant();
      Result start(PQexec(conn_, sql.c_str()));
      if (PQresultStatus(start.get()) != PGRES_COPY_IN) {
        copy_check(start.get());
        throw internal_error("COPY into " + std::string(table) + " did not start");
      }
      std::string buf;
      buf.reserve(kCopyBuffer + 4096);
      bool sent = true;
      auto flush = [&] {
        if (sent && !buf.empty() && PQputCopyData(conn_, buf.data(), int(buf.size())) != 1) {
          sent = false;
        }
        buf.clear();
      };
      for (const CopyRow& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
          if (c) buf += '\t';
          if (row[c]) {
            append_copy_text(buf, *row[c]);
          } else {
            buf += "\\N";
          }
        }
        buf += '\n';
        if (buf.size() >= kCopyBuffer) flush();
      }
      flush();
      if (!sent || PQputCopyEnd(conn_, nullptr) != 1) throw connection_error("sending COPY data");
      Error pending = internal_error("");
      bool failed = false;
      while (PGresult* raw = PQgetResult(conn_)) {
        Result res(raw);
        if (PQresultStatus(raw) == PGRES_COMMAND_OK) {
          const char* n = PQcmdTuples(raw);
          loaded = (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
        } else if (!failed) {
          try {
            copy_check(raw);
          } catch (const Error& e) {
            pending = e;
            failed = true;
          }
        }
      }
      if (failed) throw pending;
    });
    return loaded;
  }

  const std::vector<EmbeddedFile>& migration_files() const override {
    return postgres_migration_files();
  }

  void relax_commit_durability() override {
    if (transaction_depth() > 0) execute("SET LOCAL synchronous_commit = off", {});
  }

  std::string id_set_sql(int param) const override {
    return "(SELECT unnest($" + std::to_string(param) + "::bigint[]))";
  }
  std::string id_set_param(const std::vector<int64_t>& ids) const override {
    std::string out = "{";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
    return out + "}";
  }

  void drop_all() override {
    prepared_.clear();
    execute_script("DEALLOCATE ALL; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;");
  }

  void lock_for_migration() override { execute("SELECT pg_advisory_xact_lock(7275001)", {}); }

  void prepare_app_role(const std::string& role) override {
    // Several `migrate` runs against databases of one cluster may race on the cluster-wide role
    // catalog ("tuple concurrently updated"); a short retry settles it.
    for (int attempt = 1;; ++attempt) {
      try {
        grant_app_role(role);
        return;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kPermissionDenied || attempt == 10) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
      }
    }
  }

  void listen(std::string_view channel) override {
    execute_script("LISTEN " + pg_quote_identifier(channel));
    listening_.emplace_back(channel);
  }

  void notify(std::string_view channel, std::string_view payload) override {
    execute("SELECT pg_notify($1, $2)", {std::string(channel), std::string(payload)});
  }

  std::string insert_and_notify_sql(std::string_view insert_returning_id, std::string_view channel,
                                    int payload_param) const override {
    return "WITH j AS (" + std::string(insert_returning_id) + ") SELECT id, pg_notify(" +
           pg_quote_literal(channel) + ", $" + std::to_string(payload_param) + ") FROM j";
  }

  std::optional<Notification> wait_notification(std::chrono::milliseconds timeout) override {
    if (auto n = next_notification()) return n;
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (rc > 0 && !PQconsumeInput(conn_)) {
      if (PQstatus(conn_) == CONNECTION_BAD && transaction_depth() == 0) reconnect();
      return std::nullopt;
    }
    return next_notification();
  }

 protected:
  void begin_outermost(bool write) override {
    run_script(write ? "BEGIN" : "BEGIN READ ONLY", false);
    tenant_sent_in_tx_ = false;
  }
  void commit_outermost() override { run_script("COMMIT", false); }
  void rollback_outermost() override {
    if (PQstatus(conn_) != CONNECTION_OK) return;
    run_script("ROLLBACK", false);
    // A session setting changed inside a rolled-back transaction is undone by the server: what
    // it holds now is not known here, so the next statement sends the tenant again.
    if (tenant_sent_in_tx_) sent_tenant_.reset();
  }
  void apply_tenant(std::optional<int64_t> tenant_id) override {
    // Sent lazily, before the next statement, and only when it differs from the session's: a
    // request or a job that sets its tenant and resets it afterwards costs no round trip when the
    // connection's next one is of the same tenant.
    tenant_id_ = tenant_id;
  }

 private:
  class ParamArrays {
   public:
    explicit ParamArrays(const Params& params) {
      strings_.reserve(params.size());
      ptrs_.reserve(params.size());
      for (const Value& v : params.values()) {
        if (std::holds_alternative<std::monostate>(v)) {
          strings_.emplace_back();
          ptrs_.push_back(nullptr);
          continue;
        }
        if (auto* i = std::get_if<int64_t>(&v)) {
          strings_.push_back(std::to_string(*i));
        } else if (auto* d = std::get_if<double>(&v)) {
          char buf[64];
          auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *d);
          strings_.emplace_back(buf, end);
        } else {
          strings_.push_back(std::get<std::string>(v));
        }
        ptrs_.push_back(nullptr);
      }
      for (size_t i = 0; i < ptrs_.size(); ++i) {
        if (!std::holds_alternative<std::monostate>(params.values()[i])) {
          ptrs_[i] = strings_[i].c_str();
        }
      }
    }
    int count() const { return static_cast<int>(ptrs_.size()); }
    const char* const* values() const { return ptrs_.data(); }

   private:
    std::vector<std::string> strings_;
    std::vector<const char*> ptrs_;
  };

  void grant_app_role(const std::string& role) {
    const std::string q = pg_quote_identifier(role);
    if (!query_one("SELECT 1 FROM pg_roles WHERE rolname = $1", {role})) {
      try {
        execute_script("CREATE ROLE " + q + " NOLOGIN NOBYPASSRLS");
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kAlreadyExists && e.code() != ErrorCode::kInternal) {
          throw permission_denied("cannot create the app role " + q + " (" + e.what() +
                                  "); create it yourself and name it in DB_APP_ROLE");
        }
        if (e.code() == ErrorCode::kInternal) throw;
      }
    }
    // The owner must be able to SET ROLE to it; a superuser always can.
    execute_script("DO $$ BEGIN IF NOT pg_has_role(current_user, " + literal(role) +
                   ", 'MEMBER') THEN EXECUTE 'GRANT ' || quote_ident(" + literal(role) +
                   ") || ' TO ' || quote_ident(current_user); END IF; END $$;");
    execute_script("GRANT USAGE ON SCHEMA public TO " + q + "; " + narrow_grants_sql(role));
  }

  // Guarantee 11's grants, re-applied after every migrate (so tables a migration adds get them):
  // start from nothing, then SELECT everywhere; INSERT and UPDATE on every column but identity
  // ids (an id chosen by the app would make another tenant's next insert collide); DELETE. Not on
  // schema_migrations (read only), tenants (insert; update weight and max_concurrency only; never
  // delete) nor domain_events (append only). Sequences: USAGE only, so no setval (identity
  // columns need no privilege on their sequence). The app role gets no TRUNCATE, REFERENCES or
  // TRIGGER, and owns nothing.
  static std::string narrow_grants_sql(const std::string& role) {
    const std::string r = literal(role);
    return "DO $$ DECLARE t record; BEGIN"
           " EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', " +
           r +
           ");"
           " EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', " +
           r +
           ");"
           " FOR t IN SELECT c.relname AS name, string_agg(quote_ident(a.attname), ', ')"
           "   FILTER (WHERE a.attidentity = '') AS cols FROM pg_class c"
           "   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
           "   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"
           "   GROUP BY c.relname LOOP"
           "  EXECUTE format('GRANT SELECT ON %I TO %I', t.name, " +
           r +
           ");"
           "  IF t.name = 'schema_migrations' THEN CONTINUE; END IF;"
           "  EXECUTE format('GRANT INSERT (%s) ON %I TO %I', t.cols, t.name, " +
           r +
           ");"
           "  IF t.name = 'tenants' THEN"
           "   EXECUTE format('GRANT UPDATE (weight, max_concurrency) ON tenants TO %I', " +
           r +
           ");"
           "  ELSIF t.name <> 'domain_events' THEN"
           "   EXECUTE format('GRANT UPDATE (%s), DELETE ON %I TO %I', t.cols, t.name, " +
           r +
           ");"
           "  END IF;"
           " END LOOP;"
           " EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO %I', " +
           r +
           ");"
           " EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %I', " +
           r +
           ");"
           " END $$;";
  }

  static std::string literal(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') out += '\'';
      out += c;
    }
    return out + "'";
  }

  void connect() {
    conn_ = PQconnectdb(options_.conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      // libpq quotes pieces of a malformed DB_URL, password included: mask them (Guarantee 11).
      std::string msg = redact_conninfo(first_line(PQerrorMessage(conn_)), options_.conninfo);
      PQfinish(conn_);
      conn_ = nullptr;
      throw unavailable("cannot connect to PostgreSQL: " + msg +
                        " (is the server running, and are DB_URL or DB_HOST/DB_PORT right?)");
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    prepared_.clear();
    Result res(PQexec(conn_, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'"));
    check(res.get(), "SET TimeZone");
    if (options_.role) {
      Result r(PQexec(conn_, ("SET ROLE " + pg_quote_identifier(*options_.role)).c_str()));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        throw failed_precondition("cannot act as database role \"" + *options_.role +
                                  "\": " + first_line(PQresultErrorMessage(r.get())) +
                                  " (run `unity migrate` first, or set DB_APP_ROLE)");
      }
      refuse_role_around_isolation(*options_.role);
    }
    for (const auto& ch : listening_) {
      Result r(PQexec(conn_, ("LISTEN " + pg_quote_identifier(ch)).c_str()));
    }
    sent_tenant_.reset();  // a new session holds no tenant: sent before its first statement
  }

  // Guarantee 11: the app role must be one that row-level security applies to. A superuser or a
  // BYPASSRLS role skips every policy; a role that owns the tables (or is a member of their
  // owner) can turn the policies off and is held by owner_maintenance only within a tenant.
  void refuse_role_around_isolation(const std::string& role) {
    Result r(PQexec(conn_,
                    "SELECT rolsuper, rolbypassrls, EXISTS (SELECT 1 FROM pg_class c"
                    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
                    " AND pg_has_role(current_user, c.relowner, 'MEMBER'))"
                    " FROM pg_roles WHERE rolname = current_user"));
    check(r.get(), "SELECT rolsuper");
    if (PQntuples(r.get()) != 1) return;
    const auto yes = [&](int col) { return PQgetvalue(r.get(), 0, col)[0] == 't'; };
    std::string why = yes(0)   ? "is a superuser"
                      : yes(1) ? "has BYPASSRLS"
                      : yes(2) ? "owns the schema's tables (or is a member of their owner)"
                               : "";
    if (why.empty()) return;
    PQfinish(conn_);
    conn_ = nullptr;
    throw failed_precondition(
        "DB_APP_ROLE \"" + role + "\" " + why +
        ", so row-level security would not isolate tenants; set DB_APP_ROLE to a role without "
        "SUPERUSER or BYPASSRLS that owns nothing (unset, it is unity_app, which `unity migrate` "
        "creates)");
  }

  void reconnect() {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.reconnect_timeout_ms);
    auto pause = std::chrono::milliseconds(50);
    for (;;) {
      try {
        connect();
        return;
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kUnavailable || std::chrono::steady_clock::now() >= deadline) {
          throw;
        }
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
  }

  // Runs `op`; when the session is found dead outside a transaction, reconnects and runs it once
  // more. Inside a transaction the loss is reported: the server has rolled the transaction back.
  template <typename Op>
  void with_reconnect(Op&& op) {
    if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) {
      if (transaction_depth() > 0)
        throw unavailable("connection to PostgreSQL lost in a transaction");
      reconnect();
    }
    try {
      op();
    } catch (const Error&) {
      if (PQstatus(conn_) != CONNECTION_BAD) throw;
      if (transaction_depth() > 0) {
        throw unavailable("connection to PostgreSQL lost in a transaction; it was rolled back");
      }
      reconnect();
      op();
    }
  }

  Error connection_error(const std::string& what) {
    return unavailable("PostgreSQL " + what + ": " +
                       redact_conninfo(first_line(PQerrorMessage(conn_)), options_.conninfo));
  }

  Error error_of(const PGresult* res) {
    std::string msg = first_line(PQresultErrorMessage(res));
    if (msg.empty()) msg = first_line(PQerrorMessage(conn_));
    msg = redact_conninfo(msg, options_.conninfo);
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (!state && PQstatus(conn_) == CONNECTION_BAD) return unavailable(msg);
    return translate(state, msg);
  }

  // check() for COPY: the server refuses COPY FROM into a table with row-level security (every
  // tenant table) as an unsupported feature, which is the caller's mistake, not the server's.
  void copy_check(const PGresult* res) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && std::string_view(state) == "0A000") {
      throw failed_precondition(first_line(PQresultErrorMessage(res)) +
                                " (COPY into a staging table, then INSERT … SELECT)");
    }
    check(res, "COPY");
  }

  // Throws error_of(res) unless `res` succeeded. `what` names the statement for readers only.
  void check(const PGresult* res, [[maybe_unused]] std::string_view what) {
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw error_of(res);
  }

  const std::string& prepared_name(std::string_view sql) {
    std::string key(sql);
    if (auto it = prepared_.find(key); it != prepared_.end()) return it->second;
    std::string name = "u" + std::to_string(++statement_counter_);
    Result res(PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr));
    check(res.get(), sql);
    return prepared_.emplace(std::move(key), std::move(name)).first->second;
  }

  Result exec_prepared(std::string_view sql, const Params& params) {
    const std::string& name = prepared_name(sql);
    ParamArrays p(params);
    Result res(PQexecPrepared(conn_, name.c_str(), p.count(), p.values(), nullptr, nullptr, 0));
    check(res.get(), sql);
    return res;
  }

  static std::shared_ptr<const std::vector<std::string>> column_names(const PGresult* res) {
    auto cols = std::make_shared<std::vector<std::string>>();
    for (int c = 0; c < PQnfields(res); ++c) cols->emplace_back(PQfname(res, c));
    return cols;
  }

  void run_script(std::string_view sql, bool sync) {
    std::string text(sql);
    with_reconnect([&] {
      if (sync) sync_tenant();
      Result res(PQexec(conn_, text.c_str()));
      check(res.get(), text);
    });
  }

  // Makes the session's tenant setting (which row-level security reads) the connection's tenant.
  void sync_tenant() {
    if (sent_tenant_ && *sent_tenant_ == tenant_id_) return;
    std::string value = tenant_id_ ? std::to_string(*tenant_id_) : std::string();
    exec_prepared("SELECT set_config('unity.tenant_id', $1, false)", {value});
    sent_tenant_ = tenant_id_;
    if (transaction_depth() > 0) tenant_sent_in_tx_ = true;
  }

  std::optional<Notification> next_notification() {
    PQconsumeInput(conn_);
    PGnotify* n = PQnotifies(conn_);
    if (!n) return std::nullopt;
    Notification out{n->relname, n->extra ? n->extra : ""};
    PQfreemem(n);
    return out;
  }

  PostgresOptions options_;
  PGconn* conn_ = nullptr;
  Capabilities caps_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text → statement name
  uint64_t statement_counter_ = 0;
  std::optional<int64_t> tenant_id_;
  // What the session's setting holds (nullopt: not known, e.g. a new session or after a rollback).
  std::optional<std::optional<int64_t>> sent_tenant_;
  bool tenant_sent_in_tx_ = false;
  std::vector<std::string> listening_;
};

}  // namespace

std::string pg_quote_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string pg_quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::unique_ptr<Connection> open_postgres(const PostgresOptions& options) {
  return std::make_unique<PgConnection>(options);
}

}  // namespace unity::db
