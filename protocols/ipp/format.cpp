// SPDX-License-Identifier: Apache-2.0
#include "protocols/ipp/format.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace pg::ipp {

namespace {

bool starts(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

}  // namespace

std::string_view detect_format(std::span<const std::byte> head) {
    std::string_view s(reinterpret_cast<const char*>(head.data()), std::min<std::size_t>(head.size(), 512));
    if (starts(s, "\x1b%-12345X")) {
        // PJL job: ENTER LANGUAGE = PDF | POSTSCRIPT | PCL | PCLXL
        std::string u = upper(s);
        auto at = u.find("ENTER LANGUAGE");
        if (at != std::string::npos) {
            auto eq = u.find('=', at);
            std::string_view lang = eq == std::string::npos ? "" : std::string_view(u).substr(eq + 1);
            while (!lang.empty() && lang.front() == ' ') lang.remove_prefix(1);
            if (starts(lang, "PDF")) return "application/pdf";
            if (starts(lang, "POSTSCRIPT")) return "application/postscript";
            if (starts(lang, "PCLXL")) return "application/vnd.hp-pclxl";
            if (starts(lang, "PCL")) return "application/vnd.hp-pcl";
        }
        return "application/vnd.hp-pcl";
    }
    if (starts(s, "%PDF-")) return "application/pdf";
    if (starts(s, "%!") || starts(s, "\x04%!")) return "application/postscript";
    if (starts(s, "\xff\xd8\xff")) return "image/jpeg";
    if (starts(s, "RaS2")) return "image/pwg-raster";
    if (starts(s, "UNIRAST")) return "image/urf";
    if (starts(s, "\x89PNG\r\n\x1a\n")) return "image/png";
    return "application/octet-stream";
}

}  // namespace pg::ipp
