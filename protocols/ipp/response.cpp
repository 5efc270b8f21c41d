// SPDX-License-Identifier: Apache-2.0
// IPP response encoder (RFC 8010 §3): see response.hpp.
#include "protocols/ipp/response.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>

#include "protocols/text/sanitize.hpp"

namespace pg::ipp {

namespace {

// RFC 8011 §5.1 maximum lengths, in octets.
constexpr std::size_t kMaxText = 1023;
constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxKeyword = 255;
constexpr std::size_t kMaxUri = 1023;
constexpr std::size_t kMaxUriScheme = 63;
constexpr std::size_t kMaxCharset = 63;
constexpr std::size_t kMaxLanguage = 63;
constexpr std::size_t kMaxMimeMediaType = 255;
constexpr std::size_t kMaxOctetString = 1023;
constexpr std::size_t kMaxStatusMessage = 255;

constexpr std::uint8_t tag(ValueTag t) { return static_cast<std::uint8_t>(t); }

// Cuts `s` to at most `max` bytes; for UTF-8 text, not inside a sequence.
std::string_view cut(std::string_view s, std::size_t max, bool utf8) {
    if (s.size() <= max) return s;
    std::size_t n = max;
    if (utf8) {
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u) --n;
    }
    return s.substr(0, n);
}

}  // namespace

DateTime date_time_utc(std::int64_t unix_seconds) {
    using namespace std::chrono;
    // Clamp to 0000-01-01 .. 9999-12-31 23:59:59 so the year fits and the
    // calendar arithmetic cannot overflow.
    constexpr std::int64_t kMin = -62167219200;  // 0000-01-01T00:00:00Z
    constexpr std::int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
    unix_seconds = std::clamp(unix_seconds, kMin, kMax);
    const sys_seconds tp{seconds{unix_seconds}};
    const sys_days day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> time{tp - day};
    DateTime dt;
    dt.year = static_cast<std::uint16_t>(static_cast<int>(ymd.year()));
    dt.month = static_cast<std::uint8_t>(static_cast<unsigned>(ymd.month()));
    dt.day = static_cast<std::uint8_t>(static_cast<unsigned>(ymd.day()));
    dt.hour = static_cast<std::uint8_t>(time.hours().count());
    dt.minutes = static_cast<std::uint8_t>(time.minutes().count());
    dt.seconds = static_cast<std::uint8_t>(time.seconds().count());
    return dt;
}

// ---------------------------------------------------------------------------
// AttributeWriter

void AttributeWriter::put_u16(std::uint16_t v) {
    put_u8(static_cast<std::uint8_t>(v >> 8));
    put_u8(static_cast<std::uint8_t>(v));
}

void AttributeWriter::put_u32(std::uint32_t v) {
    put_u16(static_cast<std::uint16_t>(v >> 16));
    put_u16(static_cast<std::uint16_t>(v));
}

void AttributeWriter::put_bytes(std::string_view v) {
    const auto* p = reinterpret_cast<const std::byte*>(v.data());
    bytes_.insert(bytes_.end(), p, p + v.size());
}

void AttributeWriter::put_bytes(std::span<const std::byte> v) {
    bytes_.insert(bytes_.end(), v.begin(), v.end());
}

bool AttributeWriter::start(std::string_view name) {
    assert(!name.empty() && name.size() <= kMaxName);
    if (name.empty()) return false;
    ++attributes_;
    return true;
}

void AttributeWriter::value_header(std::uint8_t value_tag, std::string_view name, bool first) {
    name = cut(name, kMaxName, false);
    if (members_) {
        if (first) {
            // RFC 8010 §3.1.7: memberAttrName carries the member's name as its value.
            put_u8(tag(ValueTag::member_attr_name));
            put_u16(0);
            put_u16(static_cast<std::uint16_t>(name.size()));
            put_bytes(name);
        }
        put_u8(value_tag);
        put_u16(0);
        return;
    }
    put_u8(value_tag);
    if (first) {
        put_u16(static_cast<std::uint16_t>(name.size()));
        put_bytes(name);
    } else {
        put_u16(0);
    }
}

AttributeWriter& AttributeWriter::strings(std::string_view name, std::uint8_t value_tag,
                                          std::span<const std::string_view> values, std::size_t max_length,
                                          bool utf8) {
    if (values.empty() || !start(name)) return *this;
    bool first = true;
    for (std::string_view v : values) {
        v = cut(v, max_length, utf8);
        value_header(value_tag, name, first);
        put_u16(static_cast<std::uint16_t>(v.size()));
        put_bytes(v);
        first = false;
    }
    return *this;
}

AttributeWriter& AttributeWriter::integers(std::string_view name, std::uint8_t value_tag,
                                           std::span<const std::int32_t> values) {
    if (values.empty() || !start(name)) return *this;
    bool first = true;
    for (const std::int32_t v : values) {
        value_header(value_tag, name, first);
        put_u16(4);
        put_u32(static_cast<std::uint32_t>(v));
        first = false;
    }
    return *this;
}

AttributeWriter& AttributeWriter::with_language(std::string_view name, std::uint8_t value_tag,
                                                std::string_view language, std::string_view value,
                                                std::size_t max_length) {
    if (!start(name)) return *this;
    language = cut(language, kMaxLanguage, false);
    value = cut(value, max_length, true);
    value_header(value_tag, name, true);
    // RFC 8010 §3.9: length(2) language length(2) text.
    put_u16(static_cast<std::uint16_t>(4 + language.size() + value.size()));
    put_u16(static_cast<std::uint16_t>(language.size()));
    put_bytes(language);
    put_u16(static_cast<std::uint16_t>(value.size()));
    put_bytes(value);
    return *this;
}

AttributeWriter& AttributeWriter::add_integer(std::string_view name, std::int32_t value) {
    return integers(name, tag(ValueTag::integer), std::span(&value, 1));
}

AttributeWriter& AttributeWriter::add_integers(std::string_view name, std::span<const std::int32_t> values) {
    return integers(name, tag(ValueTag::integer), values);
}

AttributeWriter& AttributeWriter::add_integers(std::string_view name, std::initializer_list<std::int32_t> values) {
    return integers(name, tag(ValueTag::integer), std::span(values.begin(), values.size()));
}

AttributeWriter& AttributeWriter::add_boolean(std::string_view name, bool value) {
    if (!start(name)) return *this;
    value_header(tag(ValueTag::boolean), name, true);
    put_u16(1);
    put_u8(value ? 1 : 0);
    return *this;
}

AttributeWriter& AttributeWriter::add_enum(std::string_view name, std::int32_t value) {
    return integers(name, tag(ValueTag::enumeration), std::span(&value, 1));
}

AttributeWriter& AttributeWriter::add_enums(std::string_view name, std::span<const std::int32_t> values) {
    return integers(name, tag(ValueTag::enumeration), values);
}

AttributeWriter& AttributeWriter::add_enums(std::string_view name, std::initializer_list<std::int32_t> values) {
    return integers(name, tag(ValueTag::enumeration), std::span(values.begin(), values.size()));
}

AttributeWriter& AttributeWriter::add_keyword(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::keyword), std::span(&value, 1), kMaxKeyword, false);
}

AttributeWriter& AttributeWriter::add_keywords(std::string_view name, std::span<const std::string_view> values) {
    return strings(name, tag(ValueTag::keyword), values, kMaxKeyword, false);
}

AttributeWriter& AttributeWriter::add_keywords(std::string_view name, std::span<const std::string> values) {
    std::vector<std::string_view> views(values.begin(), values.end());
    return strings(name, tag(ValueTag::keyword), views, kMaxKeyword, false);
}

AttributeWriter& AttributeWriter::add_keywords(std::string_view name,
                                               std::initializer_list<std::string_view> values) {
    return strings(name, tag(ValueTag::keyword), std::span(values.begin(), values.size()), kMaxKeyword, false);
}

AttributeWriter& AttributeWriter::add_uri(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::uri), std::span(&value, 1), kMaxUri, false);
}

AttributeWriter& AttributeWriter::add_uris(std::string_view name, std::span<const std::string_view> values) {
    return strings(name, tag(ValueTag::uri), values, kMaxUri, false);
}

AttributeWriter& AttributeWriter::add_uris(std::string_view name, std::initializer_list<std::string_view> values) {
    return strings(name, tag(ValueTag::uri), std::span(values.begin(), values.size()), kMaxUri, false);
}

AttributeWriter& AttributeWriter::add_uri_scheme(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::uri_scheme), std::span(&value, 1), kMaxUriScheme, false);
}

AttributeWriter& AttributeWriter::add_uri_schemes(std::string_view name,
                                                  std::initializer_list<std::string_view> values) {
    return strings(name, tag(ValueTag::uri_scheme), std::span(values.begin(), values.size()), kMaxUriScheme,
                   false);
}

AttributeWriter& AttributeWriter::add_charset(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::charset), std::span(&value, 1), kMaxCharset, false);
}

AttributeWriter& AttributeWriter::add_natural_language(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::natural_language), std::span(&value, 1), kMaxLanguage, false);
}

AttributeWriter& AttributeWriter::add_mime_media_type(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::mime_media_type), std::span(&value, 1), kMaxMimeMediaType, false);
}

AttributeWriter& AttributeWriter::add_mime_media_types(std::string_view name,
                                                       std::span<const std::string_view> values) {
    return strings(name, tag(ValueTag::mime_media_type), values, kMaxMimeMediaType, false);
}

AttributeWriter& AttributeWriter::add_mime_media_types(std::string_view name,
                                                       std::initializer_list<std::string_view> values) {
    return strings(name, tag(ValueTag::mime_media_type), std::span(values.begin(), values.size()),
                   kMaxMimeMediaType, false);
}

AttributeWriter& AttributeWriter::add_name(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::name_without_language), std::span(&value, 1), kMaxName, true);
}

AttributeWriter& AttributeWriter::add_text(std::string_view name, std::string_view value) {
    return strings(name, tag(ValueTag::text_without_language), std::span(&value, 1), kMaxText, true);
}

AttributeWriter& AttributeWriter::add_texts(std::string_view name, std::span<const std::string_view> values) {
    return strings(name, tag(ValueTag::text_without_language), values, kMaxText, true);
}

AttributeWriter& AttributeWriter::add_name_with_language(std::string_view name, std::string_view language,
                                                         std::string_view value) {
    return with_language(name, tag(ValueTag::name_with_language), language, value, kMaxName);
}

AttributeWriter& AttributeWriter::add_text_with_language(std::string_view name, std::string_view language,
                                                         std::string_view value) {
    return with_language(name, tag(ValueTag::text_with_language), language, value, kMaxText);
}

AttributeWriter& AttributeWriter::add_octet_string(std::string_view name, std::span<const std::byte> value) {
    if (!start(name)) return *this;
    value = value.first(std::min(value.size(), kMaxOctetString));
    value_header(tag(ValueTag::octet_string), name, true);
    put_u16(static_cast<std::uint16_t>(value.size()));
    put_bytes(value);
    return *this;
}

AttributeWriter& AttributeWriter::add_date_time(std::string_view name, const DateTime& value) {
    if (!start(name)) return *this;
    value_header(tag(ValueTag::date_time), name, true);
    put_u16(11);
    put_u16(value.year);
    put_u8(value.month);
    put_u8(value.day);
    put_u8(value.hour);
    put_u8(value.minutes);
    put_u8(value.seconds);
    put_u8(value.deciseconds);
    put_u8(static_cast<std::uint8_t>(value.utc_direction));
    put_u8(value.utc_hours);
    put_u8(value.utc_minutes);
    return *this;
}

AttributeWriter& AttributeWriter::add_resolution(std::string_view name, const Resolution& value) {
    return add_resolutions(name, std::span(&value, 1));
}

AttributeWriter& AttributeWriter::add_resolutions(std::string_view name, std::span<const Resolution> values) {
    if (values.empty() || !start(name)) return *this;
    bool first = true;
    for (const Resolution& r : values) {
        value_header(tag(ValueTag::resolution), name, first);
        put_u16(9);
        put_u32(static_cast<std::uint32_t>(r.x));
        put_u32(static_cast<std::uint32_t>(r.y));
        put_u8(static_cast<std::uint8_t>(r.units));
        first = false;
    }
    return *this;
}

AttributeWriter& AttributeWriter::add_range(std::string_view name, std::int32_t lower, std::int32_t upper) {
    const Range r{lower, upper};
    return add_ranges(name, std::span(&r, 1));
}

AttributeWriter& AttributeWriter::add_ranges(std::string_view name, std::span<const Range> values) {
    if (values.empty() || !start(name)) return *this;
    bool first = true;
    for (const Range& r : values) {
        value_header(tag(ValueTag::range_of_integer), name, first);
        put_u16(8);
        put_u32(static_cast<std::uint32_t>(r.lower));
        put_u32(static_cast<std::uint32_t>(r.upper));
        first = false;
    }
    return *this;
}

AttributeWriter& AttributeWriter::add_collection(std::string_view name, const Collection& value) {
    return add_collections(name, std::span(&value, 1));
}

AttributeWriter& AttributeWriter::add_collections(std::string_view name, std::span<const Collection> values) {
    if (values.empty() || !start(name)) return *this;
    bool first = true;
    for (const Collection& c : values) {
        value_header(tag(ValueTag::begin_collection), name, first);
        put_u16(0);
        put_bytes(c.encoded());
        put_u8(tag(ValueTag::end_collection));
        put_u16(0);
        put_u16(0);
        first = false;
    }
    return *this;
}

AttributeWriter& AttributeWriter::add_out_of_band(std::string_view name, ValueTag value_tag) {
    if (!start(name)) return *this;
    value_header(tag(value_tag), name, true);
    put_u16(0);
    return *this;
}

// ---------------------------------------------------------------------------
// Response

Response::Response(Status status, std::int32_t request_id, Version version, std::string_view natural_language)
    : status_(status),
      request_id_(request_id),
      version_(version),
      language_(cut(natural_language, kMaxLanguage, false)) {}

Response& Response::set_status_message(std::string_view message) {
    status_message_ = text::sanitize_name(message, kMaxStatusMessage);
    return *this;
}

Group& Response::add_group(GroupTag group) {
    // The operation group is written first by bytes(); end is not a group.
    assert(group != GroupTag::end);
    if (group == GroupTag::operation) return operation_;
    return groups_.emplace_back(group);
}

std::vector<std::byte> Response::bytes() const {
    Group head{GroupTag::operation};
    head.add_charset("attributes-charset", "utf-8");
    head.add_natural_language("attributes-natural-language", language_);
    if (!status_message_.empty()) head.add_text("status-message", status_message_);

    std::size_t size = 8 + 1 + head.encoded().size() + operation_.encoded().size() + 1;
    for (const Group& g : groups_) size += 1 + g.encoded().size();

    std::vector<std::byte> out;
    out.reserve(size);
    const auto put = [&out](std::uint8_t b) { out.push_back(static_cast<std::byte>(b)); };
    const auto status = static_cast<std::uint16_t>(status_);
    const auto id = static_cast<std::uint32_t>(request_id_);
    put(version_.major);
    put(version_.minor);
    put(static_cast<std::uint8_t>(status >> 8));
    put(static_cast<std::uint8_t>(status));
    put(static_cast<std::uint8_t>(id >> 24));
    put(static_cast<std::uint8_t>(id >> 16));
    put(static_cast<std::uint8_t>(id >> 8));
    put(static_cast<std::uint8_t>(id));

    put(static_cast<std::uint8_t>(GroupTag::operation));
    out.insert(out.end(), head.encoded().begin(), head.encoded().end());
    out.insert(out.end(), operation_.encoded().begin(), operation_.encoded().end());
    for (const Group& g : groups_) {
        if (g.empty() || g.tag() == GroupTag::end) continue;
        put(static_cast<std::uint8_t>(g.tag()));
        out.insert(out.end(), g.encoded().begin(), g.encoded().end());
    }
    put(static_cast<std::uint8_t>(GroupTag::end));
    return out;
}

}  // namespace pg::ipp
