// //bench:throughput -- ssmem against allocators and reclamation schemes.
//
//   ./bazelw run //bench:throughput [-- FLAGS]     (--help lists the flags and the peers)
//
// For each workload and thread count, every selected peer runs once to warm up, then
// --reps rounds, the peers interleaved within each round (A B C A B C ...); ratios of ssmem to
// each peer are taken round by round and their median reported. Progress goes to stderr, the
// table to stdout, and throughput.csv, runs.csv and throughput.svg to the output directory.
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
};

struct options {
  std::vector<std::string> workloads;
  std::vector<std::string> peers;  // empty: all
  std::vector<unsigned> threads;
  std::vector<std::size_t> sizes = {8, 64};
  std::size_t release_size = 64;
  double duration = 0.12;
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

void print_help(const registry& reg, unsigned cores) {
  std::printf(
      "Usage: throughput [FLAGS]   (bazel run //bench:throughput -- FLAGS)\n\n"
      "Measures ssmem against allocators (W1) and reclamation schemes (W2-W4): operations per\n"
      "second (median of --reps interleaved rounds, min-max), the ratio ssmem/peer (median of\n"
      "per-round ratios), the high-water mark of objects freed but not yet reusable, and the\n"
      "growth of the peak RSS during the run.\n\n"
      "Flags (FLAG=VALUE or FLAG VALUE):\n"
      "  --workloads=LIST   of pair,swap,set-read,set-update,release (default: all)\n"
      "  --peers=LIST       peers to run (default: all that load; see below)\n"
      "  --threads=LIST     thread counts (default: 1..%u and %u, i.e. 1..nproc and 2 x nproc)\n"
      "  --duration=SEC     measured seconds per run (default 0.12)\n"
      "  --reps=N           measured rounds (default 3; 1..100)\n"
      "  --no-warmup        skip the unmeasured warm-up round\n"
      "  --sizes=LIST       W1 object sizes in bytes (default 8,64)\n"
      "  --release-size=N   W4 object size in bytes (default 64)\n"
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
      cores, 2 * cores);
  for (const auto& p : reg.peers) {
    std::string w;
    if (p.pair) w += "W1 ";
    if (p.swap) w += "W2 ";
    if (p.set) w += "W3 ";
    if (p.release) w += "W4 ";
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

options parse(int argc, char** argv, const registry& reg, unsigned cores) {
  options o;
  for (const auto& w : workload_defs) o.workloads.push_back(w.flag);
  for (unsigned t = 1; t <= cores; ++t) o.threads.push_back(t);
  o.threads.push_back(2 * cores);
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
          usage_error("unknown workload '" + w + "' (expected pair, swap, set-read, set-update, release)");
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
    } else if (flag == "--duration") {
      std::string v = need();
      char* end = nullptr;
      errno = 0;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || errno != 0 || !(d >= 0.001 && d <= 60)) {
        usage_error("bad value for --duration: '" + v + "' (expected seconds, 0.001..60)");
      }
      o.duration = d;
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

// The plot's panel title of a workload row ("pair-8", "swap", ...).
std::string panel_title(const std::string& name) {
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
  std::string name;   // e.g. pair-8
  std::string title;
  run_fn peer::*fn;
  run_params base;
};

}  // namespace

int main(int argc, char** argv) {
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

  std::vector<row> rows;
  for (const auto& w : o.workloads) {
    const auto& def = *std::find_if(workload_defs.begin(), workload_defs.end(), [&](const workload_def& d) { return d.flag == w; });
    run_params base;
    base.seed = o.seed;
    base.corrupt = o.corrupt;
    if (w == "pair") {
      for (std::size_t s : o.sizes) {
        base.object_size = s;
        rows.push_back({"pair-" + std::to_string(s), "W1 pair, " + std::to_string(s) + " B: allocate + free one object per iteration", &peer::pair, base});
      }
    } else if (w == "swap") {
      rows.push_back({w, def.title, &peer::swap, base});
    } else if (w == "set-read" || w == "set-update") {
      base.update_percent = w == "set-read" ? 10 : 50;
      rows.push_back({w, def.title, &peer::set, base});
    } else {
      base.object_size = o.release_size;
      rows.push_back({w, def.title + " (" + std::to_string(o.release_size) + " B)", &peer::release, base});
    }
  }
  auto selected = [&](const peer& p) {
    return o.peers.empty() || std::find(o.peers.begin(), o.peers.end(), p.name) != o.peers.end();
  };

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
  if (malloc_lib.find("libc.so") == std::string::npos) {
    std::fprintf(stderr, "throughput: warning: malloc resolves to %s, not glibc's libc.so\n", malloc_lib.c_str());
  }
  for (const auto& e : reg.excluded) rep.header.push_back("left out: " + e.name + ": " + e.reason);

  if (!make_dirs(o.out)) {
    std::fprintf(stderr, "throughput: cannot create output directory %s\n", o.out.c_str());
    return 2;
  }
  for (const auto& h : rep.header) std::fprintf(stderr, "%s\n", h.c_str());

  bool failed = false;
  std::size_t groups = rows.size() * o.threads.size(), group = 0;
  for (const auto& r : rows) {
    rep.workload_order.push_back(r.name);
    rep.workload_titles.push_back(r.title);
    std::vector<const peer*> ps;
    for (const auto& p : reg.peers) {
      if (selected(p) && p.*(r.fn)) ps.push_back(&p);
    }
    if (ps.empty()) continue;
    for (unsigned t : o.threads) {
      ++group;
      run_params p = r.base;
      p.threads = t;
      std::size_t first = rep.cells.size();
      for (const peer* x : ps) rep.cells.push_back({r.name, t, x->name, {}, {}});
      if (o.warmup) {
        run_params w = p;
        w.seconds = std::max(0.01, o.duration / 4);
        w.corrupt = false;
        for (const peer* x : ps) (void)(x->*(r.fn))(w);
      }
      p.seconds = o.duration;
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
      std::fprintf(stderr, "[%zu/%zu] %s, %u thread(s): Mops/s%s\n", group, groups, r.name.c_str(), t, line.c_str());
    }
  }

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
