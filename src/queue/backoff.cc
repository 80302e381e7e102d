#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "queue/job.h"

namespace unity::queue {

namespace {

std::chrono::milliseconds parse_seconds(const std::string& text, const std::string& spec) {
  double s = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
  if (ec != std::errc() || p != text.data() + text.size() || s < 0 || s > 86400 * 7 ||
      !std::isfinite(s)) {
    throw invalid_argument(
        "backoff '" + spec +
        "' is not valid: use seconds like 10, a list like 1,5,10, or exp[:BASE[:CAP]]");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(s * 1000)));
}

std::string seconds_text(std::chrono::milliseconds ms) {
  std::ostringstream out;
  out << static_cast<double>(ms.count()) / 1000.0;
  return out.str();
}

}  // namespace

Backoff Backoff::exponential(std::chrono::milliseconds base, std::chrono::milliseconds cap) {
  Backoff b;
  b.kind = Kind::kExponential;
  b.delays = {base};
  b.cap = cap;
  return b;
}

Backoff Backoff::parse(const std::string& spec) {
  if (spec == "exp") return exponential();
  if (spec.rfind("exp:", 0) == 0) {
    std::string rest = spec.substr(4);
    auto colon = rest.find(':');
    auto base = parse_seconds(rest.substr(0, colon), spec);
    auto cap = colon == std::string::npos ? std::chrono::milliseconds(std::chrono::hours(1))
                                          : parse_seconds(rest.substr(colon + 1), spec);
    return exponential(base, cap);
  }
  Backoff b;
  b.delays.clear();
  std::stringstream in(spec);
  for (std::string part; std::getline(in, part, ',');)
    b.delays.push_back(parse_seconds(part, spec));
  if (b.delays.empty()) throw invalid_argument("backoff is empty");
  b.kind = b.delays.size() == 1 ? Kind::kFixed : Kind::kList;
  return b;
}

std::string Backoff::to_string() const {
  if (kind == Kind::kExponential)
    return "exp:" + seconds_text(delays.at(0)) + ":" + seconds_text(cap);
  std::string out;
  for (auto d : delays) out += (out.empty() ? "" : ",") + seconds_text(d);
  return out;
}

std::chrono::milliseconds Backoff::delay(int attempt, double jitter) const {
  attempt = std::max(attempt, 1);
  switch (kind) {
    case Kind::kFixed:
      return delays.at(0);
    case Kind::kList:
      return delays.at(std::min<size_t>(attempt - 1, delays.size() - 1));
    case Kind::kExponential:
      break;
  }
  const double base = static_cast<double>(delays.at(0).count());
  const double raw =
      std::min(base * std::pow(2.0, std::min(attempt - 1, 40)), static_cast<double>(cap.count()));
  const double factor = 0.75 + 0.5 * std::clamp(jitter, 0.0, 0.999999);
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::min(raw * factor, static_cast<double>(cap.count()))));
}

}  // namespace unity::queue
