// ssz.h: merkleization against values computed by hand, and bounds checks.
#include "ssz.h"

#include <openssl/evp.h>

#include "hex.h"
#include "testing.h"

namespace ssz = leanpoint::ssz;
using leanpoint::to_hex;
using ssz::Root;

namespace {

Root sha(const std::vector<uint8_t>& in) {
  Root out;
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

Root concat_hash(const Root& a, const Root& b) {
  std::vector<uint8_t> both(a.begin(), a.end());
  both.insert(both.end(), b.begin(), b.end());
  return sha(both);
}

Root chunk(uint8_t fill) {
  Root r;
  r.fill(fill);
  return r;
}

}  // namespace

TEST_CASE("zero hashes: depth 0 is the zero chunk, then hash of two") {
  CHECK(ssz::zero_hash(0) == Root{});
  CHECK(to_hex(ssz::zero_hash(1)) == "0xf5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b");
  for (unsigned d = 1; d < 40; ++d)
    CHECK(ssz::zero_hash(d) == concat_hash(ssz::zero_hash(d - 1), ssz::zero_hash(d - 1)));
}

TEST_CASE("merkleize: small trees by hand") {
  const Root a = chunk(1), b = chunk(2), c = chunk(3);
  CHECK(ssz::merkleize(std::vector<Root>{a}) == a);
  CHECK(ssz::merkleize(std::vector<Root>{a, b}) == concat_hash(a, b));
  CHECK(ssz::merkleize(std::vector<Root>{a, b, c}) == concat_hash(concat_hash(a, b), concat_hash(c, Root{})));
  // A limit pads with zero subtrees up to its power of two.
  CHECK(ssz::merkleize(std::vector<Root>{a}, 4) == concat_hash(concat_hash(a, Root{}), ssz::zero_hash(1)));
  CHECK(ssz::merkleize(std::vector<Root>{}, 8) == ssz::zero_hash(3));
  CHECK(ssz::merkleize(std::vector<Root>{}, 0) == Root{});
  CHECK(ssz::merkleize(std::vector<Root>{a, b, c}, 1ull << 18) == [&] {
    Root r = concat_hash(concat_hash(a, b), concat_hash(c, Root{}));
    for (unsigned d = 2; d < 18; ++d) r = concat_hash(r, ssz::zero_hash(d));
    return r;
  }());
  CHECK_THROWS_AS(ssz::merkleize(std::vector<Root>{a, b, c}, 2), std::logic_error);
}

TEST_CASE("mix_in_length: the length as a little-endian uint256") {
  Root len{};
  len[0] = 0x34;
  len[1] = 0x12;
  CHECK(ssz::mix_in_length(chunk(7), 0x1234) == concat_hash(chunk(7), len));
}

TEST_CASE("pack and byte vectors") {
  const std::vector<uint8_t> bytes(52, 0xab);
  const auto chunks = ssz::pack(bytes);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[1][19] == 0xab);
  CHECK(chunks[1][20] == 0);
  CHECK(ssz::root_of_bytes(bytes) == concat_hash(chunks[0], chunks[1]));
  CHECK(ssz::pack({}).empty());
  CHECK(to_hex(ssz::root_of_u64(0x0102)) == "0x0201000000000000000000000000000000000000000000000000000000000000");
}

TEST_CASE("bitlists: delimiter, length, limit, round trip") {
  const std::vector<uint8_t> empty = {0x01};
  auto bits = ssz::decode_bitlist(empty, 8, "f");
  CHECK(bits.length == 0);
  CHECK(bits.bytes.empty());

  const std::vector<uint8_t> eight = {0xff, 0x01};  // 8 bits set, delimiter in a byte of its own
  bits = ssz::decode_bitlist(eight, 8, "f");
  CHECK(bits.length == 8);
  CHECK(bits.bytes == std::vector<uint8_t>{0xff});
  std::vector<uint8_t> out;
  ssz::encode_bitlist(bits, out);
  CHECK(out == eight);

  const std::vector<uint8_t> three = {0b1101};  // bits 1,0,1 then the delimiter
  bits = ssz::decode_bitlist(three, 8, "f");
  CHECK(bits.length == 3);
  CHECK(bits.get(0));
  CHECK_FALSE(bits.get(1));
  CHECK(bits.get(2));
  CHECK(bits == ssz::make_bitlist({true, false, true}));

  CHECK(testing::error_of<ssz::SszError>([] { ssz::decode_bitlist({}, 8, "S.bits"); }) ==
        "S.bits: empty bitlist (no delimiter bit)");
  const std::vector<uint8_t> no_delim = {0x05, 0x00};
  CHECK(testing::error_of<ssz::SszError>([&] { ssz::decode_bitlist(no_delim, 64, "S.bits"); }) ==
        "S.bits: last byte is zero (no delimiter bit)");
  CHECK(testing::error_of<ssz::SszError>([&] { ssz::decode_bitlist(eight, 7, "S.bits"); }) ==
        "S.bits: 8 bits exceeds the limit of 7");
}

TEST_CASE("bitlist root: 256 bits fill one chunk; the delimiter byte adds none") {
  std::vector<bool> v(256, true);
  const auto bits = ssz::make_bitlist(v);
  Root ones;
  ones.fill(0xff);
  Root len{};
  len[1] = 1;  // 256
  CHECK(ssz::root_of_bitlist(bits, 256) == concat_hash(ones, len));
}

TEST_CASE("split_variable: offsets are checked") {
  const size_t offsets_at[] = {0, 4};
  const char* names[] = {"a", "b"};
  auto buf = [](std::vector<uint8_t> v) { return v; };
  // Well-formed: fixed part 8 bytes, a = [8,10), b = [10,12).
  const auto ok = buf({8, 0, 0, 0, 10, 0, 0, 0, 1, 2, 3, 4});
  const auto parts = ssz::split_variable(ok, 8, offsets_at, names, "C");
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].size() == 2);
  CHECK(parts[1][1] == 4);

  CHECK(testing::error_of<ssz::SszError>([&] {
          ssz::split_variable(buf({8, 0, 0}), 8, offsets_at, names, "C");
        }) == "C: 3 bytes is shorter than its 8-byte fixed part");
  CHECK(testing::error_of<ssz::SszError>([&] {
          ssz::split_variable(buf({9, 0, 0, 0, 9, 0, 0, 0, 0}), 8, offsets_at, names, "C");
        }) == "C.a: first offset is 9, the fixed part is 8 bytes");
  CHECK(testing::error_of<ssz::SszError>([&] {
          ssz::split_variable(buf({8, 0, 0, 0, 99, 0, 0, 0}), 8, offsets_at, names, "C");
        }) == "C.b: offset 99 is past the end (8 bytes)");
  CHECK(testing::error_of<ssz::SszError>([&] {
          ssz::split_variable(buf({8, 0, 0, 0, 7, 0, 0, 0, 1}), 8, offsets_at, names, "C");
        }) == "C.b: offset 7 is before the previous one (8)");
  CHECK(testing::error_of<ssz::SszError>([&] {
          ssz::split_variable(buf({0, 0, 0, 0, 0}), 4, {}, {}, "F");
        }) == "F: 5 bytes, expected exactly 4");
}

TEST_CASE("split_variable_list: offset table checks") {
  CHECK(ssz::split_variable_list({}, 4, "L").empty());
  const std::vector<uint8_t> two = {8, 0, 0, 0, 9, 0, 0, 0, 0xaa, 0xbb, 0xcc};
  const auto parts = ssz::split_variable_list(two, 4, "L");
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].size() == 1);
  CHECK(parts[1].size() == 2);
  CHECK(testing::error_of<ssz::SszError>([&] { ssz::split_variable_list(two, 1, "L"); }) ==
        "L: 2 elements exceeds the limit of 1");
  const std::vector<uint8_t> odd = {6, 0, 0, 0, 0, 0};
  CHECK(testing::error_of<ssz::SszError>([&] {
          ssz::split_variable_list(odd, 4, "L");
        }).find("not a valid offset table") != std::string::npos);
  const std::vector<uint8_t> back = {8, 0, 0, 0, 5, 0, 0, 0};
  CHECK(testing::error_of<ssz::SszError>([&] { ssz::split_variable_list(back, 4, "L"); }) ==
        "L[1]: offset 5 is out of order or past the end");
  const std::vector<uint8_t> short_buf = {8, 0};
  CHECK(testing::error_of<ssz::SszError>([&] { ssz::split_variable_list(short_buf, 4, "L"); }) ==
        "L: 2 bytes cannot hold an offset");
}

TEST_CASE("split_fixed_list: size and limit") {
  const std::vector<uint8_t> b(64, 0);
  CHECK(ssz::split_fixed_list(b, 32, 2, "R").size() == 2);
  CHECK(testing::error_of<ssz::SszError>([&] { ssz::split_fixed_list(b, 32, 1, "R"); }) ==
        "R: 2 elements exceeds the limit of 1");
  CHECK(testing::error_of<ssz::SszError>([&] { ssz::split_fixed_list(std::span(b).first(40), 32, 9, "R"); }) ==
        "R: 40 bytes is not a multiple of the 32-byte element");
}

TEST_CASE("reads past the end are errors, not UB") {
  const std::vector<uint8_t> b(7, 0);
  CHECK_THROWS_AS(ssz::read_u64(b, 0), ssz::SszError);
  CHECK_THROWS_AS(ssz::read_u32(b, 4), ssz::SszError);
  CHECK_THROWS_AS(ssz::read_root(b, 0), ssz::SszError);
  CHECK_THROWS_AS(ssz::read_u32(b, SIZE_MAX - 1), ssz::SszError);
  CHECK(ssz::read_u32(b, 3) == 0);
}
