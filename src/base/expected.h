// leanpoint's one way to report an error across a module's interface: a
// fallible operation returns Expected<T, E>, a value or a typed error, in
// the manner of C++23's std::expected (which GCC 12 offers only under
// C++23). Exceptions stay inside a module; E is the layer's error type, a
// kind enum with a detail string (Failure, SysError, PersistError,
// ConfigError, HeadError), and turns into text only where logs, JSON and
// metrics are written. ARCHITECTURE.md §4.
//
//   Expected<Response, Failure> r = http_get(...);
//   if (!r) return Unexpected(r.error());
//   use(*r);
//
// Expected<void, E> is an operation that returns nothing but may fail.
#pragma once

#include <optional>
#include <utility>
#include <variant>

namespace leanpoint {

template <typename E>
struct Unexpected {
  explicit Unexpected(E e) : error(std::move(e)) {}
  E error;
};

template <typename T, typename E>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}            // NOLINT: implicit, as std::expected
  Expected(Unexpected<E> e) : v_(std::in_place_index<1>, std::move(e.error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }

  E& error() & { return std::get<1>(v_); }
  const E& error() const& { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;                                      // success
  Expected(Unexpected<E> e) : error_(std::move(e.error)) {}  // NOLINT: implicit, as std::expected

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }

  E& error() & { return *error_; }
  const E& error() const& { return *error_; }

 private:
  std::optional<E> error_;
};

}  // namespace leanpoint
