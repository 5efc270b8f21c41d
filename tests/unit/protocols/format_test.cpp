// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <string>

#include "protocols/ipp/format.hpp"

namespace {
std::string_view detect(const std::string& s) {
    return pg::ipp::detect_format({reinterpret_cast<const std::byte*>(s.data()), s.size()});
}
}  // namespace

TEST_CASE("detect_format: unknown, empty and short inputs", "[format]") {
    CHECK(detect("") == "application/octet-stream");
    CHECK(detect("%") == "application/octet-stream");
    CHECK(detect("hello world") == "application/octet-stream");
    CHECK(detect(std::string("\xff\xd8", 2)) == "application/octet-stream");
}

TEST_CASE("detect_format: magic numbers", "[format]") {
    CHECK(detect("%PDF-1.7\n") == "application/pdf");
    CHECK(detect("%!PS-Adobe-3.0\n") == "application/postscript");
    CHECK(detect(std::string("\x04%!PS", 5)) == "application/postscript");
    CHECK(detect(std::string("\xff\xd8\xff\xe0", 4)) == "image/jpeg");
    CHECK(detect("RaS2PwgRaster") == "image/pwg-raster");
    CHECK(detect(std::string("UNIRAST\0", 8)) == "image/urf");
}

TEST_CASE("detect_format: PJL wrappers name their language", "[format]") {
    CHECK(detect("\x1b%-12345X@PJL JOB NAME=\"x\"\r\n@PJL ENTER LANGUAGE = PDF\r\n%PDF-1.4") == "application/pdf");
    CHECK(detect("\x1b%-12345X@PJL enter language=postscript\n%!") == "application/postscript");
    CHECK(detect("\x1b%-12345X@PJL ENTER LANGUAGE = PCLXL\n") == "application/vnd.hp-pclxl");
    CHECK(detect("\x1b%-12345X@PJL SET RESOLUTION=600\n") == "application/vnd.hp-pcl");
}
