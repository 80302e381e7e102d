#pragma once
// An event whose payload is a plain struct: DataEvent<D> for the sales, billing and CRM events.
//
// D provides `static constexpr std::string_view kName` (the seed's class name), `kAggregate`
// ("order", "invoice", "customer", …), `int64_t aggregate_id() const`, and nlohmann to_json /
// from_json (NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE). Decimals travel as strings (core/json.h).

#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "events/event.h"

namespace unity::erp {

template <typename D>
class DataEvent final : public events::Event {
 public:
  static constexpr std::string_view kName = D::kName;
  DataEvent(events::EventMeta meta, D data) : Event(std::move(meta)), data_(std::move(data)) {}

  const D& data() const { return data_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return std::string(D::kAggregate); }
  std::string aggregate_id() const override { return std::to_string(data_.aggregate_id()); }
  void write_payload(nlohmann::json& out) const override { out = data_; }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    try {
      return std::make_unique<DataEvent>(std::move(meta), p.get<D>());
    } catch (const nlohmann::json::exception& e) {
      throw invalid_argument(std::string(kName) + " payload: " + e.what());
    }
  }

 private:
  const D data_;
};

}  // namespace unity::erp
