// Unit tests of the domain: record registration, adoption and snapshots (I2).
#include <doctest/doctest.h>

#include <set>
#include <thread>
#include <vector>

#include "ssmem/domain.hpp"
#include "ssmem/native_policy.hpp"

using domain = ssmem::basic_domain<ssmem::native_policy>;
using record = ssmem::thread_record<ssmem::native_policy>;

TEST_CASE("records get contiguous indexes and a snapshot covers all of them") {
  domain d;
  record* a = d.register_thread();
  record* b = d.register_thread();
  record* c = d.register_thread();
  CHECK(a->index() == 0);
  CHECK(b->index() == 1);
  CHECK(c->index() == 2);
  CHECK(d.slot_count() == 3);
  ssmem::vector_clock<ssmem::native_policy> clk;
  REQUIRE(d.snapshot(clk));
  CHECK(clk.size() == 3);
  CHECK(clk[1] == b->own_version());
  CHECK_FALSE(ssmem::version_is_offline(clk[0]));
  d.unregister_thread(a);
  d.unregister_thread(b);
  d.unregister_thread(c);
}

TEST_CASE("a record that leaves is offline in snapshots and is adopted, never freed") {
  domain d;
  record* a = d.register_thread();
  record* b = d.register_thread();
  a->bump();
  ssmem::version_t before = a->own_version();
  d.unregister_thread(a);
  ssmem::vector_clock<ssmem::native_policy> clk;
  REQUIRE(d.snapshot(clk));
  CHECK(ssmem::version_is_offline(clk[a->index()]));
  record* again = d.register_thread();
  CHECK(again == a);                         // adopted
  CHECK(d.slot_count() == 2);                // no new slot
  CHECK(again->own_version() > before);      // versions keep increasing across owners
  CHECK(again->is_online());
  d.unregister_thread(again);
  d.unregister_thread(b);
}

TEST_CASE("concurrent registrations get distinct records with contiguous indexes") {
  domain d;
  constexpr int n = 8;
  std::vector<record*> got(n);
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i) ts.emplace_back([&, i] { got[i] = d.register_thread(); });
  for (auto& t : ts) t.join();
  std::set<std::size_t> idx;
  for (record* r : got) idx.insert(r->index());
  CHECK(idx.size() == n);
  CHECK(*idx.rbegin() == n - 1);
  for (record* r : got) d.unregister_thread(r);
}
