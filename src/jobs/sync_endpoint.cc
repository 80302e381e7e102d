#include "jobs/sync_endpoint.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/text.h"

namespace unity::jobs {

namespace {

struct Address {
  int family = AF_INET;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  bool operator==(const Address&) const = default;
};

std::optional<Address> parse_address(const std::string& text) {
  Address a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) return a;
  a.family = AF_INET6;
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::string address_text(const Address& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.family, a.bytes.data(), buf, sizeof buf);
  return buf;
}

// Why an IPv4 address (first 4 bytes) may not be called unless listed; nullptr when public.
const char* special_v4(const uint8_t* b) {
  const uint32_t v = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  const auto in = [v](uint32_t net, int bits) {
    return (v >> (32 - bits)) == (net >> (32 - bits));
  };
  if (in(0x00000000, 8)) return "unspecified";
  if (in(0x7F000000, 8)) return "loopback";
  if (in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16)) return "private";
  if (in(0xA9FE0000, 16)) return "link-local";
  if (in(0x64400000, 10)) return "shared (carrier-grade NAT)";
  if (in(0xE0000000, 4)) return "multicast";
  if (in(0xC0000000, 24) || in(0xC6120000, 15) || in(0xF0000000, 4)) return "reserved";
  return nullptr;
}

// IPv6; addresses that embed an IPv4 one (mapped, compatible, NAT64, 6to4) are judged by it.
const char* special(const Address& a) {
  const uint8_t* b = a.bytes.data();
  if (a.family == AF_INET) return special_v4(b);
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xFF, 0x9B};
  static constexpr uint8_t kZero[12] = {};
  const bool zero_prefix = std::memcmp(b, kZero, 12) == 0;
  if (zero_prefix && std::memcmp(b + 12, kZero, 3) == 0 && b[15] <= 1) {
    return b[15] == 0 ? "unspecified" : "loopback";
  }
  if (zero_prefix || std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) {
    return special_v4(b + 12);
  }
  if (b[0] == 0x20 && b[1] == 0x02) return special_v4(b + 2);  // 6to4
  if ((b[0] & 0xFE) == 0xFC) return "private";
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return "link-local";
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) return "site-local";
  if (b[0] == 0xFF) return "multicast";
  return nullptr;
}

bool port_matches(const Config::AllowedHost& entry, int port) {
  return entry.port == 0 || entry.port == port;
}

// An entry names `host` (the same name, or the same address however written).
bool host_matches(const Config::AllowedHost& entry, const std::string& host) {
  if (entry.host == host) return true;
  const auto a = parse_address(entry.host), b = parse_address(host);
  return a && b && *a == *b;
}

std::string host_port(const SyncTarget& t) {
  const bool v6 = t.host.find(':') != std::string::npos;
  return (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// A part of a parsed URL, or nullopt when the URL has none.
std::optional<std::string> url_part(CURLU* u, CURLUPart what, unsigned flags = 0) {
  char* part = nullptr;
  if (curl_url_get(u, what, &part, flags) != CURLUE_OK || !part) return std::nullopt;
  std::string out(part);
  curl_free(part);
  return out;
}

}  // namespace

SyncTarget parse_endpoint(const std::string& url) {
  const auto bad = [&url](const std::string& why) {
    return invalid_argument("--endpoint " + quote_for_message(url) + " " + why);
  };
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) throw internal_error("could not create a libcurl URL handle");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    throw bad("is not a URL");
  }
  SyncTarget t;
  t.scheme = url_part(u.get(), CURLUPART_SCHEME).value_or("");
  if (t.scheme != "http" && t.scheme != "https") {
    throw bad("must be an http:// or https:// URL");
  }
  if (url_part(u.get(), CURLUPART_USER) || url_part(u.get(), CURLUPART_PASSWORD)) {
    throw bad("must not carry a user name or password (the token is SYNC_TOKEN)");
  }
  std::string host = url_part(u.get(), CURLUPART_HOST).value_or("");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) throw bad("has no host");
  t.host = ascii_lower(host);
  t.port = std::stoi(url_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("0"));
  return t;
}

SyncTarget check_endpoint(const std::string& url, const std::vector<Config::AllowedHost>& allowed) {
  SyncTarget t = parse_endpoint(url);
  for (const auto& entry : allowed) {
    if (host_matches(entry, t.host) && port_matches(entry, t.port)) return t;
  }
  throw invalid_argument("the sync endpoint's host " + host_port(t) +
                         " is not in SYNC_ALLOWED_HOSTS" +
                         (allowed.empty() ? " (it is empty: no sync endpoint is allowed)"
                                          : " (the hosts sync may call)"));
}

std::string resolve_endpoint(const std::string& url,
                             const std::vector<Config::AllowedHost>& allowed) {
  const SyncTarget t = check_endpoint(url, allowed);
  if (parse_address(t.host)) return "";  // a listed address: called as it is, whatever its range
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(t.host.c_str(), nullptr, &hints, &found); rc != 0) {
    throw unavailable("cannot resolve the sync endpoint's host " + t.host + ": " +
                      gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, freeaddrinfo);
  std::vector<Address> addresses;
  for (const addrinfo* ai = found; ai; ai = ai->ai_next) {
    Address a;
    a.family = ai->ai_family;
    if (ai->ai_family == AF_INET) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
    } else if (ai->ai_family == AF_INET6) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr,
                  16);
    } else {
      continue;
    }
    if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) addresses.push_back(a);
  }
  if (addresses.empty())
    throw unavailable("the sync endpoint's host " + t.host + " has no address");
  std::string pin = host_port(t) + ":";
  for (size_t i = 0; i < addresses.size(); ++i) {
    const Address& a = addresses[i];
    const std::string text = address_text(a);
    if (const char* why = special(a)) {
      const bool listed = std::any_of(allowed.begin(), allowed.end(), [&](const auto& e) {
        return parse_address(e.host) == a && port_matches(e, t.port);
      });
      if (!listed) {
        throw invalid_argument("the sync endpoint's host " + t.host + " resolves to " + text +
                               ", a " + why +
                               " address; list that address in SYNC_ALLOWED_HOSTS to allow it");
      }
    }
    pin += (i ? "," : "") + (a.family == AF_INET6 ? "[" + text + "]" : text);
  }
  return pin;
}

}  // namespace unity::jobs
