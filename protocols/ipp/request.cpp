// SPDX-License-Identifier: Apache-2.0
// Typed request view and RFC 8011 §4.1 request validation: see request.hpp.
#include "protocols/ipp/request.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <limits>
#include <string_view>
#include <utility>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <cups/ipp.h>

#include "protocols/text/sanitize.hpp"

namespace pg::ipp {

namespace {

// Attribute names and values quoted in status-message: sanitised and short, so a
// hostile request cannot put control characters or 32 KiB into our reply.
constexpr std::size_t kQuoteMax = 64;

std::string quote(std::string_view s) {
    return text::sanitize_name(s, kQuoteMax);
}

RequestError bad_request(std::string message, std::string_view attribute = {}) {
    return RequestError{Status::client_error_bad_request, std::move(message), quote(attribute)};
}

std::string_view name_of(ipp_attribute_t* a) {
    const char* n = ippGetName(a);
    return n != nullptr ? std::string_view(n) : std::string_view();
}

std::string string_of(ipp_attribute_t* a, int i = 0) {
    const char* s = ippGetString(a, i, nullptr);
    return s != nullptr ? std::string(s) : std::string();
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// RFC 3196 §3.1.2.1.5: the value tag must be one of `tags`; `single` attributes
// carry exactly one value.
std::optional<RequestError> check_syntax(ipp_attribute_t* a, std::initializer_list<ipp_tag_t> tags, bool single,
                                         const char* syntax) {
    const ipp_tag_t tag = ippGetValueTag(a);
    const int count = ippGetCount(a);
    const bool tag_ok = std::find(tags.begin(), tags.end(), tag) != tags.end();
    if (tag_ok && count >= 1 && (!single || count == 1)) return std::nullopt;
    const std::string name = quote(name_of(a));
    return bad_request(name + " must be " + (single ? "a single " : "") + syntax + " value", name);
}

constexpr std::initializer_list<ipp_tag_t> kName = {IPP_TAG_NAME, IPP_TAG_NAMELANG};

// Reads the well-known attributes the view exposes. Returns an error for a
// well-known attribute with the wrong syntax, cardinality or range.
class Extractor {
public:
    explicit Extractor(Request& r) : r_(r) {}

    std::optional<RequestError> operation_attribute(ipp_attribute_t* a) {
        const std::string_view name = name_of(a);
        if (name == "printer-uri") return string(a, IPP_TAG_URI, "uri", r_.printer_uri);
        if (name == "job-uri") return string(a, IPP_TAG_URI, "uri", r_.job_uri);
        if (name == "job-id") return integer(a, 1, r_.job_id);
        if (name == "requesting-user-name") return name_value(a, r_.requesting_user_name);
        if (name == "job-name") return name_value(a, r_.job_name);
        if (name == "document-name") return name_value(a, r_.document_name);
        if (name == "document-format") return string(a, IPP_TAG_MIMETYPE, "mimeMediaType", r_.document_format);
        if (name == "last-document") return boolean(a, r_.last_document);
        if (name == "which-jobs") return string(a, IPP_TAG_KEYWORD, "keyword", r_.which_jobs);
        if (name == "my-jobs") return boolean(a, r_.my_jobs);
        if (name == "limit") return integer(a, 1, r_.limit);
        if (name == "first-index") return integer(a, 1, r_.first_index);
        if (name == "requested-attributes") {
            if (auto e = check_syntax(a, {IPP_TAG_KEYWORD}, false, "keyword")) return e;
            const int count = ippGetCount(a);
            r_.requested_attributes.clear();
            r_.requested_attributes.reserve(static_cast<std::size_t>(count));
            for (int i = 0; i < count; ++i) r_.requested_attributes.push_back(string_of(a, i));
            return std::nullopt;
        }
        return job_template_attribute(a);
    }

    std::optional<RequestError> job_template_attribute(ipp_attribute_t* a) {
        const std::string_view name = name_of(a);
        if (name == "copies") return integer(a, std::numeric_limits<std::int32_t>::min(), r_.copies);
        if (name == "job-hold-until") {
            // RFC 8011 §5.2.2: type2 keyword | name(MAX).
            if (auto e = check_syntax(a, {IPP_TAG_KEYWORD, IPP_TAG_NAME, IPP_TAG_NAMELANG}, true, "keyword or name"))
                return e;
            const std::string value = string_of(a);
            r_.job_hold_until = ippGetValueTag(a) == IPP_TAG_KEYWORD ? value : text::sanitize_name(value);
            return std::nullopt;
        }
        // Kept so they follow the job to its printer (gateway/output); values are
        // not checked against a list here: the printer decides what it supports.
        if (name == "sides") return keyword(a, r_.sides);
        if (name == "print-color-mode") return keyword(a, r_.print_color_mode);
        if (name == "media") {
            // RFC 8011 §5.2.11: type2 keyword | name(MAX).
            if (auto e = check_syntax(a, {IPP_TAG_KEYWORD, IPP_TAG_NAME, IPP_TAG_NAMELANG}, true, "keyword or name"))
                return e;
            r_.media = text::sanitize_name(string_of(a));
            return std::nullopt;
        }
        return std::nullopt;
    }

private:
    std::optional<RequestError> string(ipp_attribute_t* a, ipp_tag_t tag, const char* syntax,
                                       std::optional<std::string>& out) {
        if (auto e = check_syntax(a, {tag}, true, syntax)) return e;
        out = string_of(a);
        return std::nullopt;
    }

    // A keyword value: sanitised (no control characters), at most 255 octets.
    std::optional<RequestError> keyword(ipp_attribute_t* a, std::optional<std::string>& out) {
        if (auto e = check_syntax(a, {IPP_TAG_KEYWORD}, true, "keyword")) return e;
        out = text::sanitize_name(string_of(a));
        return std::nullopt;
    }

    std::optional<RequestError> name_value(ipp_attribute_t* a, std::optional<std::string>& out) {
        if (auto e = check_syntax(a, kName, true, "name")) return e;
        out = text::sanitize_name(string_of(a));
        return std::nullopt;
    }

    std::optional<RequestError> boolean(ipp_attribute_t* a, std::optional<bool>& out) {
        if (auto e = check_syntax(a, {IPP_TAG_BOOLEAN}, true, "boolean")) return e;
        out = ippGetBoolean(a, 0) != 0;
        return std::nullopt;
    }

    std::optional<RequestError> integer(ipp_attribute_t* a, std::int32_t minimum, std::optional<std::int32_t>& out) {
        if (auto e = check_syntax(a, {IPP_TAG_INTEGER}, true, "integer")) return e;
        const std::int32_t value = ippGetInteger(a, 0);
        if (value < minimum) {
            const std::string name = quote(name_of(a));
            return bad_request(name + " must be " + std::to_string(minimum) + " or more", name);
        }
        out = value;
        return std::nullopt;
    }

    Request& r_;
};

// A duplicate attribute within one group (RFC 3196 §3.1.2.1.5, "multi-value"):
// the name of the first one found, or empty.
std::string_view find_duplicate(ipp_t* ipp) {
    std::vector<std::pair<std::size_t, std::string_view>> seen;
    std::size_t group_index = 0;
    ipp_tag_t group = IPP_TAG_ZERO;
    for (ipp_attribute_t* a = ippFirstAttribute(ipp); a != nullptr; a = ippNextAttribute(ipp)) {
        const std::string_view name = name_of(a);
        if (name.empty()) {  // libcups' separator between two groups with the same tag
            ++group_index;
            group = IPP_TAG_ZERO;
            continue;
        }
        if (ippGetGroupTag(a) != group) {
            group = ippGetGroupTag(a);
            ++group_index;
        }
        seen.emplace_back(group_index, name);
    }
    std::sort(seen.begin(), seen.end());
    const auto dup = std::adjacent_find(seen.begin(), seen.end());
    return dup != seen.end() ? dup->second : std::string_view();
}

}  // namespace

void throw_exception_from_error(const RequestError& e, const boost::source_location& loc) {
    boost::throw_exception(
        boost::system::system_error(make_error_code(errc::decode_failed), e.message), loc);
}

bool is_supported_version(Version v) {
    return (v.major == 1 && v.minor <= 1) || (v.major == 2 && v.minor <= 2);
}

Version reply_version(Version requested) {
    if (is_supported_version(requested)) return requested;
    if (requested.major < 1) return {1, 0};
    if (requested.major == 1) return {1, 1};
    return {2, 2};
}

ViewResult view(const Message& message) {
    ipp_t* ipp = message.get();
    if (ipp == nullptr) return bad_request("empty IPP message");

    Request r;
    r.version = message.version();
    r.operation = message.operation_or_status();
    r.request_id = message.request_id();
    r.message = &message;

    // 1. RFC 8011 §4.1.8.
    if (!is_supported_version(r.version)) {
        return RequestError{Status::server_error_version_not_supported,
                            "IPP version " + std::to_string(r.version.major) + "." +
                                std::to_string(r.version.minor) + " is not supported",
                            {}};
    }
    // 2. RFC 8011 §4.1.1: request-id is 1..2^31-1 (libcups reads it as signed).
    if (r.request_id <= 0) return bad_request("request-id must be between 1 and 2147483647");

    // 3. RFC 8011 §4.1.4: charset first, natural language second, in the
    // operation attributes group, which comes first.
    ipp_attribute_t* charset = ippFirstAttribute(ipp);
    if (charset == nullptr) return bad_request("missing attributes-charset", "attributes-charset");
    if (ippGetGroupTag(charset) != IPP_TAG_OPERATION)
        return bad_request("the first attribute group must be operation attributes");
    if (name_of(charset) != "attributes-charset")
        return bad_request("attributes-charset must be the first operation attribute", "attributes-charset");
    if (auto e = check_syntax(charset, {IPP_TAG_CHARSET}, true, "charset")) return std::move(*e);

    ipp_attribute_t* language = ippNextAttribute(ipp);
    if (language == nullptr || ippGetGroupTag(language) != IPP_TAG_OPERATION ||
        name_of(language) != "attributes-natural-language") {
        return bad_request("attributes-natural-language must be the second operation attribute",
                           "attributes-natural-language");
    }
    if (auto e = check_syntax(language, {IPP_TAG_LANGUAGE}, true, "naturalLanguage")) return std::move(*e);

    r.attributes_charset = lower(string_of(charset));
    r.attributes_natural_language = string_of(language);

    // 4. RFC 8011 §4.1.4.1.
    if (r.attributes_charset != "utf-8" && r.attributes_charset != "us-ascii") {
        return RequestError{Status::client_error_charset_not_supported,
                            "charset " + quote(r.attributes_charset) + " is not supported", "attributes-charset"};
    }

    // 5. Duplicates, then the well-known attributes.
    if (const std::string_view dup = find_duplicate(ipp); !dup.empty())
        return bad_request(quote(dup) + " appears more than once in a group", dup);

    Extractor extract(r);
    std::optional<RequestError> error;
    // Job-template values in the job group win over ones in the operation group,
    // so the job group is read after the whole operation group.
    for (ipp_attribute_t* a = ippFirstAttribute(ipp); a != nullptr && !error; a = ippNextAttribute(ipp)) {
        if (ippGetGroupTag(a) == IPP_TAG_OPERATION) error = extract.operation_attribute(a);
    }
    for (ipp_attribute_t* a = ippFirstAttribute(ipp); a != nullptr && !error; a = ippNextAttribute(ipp)) {
        if (ippGetGroupTag(a) == IPP_TAG_JOB) error = extract.job_template_attribute(a);
    }
    if (error) return std::move(*error);
    return r;
}

Response error_response(const Message& request, const RequestError& error) {
    const Version version = request ? reply_version(request.version()) : Version{2, 0};
    Response response(error.status, request.request_id(), version, "en");
    response.set_status_message(error.message);
    return response;
}

}  // namespace pg::ipp
