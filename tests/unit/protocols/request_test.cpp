// SPDX-License-Identifier: Apache-2.0
// pg::ipp::view: RFC 8011 §4.1 request validation (invalid requests first), then
// the typed view of real requests.
#include <cstring>

#include <catch2/catch.hpp>

#include "protocols/ipp/request.hpp"
#include "tests/unit/protocols/ipp_test_util.hpp"

using namespace pg::ipp;
using namespace pg::ipp::test;

namespace {

Message decoded(const Bytes& b) {
    auto r = decode(b);
    REQUIRE(r);
    return std::move(*r);
}

// The status view() answers for `b`, successful_ok when valid.
Status status_for(const Bytes& b) {
    const Message m = decoded(b);
    const ViewResult v = view(m);
    if (v) return Status::successful_ok;
    CHECK_FALSE(v.error().message.empty());
    return v.error().status;
}

constexpr Status kBad = Status::client_error_bad_request;

}  // namespace

TEST_CASE("view: unsupported versions", "[ipp][request]") {
    for (auto [major, minor] : {std::pair{0, 0}, std::pair{1, 2}, std::pair{2, 3}, std::pair{3, 0}, std::pair{9, 9}}) {
        INFO(major << "." << minor);
        CHECK(status_for(Writer().request_start(0x000B, 1, major, minor).end()) ==
              Status::server_error_version_not_supported);
    }
    for (auto [major, minor] : {std::pair{1, 0}, std::pair{1, 1}, std::pair{2, 0}, std::pair{2, 1}, std::pair{2, 2}}) {
        INFO(major << "." << minor);
        CHECK(status_for(Writer().request_start(0x000B, 1, major, minor).end()) == Status::successful_ok);
    }
    // The version check comes first, even before the request-id one.
    CHECK(status_for(Writer().request_start(0x000B, 0, 0, 0).end()) == Status::server_error_version_not_supported);
}

TEST_CASE("view: request-id 0 and negative", "[ipp][request]") {
    CHECK(status_for(Writer().request_start(0x000B, 0).end()) == kBad);
    CHECK(status_for(Writer().request_start(0x000B, 0x80000000u).end()) == kBad);
    CHECK(status_for(Writer().request_start(0x000B, 0x7FFFFFFFu).end()) == Status::successful_ok);
}

TEST_CASE("view: charset and natural language placement", "[ipp][request]") {
    SECTION("no attributes at all") {
        CHECK(status_for(Writer().header().u8(0x01).end()) == kBad);
        CHECK(status_for(Writer().header().end()) == kBad);
    }
    SECTION("first group is not operation attributes") {
        const Bytes b = Writer()
                            .header()
                            .u8(0x02)
                            .attr(0x47, "attributes-charset", "utf-8")
                            .attr(0x48, "attributes-natural-language", "en")
                            .end();
        CHECK(status_for(b) == kBad);
    }
    SECTION("charset not first") {
        const Bytes b = Writer()
                            .header()
                            .u8(0x01)
                            .attr(0x48, "attributes-natural-language", "en")
                            .attr(0x47, "attributes-charset", "utf-8")
                            .end();
        CHECK(status_for(b) == kBad);
    }
    SECTION("natural language missing or not second") {
        CHECK(status_for(Writer().header().u8(0x01).attr(0x47, "attributes-charset", "utf-8").end()) == kBad);
        const Bytes b = Writer()
                            .header()
                            .u8(0x01)
                            .attr(0x47, "attributes-charset", "utf-8")
                            .attr(0x45, "printer-uri", "ipp://h/p")
                            .attr(0x48, "attributes-natural-language", "en")
                            .end();
        CHECK(status_for(b) == kBad);
    }
    SECTION("natural language in the job group") {
        const Bytes b = Writer()
                            .header()
                            .u8(0x01)
                            .attr(0x47, "attributes-charset", "utf-8")
                            .u8(0x02)
                            .attr(0x48, "attributes-natural-language", "en")
                            .end();
        CHECK(status_for(b) == kBad);
    }
    SECTION("wrong value tags or several values") {
        CHECK(status_for(Writer()
                             .header()
                             .u8(0x01)
                             .attr(0x44, "attributes-charset", "utf-8")
                             .attr(0x48, "attributes-natural-language", "en")
                             .end()) == kBad);
        CHECK(status_for(Writer()
                             .header()
                             .u8(0x01)
                             .attr(0x47, "attributes-charset", "utf-8")
                             .attr(0x41, "attributes-natural-language", "en")
                             .end()) == kBad);
        CHECK(status_for(Writer()
                             .header()
                             .u8(0x01)
                             .attr(0x47, "attributes-charset", "utf-8")
                             .attr(0x47, "", "us-ascii")
                             .attr(0x48, "attributes-natural-language", "en")
                             .end()) == kBad);
    }
}

TEST_CASE("view: charsets", "[ipp][request]") {
    const auto with_charset = [](std::string_view cs) {
        return Writer()
            .header()
            .u8(0x01)
            .attr(0x47, "attributes-charset", cs)
            .attr(0x48, "attributes-natural-language", "en")
            .end();
    };
    CHECK(status_for(with_charset("iso-8859-1")) == Status::client_error_charset_not_supported);
    CHECK(status_for(with_charset("utf-16")) == Status::client_error_charset_not_supported);
    CHECK(status_for(with_charset("")) == Status::client_error_charset_not_supported);
    CHECK(status_for(with_charset("utf-8")) == Status::successful_ok);
    CHECK(status_for(with_charset("UTF-8")) == Status::successful_ok);
    CHECK(status_for(with_charset("us-ascii")) == Status::successful_ok);

    const Message m = decoded(with_charset("UTF-8"));
    const ViewResult v = view(m);
    REQUIRE(v);
    CHECK(v->attributes_charset == "utf-8");
    CHECK(v->attributes_natural_language == "en");

    // The message quotes the charset sanitised.
    const Message hostile = decoded(with_charset("x\x1b[31m"));
    const ViewResult h = view(hostile);
    REQUIRE_FALSE(h);
    CHECK(h.error().message.find('\x1b') == std::string::npos);
}

TEST_CASE("view: well-known attributes with the wrong syntax", "[ipp][request]") {
    struct Case {
        const char* what;
        Bytes request;
    };
    const std::vector<Case> cases = {
        {"printer-uri as keyword", Writer().request_start().attr(0x44, "printer-uri", "ipp://h/p").end()},
        {"printer-uri as name", Writer().request_start().attr(0x42, "printer-uri", "ipp://h/p").end()},
        {"two printer-uri values",
         Writer().request_start().attr(0x45, "printer-uri", "ipp://h/p").attr(0x45, "", "ipp://h/q").end()},
        {"job-uri as text", Writer().request_start().attr(0x41, "job-uri", "ipp://h/p/1").end()},
        {"job-id as keyword", Writer().request_start().attr(0x44, "job-id", "7").end()},
        {"job-id as enum", Writer().request_start().integer("job-id", 7, 0x23).end()},
        {"job-id 0", Writer().request_start().integer("job-id", 0).end()},
        {"job-id negative", Writer().request_start().integer("job-id", -3).end()},
        {"requesting-user-name as keyword", Writer().request_start().attr(0x44, "requesting-user-name", "u").end()},
        {"requesting-user-name as text", Writer().request_start().attr(0x41, "requesting-user-name", "u").end()},
        {"job-name as uri", Writer().request_start().attr(0x45, "job-name", "ipp://x").end()},
        {"document-name as keyword", Writer().request_start().attr(0x44, "document-name", "d").end()},
        {"document-format as keyword", Writer().request_start().attr(0x44, "document-format", "text/plain").end()},
        {"last-document as integer", Writer().request_start().integer("last-document", 1).end()},
        {"which-jobs as name", Writer().request_start().attr(0x42, "which-jobs", "completed").end()},
        {"my-jobs as keyword", Writer().request_start().attr(0x44, "my-jobs", "true").end()},
        {"limit 0", Writer().request_start().integer("limit", 0).end()},
        {"first-index 0", Writer().request_start().integer("first-index", 0).end()},
        {"requested-attributes as name", Writer().request_start().attr(0x42, "requested-attributes", "all").end()},
        {"requested-attributes no-value", Writer().request_start().attr(0x13, "requested-attributes", "").end()},
        {"job-hold-until as integer", Writer().request_start().u8(0x02).integer("job-hold-until", 1).end()},
        {"copies as keyword", Writer().request_start().u8(0x02).attr(0x44, "copies", "2").end()},
        {"duplicate printer-uri",
         Writer().request_start().attr(0x45, "printer-uri", "ipp://h/p").attr(0x45, "printer-uri", "ipp://h/q").end()},
        {"duplicate in the job group",
         Writer().request_start().u8(0x02).integer("copies", 1).integer("copies", 2).end()},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        const Message m = decoded(c.request);
        const ViewResult v = view(m);
        REQUIRE_FALSE(v);
        CHECK(v.error().status == kBad);
        CHECK_FALSE(v.error().attribute.empty());
        CHECK_FALSE(v.error().message.empty());
    }
}

TEST_CASE("view: same name in different groups is not a duplicate", "[ipp][request]") {
    const Bytes b = Writer()
                        .request_start()
                        .integer("copies", 1)
                        .u8(0x02)
                        .integer("copies", 3)
                        .u8(0x02)
                        .integer("copies", 4)
                        .end();
    const Message m = decoded(b);
    const ViewResult v = view(m);
    REQUIRE(v);
    CHECK(v->copies == 4);  // the job group wins over the operation group
}

TEST_CASE("view: Print-Job built by libcups", "[ipp][request]") {
    const Message m = decoded(print_job_request());
    const ViewResult v = view(m);
    REQUIRE(v);
    const Request& r = *v;
    CHECK(r.version == Version{2, 0});
    CHECK(r.is(Operation::print_job));
    CHECK(r.request_id == 42);
    CHECK(r.printer_uri == std::string(kPrinterUri));
    CHECK(r.requesting_user_name == std::string("dave"));
    CHECK(r.job_name == std::string("Quarterly report.pdf"));
    CHECK(r.document_format == std::string("application/pdf"));
    CHECK(r.copies == 2);
    CHECK(r.job_hold_until == std::string("no-hold"));
    CHECK_FALSE(r.job_id);
    CHECK_FALSE(r.last_document);
    CHECK(r.requested_attributes.empty());
    REQUIRE(r.message == &m);
    CHECK(ippFindAttribute(r.message->get(), "sides", IPP_TAG_KEYWORD) != nullptr);
}

TEST_CASE("view: Get-Printer-Attributes with 23 requested attributes", "[ipp][request]") {
    const Message m = decoded(get_printer_attributes_request());
    const ViewResult v = view(m);
    REQUIRE(v);
    CHECK(v->is(Operation::get_printer_attributes));
    REQUIRE(v->requested_attributes.size() == 23);
    CHECK(v->requested_attributes.front() == "compression-supported");
    CHECK(v->requested_attributes.back() == "printer-state-reasons");
}

TEST_CASE("view: Create-Job, Send-Document and Get-Jobs", "[ipp][request]") {
    {
        const Message m = decoded(create_job_request());
        const ViewResult v = view(m);
        REQUIRE(v);
        CHECK(v->is(Operation::create_job));
        CHECK(v->job_name == std::string("title"));
        CHECK(v->copies == 1);
    }
    {
        const Message m = decoded(send_document_request());
        const ViewResult v = view(m);
        REQUIRE(v);
        CHECK(v->is(Operation::send_document));
        CHECK(v->job_id == 17);
        CHECK(v->last_document == true);
        CHECK(v->document_name == std::string("doc.ps"));
        CHECK(v->document_format == std::string("application/octet-stream"));
    }
    {
        const Message m = decoded(get_jobs_request());
        const ViewResult v = view(m);
        REQUIRE(v);
        CHECK(v->which_jobs == std::string("completed"));
        CHECK(v->my_jobs == true);
        CHECK(v->limit == 10);
        CHECK(v->first_index == 1);
        CHECK(v->requested_attributes.size() == 4);
    }
}

TEST_CASE("view: names are sanitised", "[ipp][request]") {
    const std::string long_name(300, 'x');
    const Bytes b = Writer()
                        .request_start(0x0002)
                        .attr(0x42, "requesting-user-name", "ev\x01il\x7f\xff")
                        .attr(0x42, "job-name", long_name)
                        // nameWithLanguage: length(2) "de" length(2) "Bericht\n"
                        .u8(0x36).u16(13).raw("document-name").u16(14).u16(2).raw("de").u16(8).raw("Bericht\n")
                        .u8(0x02)
                        .attr(0x42, "job-hold-until", "night\tshift")
                        .end();
    const Message m = decoded(b);
    const ViewResult v = view(m);
    REQUIRE(v);
    CHECK(v->requesting_user_name == std::string("evil\xEF\xBF\xBD"));
    CHECK(v->job_name == std::string(255, 'x'));
    CHECK(v->document_name == std::string("Bericht"));
    CHECK(v->job_hold_until == std::string("nightshift"));
}

TEST_CASE("view: unknown attributes and other groups are left alone", "[ipp][request]") {
    const Bytes b = Writer()
                        .request_start(0x4002)
                        .attr(0x44, "x-vendor", "anything")
                        .u8(0x04)
                        .attr(0x45, "printer-uri", "not checked outside the operation group")
                        .u8(0x06)
                        .attr(0x44, "notify-events", "job-completed")
                        .end();
    const Message m = decoded(b);
    const ViewResult v = view(m);
    REQUIRE(v);
    CHECK(v->is(Operation::cups_get_printers));
    CHECK_FALSE(v->printer_uri);
}

TEST_CASE("view: reply versions and error responses", "[ipp][request]") {
    CHECK(reply_version({1, 0}) == Version{1, 0});
    CHECK(reply_version({2, 2}) == Version{2, 2});
    CHECK(reply_version({0, 9}) == Version{1, 0});
    CHECK(reply_version({1, 7}) == Version{1, 1});
    CHECK(reply_version({2, 9}) == Version{2, 2});
    CHECK(reply_version({3, 0}) == Version{2, 2});

    const Message m = decoded(Writer().request_start(0x000B, 77, 3, 0).end());
    const ViewResult v = view(m);
    REQUIRE_FALSE(v);
    const Bytes reply = error_response(m, v.error()).bytes();
    auto decoded_reply = decode(reply);
    REQUIRE(decoded_reply);
    CHECK(decoded_reply->version() == Version{2, 2});
    CHECK(decoded_reply->request_id() == 77);
    CHECK(ippGetStatusCode(decoded_reply->get()) == IPP_STATUS_ERROR_VERSION_NOT_SUPPORTED);
    ipp_attribute_t* msg = ippFindAttribute(decoded_reply->get(), "status-message", IPP_TAG_TEXT);
    REQUIRE(msg != nullptr);
    CHECK(std::strcmp(ippGetString(msg, 0, nullptr), "IPP version 3.0 is not supported") == 0);
}
