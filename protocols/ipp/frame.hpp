// SPDX-License-Identifier: Apache-2.0
// IPP message framing: finds where the attribute section of an IPP request (or
// response) ends in a byte stream, without copying or decoding it.
//
// Owns: FrameParser and FrameLimits, the pg.ipp error category (errc, ParseError)
// and the tag constants of RFC 8010 §3.5 shared by the rest of pg::ipp.
// Must not: allocate in proportion to its input, copy input bytes, do I/O or log.
// The caller keeps the bytes in its own bounded buffer and hands the complete
// section to ipp::decode (message.hpp); everything after it is document data.
//
// Design note. An IPP body is `header attribute-section data` (RFC 8010 §3.1):
//
//   header             version-number(2) operation-id|status-code(2) request-id(4)
//   attribute-section  { delimiter-tag | attribute }* end-of-attributes-tag(0x03)
//   attribute          value-tag(1) name-length(2) name value-length(2) value
//
// The only way to find the first byte of document data is to walk every length
// field, so this parser is a byte-level state machine fed in arbitrary pieces
// (Beast's basic_parser::put): it keeps a few counters and at most 8 header bytes.
//
// It rejects early what libcups 2.4.2 (our decoder) would mis-handle or reject, so
// that "complete" means "ippReadIO stops exactly here" for every well-formed
// section, and so that no decoder ever sees an unbounded input:
//  * every declared length is checked against the limits when its length field is
//    read (before the bytes arrive), and against the section limit as a whole;
//  * collection nesting is bounded (ippReadIO in CUPS 2.4.2, Debian's build
//    included, recurses once per level, taking a 32 KiB buffer each, with no
//    depth limit: 2000 levels decode; later CUPS stops at 10 levels);
//  * attribute names and memberAttrName values must be printable US-ASCII
//    (0x21..0x7E; RFC 8011 §5.1.4 keywords, vendor names such as
//    "com.apple.print.JobInfo.PMJobName" included): libcups keeps names as C
//    strings, so "printer-uri\0x" would silently become "printer-uri";
//  * an end-of-attributes tag or a group delimiter inside a collection, a named
//    attribute inside a collection, a member attribute without a value (libcups
//    would re-encode it as a 0x00 tag), memberAttrName/endCollection outside one, an
//    attribute before the first group, an additional value (name-length 0) with no
//    attribute before it, and a second operation-attributes group are errors;
//  * the extension value tag 0x7F (RFC 8010 §3.5.2) is an ordinary value tag
//    whose value starts with the 4-octet extended tag, a positive 32-bit integer
//    (<= 0x7FFFFFFF); a shorter value or a larger tag is an error. libcups before
//    CUPS issue #913 read those 4 octets *before* name-length instead; Debian's
//    libcups2 2.4.2-3+deb12u9, our decoder, reads them as RFC 8010 says, and so do
//    we, checked in unit tests against the installed library.
//
// Delimiters (RFC 8010 §3.5.1 and the IANA IPP registry): 0x01 operation, 0x02 job,
// 0x03 end, 0x04 printer, 0x05 unsupported, 0x06 subscription (RFC 3995), 0x07
// event-notification (RFC 3996), 0x08 resource (PWG 5100.22), 0x09 document
// (PWG 5100.5), 0x0A system (PWG 5100.22). 0x00 and the still-reserved 0x0B..0x0F
// are errors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace pg::ipp {

template <class T>
using Result = boost::system::result<T>;

// Errors of the pg.ipp category (framing, decoding and encoding).
enum class errc {
    ok = 0,
    truncated = 1,           // input ends inside the attribute section
    bad_delimiter,           // 0x00, a reserved delimiter 0x0B-0x0F, or a misplaced operation group
    bad_extension_tag,       // 0x7F value shorter than 4 octets or with a tag > 0x7FFFFFFF
    attribute_outside_group, // an attribute before the first delimiter tag
    missing_attribute_name,  // an additional value (name-length 0) with no attribute before it
    bad_collection,          // collection syntax broken (RFC 8010 §3.1.6)
    collection_too_deep,     // more nested collections than FrameLimits::max_collection_depth
    section_too_large,       // more than FrameLimits::max_section_bytes
    too_many_attributes,     // more than FrameLimits::max_attributes attribute/value fields
    name_too_long,           // name-length (or memberAttrName value) over max_name_length
    bad_name,                // a name (or memberAttrName value) not printable US-ASCII
    value_too_long,          // value-length over max_value_length
    trailing_data,           // decode: bytes after the end-of-attributes tag
    decode_failed,           // decode: libcups rejected a well-framed section
    encode_failed,           // encode: libcups could not write the message
    out_of_memory,           // libcups could not allocate
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

// Why a parse failed: the code, the byte offset from the first byte of the IPP
// message where the offending field starts, and a short human message (ASCII,
// never echoing input bytes).
struct ParseError {
    boost::system::error_code code;
    std::size_t offset = 0;
    std::string message;
};
// Needed by boost::system::result<T, ParseError>::value(); throws system_error.
[[noreturn]] void throw_exception_from_error(const ParseError& e, const boost::source_location& loc);

template <class T>
using ParseResult = boost::system::result<T, ParseError>;

// RFC 8010 §3.5.1 delimiter tags.
enum class GroupTag : std::uint8_t {
    operation = 0x01,
    job = 0x02,
    end = 0x03,
    printer = 0x04,
    unsupported = 0x05,
    subscription = 0x06,
    event_notification = 0x07,
    resource = 0x08,
    document = 0x09,
    system = 0x0A,
};

// RFC 8010 §3.5.2 value tags (one octet; the value of 0x7F starts with a 4-octet tag).
enum class ValueTag : std::uint8_t {
    // out-of-band
    unsupported = 0x10,
    unknown = 0x12,
    no_value = 0x13,
    not_settable = 0x15,
    delete_attribute = 0x16,
    admin_define = 0x17,
    // integer types
    integer = 0x21,
    boolean = 0x22,
    enumeration = 0x23,
    // octetString types
    octet_string = 0x30,
    date_time = 0x31,
    resolution = 0x32,
    range_of_integer = 0x33,
    begin_collection = 0x34,
    text_with_language = 0x35,
    name_with_language = 0x36,
    end_collection = 0x37,
    // character-string types
    text_without_language = 0x41,
    name_without_language = 0x42,
    keyword = 0x44,
    uri = 0x45,
    uri_scheme = 0x46,
    charset = 0x47,
    natural_language = 0x48,
    mime_media_type = 0x49,
    member_attr_name = 0x4A,
    extension = 0x7F,
};

// The version-number field of a message.
struct Version {
    std::uint8_t major = 2;
    std::uint8_t minor = 0;
    friend bool operator==(const Version&, const Version&) = default;
};

// Refusal limits of FrameParser. The defaults suit requests from real clients:
// the biggest seen (CUPS' 23-attribute Get-Printer-Attributes, a media-col job)
// are a few KiB.
struct FrameLimits {
    // Whole section, header and end tag included.
    std::size_t max_section_bytes = 256 * 1024;
    // Attribute and value fields of every kind (first values, additional values,
    // memberAttrName and endCollection fields all count one each).
    std::size_t max_attributes = 2000;
    // name-length, and the value of memberAttrName: keywords are at most 255 octets
    // (RFC 8011 §5.1.4).
    std::size_t max_name_length = 255;
    // value-length; 32767 is libcups' IPP_MAX_LENGTH.
    std::size_t max_value_length = 32767;
    // Nested begCollection levels; libcups >= 2.4.3 refuses more than 10.
    std::size_t max_collection_depth = 10;
};

enum class FrameStatus { need_more, complete, error };

struct FeedResult {
    FrameStatus status = FrameStatus::need_more;
    // Bytes of this call's input that belong to the section. On complete the first
    // unconsumed byte is the first byte of document data; on need_more it is every
    // byte; on error the bytes up to and including the offending field.
    std::size_t consumed = 0;
};

// Incremental IPP attribute-section framer. Feed it the body of an HTTP request in
// pieces of any size, 0 included; it consumes no byte after the end-of-attributes
// tag. Once complete or failed, further feed() calls consume nothing and repeat the
// status. Not thread-safe; one parser per message (reset() reuses it).
class FrameParser {
public:
    explicit FrameParser(FrameLimits limits = {});

    FeedResult feed(std::span<const std::byte> bytes);

    // Forget everything but the limits.
    void reset();

    FrameStatus status() const { return status_; }
    bool is_complete() const { return status_ == FrameStatus::complete; }
    bool has_error() const { return status_ == FrameStatus::error; }
    // The error when has_error(); code ok otherwise.
    const ParseError& error() const { return error_; }

    // Header fields, meaningful once header_done() (8 bytes seen).
    bool header_done() const { return offset_ >= 8; }
    std::uint8_t version_major() const { return header_[0]; }
    std::uint8_t version_minor() const { return header_[1]; }
    Version version() const { return {header_[0], header_[1]}; }
    // operation-id of a request, status-code of a response (same field).
    std::uint16_t operation_id() const { return static_cast<std::uint16_t>(header_[2] << 8 | header_[3]); }
    std::uint16_t status_code() const { return operation_id(); }
    // The raw 4-octet field; RFC 8011 §4.1.1 allows 1..2^31-1.
    std::uint32_t request_id() const;

    // Attribute and value fields seen so far (see FrameLimits::max_attributes).
    std::size_t attribute_count() const { return attributes_; }
    // Bytes of the section seen so far; once complete, its total size (header and
    // end-of-attributes tag included).
    std::size_t section_size() const { return offset_; }

    const FrameLimits& limits() const { return limits_; }

private:
    enum class State : std::uint8_t {
        header,
        tag,
        name_length,
        name,
        value_length,
        extension_value,  // the first 4 octets of a 0x7F value: the extended tag
        value,
        done,
    };

    FeedResult fail(errc code, std::size_t at, const char* message, std::size_t consumed);
    // Handle a complete field; return false on error.
    bool on_tag(std::uint32_t tag);
    bool on_name_length(std::size_t length);
    bool on_value_length(std::size_t length);
    bool fits(std::size_t length_after_field) const;

    FrameLimits limits_;
    FrameStatus status_ = FrameStatus::need_more;
    State state_ = State::header;
    ParseError error_;

    std::array<std::uint8_t, 8> header_{};
    std::size_t offset_ = 0;       // bytes of the section seen
    std::size_t field_start_ = 0;  // offset of the field being read
    std::size_t remaining_ = 0;    // bytes left in the field being read
    std::size_t value_rest_ = 0;   // bytes of a 0x7F value after its extended tag
    std::uint32_t accumulator_ = 0;
    std::uint32_t tag_ = 0;        // value tag of the attribute being read
    std::size_t tag_offset_ = 0;
    std::size_t attributes_ = 0;
    std::size_t depth_ = 0;        // open collections
    bool in_group_ = false;        // a delimiter tag has been seen
    bool have_attribute_ = false;  // a named attribute in this group (for additional values)
    bool member_pending_ = false;  // a memberAttrName still waiting for its first value
};

}  // namespace pg::ipp

template <>
struct boost::system::is_error_code_enum<pg::ipp::errc> : std::true_type {};
