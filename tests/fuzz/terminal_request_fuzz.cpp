// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the terminal API's request parser (protocols/terminal/request.hpp;
// clang-14 libFuzzer; with GCC it links into the corpus-replay test
// fuzz_replay.terminal_request).
//
// Input: a first byte that picks the limits (bit 0: tight limits, 8-byte fields, 3
// job ids, 128-byte bodies), then a body that is given to parse_login, parse_release
// and parse_delete, and split at its first LF into a method and a target for
// parse_route. Checks, besides "no crash, no exception": every error is of the
// pg.terminal category with a message, an offset inside the body and a field that is
// one of the request's keys (so an error never echoes input); every success keeps the
// limits (field lengths, job count, ids in 1 .. 2^53-1, each once), a login's fields
// are those of its method and hold no control character; a body is deterministic
// (parsed twice, the same answer); a route's job id is in range.
#include "protocols/terminal/request.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace pg::terminal;

void check(bool condition) {
    if (!condition) std::abort();
}

bool known_field(std::string_view f) {
    for (std::string_view k : {"", "method", "card", "pin", "username", "password", "jobs", "printer"})
        if (f == k) return true;
    return false;
}

void check_error(const ParseError& e, std::string_view body) {
    check(static_cast<bool>(e.code));
    check(&e.code.category() == &category());
    check(!e.message.empty());
    check(e.offset <= body.size());
    check(known_field(e.field));
}

void check_text(const std::string& s, const RequestLimits& l) {
    check(s.size() <= l.max_field);
    for (unsigned char c : s) check(c >= 0x20 && c != 0x7f);
}

void check_jobs(const JobsBody& b, const RequestLimits& l) {
    check(b.all ? b.jobs.empty() : !b.jobs.empty());
    check(b.jobs.size() <= l.max_jobs);
    for (std::size_t i = 0; i < b.jobs.size(); ++i) {
        check(b.jobs[i] >= 1 && b.jobs[i] <= max_job_id);
        for (std::size_t j = 0; j < i; ++j) check(b.jobs[i] != b.jobs[j]);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    RequestLimits limits;
    if (data[0] & 1) {
        limits.max_field = 8;
        limits.max_jobs = 3;
        limits.max_body = 128;
    }
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

    auto login = parse_login(body, limits);
    auto again = parse_login(body, limits);
    check(login.has_value() == again.has_value());
    if (login) {
        const LoginBody& b = *login;
        for (const std::string* s : {&b.card, &b.pin, &b.username, &b.password}) check_text(*s, limits);
        const bool card = b.method == Method::card || b.method == Method::card_pin || b.method == Method::card_password;
        const bool pin = b.method == Method::pin || b.method == Method::card_pin;
        const bool password = b.method == Method::password || b.method == Method::card_password;
        check(b.card.empty() != card);
        check(b.pin.empty() != pin);
        check(b.username.empty() != (b.method == Method::password));
        check(b.password.empty() != password);
        check(again->card == b.card && again->pin == b.pin && again->password == b.password);
    } else {
        check_error(login.error(), body);
        check(login.error().code == again.error().code && login.error().offset == again.error().offset);
    }

    auto release = parse_release(body, limits);
    if (release) {
        check_jobs(*release, limits);
        check(!release->printer.empty());
        check_text(release->printer, limits);
    } else {
        check_error(release.error(), body);
    }
    auto del = parse_delete(body, limits);
    if (del) {
        check_jobs(*del, limits);
        check(!del->all && !del->jobs.empty() && del->printer.empty());
    } else {
        check_error(del.error(), body);
    }

    const auto nl = body.find('\n');
    const std::string_view method = nl == std::string_view::npos ? std::string_view("GET") : body.substr(0, nl);
    const std::string_view target = nl == std::string_view::npos ? body : body.substr(nl + 1);
    const Route r = parse_route(method, target);
    if (r.endpoint == Endpoint::job_status || r.endpoint == Endpoint::delete_job)
        check(r.job >= 1 && r.job <= max_job_id);
    else
        check(r.job == 0);
    if (r.endpoint == Endpoint::bad_method) check(!r.allow.empty());
    return 0;
}
