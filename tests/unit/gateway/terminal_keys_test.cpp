// SPDX-License-Identifier: Apache-2.0
// Terminal API keys: the key file's rules (one line, length, characters, mode 0600),
// identify() by key, and load() refusing what cannot be used without quoting a key.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/service/terminal_keys.hpp"

using pg::service::TerminalKeys;

namespace {

const std::string key_a = "a3f1c9d2e8b74a6f90c1d2e3f4a5b6c7";        // 32 characters
const std::string key_b = "Zq9-vX_2kL.7mN~pR4sT8uW1yB3cD5eF6gH0";  // 36

struct Dir {
    std::filesystem::path path;
    Dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "pg-keys-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~Dir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
        const auto p = path / name;
        std::ofstream(p, std::ios::binary) << text;
        ::chmod(p.c_str(), mode);
        return p.string();
    }
};

pg::conf::Config with_terminals(std::initializer_list<std::pair<std::string, std::string>> files) {
    pg::conf::Config c;
    for (const auto& [name, file] : files) {
        pg::conf::TerminalConfig t;
        t.name = name;
        t.key_file = file;
        c.terminals.emplace(name, t);
    }
    return c;
}

}  // namespace

TEST_CASE("terminal keys: the key file's text", "[terminal-keys]") {
    std::string why;
    CHECK(TerminalKeys::key_of(key_a, why) == key_a);
    CHECK(TerminalKeys::key_of(key_a + "\n", why) == key_a);
    CHECK(TerminalKeys::key_of(key_a + "\r\n", why) == key_a);
    CHECK_FALSE(TerminalKeys::key_of(key_a.substr(0, 31), why));
    CHECK(why.find("31 characters") != std::string::npos);
    CHECK(why.find(key_a.substr(0, 8)) == std::string::npos);
    CHECK_FALSE(TerminalKeys::key_of("", why));
    CHECK_FALSE(TerminalKeys::key_of(key_a + "\n" + key_b + "\n", why));
    CHECK(why.find("more than one line") != std::string::npos);
    CHECK_FALSE(TerminalKeys::key_of(key_a + " x", why));
    CHECK_FALSE(TerminalKeys::key_of(key_a + "\t", why));
    CHECK_FALSE(TerminalKeys::key_of(key_a + "\xc3\xa9", why));
    CHECK_FALSE(TerminalKeys::key_of(std::string(513, 'k'), why));
    CHECK(TerminalKeys::key_of(std::string(512, 'k'), why));
}

TEST_CASE("terminal keys: identify", "[terminal-keys]") {
    TerminalKeys keys({{"hall-1", key_a}, {"hall-2", key_b}});
    CHECK(keys.size() == 2);
    CHECK(keys.identify(key_a) == "hall-1");
    CHECK(keys.identify(key_b) == "hall-2");
    CHECK_FALSE(keys.identify(""));
    CHECK_FALSE(keys.identify(key_a.substr(0, 31)));
    CHECK_FALSE(keys.identify(key_a + "x"));
    std::string flipped = key_a;
    flipped[31] = 'X';
    CHECK_FALSE(keys.identify(flipped));
    CHECK_FALSE(keys.identify(std::string(100000, 'a')));
    CHECK_FALSE(TerminalKeys({}).identify(key_a));
}

TEST_CASE("terminal keys: load", "[terminal-keys]") {
    Dir d;
    std::string error;
    SECTION("good files") {
        auto c = with_terminals({{"hall-1", d.write("a.key", key_a + "\n")}, {"hall-2", d.write("b.key", key_b)}});
        auto keys = TerminalKeys::load(c, error);
        REQUIRE(keys);
        CHECK(keys->identify(key_b) == "hall-2");
        CHECK(TerminalKeys::load(pg::conf::Config{}, error)->size() == 0);
    }
    SECTION("group or others may read it") {
        for (mode_t mode : {0640, 0604, 0660, 0602}) {
            auto c = with_terminals({{"hall-1", d.write("a.key", key_a, mode)}});
            CHECK_FALSE(TerminalKeys::load(c, error));
            CHECK(error.find("terminals.hall-1.key_file") != std::string::npos);
            CHECK(error.find("chmod 600") != std::string::npos);
            CHECK(error.find(key_a) == std::string::npos);
        }
        auto ok = with_terminals({{"hall-1", d.write("a.key", key_a, 0400)}});
        CHECK(TerminalKeys::load(ok, error));
    }
    SECTION("a short key") {
        auto c = with_terminals({{"hall-1", d.write("a.key", "short-key\n")}});
        CHECK_FALSE(TerminalKeys::load(c, error));
        CHECK(error.find("at least 32") != std::string::npos);
        CHECK(error.find("short-key") == std::string::npos);
    }
    SECTION("missing, a directory, two alike") {
        CHECK_FALSE(TerminalKeys::load(with_terminals({{"t", (d.path / "none").string()}}), error));
        CHECK(error.find("cannot read") != std::string::npos);
        std::filesystem::create_directory(d.path / "dir");
        ::chmod((d.path / "dir").c_str(), 0700);
        CHECK_FALSE(TerminalKeys::load(with_terminals({{"t", (d.path / "dir").string()}}), error));
        auto same = with_terminals({{"t1", d.write("a.key", key_a)}, {"t2", d.write("b.key", key_a + "\n")}});
        CHECK_FALSE(TerminalKeys::load(same, error));
        CHECK(error.find("the same API key") != std::string::npos);
        CHECK(error.find(key_a) == std::string::npos);
    }
}
