#include "core/secretbox.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"

namespace unity::secretbox {
namespace {

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::kInternal;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(SecretboxTest, SealedTextOpensWithItsKeyAndHidesThePlaintext) {
  const std::string key = new_key();
  const std::string sealed = seal(R"({"card":"4111 1111"})", key);
  EXPECT_TRUE(sealed.starts_with("v1:" + key_id(key) + ":")) << sealed;
  EXPECT_EQ(sealed.find("4111"), std::string::npos);
  EXPECT_EQ(open(sealed, key, {}), R"({"card":"4111 1111"})");
  EXPECT_EQ(open(seal("", key), key, {}), "");
}

TEST(SecretboxTest, EverySealUsesAFreshNonce) {
  const std::string key = new_key();
  EXPECT_NE(seal("same", key), seal("same", key));
}

TEST(SecretboxTest, OpensWithThePreviousKeyItWasSealedWith) {
  const std::string old_key = new_key(), other = new_key(), current = new_key();
  const std::string sealed = seal("rotated", old_key);
  EXPECT_EQ(open(sealed, current, {other, old_key}), "rotated");
  EXPECT_EQ(open(sealed, "", {old_key}), "rotated");
}

TEST(SecretboxTest, AlteredTextDoesNotOpen) {
  const std::string key = new_key();
  std::string sealed = seal("pay 100 to alice", key);
  // Flip one base64 character inside the ciphertext (not the padding at the end).
  char& c = sealed[sealed.size() - 6];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_of([&] { open(sealed, key, {}); }), ErrorCode::kFailedPrecondition);
  EXPECT_NE(message_of([&] { open(sealed, key, {}); }).find("altered"), std::string::npos);
}

TEST(SecretboxTest, WrongOrMissingKeyIsNamedInTheError) {
  const std::string key = new_key(), wrong = new_key();
  const std::string sealed = seal("x", key);
  const std::string not_ours = message_of([&] { open(sealed, wrong, {}); });
  EXPECT_NE(not_ours.find("sealed with key " + key_id(key)), std::string::npos) << not_ours;
  EXPECT_NE(not_ours.find("APP_KEY (" + key_id(wrong) + ")"), std::string::npos) << not_ours;
  EXPECT_NE(not_ours.find("APP_PREVIOUS_KEYS"), std::string::npos) << not_ours;
  const std::string unset = message_of([&] { open(sealed, "", {}); });
  EXPECT_NE(unset.find("APP_KEY is not set"), std::string::npos) << unset;
  EXPECT_EQ(code_of([&] { open(sealed, "", {}); }), ErrorCode::kFailedPrecondition);
}

TEST(SecretboxTest, MalformedSealedTextIsInvalid) {
  const std::string key = new_key();
  for (const std::string& bad :
       std::vector<std::string>{"", "plain", "v1:", "v1:abc:AAAA", "v2:0011223344556677:AAAA",
                                "v1:0011223344556677:not base64!", "v1:0011223344556677:AAAA"}) {
    EXPECT_EQ(code_of([&] { open(bad, key, {}); }), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(SecretboxTest, KeyTextRoundTripsAndBadKeysAreRefusedWithoutQuotingThem) {
  const std::string key = new_key();
  const std::string text = encode_key(key);
  EXPECT_TRUE(text.starts_with("base64:"));
  EXPECT_EQ(text.size(), 7u + 44u);
  EXPECT_EQ(decode_key(text, "APP_KEY"), key);
  for (const std::string& bad :
       std::vector<std::string>{"", "base64:", "c2VjcmV0", "base64:c2VjcmV0", text.substr(7),
                                text + "AAAA", text + " ", "base64:!!!!" + text.substr(11)}) {
    const std::string m = message_of([&] { decode_key(bad, "APP_KEY"); });
    EXPECT_TRUE(m.starts_with("APP_KEY must be base64:")) << m;
    if (bad.size() > 7) {  // longer than the "base64:" the message names
      EXPECT_EQ(m.find(bad), std::string::npos) << m;
    }
  }
  EXPECT_EQ(code_of([&] { seal("x", "short"); }), ErrorCode::kInvalidArgument);
}

TEST(SecretboxTest, KeyIdsDifferPerKeyAndAreStable) {
  const std::string a = new_key(), b = new_key();
  EXPECT_EQ(key_id(a).size(), 16u);
  EXPECT_EQ(key_id(a), key_id(a));
  EXPECT_NE(key_id(a), key_id(b));
}

}  // namespace
}  // namespace unity::secretbox
