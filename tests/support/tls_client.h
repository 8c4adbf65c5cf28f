// HTTPS from a client address of the test's choosing (any 127.0.0.0/8
// address), for the public endpoint recipe: a socket bound to that address,
// TLS with OpenSSL, the server verified against the test's CA and its
// certificate checked for the name "localhost" (SNI too); then HTTP/1.1, one
// request per connection, as pair_client.h's plain fetch does.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "pair_client.h"
#include "test_server.h"

namespace testing {

// One verified TLS connection; every read and write gives up after 10 s.
class TlsConnection {
 public:
  TlsConnection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~TlsConnection() {
    SSL_free(ssl_);
    ::close(fd_);
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool send(const std::string& data) {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) == static_cast<int>(data.size());
  }
  // Until the server closes (or a read times out, or fails).
  std::string read_until_close() {
    std::string got;
    char buf[65536];
    for (int n; (n = SSL_read(ssl_, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
    return got;
  }
  // Until the end of a response head (or a read times out, or fails).
  std::string read_head() {
    std::string got;
    char c;
    while (got.find("\r\n\r\n") == std::string::npos && SSL_read(ssl_, &c, 1) == 1) got += c;
    return got;
  }
  // "TLSv1.2", "TLSv1.3".
  std::string protocol() const { return SSL_get_version(ssl_); }

 private:
  int fd_;
  SSL* ssl_;
};

class TlsClient {
 public:
  // Trusts only the certificate in `ca_file`; `max_version` (TLS1_2_VERSION)
  // caps the version offered, 0 offers every one OpenSSL allows.
  explicit TlsClient(const std::string& ca_file, int max_version = 0)
      : ctx_(SSL_CTX_new(TLS_client_method()), SSL_CTX_free) {
    if (!ctx_ || SSL_CTX_load_verify_locations(ctx_.get(), ca_file.c_str(), nullptr) != 1 ||
        (max_version != 0 && SSL_CTX_set_max_proto_version(ctx_.get(), max_version) != 1))
      throw std::runtime_error("TlsClient: no TLS context for " + ca_file);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  }

  // A TLS connection to 127.0.0.1:`port` from `source`, the server verified;
  // null when the connection or the handshake fails.
  std::unique_ptr<TlsConnection> connect(uint16_t port, const std::string& source) const {
    const int fd = connect_to(port, 0, source);
    if (fd < 0) return nullptr;
    const timeval ten{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof ten);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ten, sizeof ten);
    SSL* ssl = SSL_new(ctx_.get());
    if (!ssl) {
      ::close(fd);
      return nullptr;
    }
    auto conn = std::make_unique<TlsConnection>(fd, ssl);
    if (SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "localhost") != 1 ||
        SSL_set1_host(ssl, "localhost") != 1 || SSL_connect(ssl) != 1) {
      ERR_clear_error();
      return nullptr;
    }
    return conn;
  }

  // One GET on a new connection from `source`; the whole answer (status 0
  // when there was none, the handshake included).
  Reply fetch(uint16_t port, const std::string& source, const std::string& path,
              const std::string& extra_headers = "") const {
    const auto conn = connect(port, source);
    if (!conn ||
        !conn->send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "Connection: close\r\n\r\n"))
      return {};
    return parse(conn->read_until_close());
  }

 private:
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
};

}  // namespace testing
