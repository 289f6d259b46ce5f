#include "server/keys.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace muse::server {

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    fail(ErrorCode::kUnsupported, "SHA-256 is not available from OpenSSL");
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

namespace {

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

template <typename T>
T parse_number(std::string_view s, const std::string& where, int line, const char* what) {
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    fail(ErrorCode::kInvalidArgument, "{}:{}: {} must be a number >= 0 (got '{}')", where, line, what, s);
  }
  return v;
}

}  // namespace

KeyStore::KeyStore(KeyStore&& other) noexcept {
  std::lock_guard<std::mutex> lk(other.mu_);
  by_hash_ = std::move(other.by_hash_);
}

KeyStore& KeyStore::operator=(KeyStore&& other) noexcept {
  if (this != &other) {
    std::scoped_lock lk(mu_, other.mu_);
    by_hash_ = std::move(other.by_hash_);
  }
  return *this;
}

KeyStore KeyStore::parse(std::string_view text, const std::string& where) {
  KeyStore ks;
  std::istringstream in{std::string(text)};
  std::string raw;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    if (const size_t hash = raw.find('#'); hash != std::string::npos) raw.resize(hash);
    std::istringstream fields(raw);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.empty()) continue;
    if (f.size() > 4) fail(ErrorCode::kInvalidArgument, "{}:{}: expected KEY [NAME [PER_MINUTE [QUOTA]]], got {} fields", where, line, f.size());
    std::string digest;
    if (f[0].rfind("sha256:", 0) == 0) {
      digest = f[0].substr(7);
      if (!is_hex64(digest)) fail(ErrorCode::kInvalidArgument, "{}:{}: sha256: must be followed by 64 hex digits", where, line);
      std::transform(digest.begin(), digest.end(), digest.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    } else {
      digest = sha256_hex(f[0]);
    }
    Entry e;
    e.name = f.size() > 1 ? f[1] : fmt::format("key{}", line);
    if (f.size() > 2) e.per_minute = parse_number<double>(f[2], where, line, "requests per minute");
    if (f.size() > 3) e.quota = parse_number<int64_t>(f[3], where, line, "token quota");
    e.bucket = e.per_minute;
    if (!ks.by_hash_.emplace(digest, std::move(e)).second) {
      fail(ErrorCode::kInvalidArgument, "{}:{}: the same key appears twice", where, line);
    }
  }
  if (ks.by_hash_.empty()) fail(ErrorCode::kInvalidArgument, "{}: no keys in the file", where);
  return ks;
}

KeyStore KeyStore::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kNotFound, "--api-keys: cannot read '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

size_t KeyStore::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return by_hash_.size();
}

AdmitResult KeyStore::admit(std::string_view key, Clock::time_point now) {
  const std::string digest = sha256_hex(key);
  std::lock_guard<std::mutex> lk(mu_);
  auto it = by_hash_.find(digest);
  if (it == by_hash_.end()) return {Admission::kUnknownKey, "", 0.0};
  Entry& e = it->second;
  AdmitResult r{Admission::kOk, e.name, 0.0};
  if (e.quota > 0 && e.used >= e.quota) {
    r.what = Admission::kQuotaSpent;
    r.retry_after = 3600;
    return r;
  }
  if (e.per_minute > 0) {
    // Token bucket: capacity per_minute requests, refilled at per_minute / 60 per second.
    const double rate = e.per_minute / 60.0;
    if (e.last) e.bucket = std::min(e.per_minute, e.bucket + std::chrono::duration<double>(now - *e.last).count() * rate);
    e.last = now;
    if (e.bucket < 1.0) {
      r.what = Admission::kRateLimited;
      r.retry_after = (1.0 - e.bucket) / rate;
      return r;
    }
    e.bucket -= 1.0;
  }
  return r;
}

void KeyStore::charge(std::string_view key, int64_t tokens) {
  const std::string digest = sha256_hex(key);
  std::lock_guard<std::mutex> lk(mu_);
  if (auto it = by_hash_.find(digest); it != by_hash_.end()) it->second.used += tokens;
}

int64_t KeyStore::used_tokens(std::string_view key) const {
  const std::string digest = sha256_hex(key);
  std::lock_guard<std::mutex> lk(mu_);
  auto it = by_hash_.find(digest);
  return it == by_hash_.end() ? 0 : it->second.used;
}

}  // namespace muse::server
