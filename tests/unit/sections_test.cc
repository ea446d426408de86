// Critical sections (thread_record::enter_section/exit_section, ssmem::critical_section): a
// thread that is offline goes online for its outermost section and offline at its end;
// sections nest (an inner exit keeps the thread online); a thread that is online before a
// section stays online, with its version untouched; a section of an otherwise offline thread
// holds back exactly what is stamped while it is open, and a thread between sections holds
// back nothing; allocating and freeing outside sections works and leaves the thread offline.
// The other thread is a second record on the test's thread (separate_record), so that every
// run is deterministic, and one case uses a real thread. The C pair: sections_c_test.c. Run
// at the default sizes (free sets of 507, release sets of 64, stamp_batch 32, backlog 4) and
// at large sets, with the library compiled in under ASan+UBSan.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "ssmem/ssmem.hpp"

namespace {

constexpr std::size_t object_bytes = 64;

struct size_case {
  const char* name;
  std::size_t free_set, release_set, stamp_batch;
  ssmem::options options() const {
    ssmem::options o;
    o.free_set_size = free_set;
    o.release_set_size = release_set;
    o.stamp_batch = stamp_batch;
    return o;
  }
  // Frees between two stamps (a batch of full sets).
  std::size_t batch() const { return free_set * (stamp_batch != 0 ? stamp_batch : 1); }
};
const size_case size_cases[] = {
    {"defaults (507/64/16/4)", 507, 64, 16},
    {"large sets (2048/256/8/4)", 2048, 256, 8},
};

void pairs(ssmem::allocator& a, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) a.deallocate(a.allocate());
}

ssmem::version_t version_of(const ssmem::thread_scope& s) { return s.get_record().own_version(); }

}  // namespace

TEST_CASE("nested sections of an offline thread: online from the outermost entry to the outermost exit") {
  ssmem::domain d;
  ssmem::thread_scope me(d);
  me.offline();
  const ssmem::version_t v0 = version_of(me);
  REQUIRE(ssmem::version_is_offline(v0));
  {
    ssmem::critical_section outer(me);
    CHECK(me.is_online());
    CHECK(me.get_record().sections() == 1);
    const ssmem::version_t v1 = version_of(me);
    CHECK(v1 == v0 + 1);  // one version step: online
    {
      ssmem::critical_section inner(me);
      CHECK(me.is_online());
      CHECK(me.get_record().sections() == 2);
      {
        ssmem::critical_section innermost(me);
        CHECK(me.get_record().sections() == 3);
      }
      CHECK(me.is_online());
      CHECK(version_of(me) == v1);  // inner entries and exits change nothing
    }
    CHECK(me.is_online());  // the inner exit keeps the thread online
    CHECK(me.get_record().sections() == 1);
    CHECK(version_of(me) == v1);
  }
  CHECK_FALSE(me.is_online());
  CHECK(me.get_record().sections() == 0);
  CHECK(version_of(me) == v0 + 2);  // offline again: a version change
  // The next section works the same way.
  {
    ssmem::critical_section again(me);
    CHECK(me.is_online());
    CHECK(version_of(me) == v0 + 3);
  }
  CHECK_FALSE(me.is_online());
  CHECK(version_of(me) == v0 + 4);
}

TEST_CASE("a thread online before a section stays online after it, its version untouched") {
  ssmem::domain d;
  ssmem::thread_scope me(d);
  // First a section while offline (it took the thread online and offline again), then online:
  // the earlier section's state must not make this thread's next section end offline.
  me.offline();
  { ssmem::critical_section cs(me); }
  me.online();
  REQUIRE(me.is_online());
  const ssmem::version_t v0 = version_of(me);
  {
    ssmem::critical_section outer(me);
    ssmem::critical_section inner(me);
    CHECK(me.is_online());
    CHECK(me.get_record().sections() == 2);
  }
  CHECK(me.is_online());
  CHECK(me.get_record().sections() == 0);
  CHECK(version_of(me) == v0);
  // Online, a section, offline inside it: the thread stays offline after the section, and a
  // later section of the now offline thread takes it online and offline again.
  {
    ssmem::critical_section cs(me);
    me.offline();
  }
  CHECK_FALSE(me.is_online());
  const ssmem::version_t v1 = version_of(me);
  {
    ssmem::critical_section cs(me);
    CHECK(me.is_online());
  }
  CHECK_FALSE(me.is_online());
  CHECK(version_of(me) == v1 + 2);
}

TEST_CASE("an offline thread that goes offline inside its own section stays offline at the exit") {
  ssmem::domain d;
  ssmem::thread_scope me(d);
  me.offline();
  {
    ssmem::critical_section cs(me);
    me.offline();  // e.g. around a blocking call inside the section
    CHECK_FALSE(me.is_online());
  }
  CHECK_FALSE(me.is_online());
  const ssmem::version_t v = version_of(me);
  {
    ssmem::critical_section cs(me);  // the section state was reset: this one goes online
    CHECK(me.is_online());
  }
  CHECK_FALSE(me.is_online());
  CHECK(version_of(me) == v + 2);
}

TEST_CASE("an open section of an otherwise offline reader holds another allocator's sets back until it ends") {
  for (const size_case& c : size_cases) {
    INFO(std::string(c.name));
    ssmem::domain d;
    ssmem::thread_scope writer(d);
    ssmem::thread_scope reader(d, ssmem::separate_record);  // never bumps
    reader.offline();
    const long long reader_slot = static_cast<long long>(reader.get_record().index());
    ssmem::options o = c.options();
    o.pending_budget = 0;  // no bound: the writer never waits (same thread as the reader)

    // Control: with the reader offline, the same work collects.
    {
      ssmem::allocator a(writer, object_bytes, o);
      pairs(a, 3 * c.batch());
      CHECK(a.stats().collected > 0);
      CHECK(a.stats().blocking_slot == -1);
    }

    // The reader's section opens before anything is freed: every set is stamped while it is
    // open, and none is collected until it ends.
    ssmem::allocator a(writer, object_bytes, o);
    const ssmem::version_t v0 = version_of(reader);
    {
      ssmem::critical_section outer(reader);
      {
        ssmem::critical_section inner(reader);
        pairs(a, 3 * c.batch());
        CHECK(a.stats().collected == 0);
        CHECK(a.stats().stamps >= 1);
        CHECK(a.stats().deferred >= 1);  // probes found the reader still in its section
      }
      // The inner exit leaves the reader online: still nothing collected.
      pairs(a, 2 * c.batch());
      const ssmem::allocator_stats s = a.stats();
      CHECK(s.collected == 0);
      CHECK(s.pending == s.freed);
      CHECK(s.blocking_slot == reader_slot);
      CHECK(version_of(reader) == v0 + 1);  // the reader never bumped
    }
    CHECK(version_of(reader) == v0 + 2);
    CHECK(a.stats().blocking_slot == -1);
    // The outermost exit: the next probe collects what waited, and it is reused.
    pairs(a, c.batch() + c.free_set);
    const ssmem::allocator_stats s = a.stats();
    CHECK(s.collected > 0);
    CHECK(s.reused > 0);
    CHECK(version_of(reader) == v0 + 2);
  }
}

TEST_CASE("a reader between its sections never holds collection back") {
  for (const size_case& c : size_cases) {
    INFO(std::string(c.name));
    ssmem::domain d;
    ssmem::thread_scope writer(d);
    ssmem::thread_scope reader(d, ssmem::separate_record);
    reader.offline();
    const long long reader_slot = static_cast<long long>(reader.get_record().index());
    ssmem::options o = c.options();
    o.pending_budget = 0;
    ssmem::allocator a(writer, object_bytes, o);
    // Sections short and long against the writer's batches: some stamps are taken while the
    // reader is inside one, and those sets wait for its exit, never longer.
    const std::size_t lengths[] = {1, c.free_set / 2, c.batch(), 2 * c.batch() + 3};
    std::uint64_t blocked_outside = 0, checks = 0;
    for (int round = 0; round < 12; ++round) {
      {
        ssmem::critical_section cs(reader);
        pairs(a, lengths[round % 4]);
      }
      pairs(a, c.free_set);
      for (int k = 0; k < 4; ++k) {
        pairs(a, c.batch() / 4);
        ++checks;
        if (a.stats().blocking_slot == reader_slot) ++blocked_outside;
      }
    }
    CHECK(checks == 48);
    CHECK(blocked_outside == 0);
    CHECK_FALSE(reader.is_online());
    const ssmem::allocator_stats s = a.stats();
    CHECK(s.collected > 0);
    CHECK(s.reused > 0);
    // The writer bumps on every call: with the reader outside its sections nothing is held.
    CHECK(s.blocking_slot == -1);
  }
}

TEST_CASE("allocating and freeing outside sections works and keeps the thread offline") {
  for (const size_case& c : size_cases) {
    for (ssmem::ts_policy bump_on : {ssmem::ts_policy::none, ssmem::ts_policy::both}) {
      INFO(std::string(c.name) << ", bump_on " << static_cast<int>(bump_on));
      ssmem::domain d;
      ssmem::thread_scope me(d);
      me.offline();
      ssmem::options o = c.options();
      o.bump_on = bump_on;
      ssmem::object_pool<std::uint64_t> pool(me, o);
      std::uint64_t went_online = 0, offline_in_section = 0;
      for (std::size_t i = 0; i < 3 * c.batch(); ++i) {
        std::uint64_t* p = pool.create(i);
        if (me.is_online()) ++went_online;
        {
          ssmem::critical_section cs(me);  // a read inside a section
          if (!me.is_online()) ++offline_in_section;
        }
        if (i % 2 == 0) {
          pool.destroy(p);
        } else {
          pool.retire(p);
        }
        if (me.is_online()) ++went_online;
      }
      CHECK(went_online == 0);
      CHECK(offline_in_section == 0);
      const ssmem::allocator_stats s = pool.stats();
      // Offline outside its sections, the thread holds back nothing of its own: its sets are
      // collected whatever bump_on says.
      CHECK(s.collected > 0);
      CHECK(s.reused > 0);
      CHECK(s.returned > 0);
      CHECK(s.dropped == 0);
    }
  }
}

TEST_CASE("a real reader thread: asleep in a section it holds collection back, asleep between sections it holds nothing") {
  ssmem::domain d;
  std::mutex m;
  std::condition_variable cv;
  int step = 0;  // reader: 1 in a section, asleep; 3 out of it, asleep; main: 2 leave it, 4 finish
  auto wait_for = [&](int s) {
    std::unique_lock<std::mutex> l(m);
    cv.wait(l, [&] { return step >= s; });
  };
  auto go = [&](int s) {
    {
      std::lock_guard<std::mutex> l(m);
      step = s;
    }
    cv.notify_all();
  };
  std::atomic<long long> reader_slot{-1};
  std::thread reader([&] {
    ssmem::thread_scope me(d);
    me.offline();
    reader_slot = static_cast<long long>(me.get_record().index());
    {
      ssmem::critical_section cs(me);
      go(1);
      wait_for(2);  // blocked inside the section
    }
    go(3);
    wait_for(4);  // blocked between sections
  });
  wait_for(1);
  {
    ssmem::thread_scope writer(d);
    ssmem::options o;  // the defaults
    o.pending_budget = 0;
    ssmem::allocator a(writer, object_bytes, o);
    const std::size_t batch = o.free_set_size * o.stamp_batch;
    pairs(a, 3 * batch);
    CHECK(a.stats().collected == 0);
    CHECK(a.stats().blocking_slot == reader_slot.load());
    go(2);
    wait_for(3);
    pairs(a, 3 * batch);
    const ssmem::allocator_stats s = a.stats();
    CHECK(s.collected > 0);
    CHECK(s.reused > 0);
    CHECK(s.blocking_slot == -1);
    go(4);
  }
  reader.join();
}
