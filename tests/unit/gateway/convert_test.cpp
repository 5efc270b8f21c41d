// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/output/convert: the real /usr/bin/gs (Debian's
// ghostscript) converts a small PDF written here and a PostScript job to the
// printer languages, the output starts with each language's magic bytes, bad input
// fails cleanly, and the deadline kills a PostScript infinite loop.
#include "gateway/output/convert.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "tests/unit/gateway/memory_body.hpp"

namespace asio = boost::asio;
using pg::output::ConvertLimits;
using pg::output::ConvertOptions;
using pg::output::Converter;
using pg::test::MemoryBody;
using namespace std::chrono_literals;

namespace {

// A one-page PDF with a line of text, its xref offsets computed.
std::string tiny_pdf() {
    const std::string content = "BT /F1 24 Tf 72 720 Td (Hello printgate) Tj ET";
    const std::vector<std::string> objects = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        fmt::format("<< /Length {} >>\nstream\n{}\nendstream", content.size(), content)};
    std::string pdf = "%PDF-1.4\n";
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += fmt::format("{} 0 obj\n{}\nendobj\n", i + 1, objects[i]);
    }
    const std::size_t xref = pdf.size();
    pdf += fmt::format("xref\n0 {}\n0000000000 65535 f \n", objects.size() + 1);
    for (auto o : offsets) pdf += fmt::format("{:010} 00000 n \n", o);
    pdf += fmt::format("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n", objects.size() + 1, xref);
    return pdf;
}

const std::string kPostScript =
    "%!PS-Adobe-3.0\n/Helvetica findfont 24 scalefont setfont\n72 720 moveto (Hello printgate) show\nshowpage\n";

struct Outcome {
    std::optional<std::string> start_failure;  // failed before any output
    std::optional<std::string> failure;        // after finish()
    std::string output;
    std::string stderr_text;
    std::chrono::milliseconds took{0};
};

Outcome convert(std::string input, std::string from, std::string to, ConvertLimits limits = {},
                std::size_t chunk = 1000, bool color = true) {
    std::signal(SIGPIPE, SIG_IGN);  // as printgated
    asio::io_context io;
    MemoryBody body(std::move(input), chunk);
    const auto t0 = std::chrono::steady_clock::now();
    auto task = [&]() -> asio::awaitable<Outcome> {
        Outcome o;
        ConvertOptions opts{from, to, color, 0};
        asio::any_io_executor ex = io.get_executor();
        auto conv = co_await Converter::start(ex, body, body.size(), opts, limits);
        o.start_failure = conv->failure();
        while (!o.start_failure) {
            auto chunk = co_await conv->next();
            if (!chunk || chunk->empty()) break;
            o.output.append(reinterpret_cast<const char*>(chunk->data()), chunk->size());
        }
        o.failure = co_await conv->finish();
        o.stderr_text = conv->stderr_text();
        co_return o;
    };
    auto fut = asio::co_spawn(io, task(), asio::use_future);
    io.run();
    Outcome o = fut.get();
    o.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    return o;
}

bool no_scratch_left() {
    for (const auto& e : std::filesystem::directory_iterator("/dev/shm"))
        if (e.path().filename().string().rfind(fmt::format("printgate-gs-{}-", ::getpid()), 0) == 0) return false;
    return true;
}

}  // namespace

TEST_CASE("ghostscript arguments", "[convert]") {
    auto a = pg::output::ghostscript_args({"application/pdf", "application/vnd.hp-pclxl", false, 600}, "/proc/self/fd/3");
    REQUIRE(a);
    CHECK(std::find(a->begin(), a->end(), "-dSAFER") != a->end());
    CHECK(std::find(a->begin(), a->end(), "-sDEVICE=pxlmono") != a->end());
    CHECK(std::find(a->begin(), a->end(), "-r600") != a->end());
    CHECK(std::find(a->begin(), a->end(), "-sOutputFile=-") != a->end());
    CHECK(a->back() == "/proc/self/fd/3");
    CHECK_FALSE(pg::output::ghostscript_args({"application/pdf", "image/urf", true, 0}, "-"));
    CHECK(pg::output::needs_scratch("application/postscript"));
    CHECK_FALSE(pg::output::needs_scratch("image/pwg-raster"));
}

TEST_CASE("a bogus PDF fails cleanly, before any output", "[convert][malformed]") {
    auto o = convert("%PDF-1.4\nthis is not a PDF at all\n", "application/pdf", "application/postscript");
    REQUIRE(o.start_failure);
    CHECK(o.start_failure->find("Ghostscript") != std::string::npos);
    CHECK(o.output.empty());
    CHECK(no_scratch_left());
}

TEST_CASE("a PostScript error fails cleanly", "[convert][malformed]") {
    auto o = convert("%!PS\nthis_is_undefined\n", "application/postscript", "application/vnd.hp-pclxl");
    REQUIRE(o.failure);
    CHECK(*o.failure == "Ghostscript could not convert the document (exit status 1)");
    CHECK(o.stderr_text.find("undefined") != std::string::npos);
}

TEST_CASE("a PDF over the memory limit is refused", "[convert][malformed]") {
    ConvertLimits l;
    l.max_pdf_bytes = 100;
    auto o = convert(tiny_pdf(), "application/pdf", "application/postscript", l);
    REQUIRE(o.start_failure);
    CHECK(o.start_failure->find("larger than the conversion limit") != std::string::npos);
}

TEST_CASE("a missing Ghostscript fails cleanly", "[convert][malformed]") {
    ConvertLimits l;
    l.gs_path = "/nonexistent/gs";
    auto o = convert(kPostScript, "application/postscript", "application/vnd.hp-pclxl", l);
    REQUIRE(o.start_failure);
    CHECK(*o.start_failure == "Ghostscript (/nonexistent/gs) could not be run");
}

TEST_CASE("PDF to PostScript, PCL XL, PCL and PWG raster", "[convert]") {
    const std::string pdf = tiny_pdf();
    auto ps = convert(pdf, "application/pdf", "application/postscript");
    INFO(ps.stderr_text);
    REQUIRE_FALSE(ps.failure);
    CHECK(ps.output.rfind("%!PS", 0) == 0);
    CHECK(no_scratch_left());

    auto pxl = convert(pdf, "application/pdf", "application/vnd.hp-pclxl");
    REQUIRE_FALSE(pxl.failure);
    // PCL XL: a UEL and PJL ENTER LANGUAGE=PCLXL, then the stream header ") HP-PCL XL".
    CHECK(pxl.output.rfind("\x1b%-12345X", 0) == 0);
    CHECK(pxl.output.find(") HP-PCL XL") != std::string::npos);

    auto pcl = convert(pdf, "application/pdf", "application/vnd.hp-pcl");
    REQUIRE_FALSE(pcl.failure);
    CHECK(pcl.output.rfind("\x1b" "E", 0) == 0);

    auto pwg = convert(pdf, "application/pdf", "image/pwg-raster", {}, 1000, false);
    REQUIRE_FALSE(pwg.failure);
    CHECK(pwg.output.rfind("RaS2PwgRaster", 0) == 0);

    auto back = convert(pdf, "application/pdf", "application/pdf");
    REQUIRE_FALSE(back.failure);
    CHECK(back.output.rfind("%PDF-", 0) == 0);
}

TEST_CASE("PostScript streams through, in small pieces", "[convert]") {
    // Fifty pages fed 7 bytes at a time: gs reads stdin as the feeder writes it.
    std::string many = "%!PS\n";
    for (int i = 0; i < 50; ++i)
        many += fmt::format("/Helvetica findfont 12 scalefont setfont 72 720 moveto (page {}) show showpage\n", i);
    auto o = convert(many, "application/postscript", "application/vnd.hp-pclxl", {}, 7);
    REQUIRE_FALSE(o.failure);
    CHECK(o.output.find(") HP-PCL XL") != std::string::npos);
}

TEST_CASE("the deadline kills an endless PostScript loop", "[convert][deadline]") {
    ConvertLimits l;
    l.deadline = 1500ms;
    auto o = convert("%!PS\n{} loop\n", "application/postscript", "application/vnd.hp-pclxl", l);
    REQUIRE(o.start_failure);
    CHECK(*o.start_failure == "Ghostscript did not finish within 1 s and was killed");
    CHECK(o.took >= 1500ms);
    CHECK(o.took < 10s);
    CHECK(no_scratch_left());
}

namespace {

// PostScript made on the fly: `total` bytes of comment lines, then one page. The
// source holds one chunk at a time, so the process's memory shows the converter's.
class GeneratedPostScript final : public pg::net::BodySource {
public:
    explicit GeneratedPostScript(std::uint64_t total) : total_(total) {
        chunk_.assign(1 << 20, '%');
        for (std::size_t i = 79; i < chunk_.size(); i += 80) chunk_[i] = '\n';
    }
    std::uint64_t size() const { return total_ + kTail.size(); }
    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        if (sent_ < total_) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), total_ - sent_));
            sent_ += n;
            co_return std::as_bytes(std::span(chunk_.data(), n));
        }
        if (!tail_sent_) {
            tail_sent_ = true;
            co_return std::as_bytes(std::span(kTail.data(), kTail.size()));
        }
        co_return std::span<const std::byte>{};
    }

private:
    static constexpr std::string_view kTail = "\n/Helvetica findfont 12 scalefont setfont 72 720 moveto (end) show showpage\n";
    std::uint64_t total_;
    std::uint64_t sent_ = 0;
    bool tail_sent_ = false;
    std::string chunk_;
};

long max_rss_kib() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

}  // namespace

// Hidden (run with "[.memory]"): 256 MiB of PostScript through gs, and this
// process's peak RSS grows by less than 64 MiB: PostScript is streamed.
TEST_CASE("PostScript memory stays flat whatever the size", "[.memory][convert]") {
    std::signal(SIGPIPE, SIG_IGN);
    asio::io_context io;
    GeneratedPostScript body(256ull << 20);
    const long before = max_rss_kib();
    std::uint64_t out = 0;
    std::optional<std::string> failure;
    const auto t0 = std::chrono::steady_clock::now();
    auto task = [&]() -> asio::awaitable<void> {
        asio::any_io_executor ex = io.get_executor();
        ConvertOptions opts{"application/postscript", "application/vnd.hp-pclxl", false, 0};
        ConvertLimits limits;
        auto conv = co_await Converter::start(ex, body, body.size(), opts, limits);
        while (!conv->failure()) {
            auto chunk = co_await conv->next();
            if (!chunk || chunk->empty()) break;
            out += chunk->size();
        }
        failure = co_await conv->finish();
    };
    auto fut = asio::co_spawn(io, task(), asio::use_future);
    io.run();
    fut.get();
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const long grown = max_rss_kib() - before;
    WARN("256 MiB of PostScript -> " << out << " bytes of PCL XL in " << secs << " s; peak RSS grew by " << grown
                                     << " KiB");
    CHECK_FALSE(failure);
    CHECK(out > 0);
    CHECK(grown < 64 * 1024);
}
