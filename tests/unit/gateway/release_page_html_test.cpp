// SPDX-License-Identifier: Apache-2.0
// The release page's markup: escaping of everything that came from users, jobs or the
// configuration, the CSRF field in every form, the banners, no script.
#include <catch2/catch.hpp>

#include <string>

#include "gateway/service/release_page_html.hpp"

namespace page = pg::service::page;

namespace {
std::size_t count(const std::string& hay, std::string_view needle) {
    std::size_t n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}
}  // namespace

TEST_CASE("release page: escape", "[release_page]") {
    CHECK(page::escape("<script>alert('x')</script> & \"q\"") ==
          "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    CHECK(page::escape("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(page::escape("bad\xFFutf8") == "bad\xEF\xBF\xBDutf8");  // U+FFFD
    CHECK(page::escape("new\nline\x1b[0m") == "newline[0m");      // controls dropped
    CHECK(page::escape(std::string(1000, '<')).size() == 4000);   // long text is not cut
}

TEST_CASE("release page: every form carries its CSRF value; no script", "[release_page]") {
    page::Frame f;
    const std::string login = page::login(f, page::Notice{page::Tone::error, "x<y"}, "TOKEN\"1");
    CHECK(count(login, "<form") == 3);
    CHECK(count(login, "name=\"csrf\" value=\"TOKEN&quot;1\"") == 3);
    CHECK(login.find("x&lt;y") != std::string::npos);
    CHECK(login.find("<script") == std::string::npos);
    CHECK(login.find("name=\"viewport\"") != std::string::npos);
    CHECK(login.find("offline-banner") == std::string::npos);

    f.logged_in = true;
    f.user = "Alice <A>";
    f.csrf = "S3SS";
    pg::service::HeldJob j;
    j.id = 7;
    j.title = "<img src=x onerror=alert(1)>";
    j.queue = "q\"";
    j.format = "application/pdf";
    j.size = 12345;
    j.pages = 3;
    j.color = true;
    j.copies = 2;
    j.printers = {"hall"};
    pg::service::HeldJob none = j;
    none.id = 8;
    none.printers.clear();
    const std::string jobs = page::jobs(f, {j, none}, {{"hall", "10.0.0.5:631"}}, std::nullopt);
    CHECK(count(jobs, "<form") == 2);  // log out, actions
    CHECK(count(jobs, "name=\"csrf\" value=\"S3SS\"") == 2);
    CHECK(jobs.find("<img") == std::string::npos);
    CHECK(jobs.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
    CHECK(jobs.find("Alice &lt;A&gt;") != std::string::npos);
    CHECK(jobs.find("3 pages") != std::string::npos);
    CHECK(jobs.find("2 copies") != std::string::npos);
    CHECK(jobs.find("colour") != std::string::npos);
    CHECK(jobs.find("12.3 kB") != std::string::npos);
    CHECK(jobs.find("Can print on: hall") != std::string::npos);
    CHECK(jobs.find("No printer here can take this job (application/pdf)") != std::string::npos);
    CHECK(jobs.find("<option value=\"hall\">hall (10.0.0.5:631)</option>") != std::string::npos);
    CHECK(jobs.find("<script") == std::string::npos);
}

TEST_CASE("release page: banners", "[release_page]") {
    page::Frame f;
    f.server_unreachable = true;
    CHECK(page::login(f, std::nullopt, "t").find("id=\"offline-banner\"") != std::string::npos);
    f.logged_in = true;
    f.logged_in_offline = true;
    const std::string s = page::status(f, {});
    CHECK(s.find("id=\"offline-banner\"") != std::string::npos);
    CHECK(s.find("You are logged in offline") != std::string::npos);
}
