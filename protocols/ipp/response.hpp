// SPDX-License-Identifier: Apache-2.0
// IPP response encoder: builds the bytes of an IPP response (RFC 8010 §3) by hand,
// so that tests can compare them byte for byte.
//
// Owns: Status codes (RFC 8011 §B and the IANA registry), Response, the typed
// attribute writers (Group, Collection) and DateTime.
// Must not: use libcups (the encoding is ours and deterministic), do I/O, log.
//
// Encoding (RFC 8010 §3.1.4-3.1.7): an attribute is
//   value-tag(1) name-length(2) name value-length(2) value
// and each additional value of a 1setOf repeats it with name-length 0. A
// collection value is begCollection (0x34) with an empty value, then for each
// member a memberAttrName (0x4A, empty name, the member's name as value) followed
// by the member's values with empty names, then endCollection (0x37, empty name
// and value). Integers are big-endian two's complement.
//
// Values longer than their syntax allows (RFC 8011 §5.1: text 1023, name 255,
// keyword 255, uri 1023, charset/naturalLanguage/uriScheme 63, mimeMediaType 255,
// octetString 1023) are cut, at a UTF-8 boundary for text and name, so a response
// is always well framed. Names of attributes are our own keywords: they must be
// 1..255 bytes (asserted; an empty name is ignored in release builds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/ipp/frame.hpp"

namespace pg::ipp {

// status-code values (RFC 8011 §B.1, RFC 8011 §4.1.6, IANA "status-code").
enum class Status : std::uint16_t {
    successful_ok = 0x0000,
    successful_ok_ignored_or_substituted_attributes = 0x0001,
    successful_ok_conflicting_attributes = 0x0002,
    client_error_bad_request = 0x0400,
    client_error_forbidden = 0x0401,
    client_error_not_authenticated = 0x0402,
    client_error_not_authorized = 0x0403,
    client_error_not_possible = 0x0404,
    client_error_timeout = 0x0405,
    client_error_not_found = 0x0406,
    client_error_gone = 0x0407,
    client_error_request_entity_too_large = 0x0408,
    client_error_request_value_too_long = 0x0409,
    client_error_document_format_not_supported = 0x040A,
    client_error_attributes_or_values_not_supported = 0x040B,
    client_error_uri_scheme_not_supported = 0x040C,
    client_error_charset_not_supported = 0x040D,
    client_error_conflicting_attributes = 0x040E,
    client_error_compression_not_supported = 0x040F,
    client_error_compression_error = 0x0410,
    client_error_document_format_error = 0x0411,
    client_error_document_access_error = 0x0412,
    server_error_internal_error = 0x0500,
    server_error_operation_not_supported = 0x0501,
    server_error_service_unavailable = 0x0502,
    server_error_version_not_supported = 0x0503,
    server_error_device_error = 0x0504,
    server_error_temporary_error = 0x0505,
    server_error_not_accepting_jobs = 0x0506,
    server_error_busy = 0x0507,
    server_error_job_canceled = 0x0508,
    server_error_multiple_document_jobs_not_supported = 0x0509,
};

// resolution units (RFC 8010 §3.9).
enum class ResolutionUnits : std::uint8_t { dots_per_inch = 3, dots_per_cm = 4 };

struct Resolution {
    std::int32_t x = 0;
    std::int32_t y = 0;
    ResolutionUnits units = ResolutionUnits::dots_per_inch;
};

struct Range {
    std::int32_t lower = 0;
    std::int32_t upper = 0;
};

// RFC 2579 DateAndTime, the 11-octet dateTime syntax (RFC 8010 §3.9).
struct DateTime {
    std::uint16_t year = 1970;
    std::uint8_t month = 1;   // 1..12
    std::uint8_t day = 1;     // 1..31
    std::uint8_t hour = 0;    // 0..23
    std::uint8_t minutes = 0;
    std::uint8_t seconds = 0;      // 0..60
    std::uint8_t deciseconds = 0;  // 0..9
    char utc_direction = '+';      // '+' or '-'
    std::uint8_t utc_hours = 0;
    std::uint8_t utc_minutes = 0;
};
// The UTC calendar time of `unix_seconds` (years 0..9999 only; clamped outside).
DateTime date_time_utc(std::int64_t unix_seconds);

class Collection;

// Appends typed attributes in RFC 8010 encoding. Each add_* call writes one
// attribute; the plural forms write a 1setOf (an empty list writes nothing).
// Within a Collection the same calls write member attributes.
class AttributeWriter {
public:
    AttributeWriter& add_integer(std::string_view name, std::int32_t value);
    AttributeWriter& add_integers(std::string_view name, std::span<const std::int32_t> values);
    AttributeWriter& add_integers(std::string_view name, std::initializer_list<std::int32_t> values);
    AttributeWriter& add_boolean(std::string_view name, bool value);
    AttributeWriter& add_enum(std::string_view name, std::int32_t value);
    AttributeWriter& add_enums(std::string_view name, std::span<const std::int32_t> values);
    AttributeWriter& add_enums(std::string_view name, std::initializer_list<std::int32_t> values);

    AttributeWriter& add_keyword(std::string_view name, std::string_view value);
    AttributeWriter& add_keywords(std::string_view name, std::span<const std::string_view> values);
    AttributeWriter& add_keywords(std::string_view name, std::span<const std::string> values);
    AttributeWriter& add_keywords(std::string_view name, std::initializer_list<std::string_view> values);
    AttributeWriter& add_uri(std::string_view name, std::string_view value);
    AttributeWriter& add_uris(std::string_view name, std::span<const std::string_view> values);
    AttributeWriter& add_uris(std::string_view name, std::initializer_list<std::string_view> values);
    AttributeWriter& add_uri_scheme(std::string_view name, std::string_view value);
    AttributeWriter& add_uri_schemes(std::string_view name, std::initializer_list<std::string_view> values);
    AttributeWriter& add_charset(std::string_view name, std::string_view value);
    AttributeWriter& add_natural_language(std::string_view name, std::string_view value);
    AttributeWriter& add_mime_media_type(std::string_view name, std::string_view value);
    AttributeWriter& add_mime_media_types(std::string_view name, std::span<const std::string_view> values);
    AttributeWriter& add_mime_media_types(std::string_view name, std::initializer_list<std::string_view> values);
    // nameWithoutLanguage / textWithoutLanguage.
    AttributeWriter& add_name(std::string_view name, std::string_view value);
    AttributeWriter& add_text(std::string_view name, std::string_view value);
    AttributeWriter& add_texts(std::string_view name, std::span<const std::string_view> values);
    // nameWithLanguage / textWithLanguage (RFC 8010 §3.9: a composite value).
    AttributeWriter& add_name_with_language(std::string_view name, std::string_view language, std::string_view value);
    AttributeWriter& add_text_with_language(std::string_view name, std::string_view language, std::string_view value);
    AttributeWriter& add_octet_string(std::string_view name, std::span<const std::byte> value);

    AttributeWriter& add_date_time(std::string_view name, const DateTime& value);
    AttributeWriter& add_resolution(std::string_view name, const Resolution& value);
    AttributeWriter& add_resolutions(std::string_view name, std::span<const Resolution> values);
    AttributeWriter& add_range(std::string_view name, std::int32_t lower, std::int32_t upper);
    AttributeWriter& add_ranges(std::string_view name, std::span<const Range> values);
    AttributeWriter& add_collection(std::string_view name, const Collection& value);
    AttributeWriter& add_collections(std::string_view name, std::span<const Collection> values);
    // An out-of-band value (unsupported, unknown, no-value, ...; RFC 8010 §3.8): the
    // tag with an empty value, e.g. to list a requested attribute in the
    // unsupported-attributes group.
    AttributeWriter& add_out_of_band(std::string_view name, ValueTag tag);

    // Attribute (or member) count so far.
    std::size_t attribute_count() const { return attributes_; }
    bool empty() const { return attributes_ == 0; }
    // The encoded attributes (no delimiter tags).
    std::span<const std::byte> encoded() const { return bytes_; }

protected:
    explicit AttributeWriter(bool members) : members_(members) {}

private:
    // Writes the tag and name part of a value: the first value carries the name
    // (or, in a collection, is preceded by memberAttrName); later ones do not.
    void value_header(std::uint8_t tag, std::string_view name, bool first);
    void put_u8(std::uint8_t v) { bytes_.push_back(static_cast<std::byte>(v)); }
    void put_u16(std::uint16_t v);
    void put_u32(std::uint32_t v);
    void put_bytes(std::string_view v);
    void put_bytes(std::span<const std::byte> v);
    // Writes `values` as a 1setOf of `tag`, each cut to `max_length`.
    AttributeWriter& strings(std::string_view name, std::uint8_t tag, std::span<const std::string_view> values,
                             std::size_t max_length, bool utf8);
    AttributeWriter& integers(std::string_view name, std::uint8_t tag, std::span<const std::int32_t> values);
    AttributeWriter& with_language(std::string_view name, std::uint8_t tag, std::string_view language,
                                   std::string_view value, std::size_t max_length);
    bool start(std::string_view name);

    std::vector<std::byte> bytes_;
    std::size_t attributes_ = 0;
    bool members_;
};

// The members of one collection value (RFC 8010 §3.1.6).
class Collection : public AttributeWriter {
public:
    Collection() : AttributeWriter(true) {}
};

// The attributes of one attribute group.
class Group : public AttributeWriter {
public:
    explicit Group(GroupTag tag) : AttributeWriter(false), tag_(tag) {}
    GroupTag tag() const { return tag_; }

private:
    GroupTag tag_;
};

// One IPP response. Its operation-attributes group always starts with
// attributes-charset (utf-8) and attributes-natural-language, then status-message
// when set (RFC 8011 §4.1.4, §4.1.6), then whatever operation() adds. Other groups
// follow in the order they were added; empty groups are left out.
class Response {
public:
    // `version` echoes the request's (RFC 8011 §4.1.8); `natural_language` is the
    // language of status-message and other text (RFC 8011 §4.1.4.2).
    Response(Status status, std::int32_t request_id, Version version = {2, 0},
             std::string_view natural_language = "en");

    Status status() const { return status_; }
    void set_status(Status status) { status_ = status; }
    std::int32_t request_id() const { return request_id_; }
    Version version() const { return version_; }

    // status-message (text(255)): sanitised like a name (valid UTF-8, no control
    // characters) and cut to 255 bytes. Empty clears it.
    Response& set_status_message(std::string_view message);
    const std::string& status_message() const { return status_message_; }

    // Further operation attributes, written after status-message.
    Group& operation() { return operation_; }
    // A new group; references stay valid while the Response lives. `operation`
    // returns operation(); `end` is not a group (asserted, then never written).
    Group& add_group(GroupTag tag);
    Group& add_printer_group() { return add_group(GroupTag::printer); }
    Group& add_job_group() { return add_group(GroupTag::job); }
    Group& add_unsupported_group() { return add_group(GroupTag::unsupported); }

    // The whole encoded response: header, groups, end-of-attributes tag.
    std::vector<std::byte> bytes() const;

private:
    Status status_;
    std::int32_t request_id_;
    Version version_;
    std::string language_;
    std::string status_message_;
    Group operation_{GroupTag::operation};
    std::deque<Group> groups_;
};

}  // namespace pg::ipp
