// //bench:throughput -- ssmem against allocators and reclamation schemes.
//
//   ./bazelw run //bench:throughput [-- FLAGS]     (--help lists the flags and the peers)
//
// For each workload and thread count, every selected peer runs once to warm up, then
// --reps rounds, the peers interleaved within each round (A B C A B C ...); ratios of ssmem to
// each peer are taken round by round and their median reported. Progress goes to stderr, the
// table to stdout, and throughput.csv, runs.csv and throughput.svg to the output directory.
//
// Under load (issue 18): W1 at --load-size and W2 also run at over-subscribed thread counts
// (--oversubscribe, default 8x and 32x the hardware threads, at most 128), and W5 runs W1 and
// W2 with one worker that sleeps periodically while registered (--stall). Those cells run for
// at least --load-duration, and after every other cell, so that the cells up to 2 x nproc
// threads are measured in a process in the same state as before they existed.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/harness.hpp"
#include "bench/peers.hpp"
#include "bench/report.hpp"
#include "ssmem/native_policy.hpp"

#ifndef BENCH_COMPILATION_MODE
#define BENCH_COMPILATION_MODE "unknown"
#endif

namespace {

using namespace bench;

struct workload_def {
  std::string flag;    // --workloads name
  std::string title;
};

const std::vector<workload_def> workload_defs = {
    {"pair", "W1 pair: allocate + free one object per iteration (per size)"},
    {"swap", "W2 swap: 2048 shared slots, copy into a new object, exchange, retire the old one"},
    {"set-read", "W3 set, read-mostly: Harris-Michael hash set, 90% lookups / 10% updates"},
    {"set-update", "W3 set, update-heavy: Harris-Michael hash set, 50% lookups / 50% updates"},
    {"release", "W4 release: W2 on malloc'd objects, given back to malloc after the grace period"},
    {"stall", "W5 stall: W1 and W2 while one of the threads sleeps periodically, registered and online"},
};

/// The largest over-subscribed thread count by default: libcds's HP defaults (8 hazards per
/// thread, retired arrays of 1600) need fewer than 200 threads for a scan to free anything,
/// and 128 threads start in well under a second here.
constexpr unsigned oversubscribe_cap = 128;

struct options {
  std::vector<std::string> workloads;
  std::vector<std::string> peers;  // empty: all
  std::vector<unsigned> threads;
  std::vector<unsigned> oversubscribe;   // W1 at load_size and W2 only
  std::vector<unsigned> stall_threads;   // W5 (every worker but one runs without sleeping)
  std::vector<std::size_t> sizes = {8, 64};
  std::size_t release_size = 64;
  std::size_t load_size = 64;            // W1 object size over-subscribed and in W5
  unsigned stall_sleep_ms = 10, stall_period_ms = 50;
  double duration = 0.12;
  double load_duration = 0.5;            // at least this long: cells under load
  unsigned reps = 3;
  bool warmup = true;
  std::string out;
  std::uint64_t seed = 1;
  bool corrupt = false;
  std::string replot;  // a throughput.csv to plot instead of measuring
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "throughput: %s\n(try --help)\n", msg.c_str());
  std::exit(2);
}

std::vector<unsigned> default_oversubscribe(unsigned cores) {
  std::vector<unsigned> v;
  for (unsigned k : {8u, 32u}) {
    const unsigned t = std::min(k * cores, oversubscribe_cap);
    if (t > 2 * cores && std::find(v.begin(), v.end(), t) == v.end()) v.push_back(t);
  }
  return v;
}

/// nproc threads, one of them stalling (at least one other).
unsigned default_stall_threads(unsigned cores) { return std::max(2u, cores); }

std::string join(const std::vector<unsigned>& v) {
  std::string s;
  for (unsigned x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s.empty() ? "none" : s;
}

void print_help(const registry& reg, unsigned cores) {
  std::printf(
      "Usage: throughput [FLAGS]   (bazel run //bench:throughput -- FLAGS)\n\n"
      "Measures ssmem against allocators (W1) and reclamation schemes (W2-W4), also under load\n"
      "(more threads than cores; W5: a thread that sleeps while registered): operations per\n"
      "second (median of --reps interleaved rounds, min-max), the ratio ssmem/peer (median of\n"
      "per-round ratios), the high-water mark of objects freed but not yet reusable, and the\n"
      "growth of the peak RSS during the run.\n\n"
      "Flags (FLAG=VALUE or FLAG VALUE):\n"
      "  --workloads=LIST   of pair,swap,set-read,set-update,release,stall (default: all)\n"
      "  --peers=LIST       peers to run (default: all that load; see below)\n"
      "  --threads=LIST     thread counts (default: 1..%u and %u, i.e. 1..nproc and 2 x nproc)\n"
      "  --oversubscribe=LIST  more thread counts for W1 at --load-size and W2, or none\n"
      "                     (default: %s, i.e. 8 and 32 x nproc, at most %u)\n"
      "  --stall=MS/MS      W5: the stalling thread sleeps the first figure in every period of\n"
      "                     the second (default 10/50)\n"
      "  --stall-threads=LIST  W5 thread counts, the stalling thread included, each >= 2\n"
      "                     (default: %u)\n"
      "  --duration=SEC     measured seconds per run (default 0.12)\n"
      "  --load-duration=SEC  at least this long for the runs under load: above 2 x nproc\n"
      "                     threads, and W5 (default 0.5)\n"
      "  --reps=N           measured rounds (default 3; 1..100)\n"
      "  --no-warmup        skip the unmeasured warm-up round\n"
      "  --sizes=LIST       W1 object sizes in bytes (default 8,64)\n"
      "  --release-size=N   W4 object size in bytes (default 64)\n"
      "  --load-size=N      W1 object size over-subscribed and in W5 (default 64)\n"
      "  --seed=N           seed of the workers' random choices (default 1)\n"
      "  --out=DIR          output directory (default $BUILD_WORKSPACE_DIRECTORY/bench-out under\n"
      "                     bazel run, else ./bench-out); gets throughput.csv, runs.csv,\n"
      "                     throughput.svg\n"
      "  --replot=CSV       measure nothing: redraw throughput.svg in --out from a saved\n"
      "                     throughput.csv\n"
      "  --corrupt-slot     test hook: W2/W4 damage one slot before the value check, which must\n"
      "                     then fail (exit 1)\n"
      "  --help             this text\n\n"
      "Exit status: 0 all checks passed; 1 a workload's check failed; 2 bad flags or output.\n\n"
      "Peers:\n",
      cores, 2 * cores, join(default_oversubscribe(cores)).c_str(), oversubscribe_cap, default_stall_threads(cores));
  for (const auto& p : reg.peers) {
    std::string w;
    if (p.pair) w += "W1 ";
    if (p.swap) w += "W2 ";
    if (p.set) w += "W3 ";
    if (p.release) w += "W4 ";
    if (p.pair || p.swap) w += "W5 ";  // the stall scenario runs over W1 and W2
    std::printf("  %-16s [%s] %s\n", p.name.c_str(), w.c_str(), p.note.c_str());
  }
  std::printf("\nLeft out:\n");
  std::printf("  %-16s %s\n", "urcu-qsbr defer", "defer_rcu deadlocked at 2 threads on this machine; qsbr uses batch + synchronize_rcu");
  std::printf("  %-16s %s\n", "cds-hp classic", "scan_type::classic corrupted memory in about half the 2-thread runs; default (in-place) scan used");
  for (const auto& e : reg.excluded) std::printf("  %-16s could not be loaded: %s\n", e.name.c_str(), e.reason.c_str());
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) v.push_back(item);
  }
  return v;
}

unsigned long long parse_uint(const std::string& flag, const std::string& v, unsigned long long lo,
                              unsigned long long hi) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
    usage_error("bad value for " + flag + ": '" + v + "' (expected a whole number)");
  }
  errno = 0;
  unsigned long long x = std::strtoull(v.c_str(), nullptr, 10);
  if (errno != 0 || x < lo || x > hi) {
    usage_error("bad value for " + flag + ": " + v + " (expected " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return x;
}

double parse_seconds(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !(d >= 0.001 && d <= 60)) {
    usage_error("bad value for " + flag + ": '" + v + "' (expected seconds, 0.001..60)");
  }
  return d;
}

options parse(int argc, char** argv, const registry& reg, unsigned cores) {
  options o;
  for (const auto& w : workload_defs) o.workloads.push_back(w.flag);
  for (unsigned t = 1; t <= cores; ++t) o.threads.push_back(t);
  o.threads.push_back(2 * cores);
  o.oversubscribe = default_oversubscribe(cores);
  o.stall_threads = {default_stall_threads(cores)};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], flag = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    auto need = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) usage_error("missing value for " + flag);
      return argv[++i];
    };
    auto no_value = [&] {
      if (has_value) usage_error(flag + " takes no value");
    };
    if (flag == "--help" || flag == "-h") {
      print_help(reg, cores);
      std::exit(0);
    } else if (flag == "--workloads") {
      o.workloads = split(need());
      if (o.workloads.empty()) usage_error("--workloads is empty");
      for (const auto& w : o.workloads) {
        if (std::none_of(workload_defs.begin(), workload_defs.end(), [&](const workload_def& d) { return d.flag == w; })) {
          usage_error("unknown workload '" + w + "' (expected pair, swap, set-read, set-update, release, stall)");
        }
      }
    } else if (flag == "--peers") {
      o.peers = split(need());
      if (o.peers.empty()) usage_error("--peers is empty");
      for (const auto& p : o.peers) {
        bool known = std::any_of(reg.peers.begin(), reg.peers.end(), [&](const peer& x) { return x.name == p; });
        if (!known) {
          auto ex = std::find_if(reg.excluded.begin(), reg.excluded.end(), [&](const excluded_peer& x) { return x.name == p; });
          if (ex != reg.excluded.end()) usage_error("peer '" + p + "' is not available here: " + ex->reason);
          usage_error("unknown peer '" + p + "' (--help lists them)");
        }
      }
    } else if (flag == "--threads") {
      o.threads.clear();
      for (const auto& t : split(need())) o.threads.push_back(static_cast<unsigned>(parse_uint("--threads", t, 1, 256)));
      if (o.threads.empty()) usage_error("--threads is empty");
    } else if (flag == "--oversubscribe") {
      o.oversubscribe.clear();
      std::string v = need();
      if (v != "none") {
        for (const auto& t : split(v)) o.oversubscribe.push_back(static_cast<unsigned>(parse_uint("--oversubscribe", t, 1, 256)));
        if (o.oversubscribe.empty()) usage_error("--oversubscribe is empty (none: no over-subscribed runs)");
      }
    } else if (flag == "--stall-threads") {
      o.stall_threads.clear();
      for (const auto& t : split(need())) o.stall_threads.push_back(static_cast<unsigned>(parse_uint("--stall-threads", t, 2, 256)));
      if (o.stall_threads.empty()) usage_error("--stall-threads is empty");
    } else if (flag == "--stall") {
      std::string v = need();
      auto slash = v.find('/');
      if (slash == std::string::npos) usage_error("bad value for --stall: '" + v + "' (expected SLEEP_MS/PERIOD_MS, e.g. 10/50)");
      o.stall_sleep_ms = static_cast<unsigned>(parse_uint("--stall", v.substr(0, slash), 1, 10000));
      o.stall_period_ms = static_cast<unsigned>(parse_uint("--stall", v.substr(slash + 1), 1, 10000));
      if (o.stall_period_ms <= o.stall_sleep_ms) usage_error("bad value for --stall: '" + v + "' (the period must be longer than the sleep)");
    } else if (flag == "--duration") {
      o.duration = parse_seconds(flag, need());
    } else if (flag == "--load-duration") {
      o.load_duration = parse_seconds(flag, need());
    } else if (flag == "--reps") {
      o.reps = static_cast<unsigned>(parse_uint("--reps", need(), 1, 100));
    } else if (flag == "--no-warmup") {
      no_value();
      o.warmup = false;
    } else if (flag == "--sizes") {
      o.sizes.clear();
      for (const auto& s : split(need())) o.sizes.push_back(parse_uint("--sizes", s, 1, 1 << 20));
      if (o.sizes.empty()) usage_error("--sizes is empty");
    } else if (flag == "--release-size") {
      o.release_size = parse_uint("--release-size", need(), 1, 1 << 20);
    } else if (flag == "--load-size") {
      o.load_size = parse_uint("--load-size", need(), 1, 1 << 20);
    } else if (flag == "--seed") {
      o.seed = parse_uint("--seed", need(), 0, ~0ull);
    } else if (flag == "--out") {
      o.out = need();
      if (o.out.empty()) usage_error("--out is empty");
    } else if (flag == "--replot") {
      o.replot = need();
      if (o.replot.empty()) usage_error("--replot is empty");
    } else if (flag == "--corrupt-slot") {
      no_value();
      o.corrupt = true;
    } else {
      usage_error("unknown flag '" + a + "'");
    }
  }
  if (o.out.empty()) {
    const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    o.out = std::string(ws && *ws ? ws : ".") + "/bench-out";
  }
  return o;
}

// Debian's jemalloc uses the initial-exec TLS model; dlopen() accepts it only when glibc
// reserves enough surplus static TLS, a tunable read at process start. Re-executes once with
// the tunable raised (the environment says so to the child); if that fails, jemalloc is left
// out with dlopen's reason.
void ensure_static_tls_for_dlopen(char** argv) {
  if (std::getenv("BENCH_STATIC_TLS_SET") != nullptr) return;
  std::string t;
  if (const char* cur = std::getenv("GLIBC_TUNABLES")) t = cur;
  if (t.find("glibc.rtld.optional_static_tls") != std::string::npos) return;
  t += (t.empty() ? "" : ":") + std::string("glibc.rtld.optional_static_tls=16384");
  ::setenv("GLIBC_TUNABLES", t.c_str(), 1);
  ::setenv("BENCH_STATIC_TLS_SET", "1", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed: carry on without it
}

std::string library_of(void* fn) {
  Dl_info info;
  if (::dladdr(fn, &info) == 0 || info.dli_fname == nullptr) return "?";
  return info.dli_fname;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  }
  return "?";
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a.empty() ? "?" : a + " " + b + " " + c;
}

std::string kernel() {
  std::ifstream f("/proc/sys/kernel/osrelease");
  std::string s;
  std::getline(f, s);
  return s.empty() ? "?" : s;
}

bool make_dirs(const std::string& path) {
  std::string cur;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST) return false;
    }
    if (i < path.size()) cur += path[i];
  }
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The plot's panel title of a workload row ("pair-8", "swap", "stall-swap", ...).
std::string panel_title(const std::string& name) {
  if (name.rfind("stall-", 0) == 0) return "W5 stall: " + panel_title(name.substr(6));
  if (name.rfind("calm-", 0) == 0) return "W5 reference, nobody sleeps: " + panel_title(name.substr(5));
  if (name.rfind("pair-", 0) == 0) return "W1 pair, " + name.substr(5) + " B (allocate + free)";
  if (name == "swap") return "W2 swap (2048 slots, copy, exchange, retire)";
  if (name == "set-read") return "W3 Harris-Michael set, read-mostly (90% lookups)";
  if (name == "set-update") return "W3 Harris-Michael set, update-heavy (50% updates)";
  if (name == "release") return "W4 release (malloc'd objects back to malloc)";
  return name;
}

plot_data titled(plot_data d) {
  for (std::size_t i = 0; i < d.workload_order.size(); ++i) d.workload_titles[i] = panel_title(d.workload_order[i]);
  return d;
}

// One measured row of the report: a workload (with W1's size) and how to run a peer on it.
struct row {
  std::string name;   // e.g. pair-8, stall-swap
  std::string title;
  run_fn peer::*fn;
  run_params base;
  std::vector<unsigned> threads;
  bool stall = false;
  std::vector<std::string> only;  // the peers that run this row (empty: every peer)
};

std::vector<unsigned> with(std::vector<unsigned> v, const std::vector<unsigned>& more) {
  for (unsigned t : more) {
    if (std::find(v.begin(), v.end(), t) == v.end()) v.push_back(t);
  }
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<row> rows_of(const options& o) {
  std::vector<row> rows;
  auto def = [&](const std::string& w) -> const workload_def& {
    return *std::find_if(workload_defs.begin(), workload_defs.end(), [&](const workload_def& d) { return d.flag == w; });
  };
  run_params base;
  base.seed = o.seed;
  base.corrupt = o.corrupt;
  auto pair_row = [&](std::size_t size, std::vector<unsigned> threads) {
    run_params b = base;
    b.object_size = size;
    return row{"pair-" + std::to_string(size),
               "W1 pair, " + std::to_string(size) + " B: allocate + free one object per iteration", &peer::pair, b,
               std::move(threads)};
  };
  for (const auto& w : o.workloads) {
    if (w == "pair") {
      for (std::size_t s : o.sizes) rows.push_back(pair_row(s, s == o.load_size ? with(o.threads, o.oversubscribe) : o.threads));
      if (!o.oversubscribe.empty() && std::find(o.sizes.begin(), o.sizes.end(), o.load_size) == o.sizes.end()) {
        rows.push_back(pair_row(o.load_size, with({}, o.oversubscribe)));
      }
    } else if (w == "swap") {
      rows.push_back({w, def(w).title, &peer::swap, base, with(o.threads, o.oversubscribe)});
    } else if (w == "set-read" || w == "set-update") {
      run_params b = base;
      b.update_percent = w == "set-read" ? 10 : 50;
      rows.push_back({w, def(w).title, &peer::set, b, with(o.threads, {})});
    } else if (w == "release") {
      run_params b = base;
      b.object_size = o.release_size;
      rows.push_back({w, def(w).title + " (" + std::to_string(o.release_size) + " B)", &peer::release, b, with(o.threads, {})});
    } else {  // stall
      run_params b = base;
      b.stall_sleep = std::chrono::milliseconds(o.stall_sleep_ms);
      b.stall_period = std::chrono::milliseconds(o.stall_period_ms);
      const std::string how = ": one of the threads sleeps " + std::to_string(o.stall_sleep_ms) + " ms in every " +
                              std::to_string(o.stall_period_ms) + " ms while registered";
      row p = pair_row(o.load_size, with({}, o.stall_threads));
      p.name = "stall-" + p.name;
      p.title = "W5 stall, W1 pair " + std::to_string(o.load_size) + " B" + how;
      p.base.stall_sleep = b.stall_sleep;
      p.base.stall_period = b.stall_period;
      p.stall = true;
      rows.push_back(p);
      rows.push_back({"stall-swap", "W5 stall, W2 swap" + how, &peer::swap, b, with({}, o.stall_threads), true});
      // What "costs no memory" is measured against: the same W2 cells, as long and with as many
      // threads, with nobody sleeping -- for the ssmem peers whose sleeper is offline (and
      // ssmem, for the ratios). W2's own row runs shorter, and a high-water mark grows with
      // the length of the run.
      rows.push_back({"calm-swap", "W5 reference, W2 swap: as stall-swap (threads, duration), nobody sleeps",
                      &peer::swap, base, with({}, o.stall_threads), true, {"ssmem", "ssmem-section", "ssmem-offline"}});
    }
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  // The C API peer's ssmem_alloc_init prints the original's "[ALLOC] initializing allocator"
  // line for thread id 0 unless SSMEM_QUIET is set (ssmem.h): the benchmark's output is its
  // own. Set before anything initialises a peer; the re-execution below inherits it.
  ::setenv("SSMEM_QUIET", "1", 1);
  ensure_static_tls_for_dlopen(argv);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  registry reg = all_peers();
  options o = parse(argc, argv, reg, cores);

  if (!o.replot.empty()) {
    plot_data d;
    std::string error;
    const std::string svg = o.out + "/throughput.svg";
    if (!read_plot_csv(o.replot, d, error) || !make_dirs(o.out) || !write_svg(titled(d), svg, error)) {
      std::fprintf(stderr, "throughput: %s\n", error.empty() ? ("cannot create " + o.out).c_str() : error.c_str());
      return 2;
    }
    std::printf("wrote %s\n", svg.c_str());
    return 0;
  }

  const std::vector<row> rows = rows_of(o);
  auto selected = [&](const peer& p) {
    return o.peers.empty() || std::find(o.peers.begin(), o.peers.end(), p.name) != o.peers.end();
  };
  // A cell under load: more threads than 2 x nproc, or W5.
  auto under_load = [&](const row& r, unsigned t) { return r.stall || t > 2 * cores; };

  report rep;
  rep.header.push_back("ssmem //bench:throughput");
  rep.header.push_back(std::string("build: bazel compilation mode ") + BENCH_COMPILATION_MODE +
                       "; bench and ssmem compiled with -O3 -DNDEBUG regardless" +
#if defined(__OPTIMIZE__) && defined(NDEBUG)
                       " (optimised: yes)"
#else
                       " (optimised: NO -- figures are not meaningful)"
#endif
  );
  rep.header.push_back("machine: " + std::to_string(cores) + " hardware threads, " + cpu_model() + ", Linux " + kernel() +
                       "; load average at start " + loadavg());
  rep.header.push_back(std::string("ssmem fence: ") +
                       (ssmem::native_policy::membarrier_available
                            ? "membarrier(PRIVATE_EXPEDITED) asymmetric fence"
                            : "seq_cst fences (membarrier unavailable or SSMEM_NO_MEMBARRIER=1)"));
  std::string malloc_lib = library_of(reinterpret_cast<void*>(&std::malloc));
  rep.header.push_back("process malloc (glibc peer, W2-W4 peers' objects, ssmem release): " + malloc_lib);
  {
    std::ostringstream s;
    s << "runs: " << o.duration << " s x " << o.reps << " round(s)" << (o.warmup ? " + warm-up" : "") << ", threads";
    for (unsigned t : o.threads) s << " " << t;
    s << ", seed " << o.seed;
    rep.header.push_back(s.str());
  }
  {
    std::ostringstream s;
    s << "under load: at least " << o.load_duration << " s per run above " << 2 * cores
      << " threads and in W5; over-subscribed (W1 " << o.load_size << " B, W2): " << join(o.oversubscribe)
      << "; W5 stall: " << join(o.stall_threads) << " threads, the last sleeps " << o.stall_sleep_ms << " ms in every "
      << o.stall_period_ms << " ms while registered";
    rep.header.push_back(s.str());
  }
  if (malloc_lib.find("libc.so") == std::string::npos) {
    std::fprintf(stderr, "throughput: warning: malloc resolves to %s, not glibc's libc.so\n", malloc_lib.c_str());
  }
  for (const auto& e : reg.excluded) rep.header.push_back("left out: " + e.name + ": " + e.reason);

  if (!make_dirs(o.out)) {
    std::fprintf(stderr, "throughput: cannot create output directory %s\n", o.out.c_str());
    return 2;
  }
  for (const auto& h : rep.header) std::fprintf(stderr, "%s\n", h.c_str());

  // The groups (a row at a thread count), those under load last.
  struct group {
    std::size_t row;
    unsigned threads;
  };
  std::vector<group> groups;
  for (int load = 0; load < 2; ++load) {
    for (std::size_t k = 0; k < rows.size(); ++k) {
      for (unsigned t : rows[k].threads) {
        if (under_load(rows[k], t) == (load == 1)) groups.push_back({k, t});
      }
    }
  }
  for (const auto& r : rows) {
    rep.workload_order.push_back(r.name);
    rep.workload_titles.push_back(r.title);
  }

  bool failed = false;
  std::size_t done = 0;
  for (const group& g : groups) {
    const row& r = rows[g.row];
    const unsigned t = g.threads;
    ++done;
    std::vector<const peer*> ps;
    for (const auto& p : reg.peers) {
      const bool in_row = r.only.empty() || std::find(r.only.begin(), r.only.end(), p.name) != r.only.end();
      if (selected(p) && in_row && p.*(r.fn)) ps.push_back(&p);
    }
    if (ps.empty()) continue;
    run_params p = r.base;
    p.threads = t;
    const double seconds = under_load(r, t) ? std::max(o.duration, o.load_duration) : o.duration;
    std::size_t first = rep.cells.size();
    for (const peer* x : ps) rep.cells.push_back({r.name, t, x->name, {}, {}});
    if (o.warmup) {
      run_params w = p;
      w.seconds = std::max(0.01, seconds / 4);
      w.corrupt = false;
      for (const peer* x : ps) (void)(x->*(r.fn))(w);
    }
    p.seconds = seconds;
    for (unsigned round = 0; round < o.reps; ++round) {
      for (std::size_t k = 0; k < ps.size(); ++k) {
        p.seed = o.seed + round;
        run_result res = (ps[k]->*(r.fn))(p);
        if (!res.ok) {
          std::fprintf(stderr, "throughput: %s, %u thread(s), %s: %s\n", r.name.c_str(), t, ps[k]->name.c_str(),
                       res.error.c_str());
          failed = true;
        }
        rep.cells[first + k].runs.push_back(res);
      }
      // ratios from the same round
      const cell* ss = nullptr;
      for (std::size_t k = 0; k < ps.size(); ++k) {
        if (rep.cells[first + k].peer == "ssmem") ss = &rep.cells[first + k];
      }
      if (ss != nullptr) {
        double m = ss->runs.back().mops();
        for (std::size_t k = 0; k < ps.size(); ++k) {
          cell& c = rep.cells[first + k];
          if (&c != ss && c.runs.back().mops() > 0) c.ratios.push_back(m / c.runs.back().mops());
        }
      }
    }
    std::string line;
    for (std::size_t k = 0; k < ps.size(); ++k) {
      char b[64];
      std::snprintf(b, sizeof b, " %s %.1f", ps[k]->name.c_str(), rep.cells[first + k].median_mops());
      line += b;
    }
    std::fprintf(stderr, "[%zu/%zu] %s, %u thread(s)%s: Mops/s%s\n", done, groups.size(), r.name.c_str(), t,
                 under_load(r, t) ? " (under load)" : "", line.c_str());
  }
  // The tables, the CSV and the plot go by workload, then threads (the measuring order put the
  // cells under load last); peers keep their order.
  std::stable_sort(rep.cells.begin(), rep.cells.end(), [&](const cell& a, const cell& b) {
    auto pos = [&](const cell& c) {
      return std::find(rep.workload_order.begin(), rep.workload_order.end(), c.workload) - rep.workload_order.begin();
    };
    return pos(a) != pos(b) ? pos(a) < pos(b) : a.threads < b.threads;
  });

  print_table(rep, stdout);
  std::string error;
  const std::string csv = o.out + "/throughput.csv", runs = o.out + "/runs.csv", svg = o.out + "/throughput.svg";
  if (!write_csv(rep, csv, error) || !write_runs_csv(rep, runs, error) || !write_svg(titled(plot_of(rep)), svg, error)) {
    std::fprintf(stderr, "throughput: %s\n", error.c_str());
    return 2;
  }
  std::printf("\nwrote %s, %s, %s\n", csv.c_str(), runs.c_str(), svg.c_str());
  if (failed) {
    std::fprintf(stderr, "throughput: FAILED: a workload's check failed (see above)\n");
    return 1;
  }
  return 0;
}
