// Fixture for //verification:orders_lint_rejects_untagged: an untagged order and a
// thread_local, both of which the lint must reject.
struct untagged {
  template <class A>
  static int f(A& a) {

    return a.load(std::memory_order_acquire);
  }
};
thread_local int per_thread;
