// Rules the algorithm's source must keep, checked on the text of the headers (STYLE.md):
//  - the algorithm headers reach the machine only through the policy: no std::atomic,
//    stand-alone fence, thread_local, malloc/free or mmap outside native_policy.hpp, so the
//    Relacy build checks the very code that ships;
//  - every memory order that is not relaxed carries an [Sn] tag in the comment just above its
//    statement (or on its line), and every relaxed one says why ("relaxed" in that comment);
//  - the [Sn] tags of the code and the rows of docs/memory_order.md are the same set, and a
//    number below the highest tag that is neither is listed as retired there;
//  - docs/porting.md's pseudocode has the code's steps: each tagged step there exists in the
//    code under the same tag with the same orders at every site (and partners the code
//    names), and each tag of the code is a step there;
//  - the shipped headers hold the algorithm only: the verification suite's mutants live in
//    verification/mutants as patches, each run by a mutant target or marked as surviving.
// The files come as runfiles (data of this test), read relative to TEST_SRCDIR.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// The algorithm (policy.hpp only states the concept: its orders are examples, not steps).
const std::vector<std::string> algorithm_headers = {
    "ssmem/options.hpp",      "ssmem/thread_record.hpp", "ssmem/domain.hpp",
    "ssmem/vector_clock.hpp", "ssmem/free_set.hpp",      "ssmem/allocator.hpp",
};

std::string runfile(const std::string& rel) {
  const char* dir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (dir == nullptr || ws == nullptr) return rel;  // run by hand from the repository root
  return std::string(dir) + "/" + ws + "/" + rel;
}

std::vector<std::string> read_lines(const std::string& rel) {
  std::ifstream in(runfile(rel));
  REQUIRE_MESSAGE(in.good(), "cannot read " << rel);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE_MESSAGE(!lines.empty(), rel << " is empty");
  return lines;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// The code part of a line (before a // comment; string literals here hold no "//").
std::string code_of(const std::string& line) { return trim(line.substr(0, line.find("//"))); }
std::string comment_of(const std::string& line) {
  auto p = line.find("//");
  return p == std::string::npos ? "" : line.substr(p);
}

bool ends_statement(const std::string& code) {
  if (code.empty()) return false;
  char c = code.back();
  return c == ';' || c == '{' || c == '}';
}

// The comments that belong to the statement holding line i: its own line, the lines of the
// statement above it, and the comment block directly above the statement.
std::string comments_for(const std::vector<std::string>& lines, std::size_t i) {
  std::string text = comment_of(lines[i]);
  for (std::size_t j = i; j-- > 0;) {
    const std::string code = code_of(lines[j]);
    if (ends_statement(code)) break;  // the previous statement: ours starts below it
    text += " " + comment_of(lines[j]);
  }
  return text;
}

// The [Sn] tags of a text, as "Sn", in reading order (a step's own tag comes first).
std::vector<std::string> tags_in_order(const std::string& text) {
  static const std::regex tag(R"(\[S([0-9]+)\])");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), tag), end; it != end; ++it) {
    out.push_back("S" + (*it)[1].str());
  }
  return out;
}

std::set<std::string> tags_in(const std::string& text) {
  const std::vector<std::string> tags = tags_in_order(text);
  return {tags.begin(), tags.end()};
}


// ---- Steps: a tag, its orders and its partners, as the code and docs/porting.md write them.

// The orders of one step in porting.md's notation: rlx, acq, rel, acq_rel, SC (in argument
// order, e.g. a CAS's success then failure order), or LIGHT / HEAVY for the asymmetric fence.
using orders_t = std::vector<std::string>;

struct step {
  std::string tag;                  // the step's own tag: the first [Sn] of its comment
  orders_t orders;
  std::set<std::string> partners;   // the other tags its comment names
  std::string where;                // file:line, for messages
};

std::string show(const orders_t& o) {
  std::string s = "(";
  for (std::size_t i = 0; i < o.size(); ++i) s += (i ? ", " : "") + o[i];
  return s + ")";
}

// The tagged steps of one algorithm header: every statement (lines up to one that ends with
// ';', '{' or '}') holding a std::memory_order or an asymmetric fence call, under a tag. Its
// tag is the first [Sn] in its comments in reading order (the comment block above it, then
// its own lines); the other tags are its partners.
std::vector<step> code_steps(const std::vector<std::string>& lines, const std::string& file) {
  static const std::regex op(
      R"(std::memory_order_(relaxed|consume|acquire|release|acq_rel|seq_cst)|\bfence_(light|heavy)\s*\()");
  static const std::map<std::string, std::string> abbrev = {
      {"relaxed", "rlx"}, {"consume", "consume"}, {"acquire", "acq"},
      {"release", "rel"}, {"acq_rel", "acq_rel"}, {"seq_cst", "SC"}};
  std::vector<step> out;
  std::string code, comments;
  std::size_t first = 0;  // the statement's first line that holds code
  bool open = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string c = code_of(lines[i]);
    if (!open && !c.empty()) first = i, open = true;
    code += " " + c;
    comments += " " + comment_of(lines[i]);
    if (!ends_statement(c)) continue;
    orders_t orders;
    for (std::sregex_iterator it(code.begin(), code.end(), op), end; it != end; ++it) {
      if ((*it)[1].matched) {
        orders.push_back(abbrev.at((*it)[1].str()));
      } else {
        orders.push_back((*it)[2] == "light" ? "LIGHT" : "HEAVY");
      }
    }
    const std::vector<std::string> tags = tags_in_order(comments);
    // A relaxed statement under a tag is a step too (a weakened copy of one is reported).
    if (!orders.empty() && !tags.empty()) {
      step s{tags.front(), orders, {}, file + ":" + std::to_string(first + 1)};
      for (const auto& t : tags) {
        if (t != s.tag) s.partners.insert(t);
      }
      out.push_back(s);
    }
    code.clear();
    comments.clear();
    open = false;
  }
  return out;
}

// The pseudocode of docs/porting.md: the lines of its ``` blocks, each `code -- comment`.
// A line whose code holds an atomic operation (x.load(...), x.store(...), x.cas(...)) or
// LIGHT/HEAVY and whose comment holds a tag is a step: one operation per tagged line, the tag
// first, its partners after "pairs with". A non-relaxed operation without a tag is an error;
// a tag on a line without an operation is a reference (it must exist in the code).
struct pseudocode {
  std::vector<step> steps;
  std::vector<step> references;
  std::vector<std::string> problems;
};

pseudocode parse_pseudocode(const std::vector<std::string>& lines, const std::string& file) {
  static const std::regex op(R"(\.(load|store|cas)\(([^()]*)\)|\b(LIGHT|HEAVY)\b)");
  static const std::set<std::string> order_words = {"rlx", "acq", "rel", "acq_rel", "SC"};
  pseudocode out;
  bool in_block = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string where = file + ":" + std::to_string(i + 1);
    if (trim(lines[i]).rfind("```", 0) == 0) {
      in_block = !in_block;
      continue;
    }
    if (!in_block) continue;
    const std::string& l = lines[i];
    const auto dash = l.find("--");
    const std::string code = l.substr(0, dash);
    const std::string comment = dash == std::string::npos ? "" : l.substr(dash);
    std::vector<orders_t> ops;
    bool strong = false;
    for (std::sregex_iterator it(code.begin(), code.end(), op), end; it != end; ++it) {
      orders_t o;
      if ((*it)[3].matched) {
        o.push_back((*it)[3].str());
      } else {
        std::stringstream args((*it)[2].str());
        for (std::string a; std::getline(args, a, ',');) {
          if (order_words.count(trim(a)) != 0) o.push_back(trim(a));
        }
      }
      for (const auto& w : o) strong = strong || w != "rlx";
      ops.push_back(o);
    }
    const std::vector<std::string> tags = tags_in_order(comment);
    if (tags.empty()) {
      if (strong) out.problems.push_back(where + ": a non-relaxed step without an [Sn] tag: " + trim(l));
      continue;
    }
    const auto pairs = comment.find("pairs with");
    step s{tags.front(), {}, {}, where};
    if (pairs != std::string::npos) {
      for (const auto& t : tags_in_order(comment.substr(pairs))) s.partners.insert(t);
    }
    if (ops.empty()) {
      for (const auto& t : tags) out.references.push_back(step{t, {}, {}, where});
      continue;
    }
    if (ops.size() != 1) {
      out.problems.push_back(where + ": a tagged line must hold one atomic step: " + trim(l));
      continue;
    }
    s.orders = ops.front();
    out.steps.push_back(s);
  }
  if (in_block) out.problems.push_back(file + ": a ``` block is not closed");
  return out;
}

// What differs between the code's steps and the pseudocode's; empty when they agree.
std::vector<std::string> compare_steps(const std::vector<step>& code, const pseudocode& doc,
                                       const std::vector<std::string>& prose_tags) {
  std::vector<std::string> problems = doc.problems;
  std::map<std::string, std::vector<const step*>> by_tag;
  for (const auto& s : code) by_tag[s.tag].push_back(&s);
  std::set<std::string> documented;
  for (const auto& d : doc.steps) {
    documented.insert(d.tag);
    auto it = by_tag.find(d.tag);
    if (it == by_tag.end()) {
      problems.push_back(d.where + ": step " + d.tag + " has no site in the code");
      continue;
    }
    // Every site of the tag in the code has the pseudocode's orders: a step is one operation
    // wherever the code repeats it (the headers hold the shipped algorithm only).
    std::set<std::string> code_partners;
    for (const step* c : it->second) {
      if (c->orders != d.orders) {
        problems.push_back(d.where + ": " + d.tag + " is " + show(d.orders) + " here, but the code has " +
                           show(c->orders) + " at " + c->where);
      }
      code_partners.insert(c->partners.begin(), c->partners.end());
    }
    for (const auto& p : d.partners) {
      if (code_partners.count(p) == 0) {
        problems.push_back(d.where + ": " + d.tag + " pairs with " + p +
                           " here, but no comment at its sites in the code says so");
      }
    }
  }
  for (const auto& [tag, sites] : by_tag) {
    if (documented.count(tag) == 0) {
      problems.push_back(tag + " (" + sites.front()->where + ") is not a step of the pseudocode");
    }
  }
  std::vector<std::string> refs = prose_tags;
  for (const auto& r : doc.references) refs.push_back(r.tag);
  for (const auto& s : doc.steps) refs.insert(refs.end(), s.partners.begin(), s.partners.end());
  for (const auto& t : refs) {
    if (by_tag.count(t) == 0) problems.push_back(t + " is named in the doc but is no step of the code");
  }
  return problems;
}

std::vector<step> all_code_steps() {
  std::vector<step> out;
  for (const auto& h : algorithm_headers) {
    auto s = code_steps(read_lines(h), h);
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

}  // namespace

TEST_CASE("the algorithm headers reach atomics, fences, TLS and memory only through the policy") {
  static const std::regex forbidden(
      R"(std::atomic\s*<|std::atomic_thread_fence|std::atomic_signal_fence|\bthread_local\b|)"
      R"(\bmalloc\s*\(|\bstd::free\s*\(|\bmmap\s*\(|\bmunmap\s*\(|\bsyscall\s*\()");
  std::vector<std::string> headers = algorithm_headers;
  headers.push_back("ssmem/policy.hpp");
  for (const auto& h : headers) {
    auto lines = read_lines(h);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string code = code_of(lines[i]);
      CHECK_MESSAGE(!std::regex_search(code, forbidden),
                    h << ":" << i + 1 << " names the machine directly: " << code);
    }
  }
}

TEST_CASE("every memory order in the algorithm names its partner [Sn] or says why it is relaxed") {
  static const std::regex order(R"(std::memory_order_(relaxed|consume|acquire|release|acq_rel|seq_cst))");
  std::size_t orders = 0;
  for (const auto& h : algorithm_headers) {
    auto lines = read_lines(h);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string code = code_of(lines[i]);
      bool strong = false, weak = false;
      for (std::sregex_iterator it(code.begin(), code.end(), order), end; it != end; ++it) {
        ((*it)[1] == "relaxed" ? weak : strong) = true;
        ++orders;
      }
      if (!strong && !weak) continue;
      const std::string why = comments_for(lines, i);
      if (strong) {
        CHECK_MESSAGE(!tags_in(why).empty(),
                      h << ":" << i + 1 << " has a non-relaxed order without an [Sn] tag: " << code);
      } else {
        CHECK_MESSAGE(why.find("relaxed") != std::string::npos,
                      h << ":" << i + 1 << " has a relaxed order without a reason: " << code);
      }
    }
  }
  CHECK_MESSAGE(orders > 20, "found only " << orders << " memory orders: is the scan broken?");
}

TEST_CASE("the [Sn] tags of the code are exactly the rows of docs/memory_order.md") {
  std::set<std::string> in_code;
  for (const auto& h : algorithm_headers) {
    for (const auto& l : read_lines(h)) {
      for (const auto& t : tags_in(l)) in_code.insert(t);
    }
  }
  static const std::regex row(R"(^\|\s*(S[0-9]+)\s*\|)");
  std::set<std::string> in_docs;
  for (const auto& l : read_lines("docs/memory_order.md")) {
    std::smatch m;
    if (std::regex_search(l, m, row)) in_docs.insert(m[1].str());
  }
  REQUIRE(!in_code.empty());
  for (const auto& t : in_code) {
    CHECK_MESSAGE(in_docs.count(t) == 1, t << " is used in the code but has no row in docs/memory_order.md");
  }
  for (const auto& t : in_docs) {
    CHECK_MESSAGE(in_code.count(t) == 1, t << " has a row in docs/memory_order.md but no site in the code");
  }
}

// The scanner itself must be able to fail: feed it a statement without a tag.
TEST_CASE("the memory-order scan sees a missing tag and a tag above a multi-line statement") {
  std::vector<std::string> untagged = {"  x = 1;", "  v.store(1, std::memory_order_release);"};
  CHECK(tags_in(comments_for(untagged, 1)).empty());
  std::vector<std::string> tagged = {
      "  x = 1;", "  // [S7] release, pairs with [S6]", "  if (h.compare_exchange_strong(a, b,",
      "        std::memory_order_acq_rel, std::memory_order_acquire)) {"};
  CHECK(tags_in(comments_for(tagged, 3)) == std::set<std::string>{"S6", "S7"});
}

TEST_CASE("a number below the highest [Sn] tag is a tag of the code or retired in docs/memory_order.md") {
  std::set<int> in_code;
  for (const auto& s : all_code_steps()) in_code.insert(std::stoi(s.tag.substr(1)));
  REQUIRE(!in_code.empty());
  std::set<int> retired;
  for (const auto& l : read_lines("docs/memory_order.md")) {
    if (l.rfind("Retired tags:", 0) != 0) continue;
    static const std::regex number(R"(\bS([0-9]+)\b)");
    for (std::sregex_iterator it(l.begin(), l.end(), number), end; it != end; ++it) {
      retired.insert(std::stoi((*it)[1].str()));
    }
  }
  for (int n = 1; n <= *in_code.rbegin(); ++n) {
    const std::string why = in_code.count(n) != 0
                                ? " is used in the code and listed as retired"
                                : " is neither a tag of the code nor listed under 'Retired tags:' "
                                  "in docs/memory_order.md";
    CHECK_MESSAGE((in_code.count(n) + retired.count(n)) == 1, "S" << n << why);
  }
}

TEST_CASE("docs/porting.md's pseudocode has the code's steps: same tags, same orders, partners the code names") {
  const auto code = all_code_steps();
  REQUIRE_MESSAGE(code.size() >= 10, "found only " << code.size() << " tagged steps: is the scan broken?");
  const auto lines = read_lines("docs/porting.md");
  const pseudocode doc = parse_pseudocode(lines, "docs/porting.md");
  CHECK_MESSAGE(doc.steps.size() >= 10, "found only " << doc.steps.size() << " steps in the pseudocode");
  std::vector<std::string> prose;
  for (const auto& l : lines) {
    for (const auto& t : tags_in_order(l)) prose.push_back(t);
  }
  for (const auto& p : compare_steps(code, doc, prose)) FAIL_CHECK(p);
}

// The comparison itself must be able to fail: a weakened order, a missing step, an untagged
// release, a partner the code does not name and a tag the code does not have.
TEST_CASE("the porting.md comparison sees a wrong order, a missing step, a missing tag and a stray tag") {
  const std::vector<std::string> code_lines = {
      "  v = x.load(std::memory_order_relaxed);  // relaxed: owner only",
      "  // [S1] release, pairs with [S8]",
      "  version_.store(v + 1, std::memory_order_release, loc);",
      "  // [S7] acq_rel, pairs with [S6]: ...",
      "  if (head_.compare_exchange_strong(h, r, std::memory_order_acq_rel,",
      "                                    std::memory_order_acquire, loc)) {",
      "  }",
      "  // [S2] light side, pairs with [S5]",
      "  Policy::fence_light(loc);",
  };
  const auto code = code_steps(code_lines, "code");
  REQUIRE(code.size() == 3);
  CHECK(code[1].tag == "S7");
  CHECK(code[1].orders == orders_t{"acq_rel", "acq"});
  CHECK(code[1].partners == std::set<std::string>{"S6"});
  CHECK(code[2].orders == orders_t{"LIGHT"});

  const std::vector<std::string> good = {
      "```", "  r.version.store(v + 2, rel)   -- [S1] pairs with [S8]",
      "  if d.head.cas(h -> r, acq_rel, acq): break  -- [S7] pairs with [S6]",
      "  LIGHT                         -- [S2]", "```"};
  // S8 and S6 are partners only (no site in this small code): the one expected complaint each.
  auto ok = compare_steps(code, parse_pseudocode(good, "doc"), {});
  CHECK(ok.size() == 2);

  std::vector<std::string> weak = good;
  weak[1] = "  r.version.store(v + 2, rlx)   -- [S1] pairs with [S8]";
  CHECK(compare_steps(code, parse_pseudocode(weak, "doc"), {}).size() == 3);

  std::vector<std::string> missing = good;
  missing.erase(missing.begin() + 3);  // no LIGHT: [S2] is not a step of the pseudocode
  CHECK(compare_steps(code, parse_pseudocode(missing, "doc"), {}).size() == 3);

  std::vector<std::string> untagged = good;
  untagged.insert(untagged.begin() + 1, "  r.in_use.store(0, rel)");
  CHECK(compare_steps(code, parse_pseudocode(untagged, "doc"), {}).size() == 3);

  std::vector<std::string> partner = good;
  partner[3] = "  LIGHT                         -- [S2] pairs with [S3]";
  CHECK(compare_steps(code, parse_pseudocode(partner, "doc"), {}).size() == 4);

  CHECK(compare_steps(code, parse_pseudocode(good, "doc"), {"S4"}).size() == 3);

  // A second site of a tag with a weaker order (a weakened copy of a step) is reported.
  std::vector<std::string> twice = code_lines;
  twice.push_back("  // [S1] relaxed here, pairs with [S8]");
  twice.push_back("  version_.store(v + 1, std::memory_order_relaxed, loc);");
  CHECK(compare_steps(code_steps(twice, "code"), parse_pseudocode(good, "doc"), {}).size() == 3);
}

// ---- The shipped text is the algorithm; the mutants are patches applied by the build.

// Every file of //ssmem that a user or a porter reads.
const std::vector<std::string> shipped_files = {
    "ssmem/allocator.hpp",    "ssmem/detail/checked.hpp", "ssmem/detail/report.hpp",
    "ssmem/detail/source_location.hpp", "ssmem/domain.hpp", "ssmem/free_set.hpp",
    "ssmem/fwd.hpp",          "ssmem/native_policy.hpp",  "ssmem/options.hpp",
    "ssmem/policy.hpp",       "ssmem/ssmem.cc",           "ssmem/ssmem.h",
    "ssmem/ssmem.hpp",        "ssmem/thread_record.hpp",  "ssmem/vector_clock.hpp",
};

// A line that belongs to the verification suite, not to the library.
bool is_scaffolding(const std::string& line) {
  static const std::regex scaffolding(R"(mutant|SSMEM_VERIFICATION|\brl::)", std::regex::icase);
  return std::regex_search(line, scaffolding);
}

TEST_CASE("the shipped sources hold no verification scaffolding (mutants are patches in verification/mutants)") {
  CHECK(is_scaffolding("    if constexpr (detail::mutant == detail::mutant_kind::bump_without_fence) {"));
  CHECK(!is_scaffolding("    Policy::fence_light(loc);"));
  for (const auto& f : shipped_files) {
    const auto lines = read_lines(f);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      CHECK_MESSAGE(!is_scaffolding(lines[i]), f << ":" << i + 1 << " is scaffolding: " << trim(lines[i]));
    }
  }
}

TEST_CASE("every mutant of verification/mutants is run by a mutant target, or marked as surviving") {
  // MUTANTS in mutants.bzl: `    N: "name",`.
  static const std::regex entry(R"re(^\s+([0-9]+): "([a-z0-9_]+)",)re");
  std::string targets;
  for (const auto& l : read_lines("verification/BUILD")) targets += l + "\n";
  int mutants = 0;
  for (const auto& l : read_lines("verification/mutants/mutants.bzl")) {
    std::smatch m;
    if (!std::regex_search(l, m, entry)) continue;
    ++mutants;
    const int n = std::stoi(m[1].str());
    const std::string name = m[2].str();
    const std::string file = std::string("verification/mutants/") + (n < 10 ? "0" : "") +
                             std::to_string(n) + "_" + name + ".patch";
    std::string text;
    for (const auto& pl : read_lines(file)) text += pl + "\n";
    CHECK_MESSAGE(text.rfind("Mutant " + std::to_string(n) + ": " + name + "\n", 0) == 0,
                  file << " does not start with its title line 'Mutant " << n << ": " << name << "'");
    const bool has_target = std::regex_search(
        targets, std::regex("mutant = " + std::to_string(n) + ",\n"));
    const bool survives = text.find("No target runs it.") != std::string::npos;
    CHECK_MESSAGE(has_target != survives,
                  file << std::string(has_target ? " has a target in verification/BUILD but says it survives"
                                      : " has no target in verification/BUILD and is not marked "
                                        "'No target runs it.'"));
  }
  CHECK_MESSAGE(mutants >= 20, "found only " << mutants << " mutants in mutants.bzl: is the scan broken?");
}
