// KeyStore: the API keys of `muse serve --api-keys FILE`, kept only as SHA-256 hashes, with a
// per-key request rate limit and token quota (docs/server.md, "API keys").
//
// File format, one key per line ('#' starts a comment, blank lines skipped):
//   KEY [NAME [REQUESTS_PER_MINUTE [TOKEN_QUOTA]]]
// KEY is "sha256:<64 hex digits>" (the hash of the key clients send) or the plain key, hashed on load.
// 0 (the default) means unlimited for the two limits.
//
// Thread-safe: every method locks. Errors: a bad file throws muse::Error naming the path and line.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace muse::server {

// Lower-case hex SHA-256 of `data` (OpenSSL's libcrypto).
std::string sha256_hex(std::string_view data);

enum class Admission { kOk, kUnknownKey, kRateLimited, kQuotaSpent };

struct AdmitResult {
  Admission what = Admission::kOk;
  std::string name;          // the key's name (for logs and metrics)
  double retry_after = 0.0;  // seconds, for kRateLimited / kQuotaSpent
};

class KeyStore {
 public:
  using Clock = std::chrono::steady_clock;

  // Parses the text of a keys file; `where` names it in errors.
  static KeyStore parse(std::string_view text, const std::string& where);
  static KeyStore load(const std::string& path);

  KeyStore() = default;
  KeyStore(KeyStore&& other) noexcept;
  KeyStore& operator=(KeyStore&& other) noexcept;

  size_t size() const;
  // Checks the key a client sent and takes one request from its rate limit.
  AdmitResult admit(std::string_view key, Clock::time_point now = Clock::now());
  // Adds tokens a finished request used to the key's quota count. Unknown keys are ignored.
  void charge(std::string_view key, int64_t tokens);
  int64_t used_tokens(std::string_view key) const;

 private:
  struct Entry {
    std::string name;
    double per_minute = 0;   // 0: unlimited
    int64_t quota = 0;       // 0: unlimited
    int64_t used = 0;
    double bucket = 0;       // requests available (token bucket of capacity per_minute)
    std::optional<Clock::time_point> last;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_hash_;
};

}  // namespace muse::server
