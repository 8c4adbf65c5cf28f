// doctest, wherever it comes from: Debian installs <doctest/doctest.h>, the
// wrap fallback exposes <doctest.h>.
#pragma once
#if __has_include(<doctest/doctest.h>)
#include <doctest/doctest.h>
#else
#include <doctest.h>
#endif
