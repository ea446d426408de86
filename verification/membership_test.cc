// Property 4, membership: threads that register late, leave, go offline or come back. Safety
// holds (as in safety_test.cc) and progress (world::check_progress) is not blocked by a thread
// that left: a thread that is offline or unregistered is never bumped by the check. The
// *_race_2t tests are the smallest form of the first three (scenarios.hpp, membership_race).
#include "verification/harness.hpp"

namespace v = ssmem::verification;
using ssmem::ts_policy;

namespace {

// Thread 0 swaps (it was registered before the run); thread 1 registers inside the run, maybe
// after sets were stamped without its slot, reads, and leaves.
constexpr v::scenario_config late_registrant{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 1,
    .late_joiner = 1};
// Thread 0 reads and unregisters while thread 1 swaps, stamps and collects.
constexpr v::scenario_config leaver{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .leaver = 0};
// Thread 0 goes offline and back online, then reads; thread 1 swaps.
constexpr v::scenario_config offline_online{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .offline_first = 0};
// Thread 1 swaps, unregisters, registers again (adopting its record) and swaps once more.
constexpr v::scenario_config rejoin{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 2, .reader_ops = 1, .reader = 0,
    .rejoiner = 1};
// Three threads: 0 swaps, 1 reads and leaves, 2 registers late (it may adopt 1's record).
constexpr v::scenario_config churn{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 1,
    .late_joiner = 2, .leaver = 1};

// The same three properties in the smallest race (scenarios.hpp, membership_race): one load
// and read by the reader around its membership change, against one unlink, two stamps and the
// reuse by the writer. Small enough for an exhaustive search: in the quick run for leaving and
// going offline (under a second), in the deep run for late registration (about 14 s; 3.6 min
// when the late registrant also leaves), which the quick run searches context-bounded.
constexpr v::scenario_config late_registrant_race{
    .free_set_size = 1, .bump_on = ts_policy::none, .reader = 1, .late_joiner = 1};
constexpr v::scenario_config late_registrant_leaves_race{
    .free_set_size = 1, .bump_on = ts_policy::none, .reader = 1, .late_joiner = 1, .leaver = 1};
constexpr v::scenario_config leaver_race{
    .free_set_size = 1, .bump_on = ts_policy::none, .reader = 0, .leaver = 0};
constexpr v::scenario_config offline_online_race{
    .free_set_size = 1, .bump_on = ts_policy::none, .reader = 0, .offline_first = 0};

// The first three add registration, leaving or going offline to the full swap scenario (three
// operations, bumps): their exhaustive search did not finish within minutes (late
// registration: not in 240 s), so they run context-bounded (bound 6 in the deep run); the
// *_race_2t tests search the same properties exhaustively.
const std::array tests{
    v::entry<v::swap_slots, 2, late_registrant>("membership__late_registrant_2t", v::bounded(4), v::bounded(6)),
    v::entry<v::swap_slots, 2, leaver>("membership__leave_during_collection_2t", v::bounded(5), v::bounded(6)),
    v::entry<v::swap_slots, 2, offline_online>("membership__offline_then_online_2t", v::bounded(5), v::bounded(6)),
    v::entry<v::membership_race, 2, late_registrant_race>("membership__late_registrant_race_2t", v::bounded(8), v::full()),
    v::entry<v::membership_race, 2, late_registrant_leaves_race>("membership__late_registrant_leaves_race_2t", v::bounded(6), v::full()),
    v::entry<v::membership_race, 2, leaver_race>("membership__leave_during_collection_race_2t", v::full(), v::full()),
    v::entry<v::membership_race, 2, offline_online_race>("membership__offline_then_online_race_2t", v::full(), v::full()),
    v::entry<v::swap_slots, 2, rejoin>("membership__leave_and_rejoin_2t", v::full(), v::full()),
    v::entry<v::swap_slots, 3, churn>("membership__churn_3t", v::bounded(2), v::bounded(3)),
};

}  // namespace

int main(int argc, char** argv) { return v::run_main(argc, argv, tests); }
