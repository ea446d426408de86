// Property 3, progress: when every registered thread keeps bumping, what an owner freed is
// collected and reused within a bounded number of steps. After each execution, world::
// check_progress() bumps every online thread, lets each owner stamp twice more, and checks
// that every object freed during the run was collected and that the next allocation reuses one.
// The negative control (idle thread: online, never bumped) must fail that check.
#include "verification/harness.hpp"

namespace v = ssmem::verification;
using ssmem::ts_policy;

namespace {

constexpr v::scenario_config swap_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0};
constexpr v::scenario_config swap_set2_2t{
    .free_set_size = 2, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0};
constexpr v::scenario_config stack_2t{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0};
constexpr v::scenario_config swap_sym{.free_set_size = 1, .bump_on = ts_policy::both, .ops = 2};
constexpr v::scenario_config stack_sym{.free_set_size = 1, .bump_on = ts_policy::both, .ops = 3};
// Negative control: the reader stays online and is not bumped afterwards.
constexpr v::scenario_config idle_reader{
    .free_set_size = 1, .bump_on = ts_policy::on_free, .ops = 3, .reader_ops = 1, .reader = 0,
    .idle = 0};

const std::array tests{
    v::entry<"progress__swap_slots_2t", v::swap_slots, 2, swap_2t>(v::bounded(6), v::full()),
    v::entry<"progress__swap_slots_free_set_2_2t", v::swap_slots, 2, swap_set2_2t>(v::full(), v::full()),
    v::entry<"progress__treiber_stack_2t", v::treiber_stack, 2, stack_2t>(v::bounded(3), v::full()),
    v::entry<"progress__swap_slots_3t", v::swap_slots, 3, swap_sym>(v::bounded(1), v::bounded(3)),
    v::entry<"progress__treiber_stack_3t", v::treiber_stack, 3, stack_sym>(v::bounded(1), v::bounded(3)),
    v::entry<"progress__swap_slots_4t", v::swap_slots, 4, swap_sym>(v::random(20000), v::random(1000000)),
    v::control_entry<"progress_fails__idle_reader_2t", v::swap_slots, 2, idle_reader>(v::full(), v::full()),
};

}  // namespace

int main(int argc, char** argv) { return v::run_main(argc, argv, tests); }
