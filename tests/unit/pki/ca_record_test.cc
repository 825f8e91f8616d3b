#include "gateway/pki/ca_record.h"

#include <string>

#include <doctest/doctest.h>

using gw::pki::RecordEntry;
using gw::pki::RevocationReason;

TEST_SUITE("pki ca_record") {
  TEST_CASE("record survives format and parse") {
    RecordEntry valid{"8F00AA", 1767323045, "CN=good-client",
                      false,    0,          RevocationReason::Unspecified};
    RecordEntry revoked{"9ABC", 1767323045, "CN=alice,OU=ops",
                        true,   1767000000, RevocationReason::KeyCompromise};
    std::string text = gw::pki::formatRecord({valid, revoked});
    auto entries = gw::pki::parseRecord(text, "index.txt");
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 2);
    CHECK((*entries)[0].serialHex == "8F00AA");
    CHECK_FALSE((*entries)[0].revoked);
    CHECK((*entries)[1].subject == "CN=alice,OU=ops");
    CHECK((*entries)[1].revoked);
    CHECK((*entries)[1].revokedAt == 1767000000);
    CHECK((*entries)[1].reason == RevocationReason::KeyCompromise);
  }

  TEST_CASE("record line is human readable") {
    RecordEntry revoked{"9ABC", 1767323045, "CN=alice",
                        true,   1767323045, RevocationReason::Superseded};
    std::string text = gw::pki::formatRecord({revoked});
    CHECK(
        text.find("R\t9ABC\t2026-01-02T03:04:05Z\t2026-01-02T03:04:05Z\tsuperseded\tCN=alice\n") !=
        std::string::npos);
  }

  TEST_CASE("malformed line names source and line") {
    auto entries = gw::pki::parseRecord("# header\nV\t12\n", "ca/index.txt");
    REQUIRE_FALSE(entries.ok());
    CHECK(entries.error().find("ca/index.txt:2:") == 0);
  }

  TEST_CASE("unknown status is rejected") {
    auto entries = gw::pki::parseRecord("X\t12\t2026-01-02T03:04:05Z\t-\t-\tCN=a\n", "index.txt");
    CHECK_FALSE(entries.ok());
  }

  TEST_CASE("serial forms normalize alike") {
    CHECK(gw::pki::normalizeSerialHex("0x00ab") == "AB");
    CHECK(gw::pki::normalizeSerialHex("00:AB") == "AB");
    CHECK(gw::pki::normalizeSerialHex("ab") == "AB");
    CHECK(gw::pki::normalizeSerialHex("000") == "0");
    CHECK_FALSE(gw::pki::normalizeSerialHex("xyz").has_value());
    CHECK_FALSE(gw::pki::normalizeSerialHex("").has_value());
  }

  TEST_CASE("reason names map both ways") {
    for (auto reason : {RevocationReason::Unspecified, RevocationReason::KeyCompromise,
                        RevocationReason::CaCompromise, RevocationReason::AffiliationChanged,
                        RevocationReason::Superseded, RevocationReason::CessationOfOperation}) {
      CHECK(gw::pki::parseRevocationReason(gw::pki::revocationReasonName(reason)) == reason);
    }
    CHECK(gw::pki::parseRevocationReason("cACompromise") == RevocationReason::CaCompromise);
    CHECK_FALSE(gw::pki::parseRevocationReason("certificateHold").has_value());
  }
}
