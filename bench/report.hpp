// Results of a whole benchmark run and how they are written: the text table (stdout), the CSV
// files and the SVG plot (per workload, throughput and peak-RSS growth against threads, one line
// per peer), all produced by the program itself.
#ifndef SSMEM_BENCH_REPORT_HPP
#define SSMEM_BENCH_REPORT_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "bench/harness.hpp"

namespace bench {

/// One cell: a workload at a thread count for one peer, over every round.
struct cell {
  std::string workload;   ///< e.g. "pair-8", "swap", "set-read", "set-update", "release"
  unsigned threads = 0;
  std::string peer;
  std::vector<run_result> runs;     ///< one per round, in round order
  std::vector<double> ratios;       ///< ssmem Mops/s over this peer's, per round (empty for ssmem)

  double median_mops() const;
  double min_mops() const;
  double max_mops() const;
  double median_ratio() const;      ///< NaN without ratios
  long long max_pending() const;    ///< -1: n/a
  long max_rss_kb() const;          ///< peak RSS, the largest over the rounds; -1: n/a
  long rss_growth_kb() const;       ///< peak RSS minus the RSS at the run's start, largest
  long long pending_bound() const;  ///< the peer's bound on pending objects, smallest; -1: none
  counters extra() const;           ///< each counter's largest value over the rounds
};

double median(std::vector<double> v);

/// Everything one invocation measured, and what it was run on.
struct report {
  std::vector<std::string> header;  ///< "key: value" lines describing build and machine
  std::vector<cell> cells;
  std::vector<std::string> workload_titles;  ///< parallel to workload order
  std::vector<std::string> workload_order;
};

/// One point of the plot: a peer's median and min-max at a thread count.
struct plot_point {
  std::string workload;
  std::string peer;
  unsigned threads = 0;
  double median = 0, min = 0, max = 0;
  double rss_growth_mib = -1;       ///< the cell's peak-RSS growth; negative: n/a
};

/// What the plot shows: panels in workload order, lines in peer order of first appearance.
struct plot_data {
  std::vector<std::string> workload_order;
  std::vector<std::string> workload_titles;
  std::vector<plot_point> points;
};

void print_table(const report& r, std::FILE* out);
bool write_csv(const report& r, const std::string& path, std::string& error);
bool write_runs_csv(const report& r, const std::string& path, std::string& error);
/// The plot of a report.
plot_data plot_of(const report& r);
/// The plot of a throughput.csv written earlier (panel titles are the workload names).
bool read_plot_csv(const std::string& path, plot_data& out, std::string& error);
/// One row of panels per workload, one line per peer: throughput against threads on the left,
/// peak-RSS growth on the right. A throughput panel whose values span more than a factor 5
/// gets a logarithmic axis (W1: the free list runs five times faster than any allocator),
/// otherwise a linear one from 0; the memory panels are linear from 0.
bool write_svg(const plot_data& d, const std::string& path, std::string& error);

}  // namespace bench

#endif
