#include "core/secretbox.h"

#include <sodium.h>

#include "core/error.h"

namespace unity::secretbox {

namespace {

constexpr std::string_view kKeyPrefix = "base64:";
constexpr std::string_view kVersion = "v1:";
constexpr size_t kKeyIdBytes = 8;
constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;

void init() {
  if (sodium_init() < 0) throw internal_error("libsodium could not be initialised");
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string to_base64(std::string_view raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes(raw), raw.size(), kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// The bytes of standard base64 `text`, or false when it is not exactly that.
bool from_base64(std::string_view text, std::string& out) {
  out.assign(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, kVariant) != 0 ||
      end != text.data() + text.size()) {
    return false;
  }
  out.resize(len);
  return true;
}

void check_key(std::string_view key) {
  if (key.size() != kKeyBytes) {
    throw invalid_argument("an encryption key must be " + std::to_string(kKeyBytes) + " bytes");
  }
}

}  // namespace

std::string new_key() {
  init();
  std::string key(kKeyBytes, '\0');
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string encode_key(std::string_view key) {
  check_key(key);
  return std::string(kKeyPrefix) + to_base64(key);
}

std::string decode_key(std::string_view text, std::string_view name) {
  init();
  std::string key;
  if (!text.starts_with(kKeyPrefix) || !from_base64(text.substr(kKeyPrefix.size()), key) ||
      key.size() != kKeyBytes) {
    throw invalid_argument(std::string(name) + " must be base64: followed by " +
                           std::to_string(kKeyBytes) +
                           " bytes in base64 (as `unity key:generate` writes it)");
  }
  return key;
}

std::string key_id(std::string_view key) {
  init();
  // A keyed hash of a fixed text: the id cannot be confused with a hash of anything else.
  constexpr std::string_view kLabel = "unity payload key id";
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash(digest, sizeof digest, bytes(kLabel), kLabel.size(), bytes(key), key.size());
  char hex[kKeyIdBytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, kKeyIdBytes);
  return hex;
}

std::string seal(std::string_view plaintext, std::string_view key) {
  check_key(key);
  init();
  std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, bytes(plaintext), plaintext.size(),
                        nonce, bytes(key));
  return std::string(kVersion) + key_id(key) + ":" + to_base64(box);
}

std::string open(std::string_view sealed, std::string_view current,
                 const std::vector<std::string>& previous) {
  init();
  const auto malformed = [] {
    return invalid_argument("not a sealed payload (expected v1:<key id>:<base64>)");
  };
  if (!sealed.starts_with(kVersion)) throw malformed();
  sealed.remove_prefix(kVersion.size());
  const size_t colon = sealed.find(':');
  if (colon != kKeyIdBytes * 2) throw malformed();
  const std::string_view id = sealed.substr(0, colon);
  std::string box;
  if (!from_base64(sealed.substr(colon + 1), box) ||
      box.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    throw malformed();
  }
  if (current.empty() && previous.empty()) {
    throw failed_precondition("APP_KEY is not set: cannot open a payload sealed with key " +
                              std::string(id));
  }
  std::string_view key;
  if (!current.empty() && key_id(current) == id) key = current;
  for (size_t i = 0; key.empty() && i < previous.size(); ++i) {
    if (key_id(previous[i]) == id) key = previous[i];
  }
  if (key.empty()) {
    throw failed_precondition("the payload was sealed with key " + std::string(id) +
                              ", which is neither APP_KEY (" +
                              (current.empty() ? std::string("not set") : key_id(current)) +
                              ") nor one of APP_PREVIOUS_KEYS");
  }
  check_key(key);
  const auto* nonce = bytes(box);
  const size_t cipher_len = box.size() - crypto_secretbox_NONCEBYTES;
  std::string plain(cipher_len - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, cipher_len, nonce,
                                 bytes(key)) != 0) {
    throw failed_precondition("the payload does not open with key " + std::string(id) +
                              " (APP_KEY or APP_PREVIOUS_KEYS): it was altered");
  }
  return plain;
}

}  // namespace unity::secretbox
