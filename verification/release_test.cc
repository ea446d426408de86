// Property 2, the release path (ssmem_release / allocator::release): memory given back to the
// system is never accessed afterwards. Odd operations of the swap make their object with the
// model's malloc (relacy_policy::system_new) and the operation that unlinks it releases it
// (release only: every object). return_to_system writes the object (a read not ordered before
// it is a data race), destroys and scribbles it (a later read through a stale pointer is an
// "access to freed memory"). Deferred destruction (retire with a deleter) is the same path:
// the retire scenarios hand the unlinked object to a deleter that writes it (the model of a
// destructor) and then frees it (system objects) or hands it back for reuse at once
// (retire_own, object_pool::retire); a read not ordered before the deleter's write is a race.
#include "verification/harness.hpp"

namespace v = ssmem::verification;
using ssmem::ts_policy;

namespace {

// Writer: swap (allocator object in), swap (system object in), swap (system object out:
// released), swap (stamps again: the release set can be given back). Reader: thread 0.
constexpr v::scenario_config mixed_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 4, .reader_ops = 1, .reader = 0,
    .release_odd_ops = true};
constexpr v::scenario_config mixed_read_then_bump_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 4, .reader_ops = 1, .reader = 0,
    .reader_bump_first = false, .release_odd_ops = true};
// Release only: every object comes from the model's malloc and goes back through release().
// The writer's third swap stamps the set that holds the second-released object.
constexpr v::scenario_config release_only_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .release_all = true};
// Release sets of 2: a released object waits in a set that is not full when the next stamp
// comes, and the stamp takes that set along (docs/design.md §3). Eight swaps: the released
// objects go back after later probes, and collected ones one per later release (with six,
// the last collection's entries waited for the teardown, and mutant 22 survived). Mutant 22
// (the set queued without the stamp's clock) is killed here.
constexpr v::scenario_config mixed_partial_2t{
    .free_set_size = 1, .release_set_size = 2, .bump_on = ts_policy::on_free, .ops = 8,
    .reader_ops = 1, .reader = 0, .release_odd_ops = true};
constexpr v::scenario_config mixed_sym{
    .free_set_size = 1, .bump_on = ts_policy::both, .ops = 3, .release_odd_ops = true};

// Retire: every object from the model's malloc, retired with a deleter (release_only_2t's
// schedule); and mixed: even operations' allocator objects retired with a deleter that hands
// the memory back for reuse, odd ones' system objects retired with a deleter.
constexpr v::scenario_config retire_only_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .release_all = true, .retire_system = true};
constexpr v::scenario_config retire_mixed_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 4, .reader_ops = 1, .reader = 0,
    .release_odd_ops = true, .retire_system = true, .retire_own = true};
constexpr v::scenario_config retire_mixed_read_then_bump_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 4, .reader_ops = 1, .reader = 0,
    .reader_bump_first = false, .release_odd_ops = true, .retire_system = true, .retire_own = true};
constexpr v::scenario_config retire_mixed_sym{
    .free_set_size = 1, .bump_on = ts_policy::both, .ops = 3, .release_odd_ops = true,
    .retire_system = true, .retire_own = true};

// [S8] on the release path (membership_race with A from the model's malloc): the reader reads
// A, then bumps; the writer releases A (a release set of 1: stamped S0), bumps, frees a private
// object: the probe collects S0 and, with no release waiting, gives A back at once -- its
// write (return_to_system, or the deleter's) comes after the probe's acquire loads [S8] and
// before the heavy fence [S5] of the stamp S1 that follows. Mutant 20 ([S8] relaxed) is killed
// here.
constexpr v::scenario_config give_back_after_probe_2t{
    .free_set_size = 1, .release_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::none,
    .reader = 0, .reader_bump_first = false, .release_all = true, .check_progress = false};
constexpr v::scenario_config deleter_after_probe_2t{
    .free_set_size = 1, .release_set_size = 1, .stamp_batch = 1, .bump_on = ts_policy::none,
    .reader = 0, .reader_bump_first = false, .release_all = true, .retire_system = true,
    .check_progress = false};

const std::array tests{
    v::entry<"release__release_only_2t", v::swap_slots, 2, release_only_2t>(v::bounded(6), v::full()),
    v::entry<"release__mixed_free_release_2t", v::swap_slots, 2, mixed_2t>(v::bounded(5), v::full()),
    v::entry<"release__partial_release_set_2t", v::swap_slots, 2, mixed_partial_2t>(v::bounded(4), v::bounded(6)),
    v::entry<"release__mixed_read_then_bump_2t", v::swap_slots, 2, mixed_read_then_bump_2t>(v::bounded(3), v::full()),
    v::entry<"release__mixed_free_release_3t", v::swap_slots, 3, mixed_sym>(v::bounded(1), v::bounded(3)),
    v::entry<"release__mixed_free_release_4t", v::swap_slots, 4, mixed_sym>(v::random(20000), v::random(1000000)),
    v::entry<"release__retire_only_2t", v::swap_slots, 2, retire_only_2t>(v::bounded(6), v::full()),
    v::entry<"release__retire_mixed_2t", v::swap_slots, 2, retire_mixed_2t>(v::bounded(5), v::full()),
    v::entry<"release__retire_mixed_read_then_bump_2t", v::swap_slots, 2, retire_mixed_read_then_bump_2t>(v::bounded(3), v::full()),
    v::entry<"release__retire_mixed_3t", v::swap_slots, 3, retire_mixed_sym>(v::bounded(1), v::bounded(3)),
    v::entry<"release__give_back_after_probe_2t", v::membership_race, 2, give_back_after_probe_2t>(v::full(), v::full()),
    v::entry<"release__deleter_after_probe_2t", v::membership_race, 2, deleter_after_probe_2t>(v::full(), v::full()),
};

}  // namespace

int main(int argc, char** argv) { return v::run_main(argc, argv, tests); }
