// Property 6: the memory bound and critical sections. An allocation that waits at the bound
// stamps what waited unstamped, moves its own thread on only where its options allow it, and
// reuses nothing before a collection; a thread that is offline outside its critical sections
// holds back exactly the objects it read inside them (scenarios.hpp: bound_race, section_race).
#include "verification/harness.hpp"

namespace v = ssmem::verification;
using ssmem::ts_policy;

namespace {

// The writer waits at the smallest limit (two sets of 1) with a batch of 4 never due: the
// wait's own stamp, bumps and probes decide whether A is reused under the reader's reads.
constexpr v::scenario_config wait_at_bound{
    .free_set_size = 1, .stamp_batch = 4, .bump_on = ts_policy::both, .reader_ops = 2,
    .reader = 0, .check_progress = false, .pending_budget = 1};
// The same with the unlink last and bump_on on_alloc: nothing but the wait's own stamp fences
// the unlink against the reader's loads.
constexpr v::scenario_config wait_after_unlink{
    .free_set_size = 1, .stamp_batch = 4, .bump_on = ts_policy::on_alloc, .reader_ops = 2,
    .reader = 0, .check_progress = false, .pending_budget = 1, .unlink_last = true};
// The holder keeps A across an allocation at its limit; it may not move on inside it.
constexpr v::scenario_config holder_at_bound{
    .free_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::none, .reader = 0,
    .check_progress = false, .pending_budget = 1, .holder = true};
// The same holder moved on before it loaded A: its wait pauses and probes again, never moving it.
constexpr v::scenario_config holder_moved{
    .free_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::none, .reader = 0,
    .check_progress = false, .pending_budget = 1, .holder = true, .holder_moves = true};
// A thread that waits at its bound (moving itself on) and reads A afterwards.
constexpr v::scenario_config read_after_wait{
    .free_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::both, .reader = 0,
    .check_progress = false, .pending_budget = 1, .holder = true, .read_after_wait = true};
// A wait that borrows another thread's stamp (share_race). bump_on on_alloc: no fence of the
// writer's lies between its unlink and its ticket, so only the ticket [S12] orders the unlink
// before the fencer's heavy fence (under bump_on both, the free's bump fences it too: Relacy's
// seq_cst fences synchronise with each other, which hides mutants 48 and 50).
constexpr v::scenario_config shared_stamp{
    .free_set_size = 1, .stamp_batch = 4, .bump_on = ts_policy::on_alloc, .reader_ops = 1,
    .check_progress = false, .pending_budget = 1, .stamp_share = 1};
// The same under the default bump_on (both).
constexpr v::scenario_config shared_stamp_bump_both{
    .free_set_size = 1, .stamp_batch = 4, .bump_on = ts_policy::both, .reader_ops = 1,
    .check_progress = false, .pending_budget = 1, .stamp_share = 1};
// Reads inside sections of an otherwise offline reader (membership_race's writer).
constexpr v::scenario_config one_section{
    .free_set_size = 1, .bump_on = ts_policy::none, .reader = 0};
constexpr v::scenario_config nested_section{
    .free_set_size = 1, .bump_on = ts_policy::none, .reader = 0, .nested = true};
constexpr v::scenario_config two_sections{
    .free_set_size = 1, .bump_on = ts_policy::none, .reader = 0, .sections = 2};

// The wait repeats probes and bumps, and the sections add a load and a store at each end: the
// exhaustive searches are too large for the quick run (section__one_section_2t: 22,146,053
// iterations, 172 s), so the quick run bounds them (1-6 s each) and the deep run goes further.
// bound__read_after_wait_2t's reclaimer has the longest program: bound 3 quick (566,967
// iterations, 7 s), bound 4 deep (13,342,963 iterations, 169 s).
const std::array tests{
    v::entry<"bound__wait_at_bound_2t", v::bound_race, 2, wait_at_bound>(v::bounded(5), v::bounded(6)),
    v::entry<"bound__wait_after_unlink_2t", v::bound_race, 2, wait_after_unlink>(v::bounded(5), v::bounded(6)),
    v::entry<"bound__holder_at_bound_2t", v::bound_race, 2, holder_at_bound>(v::bounded(4), v::bounded(5)),
    v::entry<"bound__holder_moved_at_bound_2t", v::bound_race, 2, holder_moved>(v::bounded(4), v::bounded(5)),
    v::entry<"bound__read_after_wait_2t", v::bound_race, 2, read_after_wait>(v::bounded(3), v::bounded(4)),
    v::entry<"share__borrowed_stamp_3t", v::share_race, 3, shared_stamp>(v::bounded(2), v::bounded(3)),
    v::entry<"share__borrowed_stamp_bump_both_3t", v::share_race, 3, shared_stamp_bump_both>(v::bounded(2), v::bounded(3)),
    v::entry<"share__two_fencers_4t", v::share_race, 4, shared_stamp>(v::random(200'000), v::random(2'000'000)),
    v::entry<"section__one_section_2t", v::section_race, 2, one_section>(v::bounded(5), v::full()),
    v::entry<"section__nested_section_2t", v::section_race, 2, nested_section>(v::bounded(5), v::full()),
    v::entry<"section__two_sections_2t", v::section_race, 2, two_sections>(v::bounded(5), v::bounded(7)),
};

}  // namespace

int main(int argc, char** argv) { return v::run_main(argc, argv, tests); }
