// Rules the algorithm's source must keep, checked on the text of the headers (STYLE.md):
//  - the algorithm headers reach the machine only through the policy: no std::atomic,
//    stand-alone fence, thread_local, malloc/free or mmap outside native_policy.hpp, so the
//    Relacy build checks the very code that ships;
//  - every memory order that is not relaxed carries an [Sn] tag in the comment just above its
//    statement (or on its line), and every relaxed one says why ("relaxed" in that comment);
//  - the [Sn] tags of the code and the rows of docs/memory_order.md are the same set.
// The files come as runfiles (data of this test), read relative to TEST_SRCDIR.
#include <doctest/doctest.h>

#include <cstdlib>
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

std::set<std::string> tags_in(const std::string& text) {
  static const std::regex tag(R"(\[S([0-9]+)\])");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), tag), end; it != end; ++it) {
    out.insert("S" + (*it)[1].str());
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
