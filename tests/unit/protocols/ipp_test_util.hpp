// SPDX-License-Identifier: Apache-2.0
// Helpers for the pg::ipp unit tests: hand-written IPP byte sequences and real
// requests built with libcups itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <cups/ipp.h>

#include "protocols/ipp/message.hpp"

// Lets REQUIRE(result) print something (boost's operator<< needs the value to be
// printable, which std::vector<std::byte> and Message are not).
namespace Catch {
template <class T, class E>
struct StringMaker<boost::system::result<T, E>> {
    static std::string convert(const boost::system::result<T, E>& r) {
        if (r.has_value()) return "result(value)";
        if constexpr (std::is_same_v<E, pg::ipp::ParseError>) {
            return "result(error: " + r.error().message + " at " + std::to_string(r.error().offset) + ")";
        } else if constexpr (std::is_same_v<E, boost::system::error_code>) {
            return "result(error: " + r.error().message() + ")";
        } else {
            return "result(error: " + r.error().message + ")";
        }
    }
};
}  // namespace Catch

namespace pg::ipp::test {

using Bytes = std::vector<std::byte>;

inline Bytes bytes(std::initializer_list<int> values) {
    Bytes out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

inline Bytes bytes(std::string_view s) {
    Bytes out;
    for (char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

inline Bytes concat(std::initializer_list<std::span<const std::byte>> parts) {
    Bytes out;
    for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Writes IPP by hand, field by field, so malformed input is easy to state.
class Writer {
public:
    Writer& u8(int v) {
        out_.push_back(static_cast<std::byte>(v));
        return *this;
    }
    Writer& u16(int v) { return u8((v >> 8) & 0xFF).u8(v & 0xFF); }
    Writer& u32(std::uint32_t v) { return u16(static_cast<int>(v >> 16)).u16(static_cast<int>(v & 0xFFFF)); }
    Writer& raw(std::string_view s) {
        for (char c : s) u8(static_cast<unsigned char>(c));
        return *this;
    }
    Writer& header(int major = 2, int minor = 0, int op = 0x000B, std::uint32_t request_id = 1) {
        return u8(major).u8(minor).u16(op).u32(request_id);
    }
    // value-tag name-length name value-length value
    Writer& attr(int tag, std::string_view name, std::string_view value) {
        return u8(tag).u16(static_cast<int>(name.size())).raw(name).u16(static_cast<int>(value.size())).raw(value);
    }
    Writer& integer(std::string_view name, std::int32_t v, int tag = 0x21) {
        return u8(tag).u16(static_cast<int>(name.size())).raw(name).u16(4).u32(static_cast<std::uint32_t>(v));
    }
    Writer& boolean(std::string_view name, bool v) {
        return u8(0x22).u16(static_cast<int>(name.size())).raw(name).u16(1).u8(v ? 1 : 0);
    }
    // The usual start of a request: header, operation group, charset, language.
    Writer& request_start(int op = 0x000B, std::uint32_t request_id = 1, int major = 2, int minor = 0) {
        return header(major, minor, op, request_id)
            .u8(0x01)
            .attr(0x47, "attributes-charset", "utf-8")
            .attr(0x48, "attributes-natural-language", "en");
    }
    Writer& end() { return u8(0x03); }
    const Bytes& data() const { return out_; }
    std::size_t size() const { return out_.size(); }
    operator Bytes() const { return out_; }

private:
    Bytes out_;
};

// Encodes a libcups-built message with pg::ipp::encode (no document data).
inline Bytes encode_cups(ipp_t* ipp) {
    Message m(ipp);
    auto r = encode(m);
    return r ? *r : Bytes{};
}

// Real requests as CUPS clients build them (conformance.md §3.2-3.3).
inline ipp_t* new_request(ipp_op_t op, int request_id = 42) {
    ipp_t* ipp = ippNewRequest(op);
    ippSetRequestId(ipp, request_id);
    ippSetVersion(ipp, 2, 0);
    // ippNewRequest takes the natural language from the locale; pin it.
    ipp_attribute_t* lang = ippFindAttribute(ipp, "attributes-natural-language", IPP_TAG_LANGUAGE);
    ippSetString(ipp, &lang, 0, "en");
    return ipp;
}

inline constexpr const char* kPrinterUri = "ipp://localhost:8631/printers/office";

inline Bytes print_job_request() {
    ipp_t* ipp = new_request(IPP_OP_PRINT_JOB);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, kPrinterUri);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, "dave");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", nullptr, "Quarterly report.pdf");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", nullptr, "application/pdf");
    ippAddInteger(ipp, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", 2);
    ippAddString(ipp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "sides", nullptr, "two-sided-long-edge");
    ippAddString(ipp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-hold-until", nullptr, "no-hold");
    return encode_cups(ipp);
}

// The ipp backend's 23-attribute Get-Printer-Attributes (conformance.md §3.2).
inline Bytes get_printer_attributes_request() {
    static const char* const names[] = {
        "compression-supported", "copies-supported", "cups-version", "document-format-supported",
        "job-password-encryption-supported", "marker-colors", "marker-high-levels", "marker-levels",
        "marker-low-levels", "marker-message", "marker-names", "marker-types", "media-col-supported",
        "multiple-document-handling-supported", "operations-supported", "print-color-mode-supported",
        "printer-alert", "printer-alert-description", "printer-is-accepting-jobs",
        "printer-mandatory-job-attributes", "printer-state", "printer-state-message", "printer-state-reasons"};
    ipp_t* ipp = new_request(IPP_OP_GET_PRINTER_ATTRIBUTES);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, kPrinterUri);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, "root");
    ippAddStrings(ipp, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 23, nullptr, names);
    return encode_cups(ipp);
}

inline Bytes create_job_request() {
    ipp_t* ipp = new_request(IPP_OP_CREATE_JOB);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, kPrinterUri);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, "alice");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", nullptr, "title");
    ippAddInteger(ipp, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", 1);
    ippAddString(ipp, IPP_TAG_JOB, IPP_TAG_KEYWORD, "job-hold-until", nullptr, "no-hold");
    ippAddInteger(ipp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-priority", 50);
    const char* sheets[] = {"none", "none"};
    ippAddStrings(ipp, IPP_TAG_JOB, IPP_TAG_NAME, "job-sheets", 2, nullptr, sheets);
    ipp_t* size = ippNew();
    ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x-dimension", 21000);
    ippAddInteger(size, IPP_TAG_ZERO, IPP_TAG_INTEGER, "y-dimension", 29700);
    ipp_t* media_col = ippNew();
    ippAddCollection(media_col, IPP_TAG_ZERO, "media-size", size);
    ippAddString(media_col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-source", nullptr, "auto");
    ippAddCollection(ipp, IPP_TAG_JOB, "media-col", media_col);
    ippDelete(size);
    ippDelete(media_col);
    return encode_cups(ipp);
}

inline Bytes send_document_request() {
    ipp_t* ipp = new_request(IPP_OP_SEND_DOCUMENT);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, kPrinterUri);
    ippAddInteger(ipp, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", 17);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, "alice");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "document-name", nullptr, "doc.ps");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", nullptr, "application/octet-stream");
    ippAddBoolean(ipp, IPP_TAG_OPERATION, "last-document", 1);
    return encode_cups(ipp);
}

inline Bytes get_jobs_request() {
    static const char* const names[] = {"job-id", "job-name", "job-state", "job-originating-user-name"};
    ipp_t* ipp = new_request(IPP_OP_GET_JOBS);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, kPrinterUri);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, "bob");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "which-jobs", nullptr, "completed");
    ippAddBoolean(ipp, IPP_TAG_OPERATION, "my-jobs", 1);
    ippAddInteger(ipp, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "limit", 10);
    ippAddInteger(ipp, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "first-index", 1);
    ippAddStrings(ipp, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 4, nullptr, names);
    return encode_cups(ipp);
}

}  // namespace pg::ipp::test
