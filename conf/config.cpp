// SPDX-License-Identifier: Apache-2.0
// printgate configuration parser: YAML text + --set overrides -> Config + diagnostics.
//
// Owns: the refusal limits, the YAML -> tree conversion, override application, typed
// validation and the error messages. Must not: read files, resolve host names, touch the
// file system (paths are joined lexically), log, or let an exception escape parse().
//
// Design note. yaml-cpp is used only as a tokeniser and event parser: its events (each
// with a mark) build a small tree of our own (`Value`) that records where every key and
// value came from (file line/column, or the index of a --set override). Overrides are
// then grafted onto that tree, and one validation pass walks it and collects every error,
// so a user fixing a file sees all problems at once, sorted in file order.
//
// Guards keep hostile input cheap (the parser is fuzzed, and printgatectl runs it on
// files an operator hands it):
//   1. size: over max_config_bytes is refused before any parsing;
//   2. depth: a textual pre-scan estimates the nesting of indentation and [ { before
//      yaml-cpp runs and refuses an estimate over twice the limit, because yaml-cpp
//      recurses once per level (its own guard stops only at 2000); the tree builder then
//      checks the exact limit, aliases included;
//   3. aliases: `*a` is expanded by copying, so the builder has a node budget
//      proportional to the input size (no "billion laughs"), and refuses an alias to a
//      node that is still open (`&a [*a]`, a cycle in yaml-cpp's own node graph);
//   4. documents: the document loop is ours and stops at the second document, because
//      yaml-cpp's LoadAll never returns on some input (a stray ',').
#include "conf/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <filesystem>
#include <limits>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace pg::conf {
namespace {

// ---------------------------------------------------------------------------------------
// Positions and diagnostics

// Where a key or value came from: the file (source 0, 1-based line/column, 0 = unknown)
// or the n-th --set override (source n).
struct Origin {
    int source = 0;
    int line = 0;
    int column = 0;
};

bool operator<(const Origin& a, const Origin& b) {
    return std::tie(a.source, a.line, a.column) < std::tie(b.source, b.line, b.column);
}

// "line 4" or "--set 2", for messages that point at a second place.
std::string where(const Origin& o) {
    if (o.source > 0) return "--set " + std::to_string(o.source);
    if (o.line > 0) return "line " + std::to_string(o.line);
    return "the defaults";
}

class Reporter {
public:
    explicit Reporter(std::string_view file) : file_(file) {}

    // `path` is the dotted key of the value concerned; it prefixes messages about
    // overrides, which have no line of their own to point at.
    void error(const Origin& at, std::string_view path, std::string message) {
        Diagnostic d;
        if (at.source > 0) {
            d.file = "--set";
            d.line = at.source;
            d.message = path.empty() ? std::move(message) : std::string(path) + ": " + message;
        } else {
            d.file = file_;
            d.line = at.line;
            d.column = at.line > 0 ? at.column : 0;
            d.message = std::move(message);
        }
        items_.emplace_back(at, std::move(d));
    }

    std::vector<Diagnostic> finish() {
        std::stable_sort(items_.begin(), items_.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<Diagnostic> out;
        out.reserve(items_.size());
        for (auto& item : items_) out.push_back(std::move(item.second));
        return out;
    }

private:
    std::string file_;
    std::vector<std::pair<Origin, Diagnostic>> items_;
};

// A scalar quoted for a message: control bytes escaped, long text cut.
std::string quote(std::string_view text) {
    constexpr std::size_t max_shown = 60;
    std::string out = "'";
    for (std::size_t i = 0; i < text.size() && i < max_shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (text.size() > max_shown) out += "...";
    out += "'";
    return out;
}

// ---------------------------------------------------------------------------------------
// Our tree

enum class Kind { null, scalar, list, map };

struct Entry;
struct Value {
    Kind kind = Kind::null;
    std::string text;           // scalar
    std::vector<Value> items;   // list
    std::vector<Entry> entries; // map, in document order
    Origin origin;
};
struct Entry {
    std::string key;
    Origin key_origin;
    Value value;
};

std::string describe(const Value& v) {
    switch (v.kind) {
        case Kind::null: return "nothing (null)";
        case Kind::map: return "a map";
        case Kind::list: return "a list";
        case Kind::scalar: break;
    }
    return quote(v.text);
}

const Entry* find_entry(const Value& map, std::string_view key) {
    for (const auto& e : map.entries)
        if (e.key == key) return &e;
    return nullptr;
}

Entry* find_entry(Value& map, std::string_view key) {
    for (auto& e : map.entries)
        if (e.key == key) return &e;
    return nullptr;
}

std::string join_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    std::string out(parent);
    out += '.';
    out += key;
    return out;
}

// ---------------------------------------------------------------------------------------
// Depth pre-scan (guard 2 of the design note)
//
// An estimate, deliberately simple: one level per distinct indentation in block context,
// one per compact indicator ("- - x"), one per open [ or {. Quoted and block scalars are
// skipped. It may over-count odd layouts (a plain scalar continued on ever deeper lines)
// and under-count a list written at its key's indentation, at most by half; the exact
// check runs on the parsed tree afterwards. Its job is only to keep yaml-cpp's recursion
// shallow, so it is given twice the real limit.

struct TextPos {
    int line = 0;
    int column = 0;
};

std::optional<TextPos> find_deep_nesting(std::string_view text, std::size_t limit) {
    std::vector<std::size_t> indents;
    std::size_t flow = 0;
    char quote_char = 0;
    bool block_scalar = false;
    std::size_t block_indent = 0;
    int line_no = 0;
    std::size_t start = 0;
    const auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

        std::size_t indent = 0;
        while (indent < line.size() && line[indent] == ' ') ++indent;
        if (block_scalar) {
            if (indent == line.size() || indent > block_indent) continue;
            block_scalar = false;
        }
        std::size_t i = 0;
        if (quote_char == 0) {
            if (indent == line.size() || line[indent] == '#') continue;
            while (!indents.empty() && indents.back() > indent) indents.pop_back();
            if (indents.empty() || indents.back() < indent) indents.push_back(indent);
            i = indent;
            while (i < line.size() && (line[i] == '-' || line[i] == '?' || line[i] == ':') &&
                   (i + 1 == line.size() || is_blank(line[i + 1]))) {
                ++i;
                while (i < line.size() && is_blank(line[i])) ++i;
                if (i < line.size() && line[i] != '#' && indents.back() < i) indents.push_back(i);
                if (indents.size() + flow > limit) break;
            }
            if (indents.size() + flow > limit)
                return TextPos{line_no, static_cast<int>(std::min<std::size_t>(i, 1u << 30)) + 1};
        }
        std::size_t content_end = line.size();
        for (; i < line.size(); ++i) {
            const char c = line[i];
            if (quote_char == '"') {
                if (c == '\\') ++i;
                else if (c == '"') quote_char = 0;
                continue;
            }
            if (quote_char == '\'') {
                if (c == '\'') {
                    if (i + 1 < line.size() && line[i + 1] == '\'') ++i;
                    else quote_char = 0;
                }
                continue;
            }
            const char prev = i == 0 ? ' ' : line[i - 1];
            const bool token_start = is_blank(prev) || prev == '[' || prev == '{' ||
                                     prev == ',' || prev == ':';
            if (c == '#' && is_blank(prev)) {
                content_end = i;
                break;
            }
            if ((c == '"' || c == '\'') && token_start) {
                quote_char = c;
            } else if ((c == '[' || c == '{') && (token_start || flow > 0)) {
                ++flow;
                if (indents.size() + flow > limit)
                    return TextPos{line_no, static_cast<int>(std::min<std::size_t>(i, 1u << 30)) + 1};
            } else if ((c == ']' || c == '}') && flow > 0) {
                --flow;
            }
        }
        if (quote_char == 0 && flow == 0) {
            // "key: |" or "- >-": the following deeper lines are text, not structure.
            std::string_view head = line.substr(0, content_end);
            while (!head.empty() && is_blank(head.back())) head.remove_suffix(1);
            const std::size_t sp = head.find_last_of(" \t");
            std::string_view last = sp == std::string_view::npos ? head : head.substr(sp + 1);
            if (!last.empty() && (last[0] == '|' || last[0] == '>') &&
                last.find_first_not_of("+-0123456789", 1) == std::string_view::npos) {
                block_scalar = true;
                block_indent = indent;
            }
        }
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// yaml-cpp parse events -> Value
//
// The tree is built from yaml-cpp's event interface rather than from YAML::Node: the
// events carry a mark for every node, the document loop stays in our hands (yaml-cpp's
// LoadAll never returns on input such as ","), and aliases are resolved here, where
// their cost and depth can be charged.

class TreeBuilder final : public YAML::EventHandler {
public:
    // Thrown through yaml-cpp to stop parsing once the document is refused.
    struct Refused {};

    TreeBuilder(Reporter& reporter, int source, std::string_view path, int depth, std::size_t budget)
        : reporter_(reporter), source_(source), path_(path), depth_(depth), budget_(budget) {}

    Value take_root() { return std::move(root_); }
    const YAML::Mark& start() const { return start_; }

    void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        Value v;
        v.origin = origin_of(mark);
        charge(1, v.origin);
        complete(std::move(v), anchor, 0, 1);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  const std::string& value) override {
        Value v;
        v.kind = Kind::scalar;
        v.text = value;
        v.origin = origin_of(mark);
        charge(1, v.origin);
        complete(std::move(v), anchor, 0, 1);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const Origin at = origin_of(mark);
        const auto it = anchors_.find(anchor);
        // yaml-cpp registers an anchor when its node starts, so `&a [*a]` refers to a
        // node still open: a cycle, which a configuration has no use for.
        if (it == anchors_.end()) refuse(at, "an alias refers to a node that contains it");
        const Stored& stored = it->second;
        charge(stored.nodes, at);
        if (stored.height > 0 && current_depth() + stored.height - 1 > max_config_depth) refuse_depth(at);
        Value copy = stored.value;
        copy.origin = at;
        complete(std::move(copy), YAML::NullAnchor, stored.height, stored.nodes);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value /*style*/) override {
        open(Kind::list, mark, anchor);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value /*style*/) override {
        open(Kind::map, mark, anchor);
    }
    void OnMapEnd() override { close(); }

private:
    struct Frame {
        Value value;
        YAML::anchor_t anchor = YAML::NullAnchor;
        int height = 1;         // 1 + the tallest child
        std::size_t nodes = 1;  // this node and everything below it
        // Maps: the key waiting for its value.
        bool have_key = false;
        bool skip_value = false;  // the key was refused, so is its value
        Entry pending;
        std::unordered_map<std::string, Origin> seen;
    };
    struct Stored {
        Value value;
        int height = 0;
        std::size_t nodes = 1;
    };

    Origin origin_of(const YAML::Mark& m) const {
        if (source_ > 0) return Origin{source_, 0, 0};
        if (m.is_null() || m.line < 0 || m.column < 0) return Origin{0, 0, 0};
        return Origin{0, m.line + 1, m.column + 1};
    }

    // The depth a collection starting now would have.
    int current_depth() const { return depth_ + static_cast<int>(stack_.size()); }

    [[noreturn]] void refuse(const Origin& at, std::string message) {
        reporter_.error(at, path_, std::move(message));
        throw Refused{};
    }
    [[noreturn]] void refuse_depth(const Origin& at) {
        refuse(at, "nesting deeper than " + std::to_string(max_config_depth) + " levels");
    }

    // Every node costs at least one byte of text; aliases may reuse nodes, but the whole
    // tree may not grow past the budget (no "billion laughs").
    void charge(std::size_t nodes, const Origin& at) {
        if (nodes > budget_)
            refuse(at, "too many values once aliases are expanded (the limit grows with the size of the text)");
        budget_ -= nodes;
    }

    void open(Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
        const Origin at = origin_of(mark);
        charge(1, at);
        if (current_depth() > max_config_depth) refuse_depth(at);
        Frame frame;
        frame.value.kind = kind;
        frame.value.origin = at;
        frame.anchor = anchor;
        stack_.push_back(std::move(frame));
    }

    void close() {
        if (stack_.empty()) return;
        Frame frame = std::move(stack_.back());
        stack_.pop_back();
        complete(std::move(frame.value), frame.anchor, frame.height, frame.nodes);
    }

    // A finished node: remembered under its anchor, then handed to its parent.
    void complete(Value v, YAML::anchor_t anchor, int height, std::size_t nodes) {
        if (anchor != YAML::NullAnchor) anchors_[anchor] = Stored{v, height, nodes};
        if (stack_.empty()) {
            root_ = std::move(v);
            return;
        }
        Frame& parent = stack_.back();
        parent.height = std::max(parent.height, height + 1);
        parent.nodes += nodes;
        if (parent.value.kind == Kind::list) {
            parent.value.items.push_back(std::move(v));
            return;
        }
        if (!parent.have_key) {
            parent.have_key = true;
            parent.skip_value = true;
            const Origin key_origin = v.origin;
            if (v.kind != Kind::scalar) {
                reporter_.error(key_origin, path_, "a key must be plain text, got " + describe(v));
                return;
            }
            const auto [it, inserted] = parent.seen.emplace(v.text, key_origin);
            if (!inserted) {
                reporter_.error(key_origin, path_,
                                "duplicate key " + quote(v.text) + " (first at " + where(it->second) + ")");
                return;
            }
            parent.skip_value = false;
            parent.pending = Entry{std::move(v.text), key_origin, Value{}};
            return;
        }
        parent.have_key = false;
        if (parent.skip_value) return;
        // yaml-cpp marks an implicit null ("key:" then a newline) at the next token.
        if (v.kind == Kind::null && v.origin.line != parent.pending.key_origin.line)
            v.origin = parent.pending.key_origin;
        parent.pending.value = std::move(v);
        parent.value.entries.push_back(std::move(parent.pending));
    }

    Reporter& reporter_;
    int source_;
    std::string path_;
    int depth_;
    std::size_t budget_;
    YAML::Mark start_;
    Value root_;
    std::vector<Frame> stack_;
    std::unordered_map<YAML::anchor_t, Stored> anchors_;
};

// Notes where a further document starts, ignoring its content.
class DocumentProbe final : public YAML::EventHandler {
public:
    YAML::Mark start;
    void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

// Parses one YAML text (the file, source 0, or an override value, source n) into `out`.
// `depth` is the nesting level a collection at its root would have. False on refusal.
bool load_yaml(std::string_view text, int source, std::string_view path, int depth,
               Reporter& reporter, Value& out) {
    const Origin whole{source, 0, 0};
    const auto at_mark = [&](const YAML::Mark& m, bool with_column) {
        if (source > 0 || m.is_null() || m.line < 0 || m.column < 0) return whole;
        return Origin{0, m.line + 1, with_column ? m.column + 1 : 0};
    };
    if (text.size() > max_config_bytes) {
        reporter.error(whole, path,
                       "the text is " + std::to_string(text.size()) + " bytes, over the 1 MiB limit");
        return false;
    }
    // The estimate gets twice the real limit: it only has to keep yaml-cpp's recursion
    // shallow, and the exact limit is checked on the parsed tree without false alarms.
    const auto limit = static_cast<std::size_t>(std::max(1, 2 * max_config_depth - depth + 1));
    if (const auto deep = find_deep_nesting(text, limit)) {
        const Origin at = source > 0 ? whole : Origin{0, deep->line, deep->column};
        reporter.error(at, path, "nesting deeper than " + std::to_string(max_config_depth) + " levels");
        return false;
    }
    out = Value{};
    out.origin = Origin{source, source > 0 ? 0 : 1, source > 0 ? 0 : 1};
    TreeBuilder builder(reporter, source, path, depth, 2 * text.size() + 1024);
    try {
        std::istringstream in{std::string(text)};
        YAML::Parser parser(in);
        if (!parser.HandleNextDocument(builder)) return true;  // no document: all defaults
        DocumentProbe probe;
        if (parser.HandleNextDocument(probe)) {
            // A "document" that starts where the first one did consumed nothing: yaml-cpp
            // met a token it cannot place (a stray ',') and would loop on it forever.
            if (probe.start.pos == builder.start().pos) {
                const auto pos = static_cast<std::size_t>(std::max(0, probe.start.pos));
                const std::string_view token = pos < text.size() ? text.substr(pos, 1) : std::string_view{};
                reporter.error(at_mark(probe.start, true), path, "invalid YAML: unexpected " + quote(token));
            } else {
                reporter.error(at_mark(probe.start, false), path,
                               "more than one YAML document; printgate reads exactly one");
            }
            return false;
        }
    } catch (const TreeBuilder::Refused&) {
        return false;
    } catch (const YAML::Exception& e) {
        reporter.error(at_mark(e.mark, true), path, "invalid YAML: " + e.msg);
        return false;
    }
    const Origin fallback = out.origin;
    out = builder.take_root();
    if (source == 0 && out.origin.line == 0) out.origin = fallback;
    return true;
}

// ---------------------------------------------------------------------------------------
// Scalars: sizes, durations, endpoints

enum class NumStatus { ok, syntax, overflow, no_unit };

struct Quantity {
    std::uint64_t whole = 0;
    std::uint64_t fraction = 0;  // the first `fraction_digits` digits after the point
    int fraction_digits = 0;
    bool has_point = false;
    bool overflow = false;
    std::string_view unit;
};

// NUMBER[.DIGITS][ ]UNIT, unit letters only (possibly empty).
bool split_quantity(std::string_view text, Quantity& q) {
    std::size_t i = 0;
    const auto digit = [&](std::size_t k) { return k < text.size() && text[k] >= '0' && text[k] <= '9'; };
    if (!digit(0)) return false;
    for (; digit(i); ++i) {
        const auto d = static_cast<std::uint64_t>(text[i] - '0');
        if (q.whole > (std::numeric_limits<std::uint64_t>::max() - d) / 10) q.overflow = true;
        else q.whole = q.whole * 10 + d;
    }
    if (i < text.size() && text[i] == '.') {
        q.has_point = true;
        ++i;
        if (!digit(i)) return false;
        for (; digit(i); ++i) {
            if (q.fraction_digits < 18) {
                q.fraction = q.fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
                ++q.fraction_digits;
            }
        }
    }
    if (i < text.size() && text[i] == ' ') {
        ++i;
        if (i == text.size()) return false;
    }
    q.unit = text.substr(i);
    return std::all_of(q.unit.begin(), q.unit.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// whole * mult + fraction * mult / 10^digits, truncated to an integer.
NumStatus scale(const Quantity& q, std::uint64_t mult, std::uint64_t max, std::uint64_t& out) {
    if (q.overflow) return NumStatus::overflow;
    if (q.whole != 0 && mult > max / q.whole) return NumStatus::overflow;
    std::uint64_t value = q.whole * mult;
    if (q.fraction_digits > 0) {
        unsigned __int128 pow10 = 1;
        for (int k = 0; k < q.fraction_digits; ++k) pow10 *= 10;
        const auto part = static_cast<std::uint64_t>(static_cast<unsigned __int128>(q.fraction) * mult / pow10);
        if (part > max - value) return NumStatus::overflow;
        value += part;
    }
    if (value > max) return NumStatus::overflow;
    out = value;
    return NumStatus::ok;
}

NumStatus size_from(std::string_view text, std::uint64_t& out) {
    Quantity q;
    if (!split_quantity(text, q)) return NumStatus::syntax;
    struct Unit {
        std::string_view name;
        std::uint64_t mult;
    };
    static constexpr std::array<Unit, 14> units{{
        {"", 1}, {"B", 1},
        {"KB", 1000ull}, {"MB", 1000000ull}, {"GB", 1000000000ull}, {"TB", 1000000000000ull},
        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
        {"K", 1ull << 10}, {"M", 1ull << 20}, {"G", 1ull << 30}, {"T", 1ull << 40},
    }};
    for (const auto& u : units) {
        if (u.name != q.unit) continue;
        if (u.mult == 1 && q.has_point) return NumStatus::syntax;  // no fractional bytes
        return scale(q, u.mult, std::numeric_limits<std::uint64_t>::max(), out);
    }
    return NumStatus::syntax;
}

NumStatus duration_from(std::string_view text, std::chrono::milliseconds& out) {
    Quantity q;
    if (!split_quantity(text, q)) return NumStatus::syntax;
    std::uint64_t mult = 0;
    if (q.unit.empty()) {
        if (q.overflow || q.whole != 0 || q.fraction != 0) return NumStatus::no_unit;
        out = std::chrono::milliseconds(0);
        return NumStatus::ok;
    }
    if (q.unit == "ms") mult = 1;
    else if (q.unit == "s") mult = 1000;
    else if (q.unit == "m") mult = 60ull * 1000;
    else if (q.unit == "h") mult = 3600ull * 1000;
    else if (q.unit == "d") mult = 86400ull * 1000;
    else return NumStatus::syntax;
    std::uint64_t ms = 0;
    const auto status =
        scale(q, mult, static_cast<std::uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max()), ms);
    if (status == NumStatus::ok) out = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
    return status;
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::array<std::pair<const char*, int>, 4> units{
        {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}};
    for (const auto& [name, shift] : units) {
        const std::uint64_t unit = std::uint64_t{1} << shift;
        if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + name;
    }
    return std::to_string(bytes) + "B";
}

std::string format_duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms == 0) return "0s";
    static constexpr std::array<std::pair<const char*, long long>, 3> units{
        {{"h", 3600000}, {"m", 60000}, {"s", 1000}}};
    for (const auto& [name, unit] : units)
        if (ms % unit == 0) return std::to_string(ms / unit) + name;
    return std::to_string(ms) + "ms";
}

// Fills `out` or explains in `why` what is wrong with "HOST:PORT" / "[V6]:PORT".
bool endpoint_from(std::string_view text, Endpoint& out, std::string& why) {
    std::string_view host;
    std::string_view port;
    bool v6 = false;
    if (text.empty()) {
        why = "the address is empty";
        return false;
    }
    if (text.find('\0') != std::string_view::npos) {
        why = "the address contains a NUL byte";
        return false;
    }
    if (text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            why = "missing ']' after the IPv6 address";
            return false;
        }
        host = text.substr(1, close - 1);
        if (close + 1 == text.size()) {
            why = "the port is missing (expected [IPV6]:PORT)";
            return false;
        }
        if (text[close + 1] != ':') {
            why = "expected ':' after ']' (like [::1]:631)";
            return false;
        }
        port = text.substr(close + 2);
        v6 = true;
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            why = "the port is missing (expected HOST:PORT)";
            return false;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            why = "an IPv6 address needs brackets, like [::1]:631";
            return false;
        }
    }
    if (port.empty()) {
        why = "the port is missing";
        return false;
    }
    std::uint64_t number = 0;
    for (const char c : port) {
        if (c < '0' || c > '9') {
            why = "port " + quote(port) + " is not a number";
            return false;
        }
        number = std::min<std::uint64_t>(number * 10 + static_cast<std::uint64_t>(c - '0'), 1000000);
    }
    if (number > 65535) {
        why = "port " + std::string(port.size() > 12 ? port.substr(0, 12) : port) +
              " is out of range (0-65535)";
        return false;
    }
    std::string literal(host);
    if (!v6) {
        if (literal == "localhost") literal = "127.0.0.1";
        else if (literal == "*") literal = "0.0.0.0";
    }
    if (literal.empty()) {
        why = v6 ? "the IPv6 address is empty (use [::] for all addresses)"
                 : "the host is empty (use * for all addresses)";
        return false;
    }
    char canonical[INET6_ADDRSTRLEN] = {};
    if (v6) {
        in6_addr a{};
        if (inet_pton(AF_INET6, literal.c_str(), &a) != 1 ||
            inet_ntop(AF_INET6, &a, canonical, sizeof canonical) == nullptr) {
            why = quote(literal) + " is not an IPv6 address";
            return false;
        }
    } else {
        in_addr a{};
        if (inet_pton(AF_INET, literal.c_str(), &a) != 1 ||
            inet_ntop(AF_INET, &a, canonical, sizeof canonical) == nullptr) {
            why = quote(literal) + " is not an IPv4 address (host names other than localhost "
                                   "are not resolved; IPv6 goes in brackets)";
            return false;
        }
    }
    out.host = canonical;
    out.port = static_cast<std::uint16_t>(number);
    out.queue.clear();
    return true;
}

std::string format_endpoint(const Endpoint& e) {
    if (e.host.find(':') != std::string::npos) return "[" + e.host + "]:" + std::to_string(e.port);
    return e.host + ":" + std::to_string(e.port);
}

// ---------------------------------------------------------------------------------------
// Suggestions

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment distance (an adjacent swap costs 1), case-insensitive.
    const auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

// ", did you mean 'x'?" when one candidate is close, else "".
template <class Range>
std::string suggestion(std::string_view word, const Range& candidates) {
    if (word.size() > 80) return {};
    std::string best;
    std::size_t best_distance = 3;
    for (const auto& c : candidates) {
        const std::string_view candidate(c);
        const std::size_t dist = edit_distance(word, candidate);
        if (dist < best_distance && dist < std::max(word.size(), candidate.size())) {
            best_distance = dist;
            best = std::string(candidate);
        }
    }
    return best.empty() ? std::string{} : ", did you mean " + quote(best) + "?";
}

// ---------------------------------------------------------------------------------------
// Validation

constexpr std::array<std::string_view, 18> top_keys{
    "state_dir", "control_socket", "master_key_file", "listen",        "queues",    "default_queue",
    "printers",  "spool",          "log",             "limits",        "tls",       "auth",
    "peer_owners", "lpd",          "upstream",        "offline_login", "terminals", "release"};
constexpr std::array<std::string_view, 6> listen_keys{"ipp", "ipps", "lpd", "raw", "admin", "release"};
constexpr std::array<std::string_view, 2> terminal_keys{"key_file", "description"};
constexpr std::array<std::string_view, 3> release_keys{"session_idle", "printer_wait", "admins"};
constexpr std::array<std::string_view, 7> queue_keys{"description", "mode",         "printer",    "auth",
                                                     "operators",   "server_queue", "on_recovery"};
constexpr std::array<std::string_view, 14> upstream_keys{
    "url",           "credentials_file", "ca_file",         "pinned_cert",     "gateway_id",
    "probe_interval", "probe_timeout",   "fail_threshold",  "recover_threshold", "hold_down",
    "request_timeout", "degraded_latency", "duplicate_window", "cut_through"};
constexpr std::array<std::string_view, 1> auth_keys{"users_file"};
constexpr std::array<std::string_view, 1> lpd_keys{"admin_peers"};
constexpr std::array<std::string_view, 10> printer_keys{"uri",         "formats",   "color",        "duplex",
                                                        "tls_verify",  "media",     "resolutions",  "terminals",
                                                        "release_page", "convert"};
constexpr std::array<std::string_view, 2> raw_item_keys{"address", "queue"};
constexpr std::array<std::string_view, 5> spool_keys{"max_job_size", "max_total_size", "min_free_space",
                                                     "job_history", "held_job_ttl"};
constexpr std::array<std::string_view, 1> log_keys{"level"};
constexpr std::array<std::string_view, 3> limits_keys{"max_connections", "idle_timeout", "shutdown_timeout"};
constexpr std::array<std::string_view, 2> tls_keys{"certificate", "private_key"};
constexpr std::size_t sun_path_size = sizeof(sockaddr_un{}.sun_path);  // 108 on Linux

bool valid_queue_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

std::string list_names(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < 5; ++i) {
        if (i > 0) out += ", ";
        out += names[i];
    }
    if (names.size() > 5) out += ", ...";
    return out;
}

// A destination URI printgate can send to: ipp://, ipps://, lpd://HOST/QUEUE or
// socket://HOST: a host, an optional port, a path (lpd and socket take ?options).
bool printer_uri_ok(std::string_view uri, std::string& why) {
    const auto sep = uri.find("://");
    const std::string_view scheme = uri.substr(0, sep);
    if (scheme != "ipp" && scheme != "ipps" && scheme != "lpd" && scheme != "socket") {
        why = "the scheme must be ipp, ipps, lpd or socket";
        return false;
    }
    std::string_view rest = uri.substr(sep + 3);
    if (scheme == "lpd" || scheme == "socket") rest = rest.substr(0, rest.find('?'));
    if (scheme == "lpd") {
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos || slash + 1 >= rest.size() ||
            rest.find('/', slash + 1) != std::string_view::npos) {
            why = "an lpd URI names one queue: lpd://HOST[:PORT]/QUEUE";
            return false;
        }
    }
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (authority.empty()) {
        why = "no host";
        return false;
    }
    if (authority.find('@') != std::string_view::npos) {
        why = "user information in a printer URI is not supported";
        return false;
    }
    for (const char c : uri) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            why = "spaces and control characters are not allowed";
            return false;
        }
    }
    std::string_view host = authority;
    std::string_view port;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            why = "unclosed '[' in the host";
            return false;
        }
        host = authority.substr(0, close + 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                why = "unexpected text after the IPv6 address";
                return false;
            }
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || host == "[]") {
        why = "no host";
        return false;
    }
    if (authority.find(':') != std::string_view::npos && port.empty() && authority.front() != '[') {
        why = "empty port";
        return false;
    }
    if (!port.empty()) {
        unsigned long n = 0;
        for (const char c : port) {
            if (c < '0' || c > '9' || (n = n * 10 + static_cast<unsigned long>(c - '0')) > 65535) {
                why = "the port must be a number from 1 to 65535";
                return false;
            }
        }
        if (n == 0) {
            why = "the port must be a number from 1 to 65535";
            return false;
        }
    }
    return true;
}

// One listening address, kept for the checks that span listeners.
struct Site {
    Endpoint endpoint;
    Origin origin;
    std::string listener;  // "listen.raw"
    std::string path;      // "listen.raw[1]"
    bool has_queue = false;
    Origin queue_origin;
};

class Validator {
public:
    Validator(Reporter& reporter, std::string_view base_dir) : r_(reporter), base_dir_(base_dir) {}

    void run(const Value& root, Config& cfg) {
        Value empty;
        empty.kind = Kind::map;
        const Value* top = &root;
        if (root.kind == Kind::null) {
            top = &empty;
        } else if (root.kind != Kind::map) {
            error(root, "", "expected a map of settings at the top level, got " + describe(root));
            top = &empty;
        }
        check_keys(*top, top_keys, "");
        paths(*top, cfg);
        listen(*top, cfg);
        printers(*top, cfg);
        queues(*top, cfg);
        default_queue(*top, cfg);
        spool(*top, cfg);
        log(*top, cfg);
        limits(*top, cfg);
        tls(*top, cfg);
        auth(*top, cfg);
        peer_owners(*top, cfg);
        lpd(*top, cfg);
        upstream(*top, cfg);
        basic_auth_source(cfg);
        offline_login(*top, cfg);
        terminals(*top, cfg);
        release(*top, cfg);
        raw_queues();
        duplicate_addresses();
    }

private:
    void error(const Value& at, std::string_view path, std::string message) {
        r_.error(at.origin, path, std::move(message));
    }

    template <std::size_t N>
    void check_keys(const Value& map, const std::array<std::string_view, N>& known, const std::string& path) {
        for (const auto& e : map.entries) {
            if (std::find(known.begin(), known.end(), e.key) != known.end()) continue;
            std::string message = "unknown key " + quote(e.key);
            if (!path.empty()) message += " in " + quote(path);
            r_.error(e.key_origin, join_path(path, e.key), message + suggestion(e.key, known));
        }
    }

    // A map of settings; null counts as empty (every key commented out).
    const Value* section(const Value& top, std::string_view key) {
        const Entry* e = find_entry(top, key);
        if (e == nullptr || e->value.kind == Kind::null) return nullptr;
        if (e->value.kind != Kind::map) {
            error(e->value, key, "expected a map of settings, got " + describe(e->value));
            return nullptr;
        }
        check_keys(e->value, key);
        return &e->value;
    }

    void check_keys(const Value& sec, std::string_view key) {
        const std::string path(key);
        if (key == "listen") check_keys(sec, listen_keys, path);
        else if (key == "spool") check_keys(sec, spool_keys, path);
        else if (key == "log") check_keys(sec, log_keys, path);
        else if (key == "limits") check_keys(sec, limits_keys, path);
        else if (key == "tls") check_keys(sec, tls_keys, path);
        else if (key == "auth") check_keys(sec, auth_keys, path);
        else if (key == "lpd") check_keys(sec, lpd_keys, path);
        else if (key == "upstream") check_keys(sec, upstream_keys, path);
        else if (key == "offline_login") check_keys(sec, offline_login_keys, path);
        else if (key == "release") check_keys(sec, release_keys, path);
    }

    std::optional<std::string> scalar(const Value& v, std::string_view path, std::string_view what) {
        if (v.kind == Kind::scalar) return v.text;
        error(v, path, "expected " + std::string(what) + ", got " + describe(v));
        return std::nullopt;
    }

    std::optional<std::uint64_t> size(const Value& v, std::string_view path) {
        const auto text = scalar(v, path, "a size like 100MiB");
        if (!text) return std::nullopt;
        std::uint64_t bytes = 0;
        switch (size_from(*text, bytes)) {
            case NumStatus::ok: return bytes;
            case NumStatus::overflow: error(v, path, "size " + quote(*text) + " is too large (over 16 EiB)"); break;
            case NumStatus::syntax:
            case NumStatus::no_unit: error(v, path, "expected a size like 100MiB, got " + quote(*text)); break;
        }
        return std::nullopt;
    }

    std::optional<std::chrono::milliseconds> duration(const Value& v, std::string_view path,
                                                      std::chrono::milliseconds min,
                                                      std::chrono::milliseconds max) {
        const auto text = scalar(v, path, "a duration like 30s, 5m or 24h");
        if (!text) return std::nullopt;
        std::chrono::milliseconds d{};
        switch (duration_from(*text, d)) {
            case NumStatus::ok:
                if (d >= min && d <= max) return d;
                error(v, path, std::string(path.substr(path.rfind('.') + 1)) + " must be between " +
                                   format_duration(min) + " and " + format_duration(max) + ", got " +
                                   quote(*text));
                break;
            case NumStatus::no_unit:
                error(v, path, "duration needs a unit (ms, s, m, h, d), got " + quote(*text));
                break;
            case NumStatus::overflow: error(v, path, "duration " + quote(*text) + " is too long"); break;
            case NumStatus::syntax:
                error(v, path, "expected a duration like 30s, 5m or 24h, got " + quote(*text));
                break;
        }
        return std::nullopt;
    }

    // Relative paths are joined to the config file's directory, lexically.
    std::optional<std::string> file_path(const Value& v, std::string_view path) {
        auto text = scalar(v, path, "a path");
        if (!text) return std::nullopt;
        if (text->empty()) {
            error(v, path, "the path is empty");
            return std::nullopt;
        }
        if (text->find('\0') != std::string::npos) {
            error(v, path, "the path contains a NUL byte");
            return std::nullopt;
        }
        std::filesystem::path p(*text);
        if (p.is_relative() && !base_dir_.empty()) p = std::filesystem::path(base_dir_) / p;
        std::string out = p.lexically_normal().string();
        while (out.size() > 1 && out.back() == '/') out.pop_back();
        if (out.empty()) out = ".";
        return out;
    }

    void paths(const Value& top, Config& cfg) {
        const Value* state_value = nullptr;
        if (const Entry* e = find_entry(top, "state_dir")) {
            state_value = &e->value;
            if (auto p = file_path(e->value, "state_dir")) cfg.state_dir = std::move(*p);
            else state_value = nullptr;
        }
        if (const Entry* e = find_entry(top, "master_key_file")) {
            if (auto p = file_path(e->value, "master_key_file")) cfg.master_key_file = std::move(*p);
        }
        if (const Entry* e = find_entry(top, "control_socket")) {
            if (auto p = file_path(e->value, "control_socket")) {
                if (p->size() >= sun_path_size) {
                    error(e->value, "control_socket",
                          "the control socket path is " + std::to_string(p->size()) +
                              " bytes long; a Unix socket path must be shorter than " +
                              std::to_string(sun_path_size) + " bytes");
                }
                cfg.control_socket = std::move(*p);
            }
        } else if (state_value != nullptr) {
            const std::size_t length = cfg.state_dir.size() + std::string_view("/control.sock").size();
            if (length >= sun_path_size) {
                error(*state_value, "state_dir",
                      "the control socket under state_dir would be " + std::to_string(length) +
                          " bytes long; a Unix socket path must be shorter than " +
                          std::to_string(sun_path_size) + " bytes (set control_socket)");
            }
        }
    }

    bool address(const Value& v, const std::string& path, const std::string& listener, Endpoint& ep) {
        std::string why;
        if (!endpoint_from(v.text, ep, why)) {
            error(v, path, "bad address " + quote(v.text) + ": " + why);
            return false;
        }
        sites_.push_back(Site{ep, v.origin, listener, path, false, Origin{}});
        return true;
    }

    // listen.raw only: {address: HOST:PORT, queue: NAME}.
    std::optional<Endpoint> raw_item(const Value& item, const std::string& path) {
        check_keys(item, raw_item_keys, path);
        const Entry* addr = find_entry(item, "address");
        if (addr == nullptr) {
            error(item, path, "missing 'address' (like address: 127.0.0.1:9100)");
            return std::nullopt;
        }
        const std::string addr_path = join_path(path, "address");
        if (!scalar(addr->value, addr_path, "an address like 127.0.0.1:9100")) return std::nullopt;
        Endpoint ep;
        if (!address(addr->value, addr_path, "listen.raw", ep)) return std::nullopt;
        if (const Entry* q = find_entry(item, "queue")) {
            const std::string queue_path = join_path(path, "queue");
            if (auto name = scalar(q->value, queue_path, "a queue name")) {
                ep.queue = std::move(*name);
                sites_.back().endpoint.queue = ep.queue;
                sites_.back().has_queue = true;
                sites_.back().queue_origin = q->value.origin;
            }
        }
        return ep;
    }

    void listener(const Value& v, const std::string& path, bool raw, std::vector<Endpoint>& out) {
        const std::string expected =
            raw ? "an address like 127.0.0.1:9100 or {address: ..., queue: ...}" : "an address like 127.0.0.1:631";
        if (v.kind == Kind::scalar) {
            Endpoint ep;
            if (address(v, path, path, ep)) out.push_back(ep);
            return;
        }
        if (v.kind != Kind::list) {
            error(v, path, "expected " + expected + " or a list of them, got " + describe(v));
            return;
        }
        for (std::size_t i = 0; i < v.items.size(); ++i) {
            const Value& item = v.items[i];
            const std::string item_path = path + "[" + std::to_string(i) + "]";
            Endpoint ep;
            if (item.kind == Kind::scalar) {
                if (address(item, item_path, path, ep)) out.push_back(ep);
            } else if (raw && item.kind == Kind::map) {
                if (auto got = raw_item(item, item_path)) out.push_back(std::move(*got));
            } else {
                error(item, item_path, "expected " + expected + ", got " + describe(item));
            }
        }
    }

    void listen(const Value& top, Config& cfg) {
        const Value* sec = section(top, "listen");
        if (sec == nullptr) return;
        const std::array<std::pair<std::string_view, std::vector<Endpoint>*>, 6> lists{
            {{"ipp", &cfg.listen.ipp},
             {"ipps", &cfg.listen.ipps},
             {"lpd", &cfg.listen.lpd},
             {"raw", &cfg.listen.raw},
             {"admin", &cfg.listen.admin},
             {"release", &cfg.listen.release}}};
        for (const auto& [name, list] : lists) {
            if (const Entry* e = find_entry(*sec, name))
                listener(e->value, join_path("listen", name), name == "raw", *list);
        }
    }

    void queues(const Value& top, Config& cfg) {
        const Entry* e = find_entry(top, "queues");
        if (e == nullptr) {
            // No `queues` at all: one queue that holds every job.
            cfg.queues.clear();
            cfg.queues.emplace("default", QueueConfig{"default", "", QueueMode::hold, ""});
            declared_.push_back("default");
            return;
        }
        queues_key_ = e->key_origin;
        const Value& v = e->value;
        if (v.kind == Kind::null || (v.kind == Kind::map && v.entries.empty())) {
            error(v, "queues", "no queue defined: 'queues' needs at least one queue, like queues: {default: {}}");
            return;
        }
        if (v.kind != Kind::map) {
            error(v, "queues", "expected a map from queue name to queue settings, got " + describe(v));
            return;
        }
        cfg.queues.clear();
        for (const auto& q : v.entries) {
            declared_.push_back(q.key);
            const std::string path = join_path("queues", q.key);
            bool ok = true;
            if (!valid_queue_name(q.key)) {
                r_.error(q.key_origin, path,
                         "bad queue name " + quote(q.key) +
                             ": use 1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
                ok = false;
            }
            QueueConfig queue{q.key, "", QueueMode::hold, ""};
            const Value& s = q.value;
            if (s.kind == Kind::map) {
                check_keys(s, queue_keys, path);
                if (const Entry* d = find_entry(s, "description")) {
                    if (auto text = scalar(d->value, join_path(path, "description"), "a text")) queue.description = *text;
                    else ok = false;
                }
                if (const Entry* m = find_entry(s, "mode")) {
                    const std::string mode_path = join_path(path, "mode");
                    if (auto text = scalar(m->value, mode_path, "a queue mode (hold, direct or server)")) {
                        if (*text == "hold") {
                            queue.mode = QueueMode::hold;
                        } else if (*text == "direct") {
                            queue.mode = QueueMode::direct;
                        } else if (*text == "server") {
                            queue.mode = QueueMode::server;
                            server_queues_.push_back(m->value.origin);
                        } else {
                            error(m->value, mode_path,
                                  "unknown mode " + quote(*text) + " (expected: hold, direct, server)");
                            ok = false;
                        }
                    } else {
                        ok = false;
                    }
                }
                const Entry* pr = find_entry(s, "printer");
                if (pr != nullptr) {
                    const std::string printer_path = join_path(path, "printer");
                    if (auto text = scalar(pr->value, printer_path, "a printer name or URI")) {
                        if (text->find("://") != std::string::npos) {
                            // Shorthand: the URI is the destination; its name is the URI.
                            std::string why;
                            if (printer_uri_ok(*text, why)) {
                                PrinterConfig made;
                                made.name = *text;
                                made.uri = *text;
                                cfg.printers.emplace(*text, std::move(made));
                                queue.printer = *text;
                            } else {
                                error(pr->value, printer_path, "bad printer URI " + quote(*text) + ": " + why);
                                ok = false;
                            }
                        } else if (cfg.printers.count(*text) != 0) {
                            queue.printer = *text;
                        } else if (std::find(printer_names_.begin(), printer_names_.end(), *text) ==
                                   printer_names_.end()) {
                            error(pr->value, printer_path,
                                  "printer " + quote(*text) + " is not defined in 'printers'" +
                                      (printer_names_.empty() ? std::string(" (there is no 'printers' map)")
                                                              : suggestion(*text, printer_names_)));
                            ok = false;
                        } else {
                            ok = false;  // the printer entry itself has an error, reported there
                        }
                    } else {
                        ok = false;
                    }
                }
                if (const Entry* a = find_entry(s, "auth")) {
                    const std::string auth_path = join_path(path, "auth");
                    if (auto text = scalar(a->value, auth_path, "none or basic")) {
                        if (*text == "none") {
                            queue.auth = QueueAuth::none;
                        } else if (*text == "basic") {
                            queue.auth = QueueAuth::basic;
                            basic_auth_.push_back(a->value.origin);
                        } else {
                            error(a->value, auth_path, "unknown auth " + quote(*text) + " (expected: none, basic)");
                            ok = false;
                        }
                    } else {
                        ok = false;
                    }
                }
                if (const Entry* o = find_entry(s, "operators")) {
                    const std::string ops_path = join_path(path, "operators");
                    std::vector<const Value*> items;
                    if (o->value.kind == Kind::scalar) items.push_back(&o->value);
                    else if (o->value.kind == Kind::list)
                        for (const auto& item : o->value.items) items.push_back(&item);
                    else {
                        error(o->value, ops_path, "expected a user name or a list of them, got " + describe(o->value));
                        ok = false;
                    }
                    for (const Value* item : items) {
                        auto name = scalar(*item, ops_path, "a user name");
                        if (name && !name->empty()) queue.operators.push_back(*name);
                        else ok = false;
                    }
                }
                if (!server_settings(s, path, q.key_origin, queue)) ok = false;
                if (queue.mode == QueueMode::direct && pr == nullptr) {
                    r_.error(q.key_origin, path,
                             "queue " + quote(q.key) + " has mode: direct but no printer to send its jobs to " +
                                 "(set printer: NAME or printer: ipp://HOST/PATH)");
                    ok = false;
                }
            } else if (s.kind != Kind::null) {
                error(s, path, "expected a map of queue settings (or {}), got " + describe(s));
                ok = false;
            }
            if (ok) cfg.queues.emplace(q.key, std::move(queue));
        }
    }

    // server_queue and on_recovery: only, and required, with mode: server.
    bool server_settings(const Value& s, const std::string& path, const Origin& key_origin, QueueConfig& queue) {
        bool ok = true;
        const Entry* sq = find_entry(s, "server_queue");
        const Entry* rec = find_entry(s, "on_recovery");
        if (queue.mode != QueueMode::server) {
            for (const Entry* e : {sq, rec}) {
                if (e == nullptr) continue;
                r_.error(e->key_origin, join_path(path, e->key),
                         quote(e->key) + " applies only to queues with mode: server");
                ok = false;
            }
            return ok;
        }
        if (sq == nullptr) {
            r_.error(key_origin, path,
                     "queue " + quote(queue.name) + " has mode: server but no server_queue " +
                         "(the MyQ queue's URI, like server_queue: ipps://myq.example/printers/branch)");
            return false;
        }
        const std::string sq_path = join_path(path, "server_queue");
        if (auto text = scalar(sq->value, sq_path, "the server queue's URI")) {
            std::string why;
            if (text->rfind("socket://", 0) == 0) {
                error(sq->value, sq_path, "a server queue is reached by ipp://, ipps:// or lpd://, not socket://");
                ok = false;
            } else if (!printer_uri_ok(*text, why)) {
                error(sq->value, sq_path, "bad server queue URI " + quote(*text) + ": " + why);
                ok = false;
            } else {
                queue.server_queue = *text;
            }
        } else {
            ok = false;
        }
        if (rec != nullptr) {
            const std::string rec_path = join_path(path, "on_recovery");
            if (auto text = scalar(rec->value, rec_path, "keep_local or forward")) {
                if (*text == "keep_local") queue.on_recovery = OnRecovery::keep_local;
                else if (*text == "forward") queue.on_recovery = OnRecovery::forward;
                else {
                    error(rec->value, rec_path, "unknown on_recovery " + quote(*text) + " (expected: keep_local, forward)");
                    ok = false;
                }
            } else {
                ok = false;
            }
        }
        return ok;
    }

    // A whole number in [min, max].
    std::optional<unsigned> count(const Value& v, const std::string& path, unsigned min, unsigned max) {
        const auto text = scalar(v, path, "a whole number");
        if (!text) return std::nullopt;
        const bool digits = !text->empty() && text->size() <= 9 &&
                            std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
        const unsigned long n = digits ? std::stoul(*text) : 0;
        if (!digits || n < min || n > max) {
            error(v, path, std::string(path.substr(path.rfind('.') + 1)) + " must be a whole number from " +
                               std::to_string(min) + " to " + std::to_string(max) + ", got " + quote(*text));
            return std::nullopt;
        }
        return static_cast<unsigned>(n);
    }

    // upstream: the central server and the reachability monitor. Nothing is read here.
    void upstream(const Value& top, Config& cfg) {
        using namespace std::chrono_literals;
        const Value* sec = section(top, "upstream");
        UpstreamConfig& u = cfg.upstream;
        if (sec != nullptr) {
            if (const Entry* e = find_entry(*sec, "url")) {
                if (auto text = scalar(e->value, "upstream.url", "an https:// URL")) {
                    if (url_ok(*text)) {
                        u.url = *text;
                        while (u.url.size() > 8 && u.url.back() == '/') u.url.pop_back();
                    } else {
                        error(e->value, "upstream.url",
                              "expected the server's https:// URL like https://myq.example:8093, got " + quote(*text));
                    }
                }
            }
            if (const Entry* e = find_entry(*sec, "credentials_file")) {
                if (auto p = file_path(e->value, "upstream.credentials_file")) u.credentials_file = std::move(*p);
            }
            if (const Entry* e = find_entry(*sec, "ca_file")) {
                if (auto p = file_path(e->value, "upstream.ca_file")) u.ca_file = std::move(*p);
            }
            if (const Entry* e = find_entry(*sec, "pinned_cert")) {
                if (auto text = scalar(e->value, "upstream.pinned_cert", "sha256:HEX")) {
                    std::string hex = *text;
                    if (hex.rfind("sha256:", 0) == 0) hex = hex.substr(7);
                    std::string clean;
                    for (const char c : hex)
                        if (c != ':') clean.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
                    const bool good = clean.size() == 64 && std::all_of(clean.begin(), clean.end(), [](char c) {
                                          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                                      });
                    if (good) u.pinned_cert = clean;
                    else
                        error(e->value, "upstream.pinned_cert",
                              "expected the SHA-256 of the server certificate as sha256: and 64 hex digits, got " +
                                  quote(*text));
                }
            }
            if (const Entry* e = find_entry(*sec, "gateway_id")) {
                if (auto text = scalar(e->value, "upstream.gateway_id", "this gateway's id")) {
                    const bool good = !text->empty() && text->size() <= 64 &&
                                      std::all_of(text->begin(), text->end(), [](char c) {
                                          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                                 c == '_' || c == '.';
                                      });
                    if (good) u.gateway_id = *text;
                    else
                        error(e->value, "upstream.gateway_id",
                              "use 1-64 letters, digits, '-', '_' or '.', got " + quote(*text));
                }
            }
            const std::array<std::tuple<std::string_view, std::chrono::milliseconds*, std::chrono::milliseconds,
                                        std::chrono::milliseconds>,
                             6>
                durations{{{"probe_interval", &u.probe_interval, 100ms, 10min},
                           {"probe_timeout", &u.probe_timeout, 100ms, 1min},
                           {"hold_down", &u.hold_down, 0ms, 1h},
                           {"request_timeout", &u.request_timeout, 100ms, 5min},
                           {"degraded_latency", &u.degraded_latency, 1ms, 1min},
                           {"duplicate_window", &u.duplicate_window, 0ms, 7 * 24h}}};
            for (const auto& [key, target, min, max] : durations) {
                if (const Entry* e = find_entry(*sec, key))
                    if (auto d = duration(e->value, join_path("upstream", key), min, max)) *target = *d;
            }
            if (const Entry* e = find_entry(*sec, "cut_through"))
                if (auto v = boolean(e->value, "upstream.cut_through")) u.cut_through = *v;
            if (const Entry* e = find_entry(*sec, "fail_threshold"))
                if (auto n = count(e->value, "upstream.fail_threshold", 1, 100)) u.fail_threshold = *n;
            if (const Entry* e = find_entry(*sec, "recover_threshold"))
                if (auto n = count(e->value, "upstream.recover_threshold", 1, 100)) u.recover_threshold = *n;
            if (!u.url.empty()) {
                if (u.credentials_file.empty() && find_entry(*sec, "credentials_file") == nullptr)
                    error(*sec, "upstream.credentials_file",
                          "upstream.url is set, so upstream.credentials_file must name the file with "
                          "client_id: and client_secret: (never the secret inline)");
                if (u.gateway_id.empty() && find_entry(*sec, "gateway_id") == nullptr)
                    error(*sec, "upstream.gateway_id", "upstream.url is set, so upstream.gateway_id must name this gateway");
            }
        }
        if (!server_queues_.empty() && u.url.empty() && (sec == nullptr || find_entry(*sec, "url") == nullptr))
            r_.error(server_queues_.front(), "upstream.url",
                     "a queue has mode: server, so upstream.url must name the central server");
    }

    // offline_login: parsed in offline_login.cpp through this reader.
    class Reader final : public SectionReader {
    public:
        Reader(Validator& v, const Value& sec, std::string name) : v_(v), sec_(sec), name_(std::move(name)) {}
        bool has(std::string_view key) const override { return find_entry(sec_, key) != nullptr; }
        std::optional<unsigned> count(std::string_view key, unsigned min, unsigned max) override {
            const Entry* e = find_entry(sec_, key);
            return e ? v_.count(e->value, join_path(name_, key), min, max) : std::nullopt;
        }
        std::optional<std::chrono::milliseconds> duration(std::string_view key, std::chrono::milliseconds min,
                                                          std::chrono::milliseconds max) override {
            const Entry* e = find_entry(sec_, key);
            return e ? v_.duration(e->value, join_path(name_, key), min, max) : std::nullopt;
        }
        std::optional<std::uint64_t> size(std::string_view key) override {
            const Entry* e = find_entry(sec_, key);
            return e ? v_.size(e->value, join_path(name_, key)) : std::nullopt;
        }
        void error(std::string_view key, std::string message) override {
            const Entry* e = find_entry(sec_, key);
            v_.error(e ? e->value : sec_, join_path(name_, key), std::move(message));
        }

    private:
        Validator& v_;
        const Value& sec_;
        std::string name_;
    };

    void offline_login(const Value& top, Config& cfg) {
        const Value* sec = section(top, "offline_login");
        if (sec == nullptr) return;
        Reader reader(*this, *sec, "offline_login");
        read_offline_login(reader, cfg.offline_login);
    }

    static bool url_ok(std::string_view url) {
        if (url.rfind("https://", 0) != 0) return false;
        const std::string_view rest = url.substr(8);
        const std::string_view authority = rest.substr(0, rest.find('/'));
        if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
        return std::none_of(url.begin(), url.end(), [](char c) {
            return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#';
        });
    }

    // A scalar or a list of scalars, as the items to check.
    std::vector<const Value*> list_items(const Value& v, std::string_view path, std::string_view what) {
        std::vector<const Value*> items;
        if (v.kind == Kind::scalar) items.push_back(&v);
        else if (v.kind == Kind::list)
            for (const auto& item : v.items) items.push_back(&item);
        else
            error(v, path, "expected " + std::string(what) + " or a list of them, got " + describe(v));
        return items;
    }

    // One `true`/`false` setting.
    std::optional<bool> boolean(const Value& v, std::string_view path) {
        auto text = scalar(v, path, "true or false");
        if (!text) return std::nullopt;
        if (*text == "true" || *text == "yes" || *text == "on") return true;
        if (*text == "false" || *text == "no" || *text == "off") return false;
        error(v, path, "expected true or false, got " + quote(*text));
        return std::nullopt;
    }

    // printers: {NAME: {uri: ipp://HOST/PATH, formats: [...], color: true, duplex: true}}
    void printers(const Value& top, Config& cfg) {
        cfg.printers.clear();
        const Entry* e = find_entry(top, "printers");
        if (e == nullptr || e->value.kind == Kind::null) return;
        if (e->value.kind != Kind::map) {
            error(e->value, "printers", "expected a map from printer name to printer settings, got " +
                                            describe(e->value));
            return;
        }
        for (const auto& p : e->value.entries) {
            printer_names_.push_back(p.key);
            const std::string path = join_path("printers", p.key);
            bool ok = true;
            if (!valid_queue_name(p.key)) {
                r_.error(p.key_origin, path,
                         "bad printer name " + quote(p.key) +
                             ": use 1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
                ok = false;
            }
            PrinterConfig printer;
            printer.name = p.key;
            const Value& s = p.value;
            if (s.kind == Kind::scalar) {
                // Shorthand: NAME: ipp://HOST/PATH
                std::string why;
                if (printer_uri_ok(s.text, why)) printer.uri = s.text;
                else {
                    error(s, path, "bad printer URI " + quote(s.text) + ": " + why);
                    ok = false;
                }
            } else if (s.kind != Kind::map) {
                error(s, path, "expected a printer URI or a map with 'uri', got " + describe(s));
                ok = false;
            } else {
                check_keys(s, printer_keys, path);
                if (const Entry* u = find_entry(s, "uri")) {
                    const std::string uri_path = join_path(path, "uri");
                    if (auto text = scalar(u->value, uri_path, "a printer URI like ipp://HOST/ipp/print")) {
                        std::string why;
                        if (printer_uri_ok(*text, why)) printer.uri = *text;
                        else {
                            error(u->value, uri_path, "bad printer URI " + quote(*text) + ": " + why);
                            ok = false;
                        }
                    } else {
                        ok = false;
                    }
                } else {
                    error(s, path, "missing 'uri' (like uri: ipp://192.0.2.10/ipp/print)");
                    ok = false;
                }
                if (const Entry* f = find_entry(s, "formats")) {
                    const std::string formats_path = join_path(path, "formats");
                    const Value& fv = f->value;
                    std::vector<const Value*> items;
                    if (fv.kind == Kind::scalar) items.push_back(&fv);
                    else if (fv.kind == Kind::list)
                        for (const auto& item : fv.items) items.push_back(&item);
                    else {
                        error(fv, formats_path, "expected a MIME type or a list of them, got " + describe(fv));
                        ok = false;
                    }
                    for (const Value* item : items) {
                        auto text = scalar(*item, formats_path, "a MIME type like application/pdf");
                        if (!text) {
                            ok = false;
                            continue;
                        }
                        const auto slash = text->find('/');
                        const bool valid = slash != std::string::npos && slash > 0 && slash + 1 < text->size() &&
                                           std::all_of(text->begin(), text->end(), [](char c) {
                                               return std::isalnum(static_cast<unsigned char>(c)) || c == '/' ||
                                                      c == '-' || c == '.' || c == '+' || c == '_';
                                           });
                        if (!valid) {
                            error(*item, formats_path, "expected a MIME type like application/pdf, got " + quote(*text));
                            ok = false;
                        } else {
                            printer.profile.formats.push_back(*text);
                        }
                    }
                }
                if (const Entry* m = find_entry(s, "media")) {
                    const std::string media_path = join_path(path, "media");
                    for (const Value* item : list_items(m->value, media_path, "a media name")) {
                        auto text = scalar(*item, media_path, "a media name like iso_a4_210x297mm");
                        if (text && media_size(*text)) printer.profile.media.push_back(*text);
                        else {
                            if (text)
                                error(*item, media_path, "expected a PWG media name like iso_a4_210x297mm or "
                                                         "na_letter_8.5x11in, got " + quote(*text));
                            ok = false;
                        }
                    }
                }
                if (const Entry* r = find_entry(s, "resolutions")) {
                    const std::string res_path = join_path(path, "resolutions");
                    for (const Value* item : list_items(r->value, res_path, "a resolution in dpi")) {
                        auto text = scalar(*item, res_path, "a resolution in dpi");
                        int dpi = 0;
                        bool good = text && !text->empty() && text->size() <= 4 &&
                                    std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
                        if (good) dpi = std::stoi(*text);
                        if (good && dpi >= 72 && dpi <= 4800) printer.profile.resolutions.push_back(dpi);
                        else {
                            if (text) error(*item, res_path, "expected a resolution from 72 to 4800 dpi, got " + quote(*text));
                            ok = false;
                        }
                    }
                }
                if (const Entry* t = find_entry(s, "terminals")) {
                    const std::string terms_path = join_path(path, "terminals");
                    for (const Value* item : list_items(t->value, terms_path, "a terminal name")) {
                        auto text = scalar(*item, terms_path, "a terminal name (a key of terminals)");
                        if (text && valid_queue_name(*text)) {
                            printer.terminals.push_back(*text);
                            terminal_uses_.push_back({*text, item->origin, terms_path});
                        } else {
                            if (text) error(*item, terms_path, "bad terminal name " + quote(*text));
                            ok = false;
                        }
                    }
                }
                const std::array<std::pair<std::string_view, bool*>, 4> flags{{{"color", &printer.profile.color},
                                                                                {"duplex", &printer.profile.duplex},
                                                                                {"tls_verify", &printer.tls_verify},
                                                                                {"release_page", &printer.release_page}}};
                for (const auto& [key, target] : flags) {
                    if (const Entry* b = find_entry(s, key)) {
                        if (auto v = boolean(b->value, join_path(path, key))) *target = *v;
                        else ok = false;
                    }
                }
                if (const Entry* c = find_entry(s, "convert")) {
                    if (!conversion(c->value, join_path(path, "convert"), printer.profile)) ok = false;
                }
            }
            if (ok) cfg.printers.emplace(p.key, std::move(printer));
        }
    }

    // printers.NAME.convert: none | ghostscript. Ghostscript must know what to write:
    // `formats` has to name at least one format it can produce.
    bool conversion(const Value& v, const std::string& path, PrinterProfile& profile) {
        auto text = scalar(v, path, "none or ghostscript");
        if (!text) return false;
        if (*text == "none") {
            profile.convert = Conversion::none;
            return true;
        }
        if (*text != "ghostscript") {
            error(v, path, "expected none or ghostscript, got " + quote(*text));
            return false;
        }
        std::string writes;
        for (auto f : ghostscript_output_formats) writes += (writes.empty() ? "" : ", ") + std::string(f);
        if (profile.formats.empty()) {
            error(v, path, "convert: ghostscript needs 'formats' to say what the printer takes (one of " + writes +
                               ")");
            return false;
        }
        if (std::none_of(profile.formats.begin(), profile.formats.end(),
                         [](const std::string& f) { return ghostscript_writes(f); })) {
            error(v, path, "convert: ghostscript cannot write any of this printer's formats (it writes " + writes +
                               ")");
            return false;
        }
        profile.convert = Conversion::ghostscript;
        return true;
    }

    bool declared(std::string_view name) const {
        return std::find(declared_.begin(), declared_.end(), name) != declared_.end();
    }

    void default_queue(const Value& top, Config& cfg) {
        if (const Entry* e = find_entry(top, "default_queue")) {
            const auto name = scalar(e->value, "default_queue", "a queue name");
            if (!name) return;
            if (declared(*name)) {
                cfg.default_queue = *name;
            } else if (!declared_.empty()) {
                error(e->value, "default_queue",
                      "default_queue " + quote(*name) + " is not one of the queues (" + list_names(declared_) +
                          ")" + suggestion(*name, declared_));
            }
            return;
        }
        if (declared_.size() == 1) {
            cfg.default_queue = declared_.front();
        } else if (declared_.size() > 1) {
            r_.error(queues_key_, "queues",
                     "several queues are defined, so default_queue must name the one raw 9100 jobs go to (" +
                         list_names(declared_) + ")");
        }
    }

    void spool(const Value& top, Config& cfg) {
        const Value* sec = section(top, "spool");
        if (sec == nullptr) return;
        const Value* job_at = nullptr;
        const Value* total_at = nullptr;
        bool parsed = true;
        if (const Entry* e = find_entry(*sec, "max_job_size")) {
            job_at = &e->value;
            if (auto v = size(e->value, "spool.max_job_size")) {
                if (*v < 1) {
                    error(e->value, "spool.max_job_size", "max_job_size must be at least 1 byte");
                    parsed = false;
                }
                cfg.spool.max_job_size = *v;
            } else {
                parsed = false;
            }
        }
        if (const Entry* e = find_entry(*sec, "max_total_size")) {
            total_at = &e->value;
            if (auto v = size(e->value, "spool.max_total_size")) cfg.spool.max_total_size = *v;
            else parsed = false;
        }
        if (const Entry* e = find_entry(*sec, "min_free_space")) {
            if (auto v = size(e->value, "spool.min_free_space")) cfg.spool.min_free_space = *v;
        }
        if (const Entry* e = find_entry(*sec, "job_history")) {
            using namespace std::chrono_literals;
            if (auto d = duration(e->value, "spool.job_history", 0s, 24h * 365)) cfg.spool.job_history = *d;
        }
        if (const Entry* e = find_entry(*sec, "held_job_ttl")) {
            using namespace std::chrono_literals;
            if (auto d = duration(e->value, "spool.held_job_ttl", 0s, 24h * 365)) {
                if (d->count() != 0 && *d < 1min)
                    error(e->value, "spool.held_job_ttl", "held_job_ttl must be 0 (never) or at least 1m");
                else
                    cfg.spool.held_job_ttl = *d;
            }
        }
        if (parsed && cfg.spool.max_total_size < cfg.spool.max_job_size) {
            const Value* at = total_at != nullptr ? total_at : job_at;
            if (at == nullptr) at = sec;
            error(*at, total_at != nullptr ? "spool.max_total_size" : "spool.max_job_size",
                  "max_total_size (" + format_size(cfg.spool.max_total_size) + ") is smaller than max_job_size (" +
                      format_size(cfg.spool.max_job_size) + ")");
        }
    }

    void log(const Value& top, Config& cfg) {
        const Value* sec = section(top, "log");
        if (sec == nullptr) return;
        if (const Entry* e = find_entry(*sec, "level")) {
            static constexpr std::array<std::string_view, 8> names{
                "trace", "debug", "info", "warning", "warn", "error", "critical", "off"};
            const auto text = scalar(e->value, "log.level", "a log level");
            if (!text) return;
            if (const auto level = parse_log_level(*text)) {
                cfg.log.level = *level;
            } else {
                error(e->value, "log.level",
                      "unknown log level " + quote(*text) +
                          " (expected: trace, debug, info, warning, error, critical, off)" + suggestion(*text, names));
            }
        }
    }

    void limits(const Value& top, Config& cfg) {
        using namespace std::chrono_literals;
        const Value* sec = section(top, "limits");
        if (sec == nullptr) return;
        if (const Entry* e = find_entry(*sec, "max_connections")) {
            constexpr std::uint64_t max = 100000;
            const std::string path = "limits.max_connections";
            if (const auto text = scalar(e->value, path, "a whole number")) {
                std::uint64_t n = 0;
                const bool digits = !text->empty() && std::all_of(text->begin(), text->end(), [](char c) {
                    return c >= '0' && c <= '9';
                });
                for (const char c : *text) n = std::min<std::uint64_t>(n * 10 + static_cast<std::uint64_t>(c - '0'), max + 1);
                if (!digits) error(e->value, path, "expected a whole number, got " + quote(*text));
                else if (n < 1 || n > max)
                    error(e->value, path, "max_connections must be between 1 and 100000, got " + quote(*text));
                else cfg.limits.max_connections = static_cast<std::uint32_t>(n);
            }
        }
        if (const Entry* e = find_entry(*sec, "idle_timeout")) {
            if (auto d = duration(e->value, "limits.idle_timeout", 1s, 24h)) cfg.limits.idle_timeout = *d;
        }
        if (const Entry* e = find_entry(*sec, "shutdown_timeout")) {
            if (auto d = duration(e->value, "limits.shutdown_timeout", 0s, 10min)) cfg.limits.shutdown_timeout = *d;
        }
    }

    // tls.certificate and tls.private_key: both (a configured pair) or neither (the
    // daemon makes a self-signed pair under state_dir). Nothing is read here.
    void tls(const Value& top, Config& cfg) {
        const Value* sec = section(top, "tls");
        if (sec == nullptr) return;
        const Entry* cert = find_entry(*sec, "certificate");
        const Entry* key = find_entry(*sec, "private_key");
        bool parsed = true;
        if (cert != nullptr) {
            if (auto p = file_path(cert->value, "tls.certificate")) cfg.tls.certificate = std::move(*p);
            else parsed = false;
        }
        if (key != nullptr) {
            if (auto p = file_path(key->value, "tls.private_key")) cfg.tls.private_key = std::move(*p);
            else parsed = false;
        }
        if (!parsed) return;
        if (cert != nullptr && key == nullptr)
            error(cert->value, "tls.certificate",
                  "tls.certificate is set but tls.private_key is not; set both or neither");
        else if (key != nullptr && cert == nullptr)
            error(key->value, "tls.private_key",
                  "tls.private_key is set but tls.certificate is not; set both or neither");
    }

    // auth.users_file (basic_auth_source says when it is required). Nothing is read here.
    void auth(const Value& top, Config& cfg) {
        if (const Value* sec = section(top, "auth")) {
            if (const Entry* e = find_entry(*sec, "users_file")) {
                if (auto p = file_path(e->value, "auth.users_file")) cfg.auth.users_file = std::move(*p);
                else return;
            }
        }
    }

    // Who checks the credentials of auth: basic queues: the central server (and the
    // offline-login cache) when there is an upstream, else the users file.
    void basic_auth_source(const Config& cfg) {
        if (!basic_auth_.empty() && cfg.auth.users_file.empty() && !cfg.upstream.enabled())
            r_.error(basic_auth_.front(), "auth.users_file",
                     "a queue has auth: basic, so auth.users_file must name the users file "
                     "(name:argon2id lines, see docs/authentication.md), or upstream.url a central "
                     "server that checks the credentials");
    }

    // peer_owners: {NETWORK: user}; NETWORK is an address or ADDRESS/PREFIX.
    void peer_owners(const Value& top, Config& cfg) {
        const Entry* e = find_entry(top, "peer_owners");
        if (e == nullptr || e->value.kind == Kind::null) return;
        if (e->value.kind != Kind::map) {
            error(e->value, "peer_owners", "expected a map from network (like 192.0.2.0/24) to user, got " +
                                               describe(e->value));
            return;
        }
        for (const auto& entry : e->value.entries) {
            const std::string path = join_path("peer_owners", entry.key);
            PeerOwner o;
            o.network = entry.key;
            std::string_view text = entry.key;
            if (!network(text, o)) {
                r_.error(entry.key_origin, path, "bad network " + quote(entry.key) +
                                                     " (expected an address or ADDRESS/PREFIX like 192.0.2.0/24)");
                continue;
            }
            auto user = scalar(entry.value, path, "a user name");
            if (!user || user->empty()) {
                if (user) error(entry.value, path, "the user name is empty");
                continue;
            }
            o.user = *user;
            cfg.peer_owners.push_back(std::move(o));
        }
        std::stable_sort(cfg.peer_owners.begin(), cfg.peer_owners.end(),
                         [](const PeerOwner& x, const PeerOwner& y) { return x.prefix > y.prefix; });
    }

    // lpd.admin_peers: [NETWORK, ...]
    void lpd(const Value& top, Config& cfg) {
        const Value* sec = section(top, "lpd");
        if (sec == nullptr) return;
        const Entry* e = find_entry(*sec, "admin_peers");
        if (e == nullptr) return;
        for (const Value* item : list_items(e->value, "lpd.admin_peers", "a network like 192.0.2.0/24")) {
            auto text = scalar(*item, "lpd.admin_peers", "a network like 192.0.2.0/24");
            if (!text) continue;
            PeerOwner o;
            o.network = *text;
            if (!network(*text, o)) {
                error(*item, "lpd.admin_peers",
                      "bad network " + quote(*text) + " (expected an address or ADDRESS/PREFIX like 192.0.2.0/24)");
                continue;
            }
            cfg.lpd.admin_peers.push_back(std::move(o));
        }
    }

    // "ADDRESS" or "ADDRESS/PREFIX" into o.address (normalised) and o.prefix.
    static bool network(std::string_view text, PeerOwner& o) {
        {
            const std::string addr(text.substr(0, text.find('/')));
            unsigned char bin[16] = {};
            const bool v4 = ::inet_pton(AF_INET, addr.c_str(), bin) == 1;
            const bool v6 = !v4 && ::inet_pton(AF_INET6, addr.c_str(), bin) == 1;
            unsigned max = v6 ? 128 : 32;
            unsigned prefix = max;
            bool ok = v4 || v6;
            if (ok && text.find('/') != std::string_view::npos) {
                std::string_view p = text.substr(text.find('/') + 1);
                ok = !p.empty() && p.size() <= 3 && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
                if (ok) prefix = static_cast<unsigned>(std::stoul(std::string(p)));
                ok = ok && prefix <= max;
            }
            if (!ok) return false;
            char norm[INET6_ADDRSTRLEN] = {};
            ::inet_ntop(v4 ? AF_INET : AF_INET6, bin, norm, sizeof norm);
            o.address = norm;
            o.prefix = prefix;
            return true;
        }
    }

    void raw_queues() {
        for (const auto& s : sites_) {
            if (!s.has_queue || declared(s.endpoint.queue)) continue;
            r_.error(s.queue_origin, join_path(s.path, "queue"),
                     "queue " + quote(s.endpoint.queue) + " is not defined in 'queues'" +
                         suggestion(s.endpoint.queue, declared_));
        }
    }

    // Two listeners cannot bind the same address and port, nor a wildcard and a specific
    // address of the same family on the same port (EADDRINUSE at bind).
    // terminals: {NAME: {key_file: PATH, description: TEXT}}
    void terminals(const Value& top, Config& cfg) {
        cfg.terminals.clear();
        const Entry* e = find_entry(top, "terminals");
        std::vector<std::string> written;
        if (e != nullptr && e->value.kind != Kind::null) {
            if (e->value.kind != Kind::map) {
                error(e->value, "terminals", "expected a map from terminal name to {key_file: PATH}, got " +
                                                 describe(e->value));
            } else {
                for (const auto& t : e->value.entries) {
                    written.push_back(t.key);
                    const std::string path = join_path("terminals", t.key);
                    bool ok = true;
                    if (!valid_queue_name(t.key)) {
                        r_.error(t.key_origin, path,
                                 "bad terminal name " + quote(t.key) +
                                     ": use 1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
                        ok = false;
                    }
                    TerminalConfig term;
                    term.name = t.key;
                    if (t.value.kind != Kind::map) {
                        error(t.value, path, "expected {key_file: PATH}, got " + describe(t.value));
                        continue;
                    }
                    check_keys(t.value, terminal_keys, path);
                    if (const Entry* k = find_entry(t.value, "key_file")) {
                        if (auto p = file_path(k->value, join_path(path, "key_file"))) term.key_file = std::move(*p);
                        else ok = false;
                    } else {
                        error(t.value, path, "missing 'key_file' (the file holding this terminal's API key, mode 0600)");
                        ok = false;
                    }
                    if (const Entry* d = find_entry(t.value, "description")) {
                        if (auto text = scalar(d->value, join_path(path, "description"), "free text")) term.description = *text;
                    }
                    if (ok) cfg.terminals.emplace(t.key, std::move(term));
                }
            }
        }
        for (const auto& use : terminal_uses_) {
            if (std::find(written.begin(), written.end(), use.name) != written.end()) continue;
            r_.error(use.origin, use.path,
                     "terminal " + quote(use.name) + " is not one of the terminals" +
                         (written.empty() ? std::string(" (none is defined under terminals:)")
                                          : " (" + list_names(written) + ")" + suggestion(use.name, written)));
        }
    }

    // release: {session_idle: 2m, printer_wait: 3m, admins: [NAME...]}
    void release(const Value& top, Config& cfg) {
        const Value* sec = section(top, "release");
        if (sec == nullptr) return;
        if (const Entry* e = find_entry(*sec, "session_idle")) {
            using namespace std::chrono_literals;
            if (auto d = duration(e->value, "release.session_idle", 10s, 1h)) cfg.release.session_idle = *d;
        }
        if (const Entry* e = find_entry(*sec, "printer_wait")) {
            using namespace std::chrono_literals;
            if (auto d = duration(e->value, "release.printer_wait", 1s, 24h)) cfg.release.printer_wait = *d;
        }
        if (const Entry* e = find_entry(*sec, "admins")) {
            for (const Value* item : list_items(e->value, "release.admins", "a user name")) {
                auto name = scalar(*item, "release.admins", "a user name");
                if (name && !name->empty()) cfg.release.admins.push_back(*name);
                else if (name) error(*item, "release.admins", "empty user name");
            }
        }
    }

    void duplicate_addresses() {
        std::vector<const Site*> order;
        for (const auto& s : sites_)
            if (s.endpoint.port != 0) order.push_back(&s);
        std::stable_sort(order.begin(), order.end(), [](const Site* a, const Site* b) { return a->origin < b->origin; });
        std::map<std::pair<std::string, std::uint16_t>, const Site*> exact;
        std::map<std::pair<bool, std::uint16_t>, const Site*> any;       // (is_v6, port) -> first site
        std::map<std::pair<bool, std::uint16_t>, const Site*> wildcard;  // (is_v6, port) -> first wildcard
        for (const Site* s : order) {
            const Endpoint& ep = s->endpoint;
            const bool v6 = ep.host.find(':') != std::string::npos;
            const bool is_wild = ep.host == "0.0.0.0" || ep.host == "::";
            const auto family_port = std::make_pair(v6, ep.port);
            const Site* clash = nullptr;
            if (auto it = exact.find({ep.host, ep.port}); it != exact.end()) clash = it->second;
            else if (auto w = wildcard.find(family_port); w != wildcard.end()) clash = w->second;
            else if (auto a = any.find(family_port); is_wild && a != any.end()) clash = a->second;
            if (clash != nullptr) {
                r_.error(s->origin, s->path,
                         "address " + format_endpoint(ep) + " is already used by " + clash->listener + " (" +
                             format_endpoint(clash->endpoint) + " at " + where(clash->origin) + ")");
                continue;
            }
            exact.emplace(std::make_pair(ep.host, ep.port), s);
            any.emplace(family_port, s);
            if (is_wild) wildcard.emplace(family_port, s);
        }
    }

    Reporter& r_;
    std::string base_dir_;
    std::vector<Site> sites_;
    std::vector<std::string> declared_;  // every queue name written in `queues`, valid or not
    std::vector<std::string> printer_names_;  // every name written in `printers`, valid or not
    std::vector<Origin> basic_auth_;          // where queues ask for auth: basic
    std::vector<Origin> server_queues_;       // where queues ask for mode: server
    struct TerminalUse {
        std::string name;
        Origin origin;
        std::string path;
    };
    std::vector<TerminalUse> terminal_uses_;  // printers.NAME.terminals entries, checked against `terminals`
    Origin queues_key_;
};

// ---------------------------------------------------------------------------------------
// Overrides

// Splits a dotted key. Queue names may contain dots, so under `queues` the name is the
// longest run of parts naming an existing queue, else everything before a final queue
// setting ("queues.a.b.description" -> queue "a.b"), else all remaining parts.
std::vector<std::string> override_parts(std::string_view key, const Value& root) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = key.find('.', start);
        parts.emplace_back(key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (parts.back().empty()) return {};
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (parts.size() <= 2 || parts[0] != "queues") return parts;
    const auto joined = [&](std::size_t from, std::size_t to) {
        std::string out = parts[from];
        for (std::size_t i = from + 1; i < to; ++i) out += "." + parts[i];
        return out;
    };
    std::size_t name_end = 0;
    const Entry* queues = root.kind == Kind::map ? find_entry(root, "queues") : nullptr;
    if (queues != nullptr && queues->value.kind == Kind::map) {
        for (std::size_t end = parts.size(); end > 1 && name_end == 0; --end)
            if (find_entry(queues->value, joined(1, end)) != nullptr) name_end = end;
    }
    if (name_end == 0) {
        const bool setting = std::find(queue_keys.begin(), queue_keys.end(), parts.back()) != queue_keys.end();
        name_end = setting ? parts.size() - 1 : parts.size();
    }
    std::vector<std::string> grouped{parts[0], joined(1, name_end)};
    for (std::size_t i = name_end; i < parts.size(); ++i) grouped.push_back(parts[i]);
    return grouped;
}

void apply_override(Value& root, const Override& o, int index, Reporter& r) {
    const Origin at{index, 0, 0};
    if (o.key.empty()) {
        r.error(at, "", "the key is empty (expected KEY=VALUE)");
        return;
    }
    const std::vector<std::string> parts = override_parts(o.key, root);
    if (parts.empty()) {
        r.error(at, o.key, "bad key " + quote(o.key) + ": a part between dots is empty");
        return;
    }
    if (parts.size() >= static_cast<std::size_t>(max_config_depth)) {
        r.error(at, o.key, "the key is nested deeper than " + std::to_string(max_config_depth) + " levels");
        return;
    }
    Value value;
    if (!load_yaml(o.value, index, o.key, static_cast<int>(parts.size()) + 1, r, value)) return;
    if (root.kind == Kind::null) root.kind = Kind::map;
    if (root.kind != Kind::map) return;  // the file's own error says so
    Value* cur = &root;
    std::string walked;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (cur->kind == Kind::null) cur->kind = Kind::map;
        if (cur->kind != Kind::map) {
            r.error(at, o.key, quote(walked) + " is " + describe(*cur) + ", not a map");
            return;
        }
        walked = join_path(walked, parts[i]);
        Entry* e = find_entry(*cur, parts[i]);
        if (i + 1 == parts.size()) {
            if (e != nullptr) e->value = std::move(value);
            else cur->entries.push_back(Entry{parts[i], at, std::move(value)});
            return;
        }
        if (e == nullptr) {
            Entry created{parts[i], at, Value{}};
            created.value.kind = Kind::map;
            created.value.origin = at;
            cur->entries.push_back(std::move(created));
            e = &cur->entries.back();
        }
        cur = &e->value;
    }
}

void parse_into(ParseResult& result, std::string_view text, std::string_view file_name,
                std::string_view base_dir, std::span<const Override> overrides) {
    Reporter reporter(file_name);
    Value root;
    const bool loaded = load_yaml(text, 0, "", 1, reporter, root);
    for (std::size_t i = 0; i < overrides.size(); ++i) {
        const int index = static_cast<int>(std::min<std::size_t>(i + 1, std::numeric_limits<int>::max()));
        apply_override(root, overrides[i], index, reporter);
    }
    if (loaded) Validator(reporter, base_dir).run(root, result.config);
    result.errors = reporter.finish();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public API

std::string Diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ':' + std::to_string(line);
        if (column > 0) out += ':' + std::to_string(column);
    }
    out += ": ";
    out += message;
    return out;
}

ParseResult parse(std::string_view yaml_text, std::string_view file_name, std::string_view base_dir,
                  std::span<const Override> overrides) {
    ParseResult result;
    try {
        parse_into(result, yaml_text, file_name, base_dir, overrides);
    } catch (const YAML::Exception& e) {
        result.errors.push_back(Diagnostic{std::string(file_name), 0, 0, "invalid YAML: " + e.msg});
    } catch (const std::exception& e) {
        result.errors.push_back(Diagnostic{std::string(file_name), 0, 0, std::string("internal error: ") + e.what()});
    }
    return result;
}

std::optional<Override> parse_override(std::string_view arg) {
    const std::size_t eq = arg.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    return Override{std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    std::uint64_t bytes = 0;
    if (size_from(text, bytes) != NumStatus::ok) return std::nullopt;
    return bytes;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::chrono::milliseconds d{};
    if (duration_from(text, d) != NumStatus::ok) return std::nullopt;
    return d;
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    Endpoint ep;
    std::string why;
    if (!endpoint_from(text, ep, why)) return std::nullopt;
    return ep;
}

std::optional<std::pair<int, int>> media_size(std::string_view name) {
    const auto us = name.rfind('_');
    if (us == std::string_view::npos || us == 0) return std::nullopt;
    std::string_view dims = name.substr(us + 1);
    int scale = 0;  // hundredths of mm per unit
    if (dims.ends_with("mm")) scale = 100;
    else if (dims.ends_with("in")) scale = 2540;
    else return std::nullopt;
    dims.remove_suffix(2);
    const auto x = dims.find('x');
    if (x == std::string_view::npos) return std::nullopt;
    auto parse = [&](std::string_view t) -> int {
        if (t.empty() || t.size() > 8) return 0;
        double v = 0, frac = 0;
        bool dot = false;
        for (char c : t) {
            if (c == '.' && !dot) {
                dot = true;
                frac = 1;
            } else if (c >= '0' && c <= '9') {
                if (dot) v += (c - '0') * (frac /= 10);
                else v = v * 10 + (c - '0');
            } else {
                return 0;
            }
        }
        const double h = v * scale;
        return h >= 1 && h <= 1000000 ? static_cast<int>(h + 0.5) : 0;
    };
    const int w = parse(dims.substr(0, x)), l = parse(dims.substr(x + 1));
    if (w == 0 || l == 0) return std::nullopt;
    return std::make_pair(w, l);
}

std::string_view to_string(Conversion c) {
    return c == Conversion::ghostscript ? "ghostscript" : "none";
}

bool mime_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// The order is the one docs/configuration.md lists; gateway/output/convert.cpp maps
// each to a Ghostscript device.
const std::array<std::string_view, 5> ghostscript_output_formats{
    "application/postscript", "application/pdf", "application/vnd.hp-pcl", "application/vnd.hp-pclxl",
    "image/pwg-raster"};

bool ghostscript_reads(std::string_view mime) {
    return mime_equal(mime, "application/pdf") || mime_equal(mime, "application/postscript");
}

bool ghostscript_writes(std::string_view mime) {
    return std::any_of(ghostscript_output_formats.begin(), ghostscript_output_formats.end(),
                       [&](std::string_view f) { return mime_equal(f, mime); });
}

std::string_view to_string(QueueAuth auth) {
    return auth == QueueAuth::basic ? "basic" : "none";
}

std::string_view to_string(OnRecovery r) {
    return r == OnRecovery::forward ? "forward" : "keep_local";
}

std::string_view to_string(QueueMode mode) {
    switch (mode) {
        case QueueMode::hold: return "hold";
        case QueueMode::direct: return "direct";
        case QueueMode::server: return "server";
    }
    return "hold";
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::trace: return "trace";
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warning: return "warning";
        case LogLevel::error: return "error";
        case LogLevel::critical: return "critical";
        case LogLevel::off: return "off";
    }
    return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    std::string lower;
    for (const char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "trace") return LogLevel::trace;
    if (lower == "debug") return LogLevel::debug;
    if (lower == "info") return LogLevel::info;
    if (lower == "warning" || lower == "warn") return LogLevel::warning;
    if (lower == "error") return LogLevel::error;
    if (lower == "critical") return LogLevel::critical;
    if (lower == "off") return LogLevel::off;
    return std::nullopt;
}

}  // namespace pg::conf
