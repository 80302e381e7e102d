#pragma once
// Which hosts external sync may call (SyncExternalData, jobs/sync_job.h): the SSRF guard.
//
// An endpoint is called only when its host is in SYNC_ALLOWED_HOSTS (Config::AllowedHost: a name
// or an IP address, with an optional port). The `sync` command checks this at dispatch
// (check_endpoint, no DNS) and the job again before its first request (resolve_endpoint):
// - A listed IP address may be any address (naming it is the operator's decision): this is how
//   a loopback or private system is reached.
// - A listed name must resolve only to public addresses; one that resolves to a loopback,
//   private, link-local, shared (100.64/10), unspecified, multicast or reserved address (IPv4,
//   IPv6, or IPv4 mapped into IPv6) is refused unless that address is listed too
//   ("erp.internal,10.0.0.7" reaches erp.internal at 10.0.0.7 by name, TLS included).
// - The connection is pinned to the addresses checked (CURLOPT_RESOLVE), so a DNS answer that
//   changes between the check and the connection (rebinding) is never used; redirects are not
//   followed and proxy variables are ignored (http_client.h).
// Everything refused is kInvalidArgument (the job gives up at once, the command exits 2) and
// names the host, never the token. Thread-safe: no shared state.

#include <string>
#include <vector>

#include "core/config.h"

namespace unity::jobs {

struct SyncTarget {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case; an IPv6 address without brackets
  int port = 0;        // the URL's, or the scheme's default
};

// Parses `url` with libcurl's own parser (what is checked is what libcurl will call): http or
// https, a host, no user name or password in it (credentials belong in SYNC_TOKEN).
SyncTarget parse_endpoint(const std::string& url);

// parse_endpoint, then the host and port must match an entry of `allowed` (no DNS).
SyncTarget check_endpoint(const std::string& url, const std::vector<Config::AllowedHost>& allowed);

// check_endpoint, then resolves the host and checks every address as above. Returns the
// CURLOPT_RESOLVE entry that pins the connection to the checked addresses
// ("host:port:addr[,addr…]"), or "" when the host is an IP address (nothing to resolve).
std::string resolve_endpoint(const std::string& url,
                             const std::vector<Config::AllowedHost>& allowed);

}  // namespace unity::jobs
