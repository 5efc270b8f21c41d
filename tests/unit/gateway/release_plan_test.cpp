// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/output/release_plan: which documents a printer takes as
// they are, which are converted and to what, and which are refused and why.
#include "gateway/output/release_plan.hpp"

#include <catch2/catch.hpp>

using pg::conf::Conversion;
using pg::conf::PrinterConfig;
using pg::output::release_plan;

namespace {

PrinterConfig printer(std::vector<std::string> formats, Conversion convert = Conversion::none) {
    PrinterConfig p;
    p.name = "hall";
    p.uri = "ipp://192.0.2.1/ipp/print";
    p.profile.formats = std::move(formats);
    p.profile.convert = convert;
    return p;
}

}  // namespace

TEST_CASE("refused: a format the printer does not take and cannot be converted", "[release_plan][malformed]") {
    auto plain = release_plan(printer({"application/postscript"}), "application/pdf");
    CHECK_FALSE(plain.ok);
    CHECK(plain.why ==
          "printer hall does not take application/pdf (it takes application/postscript) and converts nothing "
          "(convert: none)");
    auto jpeg = release_plan(printer({"application/postscript"}, Conversion::ghostscript), "image/jpeg");
    CHECK_FALSE(jpeg.ok);
    CHECK(jpeg.convert_to.empty());
    CHECK(jpeg.why == "printer hall does not take image/jpeg (it takes application/postscript) and Ghostscript "
                      "converts only application/pdf and application/postscript");
    // No format Ghostscript writes (the configuration refuses this; never guessed).
    CHECK_FALSE(release_plan(printer({"image/urf"}, Conversion::ghostscript), "application/pdf").ok);
}

TEST_CASE("taken as it is", "[release_plan]") {
    for (const char* f : {"application/pdf", "APPLICATION/PDF", "application/octet-stream", ""}) {
        auto p = release_plan(printer({"application/pdf"}), f);
        CHECK(p.ok);
        CHECK(p.convert_to.empty());
    }
    // No formats listed: the printer decides when it is asked.
    CHECK(release_plan(printer({}), "image/jpeg").ok);
    // Taken natively beats conversion.
    auto ps = release_plan(printer({"image/pwg-raster", "application/postscript"}, Conversion::ghostscript),
                           "application/postscript");
    CHECK(ps.ok);
    CHECK(ps.convert_to.empty());
}

TEST_CASE("converted to the first format of the list Ghostscript writes", "[release_plan]") {
    auto p = release_plan(printer({"image/urf", "Application/vnd.hp-PCLXL", "application/postscript"},
                                  Conversion::ghostscript),
                          "application/pdf");
    CHECK(p.ok);
    CHECK(p.convert_to == "application/vnd.hp-pclxl");
    auto q = release_plan(printer({"image/pwg-raster"}, Conversion::ghostscript), "application/postscript");
    CHECK(q.ok);
    CHECK(q.convert_to == "image/pwg-raster");
}

TEST_CASE("a job: every document, or the first refusal", "[release_plan]") {
    pg::spool::JobMeta one;
    one.document_format = "application/pdf";
    auto a = release_plan(printer({"application/postscript"}, Conversion::ghostscript), one);
    REQUIRE(a.ok);
    CHECK(a.convert_to == std::vector<std::string>{"application/postscript"});

    pg::spool::JobMeta two;
    two.documents = {{"application/postscript", "a", 10}, {"application/pdf", "b", 20}};
    auto b = release_plan(printer({"application/postscript"}, Conversion::ghostscript), two);
    REQUIRE(b.ok);
    CHECK(b.convert_to == std::vector<std::string>{"", "application/postscript"});

    two.documents.push_back({"image/jpeg", "c", 30});
    auto c = release_plan(printer({"application/postscript"}, Conversion::ghostscript), two);
    CHECK_FALSE(c.ok);
    CHECK(c.why.rfind("document 3: printer hall does not take image/jpeg", 0) == 0);
    CHECK(c.convert_to.empty());
}

TEST_CASE("job options: what follows the job, as the printer allows", "[release_plan][options]") {
    using pg::output::job_options;
    const std::string attrs =
        R"({"copies":3,"sides":"two-sided-short-edge","print-color-mode":"color","media":"iso_a4_210x297mm"})";
    auto any = job_options(nullptr, attrs);
    CHECK(any.copies == 3);
    CHECK(any.sides == "two-sided-short-edge");
    CHECK(any.color_mode == "color");
    CHECK(any.media == "iso_a4_210x297mm");

    pg::conf::PrinterProfile simplex_mono;
    simplex_mono.duplex = false;
    simplex_mono.color = false;
    auto narrowed = job_options(&simplex_mono, attrs);
    CHECK(narrowed.sides.empty());
    CHECK(narrowed.color_mode == "monochrome");
    CHECK(narrowed.copies == 3);
    CHECK(job_options(&simplex_mono, R"({"sides":"one-sided"})").sides == "one-sided");

    // Malformed or out of range: left out.
    CHECK_FALSE(job_options(nullptr, "not json").copies);
    CHECK_FALSE(job_options(nullptr, R"({"copies":0})").copies);
    CHECK_FALSE(job_options(nullptr, R"({"copies":"2"})").copies);
    CHECK(job_options(nullptr, R"({"sides":"sideways"})").sides.empty());
    CHECK(job_options(nullptr, "[]").media.empty());
}

TEST_CASE("no conversion for LPD printers", "[release_plan]") {
    auto p = printer({"application/postscript"}, Conversion::ghostscript);
    p.uri = "lpd://192.0.2.1/lp";
    auto r = release_plan(p, "application/pdf");
    CHECK_FALSE(r.ok);
    CHECK(r.why.find("converting for an LPD printer is not possible") != std::string::npos);
    CHECK(release_plan(p, "application/postscript").ok);
}
