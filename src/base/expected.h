// leanpoint's one way to report an error across a module's interface: a
// fallible operation returns Expected<T, E>, a value or a typed error, in
// the manner of C++23's std::expected (which GCC 12 offers only under
// C++23). Exceptions stay inside a module; the error types are enums or
// small structs, and turn into text only where logs, JSON and metrics are
// written.
//
//   Expected<Response, Failure> r = http_get(...);
//   if (!r) return Unexpected(r.error());
//   use(*r);
#pragma once

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

}  // namespace leanpoint
