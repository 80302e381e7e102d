#include "db/migrate.h"

#include <cstdio>
#include <map>

#include "core/clock.h"
#include "core/embedded_file.h"
#include "core/error.h"
#include "db/transaction.h"

namespace unity::db {

namespace {

std::string stem(std::string_view file) {
  auto dot = file.rfind('.');
  return std::string(file.substr(0, dot));
}

std::string version_of(std::string_view file) {
  auto us = file.find('_');
  return std::string(file.substr(0, us));
}

}  // namespace

std::string checksum_of(std::string_view text) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Migrator::Migrator(Connection& conn, std::string app_role, std::string queue_table)
    : conn_(conn), app_role_(std::move(app_role)), queue_table_(std::move(queue_table)) {}

std::string Migrator::render(std::string_view contents) const {
  static constexpr std::string_view kMark = "{{queue_table}}";
  std::string out;
  out.reserve(contents.size());
  size_t pos = 0;
  for (size_t hit; (hit = contents.find(kMark, pos)) != std::string_view::npos;
       pos = hit + kMark.size()) {
    out.append(contents.substr(pos, hit - pos));
    out.append(queue_table_);
  }
  out.append(contents.substr(pos));
  return out;
}

void Migrator::ensure_table() {
  // Under the migration lock: two first runs would otherwise race on CREATE TABLE IF NOT EXISTS.
  Transaction tx(conn_);
  conn_.lock_for_migration();
  conn_.execute_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version TEXT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
      " applied_at TEXT NOT NULL)");
  tx.commit();
}

void Migrator::verify_checksums() {
  std::map<std::string, std::string> applied;
  conn_.query_each("SELECT version, checksum FROM schema_migrations", {},
                   [&](const Row& r) { applied[r.get<std::string>(0)] = r.get<std::string>(1); });
  for (const auto& file : conn_.migration_files()) {
    auto it = applied.find(version_of(file.name));
    if (it != applied.end() && it->second != checksum_of(file.contents)) {
      throw failed_precondition("migration " + stem(file.name) +
                                " changed after it was applied (checksum " + it->second + ", now " +
                                checksum_of(file.contents) +
                                "); restore the file and add a new migration instead");
    }
  }
}

std::vector<std::string> Migrator::migrate() {
  ensure_table();
  verify_checksums();
  std::vector<std::string> done;
  for (const auto& file : conn_.migration_files()) {
    const std::string version = version_of(file.name);
    Transaction tx(conn_);
    conn_.lock_for_migration();
    if (conn_.query_one("SELECT 1 FROM schema_migrations WHERE version = $1", {version})) continue;
    try {
      conn_.execute_script(render(file.contents));
    } catch (const Error& e) {
      throw Error(e.code(), "migration " + stem(file.name) + " failed: " + e.what());
    }
    conn_.execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1,$2,$3,$4)",
        {version, stem(file.name), checksum_of(file.contents),
         format_iso8601(system_clock().now())});
    tx.commit();
    done.push_back(stem(file.name));
  }
  conn_.prepare_app_role(app_role_);
  return done;
}

std::vector<std::string> Migrator::fresh() {
  conn_.drop_all();
  return migrate();
}

size_t Migrator::pending_count() {
  std::map<std::string, bool> applied;
  try {
    conn_.query_each("SELECT version FROM schema_migrations", {},
                     [&](const Row& r) { applied[r.get<std::string>(0)] = true; });
  } catch (const Error&) {
    // No schema_migrations table: nothing applied.
  }
  size_t pending = 0;
  for (const auto& file : conn_.migration_files())
    pending += applied.count(version_of(file.name)) ? 0 : 1;
  return pending;
}

std::vector<MigrationStatus> Migrator::status() {
  ensure_table();
  std::map<std::string, std::pair<std::string, std::string>> applied;  // version → checksum, at
  std::map<std::string, std::string> applied_names;
  conn_.query_each(
      "SELECT version, name, checksum, applied_at FROM schema_migrations", {}, [&](const Row& r) {
        applied[r.get<std::string>(0)] = {r.get<std::string>(2), r.get<std::string>(3)};
        applied_names[r.get<std::string>(0)] = r.get<std::string>(1);
      });
  std::vector<MigrationStatus> out;
  for (const auto& file : conn_.migration_files()) {
    MigrationStatus s;
    s.version = version_of(file.name);
    s.name = stem(file.name);
    s.checksum = checksum_of(file.contents);
    if (auto it = applied.find(s.version); it != applied.end()) {
      s.applied = true;
      s.applied_at = it->second.second;
      s.changed = it->second.first != s.checksum;
      applied.erase(it);
    }
    out.push_back(std::move(s));
  }
  for (const auto& [version, sum_at] : applied) {  // applied by a newer binary
    out.push_back({version, applied_names[version], sum_at.first, true, sum_at.second, false});
  }
  return out;
}

}  // namespace unity::db
