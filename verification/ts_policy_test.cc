// Property 5: each timestamp policy (options::bump_on, ssmem/options.hpp) keeps safety and
// progress. The writer's own bumps are what the policy decides: with on_free, on_alloc, both
// or none (explicit ssmem_ts_next after each operation); the reader bumps explicitly.
#include "verification/harness.hpp"

namespace v = ssmem::verification;
using ssmem::ts_policy;

namespace {

template <ts_policy P>
constexpr v::scenario_config writer_reader{
    .free_set_size = 1, .bump_on = P, .ops = 3, .reader_ops = 1, .reader = 0};
template <ts_policy P>
constexpr v::scenario_config symmetric{.free_set_size = 1, .bump_on = P, .ops = 3};

// The 2-thread searches are bounded in the quick run and exhaustive in the deep run;
// on_free_2t is the configuration of progress__swap_slots_2t (the same search), so only the
// deep run repeats it.
const std::array tests{
    v::entry<"ts_policy__swap_slots_on_free_2t", v::swap_slots, 2, writer_reader<ts_policy::on_free>>(v::deep_only(), v::full()),
    v::entry<"ts_policy__swap_slots_on_alloc_2t", v::swap_slots, 2, writer_reader<ts_policy::on_alloc>>(v::bounded(6), v::full()),
    v::entry<"ts_policy__swap_slots_both_2t", v::swap_slots, 2, writer_reader<ts_policy::both>>(v::bounded(5), v::full()),
    v::entry<"ts_policy__swap_slots_none_2t", v::swap_slots, 2, writer_reader<ts_policy::none>>(v::bounded(6), v::full()),
    v::entry<"ts_policy__swap_slots_on_free_4t", v::swap_slots, 4, symmetric<ts_policy::on_free>>(v::random(10000), v::random(1000000)),
    v::entry<"ts_policy__swap_slots_on_alloc_4t", v::swap_slots, 4, symmetric<ts_policy::on_alloc>>(v::random(10000), v::random(1000000)),
    v::entry<"ts_policy__swap_slots_both_4t", v::swap_slots, 4, symmetric<ts_policy::both>>(v::random(10000), v::random(1000000)),
    v::entry<"ts_policy__swap_slots_none_4t", v::swap_slots, 4, symmetric<ts_policy::none>>(v::random(10000), v::random(1000000)),
};

}  // namespace

int main(int argc, char** argv) { return v::run_main(argc, argv, tests); }
