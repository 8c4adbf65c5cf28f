// Text from outside made safe (untrusted_text.h), and the edges that print
// it: JSON that cannot throw (json_text), Prometheus label values
// (escape_label_value) and the log line.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "fd.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "testing.h"
#include "untrusted_text.h"

using leanpoint::is_printable_utf8;
using leanpoint::untrusted_text;

TEST_CASE("untrusted_text: printable UTF-8 unchanged; control bytes and invalid UTF-8 as \\xNN") {
  CHECK(untrusted_text("chunked, gzip") == "chunked, gzip");
  CHECK(untrusted_text("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 a\\b") ==
        "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 a\\b");
  CHECK(untrusted_text("\xff\xfe\x1b[31m") == "\\xff\\xfe\\x1b[31m");
  CHECK(untrusted_text("a\r\nINFO fake") == "a\\x0d\\x0aINFO fake");
  CHECK(untrusted_text(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(untrusted_text("del\x7f") == "del\\x7f");
  CHECK(untrusted_text("c1 \xc2\x9b"
                       "31m") == "c1 \\xc2\\x9b31m");  // U+009B, a terminal's CSI
  CHECK(untrusted_text("\xc2\xa0") == "\xc2\xa0");     // U+00A0 is printable
  // Not UTF-8: a stray continuation byte, an overlong form, a surrogate, a
  // truncated sequence, a code point above U+10FFFF.
  CHECK(untrusted_text("\x80") == "\\x80");
  CHECK(untrusted_text("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(untrusted_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(untrusted_text("\xe2\x9c") == "\\xe2\\x9c");
  CHECK(untrusted_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
}

TEST_CASE("untrusted_text: capped at a character boundary with an ellipsis; idempotent") {
  const std::string long_text(1000, 'a');
  const std::string capped = untrusted_text(long_text);
  CHECK(capped.size() == leanpoint::kUntrustedTextCap);
  CHECK(capped.substr(capped.size() - 3) == "...");
  CHECK(untrusted_text(std::string(256, 'a')) == std::string(256, 'a'));  // at the cap: whole
  // A multi-byte character or an escape is never cut in half.
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xe2\x82\xac";  // U+20AC, 3 bytes
  CHECK(is_printable_utf8(untrusted_text(euros, 20)));
  CHECK(untrusted_text(euros, 20) == "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac...");
  CHECK(untrusted_text(std::string(10, '\x1b'), 12) == "\\x1b\\x1b...");
  for (const std::string& s : {std::string("\xff\x1b[31m a\\x1b"), euros, std::string("\r\n")})
    CHECK(untrusted_text(untrusted_text(s, 1000), 1000) == untrusted_text(s, 1000));
}

TEST_CASE("is_printable_utf8: what an upstream name must be") {
  CHECK(is_printable_utf8("zeam_0"));
  CHECK(is_printable_utf8("n\xc3\xb3 de \xe2\x9c\x93"));
  CHECK(is_printable_utf8(""));
  CHECK_FALSE(is_printable_utf8("a\tb"));
  CHECK_FALSE(is_printable_utf8("a\x1b[31m"));
  CHECK_FALSE(is_printable_utf8("b\xff"));
  CHECK_FALSE(is_printable_utf8("\xc2\x85"));  // NEL
}

TEST_CASE("json_text: invalid UTF-8 in a string is replaced, never thrown") {
  const nlohmann::ordered_json doc = {{"detail", "\xff\xfe ok"}};
  CHECK_THROWS(doc.dump());  // what the site did before
  CHECK(leanpoint::json_text(doc) == "{\"detail\":\"\xef\xbf\xbd\xef\xbf\xbd ok\"}");
}

TEST_CASE("escape_label_value: the exposition format's escapes, on valid UTF-8 without control characters") {
  using leanpoint::escape_label_value;
  CHECK(escape_label_value("zeam_0") == "zeam_0");
  CHECK(escape_label_value("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(escape_label_value("a\nb") == "a\\\\x0ab");
  CHECK(escape_label_value("\x1b[31m\r\xff") == "\\\\x1b[31m\\\\x0d\\\\xff");
}

TEST_CASE("a log line is one line: control characters and invalid UTF-8 in the message escaped") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  leanpoint::UniqueFd read_end(fds[0]), write_end(fds[1]);
  const int saved = ::dup(STDERR_FILENO);
  REQUIRE(saved >= 0);
  ::dup2(write_end.get(), STDERR_FILENO);
  leanpoint::log(leanpoint::LogLevel::error, "upstream ", "a\x1b[31m\r\nINFO fake \xff", " failed");
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  write_end.reset();
  std::string line(4096, '\0');
  const ssize_t n = ::read(read_end.get(), line.data(), line.size());
  REQUIRE(n > 0);
  line.resize(static_cast<size_t>(n));
  CHECK(line.find("ERROR upstream a\\x1b[31m\\x0d\\x0aINFO fake \\xff failed\n") != std::string::npos);
  CHECK(line.find('\n') == line.size() - 1);
}
