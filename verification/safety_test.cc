// Property 1, safety: an object is never handed out again while a thread may still dereference
// a reference it loaded before its last timestamp bump. Payloads are rl::var, so a reuse write
// racing with a stale read is a data race; values are checked (check == ~value, keys popped
// once). Scenarios: the shared-slot swap (a reader that bumps before or after reading, and a
// writer that swaps and frees; symmetric swappers for 3 and 4 threads) and a Treiber stack.
#include "verification/harness.hpp"

namespace v = ssmem::verification;
using ssmem::ts_policy;

namespace {

// 2 threads, exhaustive: thread 0 reads (record index 0), thread 1 swaps three times, so that
// it frees, collects and reuses. on_free keeps the writer's schedule short.
constexpr v::scenario_config bump_then_read{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .reader_bump_first = true, .check_progress = false};
constexpr v::scenario_config read_then_bump{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .reader_bump_first = false, .check_progress = false};
constexpr v::scenario_config set2{
    .free_set_size = 2, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .reader_bump_first = true, .check_progress = false};
// Stamping in batches (docs/design.md §3), batch_race: a batch of two sets stamped by one
// heavy fence and snapshot (mutant 9, only the newest set of a batch stamped, is killed here),
// and a stamp that follows a probe (mutant 10, the probe's unfenced clock kept as the stamp).
// The reader reads twice in the second, so that a probe can see its first bump while its
// second is not yet visible when it loads the slot.
constexpr v::scenario_config batch_of_2{
    .free_set_size = 1, .stamp_batch = 2, .bump_on = ts_policy::none, .reader_ops = 1,
    .reader = 0, .check_progress = false};
constexpr v::scenario_config stamp_after_probe{
    .free_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::none, .reader_ops = 2,
    .reader = 0, .check_progress = false};
// Shapes of issue 13. free_stamp_reuse (membership_race, no membership change): the reader
// reads A and then bumps; the writer (ts_policy::none) unlinks and frees A (stamp S0), bumps,
// frees a private object (a probe collects S0; stamp S1) and allocates A again with no version
// change between that free and the allocation: the reader's read is ordered before the reuse
// by [S8] on the probe's load of its bump (and by [S5]'s fence, which follows the probe).
constexpr v::scenario_config free_stamp_reuse{
    .free_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::none, .reader = 0,
    .reader_bump_first = false, .check_progress = false};
// recycled_set: a writer of five operations (free sets of 1, one set per stamp) collects a
// set, empties it by allocation, takes it again for a later free, stamps it again and
// collects it again, while the reader (two reads) may still hold one of its objects.
constexpr v::scenario_config recycled_set{
    .free_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::on_free, .ops = 5,
    .reader_ops = 2, .reader = 0, .reader_bump_first = true, .check_progress = false};
// Three threads within the quick budget: two operations each (swap), and a stack whose
// thread 0 only pops once (bound 2; bound 3 in the deep run).
constexpr v::scenario_config swap_small_3t{.free_set_size = 1, .bump_on = ts_policy::on_free,
                                           .ops = 2, .check_progress = false};
constexpr v::scenario_config stack_reader_3t{.free_set_size = 1, .bump_on = ts_policy::on_free,
                                             .ops = 3, .reader_ops = 1, .reader = 0,
                                             .check_progress = false};
// Symmetric swappers (the original test) and the stack.
constexpr v::scenario_config swap3{.free_set_size = 1, .bump_on = ts_policy::both, .ops = 3,
                                   .check_progress = false};
constexpr v::scenario_config stack{.free_set_size = 1, .bump_on = ts_policy::both, .ops = 3,
                                   .check_progress = false};
// 2 threads: thread 0 pops once, thread 1 pops twice and pushes (reusing a node); bound 6 in
// the quick run (227,494 iterations), exhaustive in the deep run (8.8 million).
constexpr v::scenario_config stack_2t{.free_set_size = 1, .bump_on = ts_policy::on_free,
                                      .ops = 3, .reader_ops = 1, .reader = 0,
                                      .check_progress = false};

const std::array tests{
    v::entry<"safety__swap_slots_bump_then_read_2t", v::swap_slots, 2, bump_then_read>(v::full(), v::full()),
    v::entry<"safety__swap_slots_read_then_bump_2t", v::swap_slots, 2, read_then_bump>(v::full(), v::full()),
    v::entry<"safety__swap_slots_free_set_2_2t", v::swap_slots, 2, set2>(v::full(), v::full()),
    v::entry<"safety__treiber_stack_2t", v::treiber_stack, 2, stack_2t>(v::bounded(6), v::full()),
    v::entry<"safety__batch_race_batch_of_2_2t", v::batch_race, 2, batch_of_2>(v::full(), v::full()),
    v::entry<"safety__batch_race_stamp_after_probe_2t", v::batch_race, 2, stamp_after_probe>(v::bounded(6), v::bounded(8)),
    v::entry<"safety__free_stamp_reuse_2t", v::membership_race, 2, free_stamp_reuse>(v::full(), v::full()),
    v::entry<"safety__swap_slots_recycled_set_2t", v::swap_slots, 2, recycled_set>(v::bounded(3), v::bounded(4)),
    v::entry<"safety__swap_slots_small_3t", v::swap_slots, 3, swap_small_3t>(v::bounded(2), v::bounded(3)),
    v::entry<"safety__treiber_stack_reader_3t", v::treiber_stack, 3, stack_reader_3t>(v::bounded(2), v::bounded(3)),
    v::entry<"safety__swap_slots_3t", v::swap_slots, 3, swap3>(v::bounded(1), v::bounded(3)),
    v::entry<"safety__treiber_stack_3t", v::treiber_stack, 3, stack>(v::bounded(2), v::bounded(3)),
    v::entry<"safety__swap_slots_4t", v::swap_slots, 4, swap3>(v::random(20000), v::random(1000000)),
    v::entry<"safety__treiber_stack_4t", v::treiber_stack, 4, stack>(v::random(20000), v::random(1000000)),
};

}  // namespace

int main(int argc, char** argv) { return v::run_main(argc, argv, tests); }
