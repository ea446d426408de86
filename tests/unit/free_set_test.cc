// Unit tests of free sets and the queues that hold them (I4's bookkeeping).
#include <doctest/doctest.h>

#include "ssmem/free_set.hpp"
#include "ssmem/native_policy.hpp"

using set = ssmem::free_set<ssmem::native_policy>;

TEST_CASE("a free set fills to its capacity, pops last-in first-out and recycles empty") {
  set* s = set::create(3);
  REQUIRE(s != nullptr);
  int a, b, c;
  CHECK(s->empty());
  s->push(&a);
  s->push(&b);
  CHECK_FALSE(s->full());
  s->push(&c);
  CHECK(s->full());
  CHECK(s->count() == 3);
  CHECK(s->at(0) == &a);
  CHECK(s->pop() == &c);
  REQUIRE(s->clock().resize(2));
  s->clock().mark_stamped(true);
  s->recycle();
  CHECK(s->empty());
  CHECK_FALSE(s->clock().stamped());
  set::destroy(s);
}

TEST_CASE("the stamped-set queue is first-in first-out and counts its objects") {
  ssmem::set_queue<ssmem::native_policy> q;
  set* s1 = set::create(2);
  set* s2 = set::create(2);
  int x;
  s1->push(&x);
  s2->push(&x);
  s2->push(&x);
  q.push_back(s1);
  q.push_back(s2);
  CHECK(q.size() == 2);
  CHECK(q.objects() == 3);
  CHECK(q.pop_front() == s1);
  CHECK(q.objects() == 2);
  CHECK(q.pop_front() == s2);
  CHECK(q.empty());
  set::destroy(s1);
  set::destroy(s2);
}

TEST_CASE("the set stack is last-in first-out") {
  ssmem::set_stack<ssmem::native_policy> st;
  set* s1 = set::create(1);
  set* s2 = set::create(1);
  st.push(s1);
  st.push(s2);
  CHECK(st.size() == 2);
  CHECK(st.top() == s2);
  CHECK(st.pop() == s2);
  CHECK(st.pop() == s1);
  CHECK(st.empty());
  set::destroy(s1);
  set::destroy(s2);
}
