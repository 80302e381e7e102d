#include "queue/registry.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace unity::queue {
namespace {

TEST(RegistryTest, FindsRegisteredTypesAndRefusesDuplicates) {
  JobRegistry r;
  register_diag_jobs(r);
  EXPECT_NE(r.find("diag.noop"), nullptr);
  EXPECT_EQ(r.find("nope"), nullptr);
  EXPECT_THROW(r.add("diag.noop", {}, [] { return std::unique_ptr<Job>(); }), Error);
  EXPECT_EQ(r.names().size(), 5u);
  ASSERT_NE(r.find("diag.secret"), nullptr);
  EXPECT_TRUE(r.find("diag.secret")->options.encrypted);
  EXPECT_FALSE(r.find("diag.write")->options.encrypted);
}

TEST(RegistryTest, UnknownTypeErrorListsTheKnownOnes) {
  JobRegistry r;
  register_diag_jobs(r);
  try {
    r.get("SendInvoice");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("diag.noop"), std::string::npos);
  }
}

}  // namespace
}  // namespace unity::queue
