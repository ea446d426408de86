// Unit tests of the vector clock (I3) and the thread record's version encoding (I1).
#include <doctest/doctest.h>

#include "ssmem/native_policy.hpp"
#include "ssmem/thread_record.hpp"
#include "ssmem/vector_clock.hpp"

using clock_t_ = ssmem::vector_clock<ssmem::native_policy>;
using record = ssmem::thread_record<ssmem::native_policy>;

static void fill(clock_t_& c, std::initializer_list<ssmem::version_t> v) {
  REQUIRE(c.resize(v.size()));
  std::size_t i = 0;
  for (auto x : v) c.set(i++, x);
  c.mark_stamped(true);
}

TEST_CASE("a clock is newer only when every online entry is strictly greater") {
  clock_t_ old_c, new_c;
  fill(old_c, {2, 4, 6});
  fill(new_c, {4, 6, 8});
  CHECK(new_c.newer_than(old_c));
  CHECK_FALSE(old_c.newer_than(new_c));
}

TEST_CASE("equal entries are not newer") {
  clock_t_ a, b;
  fill(a, {2, 4, 6});
  fill(b, {4, 4, 8});
  CHECK_FALSE(b.newer_than(a));
  CHECK_FALSE(a.newer_than(a));
}

TEST_CASE("offline entries of the older clock are ignored") {
  clock_t_ old_c, new_c;
  fill(old_c, {2, 5, 6});  // slot 1 offline
  fill(new_c, {4, 5, 8});  // still offline, same value
  CHECK(new_c.newer_than(old_c));
  fill(old_c, {2, 4, 6});  // slot 1 online at the old stamp...
  fill(new_c, {4, 5, 8});  // ...and gone offline since: it moved on
  CHECK(new_c.newer_than(old_c));
  fill(old_c, {2, 4, 6});
  fill(new_c, {4, 4, 8});  // online, never moved: blocks
  CHECK_FALSE(new_c.newer_than(old_c));
}

TEST_CASE("slots registered after the older stamp are ignored") {
  clock_t_ old_c, new_c;
  fill(old_c, {2});
  fill(new_c, {4, 2, 2});
  CHECK(new_c.newer_than(old_c));
}

TEST_CASE("a shorter clock is never newer") {
  clock_t_ old_c, new_c;
  fill(old_c, {2, 2});
  fill(new_c, {4});
  CHECK_FALSE(new_c.newer_than(old_c));
}

TEST_CASE("a clock grows without losing entries it still needs and reports its size") {
  clock_t_ c;
  for (std::size_t n = 1; n < 100; n += 7) {
    REQUIRE(c.resize(n));
    CHECK(c.size() == n);
    for (std::size_t i = 0; i < n; ++i) c.set(i, 2 * i);
    for (std::size_t i = 0; i < n; ++i) CHECK(c[i] == 2 * i);
  }
}

TEST_CASE("every version transition strictly increases the value; odd means offline") {
  record r;  // constructed offline, as the domain publishes it
  CHECK(ssmem::version_is_offline(r.own_version()));
  ssmem::version_t v = r.own_version();
  r.go_online();
  CHECK(r.own_version() == v + 1);
  CHECK(r.is_online());
  r.bump();
  CHECK(r.own_version() == v + 3);
  CHECK_FALSE(ssmem::version_is_offline(r.own_version()));
  r.go_offline();
  CHECK(r.own_version() == v + 4);
  CHECK(ssmem::version_is_offline(r.load_version()));
}
