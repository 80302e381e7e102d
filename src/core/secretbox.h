#pragma once
// Secret-key encryption of small texts (job payloads at rest, DESIGN.md "The Bus"): libsodium's
// crypto_secretbox (XSalsa20-Poly1305) under a 32-byte application key. Only secretbox.cc
// includes sodium.h.
//
// A key is 32 raw bytes held in a std::string. Its text form is "base64:<standard base64>"
// (APP_KEY, APP_PREVIOUS_KEYS, `unity key:generate`). A sealed text is
//   v1:<key id>:<base64 of nonce (24 bytes) | ciphertext with its 16-byte tag>
// where the key id (key_id(): 16 hex digits of a BLAKE2b hash of the key) names the key that
// sealed it, so opening tries exactly that key. Thread-safe: every function is.

#include <string>
#include <string_view>
#include <vector>

namespace unity::secretbox {

inline constexpr size_t kKeyBytes = 32;

// A fresh random key.
std::string new_key();
// "base64:<44 characters>".
std::string encode_key(std::string_view key);
// The 32 bytes of "base64:<…>". Throws Error(kInvalidArgument) "<name> must be base64:
// followed by 32 bytes in base64 …"; the message never quotes the value (it is a secret).
std::string decode_key(std::string_view text, std::string_view name);
// 16 lowercase hex digits identifying `key` (a hash: it tells nothing about the key).
std::string key_id(std::string_view key);

// Seals `plaintext` under `key` (kKeyBytes; anything else is kInvalidArgument) with a fresh
// random nonce.
std::string seal(std::string_view plaintext, std::string_view key);

// Opens a sealed text with `current` (empty when APP_KEY is unset) or one of `previous`, the one
// whose key id it names. Throws Error(kFailedPrecondition) naming the key problem: no key set,
// sealed with a key that is neither APP_KEY nor one of APP_PREVIOUS_KEYS (by id), or it does not
// open with the key of its id (tampered with); kInvalidArgument when it is not a sealed text.
std::string open(std::string_view sealed, std::string_view current,
                 const std::vector<std::string>& previous);

}  // namespace unity::secretbox
