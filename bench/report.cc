#include "bench/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <set>

namespace bench {

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

namespace {
std::vector<double> mops_of(const cell& c) {
  std::vector<double> v;
  for (const auto& r : c.runs) v.push_back(r.mops());
  return v;
}
}  // namespace

double cell::median_mops() const { return median(mops_of(*this)); }
double cell::min_mops() const {
  auto v = mops_of(*this);
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}
double cell::max_mops() const {
  auto v = mops_of(*this);
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}
double cell::median_ratio() const { return median(ratios); }
long long cell::max_pending() const {
  long long m = -1;
  for (const auto& r : runs) m = std::max(m, r.pending_hwm);
  return m;
}
long cell::max_rss_kb() const {
  long m = -1;
  for (const auto& r : runs) m = std::max(m, r.rss_peak_kb);
  return m;
}
long cell::rss_growth_kb() const {
  long m = -1;
  for (const auto& r : runs) {
    if (r.rss_peak_kb >= 0) m = std::max(m, std::max(0L, r.rss_peak_kb - r.rss_start_kb));
  }
  return m;
}
long long cell::pending_bound() const {
  long long m = -1;
  for (const auto& r : runs) {
    if (r.pending_bound >= 0 && (m < 0 || r.pending_bound < m)) m = r.pending_bound;
  }
  return m;
}
counters cell::extra() const {
  counters c;  // in first-seen order
  for (const auto& r : runs) {
    for (const auto& e : r.extra) {
      auto it = std::find_if(c.begin(), c.end(), [&](const auto& x) { return x.first == e.first; });
      if (it == c.end()) {
        c.push_back(e);
      } else {
        it->second = std::max(it->second, e.second);
      }
    }
  }
  return c;
}

namespace {
std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string pending_str(long long p) { return p < 0 ? "n/a" : std::to_string(p); }
// "name=value name=value": the CSV's `counters` field (no commas, no quotes needed).
std::string counters_str(const counters& c) {
  std::string s;
  for (const auto& [name, v] : c) s += (s.empty() ? "" : " ") + name + "=" + std::to_string(v);
  return s;
}
}  // namespace

void print_table(const report& r, std::FILE* out) {
  for (const auto& h : r.header) std::fprintf(out, "%s\n", h.c_str());
  for (std::size_t w = 0; w < r.workload_order.size(); ++w) {
    const std::string& name = r.workload_order[w];
    std::fprintf(out, "\n%s\n", r.workload_titles[w].c_str());
    // A bound column where a peer states one; its counters (largest over the rounds) last.
    bool bounds = false;
    for (const auto& c : r.cells) bounds = bounds || (c.workload == name && c.pending_bound() >= 0);
    std::fprintf(out, "%7s  %-16s %10s  %-19s %12s %14s", "threads", "peer", "Mops/s", "[min - max]", "ssmem/peer",
                 "pending HWM");
    if (bounds) std::fprintf(out, " %12s", "bound");
    std::fprintf(out, " %12s  %s\n", "RSS +MiB", "counters");
    unsigned last_threads = 0;
    for (const auto& c : r.cells) {
      if (c.workload != name) continue;
      if (last_threads != 0 && c.threads != last_threads) std::fprintf(out, "\n");
      last_threads = c.threads;
      double ratio = c.median_ratio();
      long g = c.rss_growth_kb();
      std::string range = "[" + fmt("%.1f", c.min_mops()) + " - " + fmt("%.1f", c.max_mops()) + "]";
      std::fprintf(out, "%7u  %-16s %10.2f  %-19s %12s %14s", c.threads, c.peer.c_str(), c.median_mops(),
                   range.c_str(), std::isnan(ratio) ? "" : fmt("%.2fx", ratio).c_str(),
                   pending_str(c.max_pending()).c_str());
      if (bounds) std::fprintf(out, " %12s", pending_str(c.pending_bound()).c_str());
      std::fprintf(out, " %12s  %s\n", g < 0 ? "n/a" : fmt("%.1f", g / 1024.0).c_str(), counters_str(c.extra()).c_str());
    }
  }
  std::fflush(out);
}

bool write_csv(const report& r, const std::string& path, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    error = "cannot write " + path;
    return false;
  }
  std::fprintf(f,
               "workload,threads,peer,rounds,mops_median,mops_min,mops_max,ssmem_ratio_median,"
               "pending_hwm,peak_rss_kb,rss_growth_kb,pending_bound,counters\n");
  for (const auto& c : r.cells) {
    double ratio = c.median_ratio();
    std::fprintf(f, "%s,%u,%s,%zu,%.3f,%.3f,%.3f,%s,%lld,%ld,%ld,%lld,%s\n", c.workload.c_str(), c.threads,
                 c.peer.c_str(), c.runs.size(), c.median_mops(), c.min_mops(), c.max_mops(),
                 std::isnan(ratio) ? "" : fmt("%.3f", ratio).c_str(), c.max_pending(), c.max_rss_kb(),
                 c.rss_growth_kb(), c.pending_bound(), counters_str(c.extra()).c_str());
  }
  return std::fclose(f) == 0 || (error = "cannot write " + path, false);
}

bool write_runs_csv(const report& r, const std::string& path, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    error = "cannot write " + path;
    return false;
  }
  std::fprintf(f, "workload,threads,peer,round,mops,ops,seconds,pending_hwm,rss_start_kb,peak_rss_kb,pending_bound,counters\n");
  for (const auto& c : r.cells) {
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
      const run_result& x = c.runs[i];
      std::fprintf(f, "%s,%u,%s,%zu,%.3f,%llu,%.4f,%lld,%ld,%ld,%lld,%s\n", c.workload.c_str(), c.threads,
                   c.peer.c_str(), i + 1, x.mops(), static_cast<unsigned long long>(x.ops), x.seconds, x.pending_hwm,
                   x.rss_start_kb, x.rss_peak_kb, x.pending_bound, counters_str(x.extra).c_str());
    }
  }
  return std::fclose(f) == 0 || (error = "cannot write " + path, false);
}

namespace {

// Distinct colours, one per peer in first-seen order (as many as the peers the benchmark
// has, so that no two lines of a panel share one; past that they repeat).
const char* const palette[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8",
                               "#7b4173", "#98df8a", "#393b79", "#ff9896", "#c49c94", "#637939"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// A "nice" axis maximum at or above v.
double nice_ceiling(double v) {
  if (v <= 0) return 1;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

}  // namespace

plot_data plot_of(const report& r) {
  plot_data d;
  d.workload_order = r.workload_order;
  d.workload_titles = r.workload_titles;
  for (const auto& c : r.cells) {
    if (c.runs.empty()) continue;
    const long g = c.rss_growth_kb();
    d.points.push_back({c.workload, c.peer, c.threads, c.median_mops(), c.min_mops(), c.max_mops(), g < 0 ? -1.0 : g / 1024.0});
  }
  return d;
}

bool read_plot_csv(const std::string& path, plot_data& out, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    error = "cannot read " + path;
    return false;
  }
  char line[4096];
  bool header = true;
  std::size_t growth_col = 0;  // rss_growth_kb's column (0: none, in a CSV of an older version)
  auto fields = [](const char* l) {
    std::vector<std::string> v;
    std::string cur;
    for (const char* p = l; *p != '\0' && *p != '\n'; ++p) {
      if (*p == ',') {
        v.push_back(cur);
        cur.clear();
      } else {
        cur += *p;
      }
    }
    v.push_back(cur);
    return v;
  };
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (header) {
      header = false;
      if (std::strncmp(line, "workload,threads,peer,rounds,mops_median,mops_min,mops_max,", 59) != 0) {
        std::fclose(f);
        error = path + " is not a throughput.csv (unexpected header)";
        return false;
      }
      const auto names = fields(line);
      for (std::size_t k = 0; k < names.size(); ++k) {
        if (names[k] == "rss_growth_kb") growth_col = k;
      }
      continue;
    }
    const auto v = fields(line);
    if (v.size() < 7) continue;
    const double growth = growth_col != 0 && growth_col < v.size() && !v[growth_col].empty()
                              ? std::atof(v[growth_col].c_str())
                              : -1;
    plot_point pt{v[0], v[2], static_cast<unsigned>(std::atoi(v[1].c_str())), std::atof(v[4].c_str()),
                  std::atof(v[5].c_str()), std::atof(v[6].c_str()), growth < 0 ? -1.0 : growth / 1024.0};
    if (std::find(out.workload_order.begin(), out.workload_order.end(), pt.workload) == out.workload_order.end()) {
      out.workload_order.push_back(pt.workload);
      out.workload_titles.push_back(pt.workload);
    }
    out.points.push_back(pt);
  }
  std::fclose(f);
  if (out.points.empty()) {
    error = path + " has no rows";
    return false;
  }
  return true;
}

bool write_svg(const plot_data& d, const std::string& path, std::string& error) {
  std::map<std::string, std::string> colour;
  for (const auto& p : d.points) {
    if (!colour.count(p.peer)) colour[p.peer] = palette[colour.size() % (sizeof palette / sizeof *palette)];
  }
  const int panel_w = 440, panel_h = 300;
  const int ml = 60, mr = 130, mt = 36, mb = 44;  // margins inside a panel
  const int n = static_cast<int>(d.workload_order.size());
  const int width = 2 * panel_w, height = n * panel_h + 30;
  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
       std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
       "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"bold\">ssmem //bench:throughput: "
       "median Mops/s (bars: min-max over rounds) and peak-RSS growth against threads</text>\n";

  // One panel: the points `ps` of one workload, y = value(p) with bars [lo(p), hi(p)].
  struct series {
    double median, lo, hi;
  };
  auto panel = [&](int ox, int oy, const std::string& title, const std::vector<const plot_point*>& ps,
                   const std::function<series(const plot_point&)>& value, bool allow_log, const std::string& ylabel) {
    std::set<unsigned> thread_set;
    double ymax = 0, ymin = 0;
    for (const plot_point* p : ps) {
      const series v = value(*p);
      thread_set.insert(p->threads);
      ymax = std::max(ymax, v.hi);
      if (v.lo > 0 && (ymin == 0 || v.lo < ymin)) ymin = v.lo;
    }
    std::vector<unsigned> xs(thread_set.begin(), thread_set.end());
    const bool log_axis = allow_log && ymin > 0 && ymax / ymin > 5;
    double lo = 0, hi = nice_ceiling(ymax);
    if (log_axis) {
      lo = std::pow(10.0, std::floor(std::log10(ymin)));
      hi = std::pow(10.0, std::ceil(std::log10(ymax)));
    }
    const int pw = panel_w - ml - mr, ph = panel_h - mt - mb;
    const int x0 = ox + ml, y0 = oy + mt;
    auto X = [&](unsigned t) {
      std::size_t i = std::find(xs.begin(), xs.end(), t) - xs.begin();
      return xs.size() <= 1 ? x0 + pw / 2.0 : x0 + pw * static_cast<double>(i) / (xs.size() - 1);
    };
    auto Y = [&](double v) {
      if (log_axis) {
        v = std::max(v, lo);
        return y0 + ph - ph * (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
      }
      return y0 + ph - ph * v / hi;
    };
    s += "<g>\n<text x=\"" + std::to_string(ox + 10) + "\" y=\"" + std::to_string(oy + 22) +
         "\" font-size=\"11\" font-weight=\"bold\">" + esc(title.size() > 70 ? title.substr(0, 67) + "..." : title) +
         "</text>\n";
    s += "<rect x=\"" + std::to_string(x0) + "\" y=\"" + std::to_string(y0) + "\" width=\"" + std::to_string(pw) +
         "\" height=\"" + std::to_string(ph) + "\" fill=\"none\" stroke=\"#999\"/>\n";
    std::vector<double> ticks;
    if (log_axis) {
      for (double dec = lo; dec < hi * 1.001; dec *= 10) {
        for (double m : {1.0, 2.0, 5.0}) {
          if (dec * m <= hi * 1.001) ticks.push_back(dec * m);
        }
      }
    } else {
      for (int k = 0; k <= 4; ++k) ticks.push_back(hi * k / 4);
    }
    for (double v : ticks) {
      s += "<line x1=\"" + std::to_string(x0) + "\" x2=\"" + std::to_string(x0 + pw) + "\" y1=\"" +
           fmt("%.1f", Y(v)) + "\" y2=\"" + fmt("%.1f", Y(v)) + "\" stroke=\"#eee\"/>\n";
      s += "<text x=\"" + std::to_string(x0 - 4) + "\" y=\"" + fmt("%.1f", Y(v) + 4) + "\" text-anchor=\"end\">" +
           fmt("%g", v) + "</text>\n";
    }
    for (unsigned t : xs) {
      s += "<text x=\"" + fmt("%.1f", X(t)) + "\" y=\"" + std::to_string(y0 + ph + 14) +
           "\" text-anchor=\"middle\">" + std::to_string(t) + "</text>\n";
    }
    s += "<text x=\"" + std::to_string(x0 + pw / 2) + "\" y=\"" + std::to_string(y0 + ph + 30) +
         "\" text-anchor=\"middle\">threads</text>\n";
    s += "<text transform=\"translate(" + std::to_string(ox + 14) + "," + std::to_string(y0 + ph / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + esc(ylabel + (log_axis ? " (log scale)" : "")) + "</text>\n";
    std::vector<std::string> peers;
    for (const plot_point* p : ps) {
      if (std::find(peers.begin(), peers.end(), p->peer) == peers.end()) peers.push_back(p->peer);
    }
    int legend_y = y0 + 4;
    for (const auto& peer : peers) {
      const std::string& col = colour[peer];
      std::string pts;
      for (const plot_point* p : ps) {
        if (p->peer != peer) continue;
        const series v = value(*p);
        pts += fmt("%.1f", X(p->threads)) + "," + fmt("%.1f", Y(v.median)) + " ";
        if (v.hi > v.lo) {
          s += "<line x1=\"" + fmt("%.1f", X(p->threads)) + "\" x2=\"" + fmt("%.1f", X(p->threads)) + "\" y1=\"" +
               fmt("%.1f", Y(v.lo)) + "\" y2=\"" + fmt("%.1f", Y(v.hi)) + "\" stroke=\"" + col +
               "\" stroke-opacity=\"0.5\"/>\n";
        }
        s += "<circle cx=\"" + fmt("%.1f", X(p->threads)) + "\" cy=\"" + fmt("%.1f", Y(v.median)) +
             "\" r=\"2.5\" fill=\"" + col + "\"/>\n";
      }
      s += "<polyline fill=\"none\" stroke=\"" + col + "\" stroke-width=\"" + (peer == "ssmem" ? "2.5" : "1.5") +
           "\" points=\"" + pts + "\"/>\n";
      s += "<line x1=\"" + std::to_string(x0 + pw + 8) + "\" x2=\"" + std::to_string(x0 + pw + 24) + "\" y1=\"" +
           std::to_string(legend_y) + "\" y2=\"" + std::to_string(legend_y) + "\" stroke=\"" + col +
           "\" stroke-width=\"2\"/>\n";
      s += "<text x=\"" + std::to_string(x0 + pw + 28) + "\" y=\"" + std::to_string(legend_y + 4) + "\">" +
           esc(peer) + "</text>\n";
      legend_y += 15;
    }
    s += "</g>\n";
  };

  for (int w = 0; w < n; ++w) {
    const std::string& name = d.workload_order[w];
    const std::string title = w < static_cast<int>(d.workload_titles.size()) ? d.workload_titles[w] : name;
    const int oy = 30 + w * panel_h;
    std::vector<const plot_point*> all, with_memory;
    for (const auto& p : d.points) {
      if (p.workload != name) continue;
      all.push_back(&p);
      if (p.rss_growth_mib >= 0) with_memory.push_back(&p);
    }
    panel(0, oy, title, all, [](const plot_point& p) { return series{p.median, p.min, p.max}; }, true, "Mops/s");
    panel(panel_w, oy, name + ": peak-RSS growth during a run (largest of the rounds)", with_memory,
          [](const plot_point& p) { return series{p.rss_growth_mib, p.rss_growth_mib, p.rss_growth_mib}; }, false,
          "MiB");
  }
  s += "</svg>\n";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    error = "cannot write " + path;
    return false;
  }
  std::fputs(s.c_str(), f);
  return std::fclose(f) == 0 || (error = "cannot write " + path, false);
}

}  // namespace bench
