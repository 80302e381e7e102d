#include "queue/payload_crypt.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/secretbox.h"

namespace unity::queue {

std::string seal_payload(const Config& config, std::string_view type, std::string_view payload) {
  if (config.app_key.empty()) {
    throw failed_precondition(std::string(type) +
                              " is an encrypted job type and APP_KEY is not set (run `unity "
                              "key:generate`, then give every worker the same key)");
  }
  // Base64, hex digits and ':' only: nothing to escape.
  return R"({"sealed":")" + secretbox::seal(payload, config.app_key) + R"("})";
}

bool is_sealed_payload(std::string_view stored) {
  const auto j = nlohmann::json::parse(stored, nullptr, false);
  if (!j.is_object() || j.size() != 1) return false;
  const auto sealed = j.find("sealed");
  return sealed != j.end() && sealed->is_string() &&
         sealed->get_ref<const std::string&>().starts_with("v1:");
}

std::string open_payload(const Config& config, std::string_view type, std::string_view stored) {
  const auto stored_json = nlohmann::json::parse(stored, nullptr, false);
  const auto sealed = stored_json.is_object() && stored_json.size() == 1
                          ? stored_json.find("sealed")
                          : stored_json.end();
  if (sealed == stored_json.end() || !sealed->is_string()) {
    throw invalid_argument("cannot decrypt the payload of " + std::string(type) +
                           ": it is not sealed (expected {\"sealed\":\"v1:…\"})");
  }
  try {
    return secretbox::open(sealed->get_ref<const std::string&>(), config.app_key,
                           config.app_previous_keys);
  } catch (const Error& e) {
    throw Error(e.code(), "cannot decrypt the payload of " + std::string(type) + ": " + e.what());
  }
}

}  // namespace unity::queue
