// API keys: hashing (against published SHA-256 test vectors), the file format, rate limits and quotas.
#include "server/keys.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace muse::server {
namespace {

TEST(Keys, Sha256MatchesTheFips180Vectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Keys, PlainAndHashedKeysAreBothAccepted) {
  const std::string text = "# comment\n\nsk-plain alice\nsha256:" + sha256_hex("sk-hashed") + " bob 0 0 # trailing\n";
  KeyStore ks = KeyStore::parse(text, "keys.txt");
  EXPECT_EQ(ks.size(), 2u);
  EXPECT_EQ(ks.admit("sk-plain").what, Admission::kOk);
  EXPECT_EQ(ks.admit("sk-plain").name, "alice");
  EXPECT_EQ(ks.admit("sk-hashed").what, Admission::kOk);
  EXPECT_EQ(ks.admit("sk-hashed").name, "bob");
  EXPECT_EQ(ks.admit("sk-other").what, Admission::kUnknownKey);
  EXPECT_EQ(ks.admit("").what, Admission::kUnknownKey);
  // The hash, not the key, is what a file may hold: sending the hash itself is not the key.
  EXPECT_EQ(ks.admit(sha256_hex("sk-hashed")).what, Admission::kUnknownKey);
}

TEST(Keys, BadFilesNameTheLine) {
  auto msg = [](const std::string& text) {
    try {
      KeyStore::parse(text, "k.txt");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg("ok\nsha256:abc\n").find("k.txt:2"), std::string::npos);
  EXPECT_NE(msg("a b -1\n").find("k.txt:1"), std::string::npos);
  EXPECT_NE(msg("a b 1 x\n").find("quota"), std::string::npos);
  EXPECT_NE(msg("a b 1 2 3\n").find("fields"), std::string::npos);
  EXPECT_NE(msg("a\na\n").find("twice"), std::string::npos);
  EXPECT_NE(msg("# nothing\n").find("no keys"), std::string::npos);
}

TEST(Keys, RateLimitRefillsOverTime) {
  KeyStore ks = KeyStore::parse("k name 2\n", "k");
  const auto t0 = KeyStore::Clock::now();
  EXPECT_EQ(ks.admit("k", t0).what, Admission::kOk);
  EXPECT_EQ(ks.admit("k", t0).what, Admission::kOk);
  const AdmitResult third = ks.admit("k", t0);
  EXPECT_EQ(third.what, Admission::kRateLimited);
  EXPECT_NEAR(third.retry_after, 30.0, 1e-6);  // 2 per minute: one every 30 s
  EXPECT_EQ(ks.admit("k", t0 + std::chrono::seconds(29)).what, Admission::kRateLimited);
  EXPECT_EQ(ks.admit("k", t0 + std::chrono::seconds(31)).what, Admission::kOk);
}

TEST(Keys, QuotaStopsAKeyOnceSpent) {
  KeyStore ks = KeyStore::parse("k name 0 100\nother\n", "k");
  EXPECT_EQ(ks.admit("k").what, Admission::kOk);
  ks.charge("k", 60);
  EXPECT_EQ(ks.admit("k").what, Admission::kOk);
  ks.charge("k", 40);
  EXPECT_EQ(ks.used_tokens("k"), 100);
  EXPECT_EQ(ks.admit("k").what, Admission::kQuotaSpent);
  ks.charge("other", 1000000);
  EXPECT_EQ(ks.admit("other").what, Admission::kOk);  // unlimited
}

}  // namespace
}  // namespace muse::server
