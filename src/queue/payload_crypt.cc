#include "queue/payload_crypt.h"

#include <optional>
#include <string>
#include <utility>

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

namespace {

// The box of a stored payload in the sealed form {"sealed":"…"}; nullopt for any other text.
std::optional<std::string> sealed_box(std::string_view stored) {
  auto j = nlohmann::json::parse(stored, nullptr, false);
  if (!j.is_object() || j.size() != 1) return std::nullopt;
  const auto sealed = j.find("sealed");
  if (sealed == j.end() || !sealed->is_string()) return std::nullopt;
  return std::move(sealed->get_ref<std::string&>());
}

}  // namespace

bool is_sealed_payload(std::string_view stored) {
  const auto box = sealed_box(stored);
  return box && box->starts_with("v1:");
}

std::string open_payload(const Config& config, std::string_view type, std::string_view stored) {
  const auto box = sealed_box(stored);
  if (!box) {
    throw invalid_argument("cannot decrypt the payload of " + std::string(type) +
                           ": it is not sealed (expected {\"sealed\":\"v1:…\"})");
  }
  try {
    return secretbox::open(*box, config.app_key, config.app_previous_keys);
  } catch (const Error& e) {
    throw Error(e.code(), "cannot decrypt the payload of " + std::string(type) + ": " + e.what());
  }
}

}  // namespace unity::queue
