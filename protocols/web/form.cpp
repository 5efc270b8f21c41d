// SPDX-License-Identifier: Apache-2.0
#include "protocols/web/form.hpp"

#include <boost/throw_exception.hpp>

#include "protocols/text/sanitize.hpp"

namespace pg::web {

namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.web"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::ok: return "ok";
        case errc::too_long: return "input too long";
        case errc::too_many_fields: return "too many fields";
        case errc::name_too_long: return "field name too long";
        case errc::value_too_long: return "field value too long";
        case errc::bad_escape: return "bad percent escape";
        case errc::bad_byte: return "byte not allowed here";
        case errc::bad_utf8: return "not UTF-8";
        }
        return "unknown pg.web error";
    }
};

ParseError fail(errc e, std::size_t offset) { return {make_error_code(e), offset, make_error_code(e).message()}; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes one name or value that starts at `base` in the input. `max` bounds the
// decoded length (checked as bytes are produced, so a huge field costs no memory).
ParseResult<std::string> decode(std::string_view part, std::size_t base, std::size_t max, errc over) {
    std::string out;
    out.reserve(part.size() < max ? part.size() : max);
    for (std::size_t i = 0; i < part.size(); ++i) {
        const char c = part[i];
        char b = c;
        if (c == '+') {
            b = ' ';
        } else if (c == '%') {
            if (i + 2 >= part.size()) return fail(errc::bad_escape, base + i);
            const int hi = hex_value(part[i + 1]);
            const int lo = hex_value(part[i + 2]);
            if (hi < 0 || lo < 0) return fail(errc::bad_escape, base + i);
            b = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (out.size() == max) return fail(over, base + i);
        out.push_back(b);
    }
    if (out.find('\0') != std::string::npos || !text::is_valid_utf8(out)) return fail(errc::bad_utf8, base);
    return out;
}

}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category c;
    return c;
}

void throw_exception_from_error(const ParseError& e, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

ParseResult<Fields> parse_form(std::string_view input, const FormLimits& limits) {
    if (input.size() > limits.max_bytes) return fail(errc::too_long, limits.max_bytes);
    for (std::size_t i = 0; i < input.size(); ++i) {
        const auto u = static_cast<unsigned char>(input[i]);
        if (u < 0x21 || u > 0x7e) return fail(errc::bad_byte, i);
    }
    Fields out;
    std::size_t pos = 0;
    while (pos <= input.size()) {
        std::size_t amp = input.find('&', pos);
        if (amp == std::string_view::npos) amp = input.size();
        const std::string_view field = input.substr(pos, amp - pos);
        if (!field.empty()) {
            if (out.size() == limits.max_fields) return fail(errc::too_many_fields, pos);
            const std::size_t eq = field.find('=');
            const std::string_view name = field.substr(0, eq);
            const std::string_view value = eq == std::string_view::npos ? std::string_view{} : field.substr(eq + 1);
            auto n = decode(name, pos, limits.max_name, errc::name_too_long);
            if (!n) return n.error();
            auto v = decode(value, pos + name.size() + 1, limits.max_value, errc::value_too_long);
            if (!v) return v.error();
            out.push_back({std::move(*n), std::move(*v)});
        }
        pos = amp + 1;
    }
    return out;
}

const std::string* find_field(const Fields& fields, std::string_view name) {
    for (const auto& f : fields)
        if (f.name == name) return &f.value;
    return nullptr;
}

std::vector<std::string_view> find_all(const Fields& fields, std::string_view name) {
    std::vector<std::string_view> out;
    for (const auto& f : fields)
        if (f.name == name) out.emplace_back(f.value);
    return out;
}

}  // namespace pg::web
