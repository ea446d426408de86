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

// Membership races over register_thread / unregister_thread (scenarios.hpp, register_race;
// thread 0 writes, the others read; the membership check runs after every execution).
// Two registrations race: both publish a new record, one head CAS fails and retries.
constexpr v::scenario_config concurrent_register_2t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b11,
    .expected_records = 2};
// The same without the membership check: a slot shared by two records must show as a safety
// failure too (a negative control, run by //verification:mutant_15_index_computed_once_safety).
constexpr v::scenario_config concurrent_register_unchecked_2t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b11,
    .expected_records = 2, .membership_check = false};
// Two readers publish concurrently while the writer (registered before) collects.
constexpr v::scenario_config concurrent_register_3t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b110,
    .expected_records = 3};
// All three threads publish concurrently (a head CAS may fail twice in a row).
constexpr v::scenario_config concurrent_register_all_3t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b111,
    .expected_records = 3};
// One free record, two registrations: one adopts it, the other publishes a new record.
constexpr v::scenario_config adopt_same_record_2t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b11, .free_records = 1,
    .expected_records = 2};
constexpr v::scenario_config adopt_same_record_3t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b110, .free_records = 1,
    .expected_records = 3};
// The reader reads, leaves and rejoins while the writer registers: the writer may adopt the
// reader's record (the reader then publishes), or publish while the reader adopts its own.
constexpr v::scenario_config rejoin_vs_register_2t{
    .free_set_size = 1, .bump_on = ts_policy::none, .rejoiner = 1, .joins_in_run = 0b01,
    .expected_records = 2};
// Reader 1 reads, leaves and rejoins; reader 2 registers (maybe adopting 1's record), reads
// and leaves; the writer (registered before) collects.
constexpr v::scenario_config rejoin_vs_register_3t{
    .free_set_size = 1, .bump_on = ts_policy::none, .leaver = 2, .rejoiner = 1,
    .joins_in_run = 0b100, .expected_records = 0};  // 2 or 3: 1 may get its record back

// Registration alone (register_race, registration_only): the same three races of
// register_thread / unregister_thread without the slot and the collection around them, small
// enough for a full search (issue 20). The membership check (I2, one record per registered
// thread, every registered thread online) runs after every execution.
constexpr v::scenario_config concurrent_register_only_2t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b11,
    .expected_records = 2, .registration_only = true};
constexpr v::scenario_config adopt_same_record_only_2t{
    .free_set_size = 1, .bump_on = ts_policy::none, .joins_in_run = 0b11, .free_records = 1,
    .expected_records = 2, .registration_only = true};
constexpr v::scenario_config rejoin_vs_register_only_2t{
    .free_set_size = 1, .bump_on = ts_policy::none, .rejoiner = 1, .joins_in_run = 0b01,
    .expected_records = 2, .registration_only = true};

// The first three add registration, leaving or going offline to the full swap scenario (three
// operations, bumps): their exhaustive search did not finish within minutes (late
// registration: not in 240 s), so they run context-bounded (bound 6 in the deep run); the
// *_race_2t tests search the same properties exhaustively.
const std::array tests{
    v::entry<"membership__late_registrant_2t", v::swap_slots, 2, late_registrant>(v::bounded(3), v::bounded(6)),
    v::entry<"membership__leave_during_collection_2t", v::swap_slots, 2, leaver>(v::bounded(4), v::bounded(6)),
    v::entry<"membership__offline_then_online_2t", v::swap_slots, 2, offline_online>(v::bounded(4), v::bounded(6)),
    v::entry<"membership__late_registrant_race_2t", v::membership_race, 2, late_registrant_race>(v::bounded(6), v::full()),
    v::entry<"membership__late_registrant_leaves_race_2t", v::membership_race, 2, late_registrant_leaves_race>(v::bounded(5), v::full()),
    v::entry<"membership__leave_during_collection_race_2t", v::membership_race, 2, leaver_race>(v::full(), v::full()),
    v::entry<"membership__offline_then_online_race_2t", v::membership_race, 2, offline_online_race>(v::full(), v::full()),
    v::entry<"membership__leave_and_rejoin_2t", v::swap_slots, 2, rejoin>(v::bounded(5), v::full()),
    v::entry<"membership__churn_3t", v::swap_slots, 3, churn>(v::bounded(1), v::bounded(3)),
    v::entry<"membership__concurrent_register_2t", v::register_race, 2, concurrent_register_2t>(v::bounded(4), v::bounded(6)),
    v::entry<"membership__adopt_same_record_2t", v::register_race, 2, adopt_same_record_2t>(v::bounded(4), v::bounded(6)),
    v::entry<"membership__rejoin_vs_register_2t", v::register_race, 2, rejoin_vs_register_2t>(v::bounded(4), v::bounded(6)),
    v::entry<"membership__concurrent_register_only_2t", v::register_race, 2, concurrent_register_only_2t>(v::full(), v::full()),
    v::entry<"membership__adopt_same_record_only_2t", v::register_race, 2, adopt_same_record_only_2t>(v::full(), v::full()),
    v::entry<"membership__rejoin_vs_register_only_2t", v::register_race, 2, rejoin_vs_register_only_2t>(v::full(), v::full()),
    v::control_entry<"membership__concurrent_register_unchecked_2t", v::register_race, 2, concurrent_register_unchecked_2t>(v::bounded(4), v::bounded(6)),
    v::entry<"membership__concurrent_register_3t", v::register_race, 3, concurrent_register_3t>(v::bounded(2), v::bounded(3)),
    v::entry<"membership__concurrent_register_all_3t", v::register_race, 3, concurrent_register_all_3t>(v::bounded(2), v::bounded(3)),
    v::entry<"membership__adopt_same_record_3t", v::register_race, 3, adopt_same_record_3t>(v::bounded(2), v::bounded(3)),
    v::entry<"membership__rejoin_vs_register_3t", v::register_race, 3, rejoin_vs_register_3t>(v::bounded(2), v::bounded(3)),
};

}  // namespace

int main(int argc, char** argv) { return v::run_main(argc, argv, tests); }
