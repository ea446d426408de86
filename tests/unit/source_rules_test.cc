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
//    verification/mutants as patches, each run by a mutant target or marked as surviving;
//  - what is written in one place is only quoted elsewhere, so that it cannot go stale: the
//    invariants I1..In are stated in docs/design.md §1, and ssmem/fwd.hpp's list, docs/
//    porting.md's table and every header comment `Invariant In: ...` quote them word for
//    word; fwd.hpp's map names every header of ssmem/, and the lists of headers these rules
//    scan are the directory itself, not a copy of it; a claim that the code no longer makes
//    (a retired claim, below) appears nowhere.
// The files come as runfiles (data of this test), read relative to TEST_SRCDIR.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string runfile(const std::string& rel) {
  const char* dir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (dir == nullptr || ws == nullptr) return rel;  // run by hand from the repository root
  return std::string(dir) + "/" + ws + "/" + rel;
}

// The files of a directory of the repository (`dir/name` for each name ending in one of
// `exts`), sorted. //ssmem:all_headers brings every header of ssmem/ and ssmem/detail/.
std::vector<std::string> files_in(const std::string& dir, const std::vector<std::string>& exts) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(runfile(dir), ec)) {
    const std::string name = e.path().filename().string();
    for (const auto& x : exts) {
      if (name.size() > x.size() && name.compare(name.size() - x.size(), x.size(), x) == 0) {
        out.push_back(dir + "/" + name);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The headers of ssmem/ that are not the policy-templated algorithm, and why. Every other
// header of ssmem/ is algorithm: a new part is checked by every rule below the day it appears.
const std::map<std::string, std::string> not_algorithm = {
    {"ssmem/fwd.hpp", "the map: declarations only"},
    {"ssmem/policy.hpp", "the concept: its orders are examples, not steps (scanned for the machine only)"},
    {"ssmem/native_policy.hpp", "the production policy: std::atomic, fences, mmap"},
    {"ssmem/ssmem.hpp", "the C++ API over the native policy"},
};

// The algorithm (the headers of ssmem/ but those above).
std::vector<std::string> algorithm_headers_in_tree() {
  std::vector<std::string> out;
  for (const auto& h : files_in("ssmem", {".hpp"})) {
    if (not_algorithm.count(h) == 0) out.push_back(h);
  }
  return out;
}
const std::vector<std::string> algorithm_headers = algorithm_headers_in_tree();

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
// A line whose code holds an atomic operation (x.load(...), x.store(...), x.cas(...),
// x.fetch_add(...)), a stand-alone FENCE(order), or LIGHT/HEAVY and whose comment holds a tag
// is a step: one operation per tagged line, the tag
// first, its partners after "pairs with". A non-relaxed operation without a tag is an error;
// a tag on a line without an operation is a reference (it must exist in the code).
struct pseudocode {
  std::vector<step> steps;
  std::vector<step> references;
  std::vector<std::string> problems;
};

pseudocode parse_pseudocode(const std::vector<std::string>& lines, const std::string& file) {
  static const std::regex op(R"(\.(load|store|cas|fetch_add)\(([^()]*)\)|\b(LIGHT|HEAVY)\b|\bFENCE\(([^()]*)\))");
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
        // x.load(...), x.store(...), x.cas(...), x.fetch_add(...), or FENCE(order)
        std::stringstream args((*it)[4].matched ? (*it)[4].str() : (*it)[2].str());
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

// Every file of //ssmem that a user or a porter reads: the headers (the directory) and ssmem.cc.
std::vector<std::string> shipped_files_in_tree() {
  std::vector<std::string> out = files_in("ssmem", {".hpp", ".h"});
  for (const auto& h : files_in("ssmem/detail", {".hpp"})) out.push_back(h);
  out.push_back("ssmem/ssmem.cc");
  return out;
}
const std::vector<std::string> shipped_files = shipped_files_in_tree();

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

// ---- Written once, quoted elsewhere: the header lists, the map, the invariants.

TEST_CASE("the rules scan every header of ssmem/: the algorithm is the directory but the listed exceptions") {
  const std::vector<std::string> all = files_in("ssmem", {".hpp"});
  REQUIRE_MESSAGE(all.size() >= 10, "found only " << all.size() << " headers in ssmem/: is the scan broken?");
  for (const auto& entry : not_algorithm) {
    const std::string& h = entry.first;
    const std::string& why = entry.second;
    CHECK_MESSAGE(std::find(all.begin(), all.end(), h) != all.end(),
                  h << " is listed as not algorithm (" << why << ") but is not in ssmem/");
  }
  for (const char* part : {"ssmem/allocator.hpp", "ssmem/chunk_carver.hpp", "ssmem/set_pipeline.hpp",
                           "ssmem/release_queue.hpp", "ssmem/domain.hpp", "ssmem/thread_record.hpp"}) {
    CHECK_MESSAGE(std::find(algorithm_headers.begin(), algorithm_headers.end(), part) != algorithm_headers.end(),
                  part << " is not scanned as an algorithm header");
  }
  CHECK(std::find(shipped_files.begin(), shipped_files.end(), "ssmem/detail/checked.hpp") != shipped_files.end());
  CHECK(std::find(shipped_files.begin(), shipped_files.end(), "ssmem/ssmem.h") != shipped_files.end());
}

// The header names of ssmem/fwd.hpp's map: `//   name.hpp  ...` at the start of a map line.
std::set<std::string> map_entries(const std::vector<std::string>& lines) {
  static const std::regex entry(R"(^//\s+([a-z_]+\.(hpp|h))\s)");
  std::set<std::string> out;
  for (const auto& l : lines) {
    std::smatch m;
    if (std::regex_search(l, m, entry)) out.insert("ssmem/" + m[1].str());
  }
  return out;
}

TEST_CASE("ssmem/fwd.hpp's map names every header of ssmem/, and only those") {
  const std::set<std::string> named = map_entries(read_lines("ssmem/fwd.hpp"));
  std::vector<std::string> present = files_in("ssmem", {".hpp", ".h"});
  REQUIRE(present.size() >= 10);
  for (const auto& h : present) {
    if (h == "ssmem/fwd.hpp") continue;
    CHECK_MESSAGE(named.count(h) == 1, h << " is not in ssmem/fwd.hpp's map");
  }
  for (const auto& h : named) {
    CHECK_MESSAGE(std::find(present.begin(), present.end(), h) != present.end(),
                  "ssmem/fwd.hpp's map names " << h << ", which is not in ssmem/");
  }
  // The scan itself: a map line is seen, prose that mentions a header is not.
  CHECK(map_entries({"//   domain.hpp          basic_domain<Policy>   registry   I2"}) ==
        std::set<std::string>{"ssmem/domain.hpp"});
  CHECK(map_entries({"// The map of ssmem: see domain.hpp for the records."}).empty());
}

// An invariant's text, as written somewhere (for messages: where).
struct invariant_text {
  std::string id;  // "I1"
  std::string text;
  std::string where;
};

// Text as compared: markup (backticks, **) dropped, whitespace collapsed, lower case, no
// trailing '.' or ';'. Quotes may differ from the statement in nothing else.
std::string normalise(const std::string& s) {
  std::string out;
  bool space = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '`' || c == '*') continue;
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (!out.empty() && (out.back() == '.' || out.back() == ';')) out.pop_back();
  return out;
}

// docs/design.md §1: `- **In** text`, continued on lines indented by two spaces.
std::vector<invariant_text> design_invariants(const std::vector<std::string>& lines, const std::string& file) {
  static const std::regex start(R"(^- \*\*(I[0-9]+)\*\* (.*)$)");
  std::vector<invariant_text> out;
  bool open = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_match(lines[i], m, start)) {
      out.push_back({m[1].str(), m[2].str(), file + ":" + std::to_string(i + 1)});
      open = true;
    } else if (open && lines[i].rfind("  ", 0) == 0 && !trim(lines[i]).empty()) {
      out.back().text += " " + trim(lines[i]);
    } else {
      open = false;
    }
  }
  return out;
}

// ssmem/fwd.hpp: `//   In text`, continued on comment lines indented further.
std::vector<invariant_text> fwd_invariants(const std::vector<std::string>& lines, const std::string& file) {
  static const std::regex start(R"(^//\s+(I[0-9]+) (.*)$)");
  static const std::regex more(R"(^//\s{5,}(\S.*)$)");
  std::vector<invariant_text> out;
  bool open = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_match(lines[i], m, start)) {
      out.push_back({m[1].str(), m[2].str(), file + ":" + std::to_string(i + 1)});
      open = true;
    } else if (open && std::regex_match(lines[i], m, more)) {
      out.back().text += " " + m[1].str();
    } else {
      open = false;
    }
  }
  return out;
}

// docs/porting.md §4: table rows `| In | text | ...`.
std::vector<invariant_text> table_invariants(const std::vector<std::string>& lines, const std::string& file) {
  static const std::regex row(R"(^\|\s*(I[0-9]+)\s*\|([^|]*)\|)");
  std::vector<invariant_text> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, row)) {
      out.push_back({m[1].str(), trim(m[2].str()), file + ":" + std::to_string(i + 1)});
    }
  }
  return out;
}

// A comment line without its leading slashes ("///" alone: empty).
std::string without_slashes(const std::string& t) {
  const auto p = t.find_first_not_of('/');
  return p == std::string::npos ? "" : t.substr(p);
}

// A header's quotes: in each block of comment lines (joined), `Invariant In:` and the text
// after it to the end of the block.
std::vector<invariant_text> header_quotes(const std::vector<std::string>& lines, const std::string& file) {
  static const std::regex quote(R"(Invariant (I[0-9]+):\s*)");
  std::vector<invariant_text> out;
  std::string block;
  std::size_t first = 0;
  auto flush = [&] {
    for (std::sregex_iterator it(block.begin(), block.end(), quote), end; it != end; ++it) {
      out.push_back({(*it)[1].str(), block.substr(it->position() + it->length()),
                     file + ":" + std::to_string(first + 1)});
    }
    block.clear();
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trim(lines[i]);
    if (t.rfind("//", 0) != 0) {
      flush();
      continue;
    }
    if (block.empty()) first = i;
    block += " " + without_slashes(t);
  }
  flush();
  return out;
}

// What differs from the statements: each copy holds every invariant, with the same words; each
// quote begins with its invariant's words (a header may go on to explain it).
std::vector<std::string> compare_invariants(const std::vector<invariant_text>& statements,
                                            const std::vector<std::vector<invariant_text>>& copies,
                                            const std::vector<invariant_text>& quotes) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> stated;
  for (const auto& s : statements) {
    if (!stated.emplace(s.id, normalise(s.text)).second) problems.push_back(s.where + ": " + s.id + " stated twice");
  }
  for (std::size_t n = 1; n <= stated.size(); ++n) {
    if (stated.count("I" + std::to_string(n)) == 0) problems.push_back("I" + std::to_string(n) + " is not stated");
  }
  for (const auto& copy : copies) {
    std::set<std::string> seen;
    for (const auto& c : copy) {
      seen.insert(c.id);
      auto it = stated.find(c.id);
      if (it == stated.end()) {
        problems.push_back(c.where + ": " + c.id + " is not an invariant of the statement");
      } else if (normalise(c.text) != it->second) {
        problems.push_back(c.where + ": " + c.id + " differs from its statement:\n  here:      " +
                           normalise(c.text) + "\n  statement: " + it->second);
      }
    }
    const std::string where = copy.empty() ? std::string("a copy") : copy.front().where;
    for (const auto& [id, text] : stated) {
      if (seen.count(id) == 0) problems.push_back(where + ": the list lacks " + id);
    }
  }
  for (const auto& q : quotes) {
    auto it = stated.find(q.id);
    if (it == stated.end()) {
      problems.push_back(q.where + ": quotes " + q.id + ", which is not an invariant");
    } else if (normalise(q.text).rfind(it->second, 0) != 0) {
      problems.push_back(q.where + ": Invariant " + q.id + " does not begin with its statement:\n  here:      " +
                         normalise(q.text) + "\n  statement: " + it->second);
    }
  }
  return problems;
}

// docs/design.md, when this test can read it (it is not among its runfiles yet: run by hand
// from the repository root, or with //docs:design.md added to its data); else nothing.
std::vector<std::string> optional_lines(const std::string& rel) {
  std::ifstream in(runfile(rel));
  std::vector<std::string> lines;
  for (std::string l; in.good() && std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST_CASE("the invariants are stated once (docs/design.md §1) and quoted word for word elsewhere") {
  const auto fwd = fwd_invariants(read_lines("ssmem/fwd.hpp"), "ssmem/fwd.hpp");
  const auto table = table_invariants(read_lines("docs/porting.md"), "docs/porting.md");
  REQUIRE_MESSAGE(fwd.size() >= 4, "found only " << fwd.size() << " invariants in ssmem/fwd.hpp: is the scan broken?");
  REQUIRE_MESSAGE(table.size() >= 4, "found only " << table.size() << " invariants in docs/porting.md's table");
  std::vector<invariant_text> quotes;
  std::set<std::string> quoted;
  for (const auto& h : shipped_files) {
    for (const auto& q : header_quotes(read_lines(h), h)) {
      quotes.push_back(q);
      quoted.insert(q.id);
    }
  }
  const auto design_lines = optional_lines("docs/design.md");
  std::vector<invariant_text> statements;
  std::vector<std::vector<invariant_text>> copies = {table};
  if (design_lines.empty()) {
    // The map's list stands in for the statement; a drift between design.md and the map is
    // then seen only when the test is run from the repository root.
    MESSAGE("docs/design.md is not among this test's runfiles: the quotes are compared with ssmem/fwd.hpp's list");
    statements = fwd;
  } else {
    statements = design_invariants(design_lines, "docs/design.md");
    REQUIRE_MESSAGE(statements.size() >= 4, "found only " << statements.size() << " invariants in docs/design.md");
    copies.push_back(fwd);
  }
  for (const auto& p : compare_invariants(statements, copies, quotes)) FAIL_CHECK(p);
  // Each invariant is quoted by a header that keeps it (thread_record, domain, vector_clock,
  // free_set), so that a reader of that header sees the words of the statement.
  for (const auto& s : statements) {
    CHECK_MESSAGE(quoted.count(s.id) == 1, "no header comment says 'Invariant " << s.id << ": ...'");
  }
}

TEST_CASE("the invariant comparison sees a changed word, a missing invariant and a stale quote") {
  const std::vector<std::string> design = {
      "- **I1** A thread holds no reference that it loaded before its latest version change.",
      "- **I2** Records are pushed with `index = head.index + 1` and",
      "  are never freed.",
      "",
      "I1 is the user's side of the contract."};
  const auto statements = design_invariants(design, "design");
  REQUIRE(statements.size() == 2);
  CHECK(normalise(statements[1].text) == "records are pushed with index = head.index + 1 and are never freed");

  const std::vector<std::string> fwd = {
      "// Invariants:", "//   I1 a thread holds no reference that it loaded before its latest version",
      "//      change.", "//   I2 records are pushed with index = head.index + 1 and are never freed.",
      "#ifndef X"};
  const auto copy = fwd_invariants(fwd, "fwd");
  REQUIRE(copy.size() == 2);
  const auto quotes = header_quotes(
      {"/// \\file", "/// A record. Invariant I1: a thread holds no reference that it loaded before",
       "/// its latest version change; only the owner writes it.", "#ifndef Y"},
      "h");
  REQUIRE(quotes.size() == 1);
  CHECK(compare_invariants(statements, {copy}, quotes).empty());

  std::vector<std::string> changed = fwd;
  changed[3] = "//   I2 records are pushed with index = head.index + 1 and are never unlinked.";
  CHECK(compare_invariants(statements, {fwd_invariants(changed, "fwd")}, quotes).size() == 1);

  std::vector<std::string> missing = fwd;
  missing.erase(missing.begin() + 3);  // no I2
  CHECK(compare_invariants(statements, {fwd_invariants(missing, "fwd")}, quotes).size() == 1);

  const auto stale = header_quotes(
      {"// Invariant I1: a thread holds no reference it loaded before its latest bump."}, "h");
  CHECK(compare_invariants(statements, {copy}, stale).size() == 1);

  const std::vector<std::string> table = {"| I1 | a thread holds no reference that it loaded before its "
                                          "latest version change | unit | 1 |"};
  CHECK(compare_invariants({statements[0]}, {table_invariants(table, "table")}, {}).empty());
}

// ---- Retired claims: sentences that were true of an earlier algorithm and are not now. A
// stale comment is most often one of these, copied from an older file or brought back by a
// merge; each entry says what replaced it.
const std::vector<std::pair<std::string, std::string>> retired_claims = {
    {"the newest set is never collected", "I4: no set is collected by its own stamp (a probe may collect the newest stamped set)"},
    {"stamped on it when it filled", "a set's stamp may come later than the moment it filled (batches, put-off stamps)"},
    {"stamped on a later set", "a set is collected by a clock read later: a stamp or a probe"},
    {"one snapshot per full free set", "one stamp per batch of full sets (stamp_batch)"},
    {"a later stamp is newer", "a clock read later, stamp or probe, is newer"},
};

TEST_CASE("no shipped file or porting document repeats a retired claim") {
  std::vector<std::string> files = shipped_files;
  files.push_back("docs/porting.md");
  files.push_back("docs/memory_order.md");
  for (const auto& f : files) {
    std::string text;
    for (const auto& l : read_lines(f)) {
      const std::string t = trim(l);
      text += " " + (t.rfind("//", 0) == 0 ? without_slashes(t) : t);
    }
    const std::string flat = normalise(text);
    for (const auto& retired : retired_claims) {
      const std::string& claim = retired.first;
      const std::string& now = retired.second;
      CHECK_MESSAGE(flat.find(normalise(claim)) == std::string::npos,
                    f << " says \"" << claim << "\", which is no longer true: " << now);
    }
  }
  // The search reads across comment lines.
  CHECK(normalise(" the newest set is never  collected.") == "the newest set is never collected");
}
