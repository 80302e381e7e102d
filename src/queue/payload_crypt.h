#pragma once
// Encryption at rest (DESIGN.md "The Bus"): the payload of a job type registered with
// JobOptions::encrypted is sealed (core/secretbox.h, under APP_KEY) when it is dispatched, stays
// sealed in `jobs`, `failed_jobs`, a chain's later links and a batch's callbacks, and is opened
// only by the worker, right before handle(). What lists or shows a job sees the sealed form. The
// stored form is a JSON object, so the payload column stays JSON:
//   {"sealed":"v1:<key id>:<base64 of nonce | ciphertext>"}

#include <string>
#include <string_view>

#include "core/config.h"

namespace unity::queue {

// The stored form of `payload` for a job of encrypted type `type`. Throws
// Error(kFailedPrecondition) naming the type when APP_KEY is not set.
std::string seal_payload(const Config& config, std::string_view type, std::string_view payload);

// Whether `stored` has the sealed form above ({"sealed":"v1:…"}, nothing else); says nothing of
// whether it opens.
bool is_sealed_payload(std::string_view stored);

// The payload a sealed job was dispatched with, opened with APP_KEY or APP_PREVIOUS_KEYS.
// Throws Error(kFailedPrecondition) "cannot decrypt the payload of <type>: <the key problem>"
// (no key, a key that is neither APP_KEY nor one of APP_PREVIOUS_KEYS, altered text), or
// kInvalidArgument when `stored` is not a sealed payload.
std::string open_payload(const Config& config, std::string_view type, std::string_view stored);

}  // namespace unity::queue
