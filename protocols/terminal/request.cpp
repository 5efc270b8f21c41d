// SPDX-License-Identifier: Apache-2.0
// The terminal API's routes and JSON bodies (see request.hpp for the rules).
#include "protocols/terminal/request.hpp"

#include <string.h>  // explicit_bzero

#include <array>
#include <optional>
#include <span>
#include <utility>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace pg::terminal {

namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.terminal"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::ok: return "success";
        case errc::too_large: return "request body too large";
        case errc::bad_json: return "not a JSON document";
        case errc::not_utf8: return "not valid UTF-8";
        case errc::not_object: return "not a JSON object";
        case errc::duplicate_key: return "duplicate key";
        case errc::unknown_field: return "unknown field";
        case errc::wrong_type: return "wrong type";
        case errc::missing_field: return "missing field";
        case errc::field_too_long: return "field too long";
        case errc::bad_value: return "bad value";
        case errc::too_many_jobs: return "too many job ids";
        case errc::duplicate_job: return "job id listed twice";
        case errc::not_used: return "field not used by this login method";
        }
        return "unknown error";
    }
};

ParseError make(errc code, std::string field, std::string message, std::size_t offset = 0) {
    return ParseError{make_error_code(code), offset, std::move(field), std::move(message)};
}

// What a body may hold: a key of the request and its type.
enum class Kind { string, jobs };
struct FieldSpec {
    std::string_view name;
    Kind kind;
};

constexpr std::array<FieldSpec, 5> login_fields{{{"method", Kind::string},
                                                 {"card", Kind::string},
                                                 {"pin", Kind::string},
                                                 {"username", Kind::string},
                                                 {"password", Kind::string}}};
constexpr std::array<FieldSpec, 2> release_fields{{{"jobs", Kind::jobs}, {"printer", Kind::string}}};
constexpr std::array<FieldSpec, 1> delete_fields{{{"jobs", Kind::jobs}}};

// A flat object's values as the handler collected them. At most 8 fields.
struct Collected {
    static constexpr std::size_t max_fields = 8;
    std::array<std::string, max_fields> text{};
    std::array<bool, max_fields> seen{};
    std::vector<std::uint64_t> jobs;
    bool jobs_all = false;

    Collected() = default;
    Collected(const Collected&) = delete;
    Collected& operator=(const Collected&) = delete;
    ~Collected() {
        for (auto& t : text) wipe_string(t);
    }
};

// The SAX handler: enforces the flat-object rules and fills a Collected. A rule
// broken sets `error` and stops the parser (returns false with an error code).
class Handler {
public:
    // Boost's own caps, above ours so that ours give the precise error.
    static constexpr std::size_t max_object_size = 64;
    static constexpr std::size_t max_array_size = 4096;
    static constexpr std::size_t max_key_size = 64;
    static constexpr std::size_t max_string_size = 64 * 1024;

    Handler(std::span<const FieldSpec> fields, const RequestLimits& limits, Collected& out)
        : fields_(fields), limits_(limits), out_(out) {}
    ~Handler() { wipe_string(part_); }

    std::optional<ParseError> error;

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code& ec) {
        if (depth_ == 0) {
            depth_ = 1;
            return true;
        }
        return fail(ec, errc::wrong_type, wrong_type_message());
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        depth_ = 0;
        return true;
    }
    bool on_array_begin(boost::system::error_code& ec) {
        if (depth_ == 0) return fail(ec, errc::not_object, "the body must be a JSON object");
        if (in_array_) return fail(ec, errc::wrong_type, "'jobs' must be a list of job ids or \"all\"");
        if (current_kind() != Kind::jobs) return fail(ec, errc::wrong_type, wrong_type_message());
        in_array_ = true;
        return true;
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        in_array_ = false;
        return true;
    }

    bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        part_.append(s.data(), s.size());
        return true;
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
        part_.append(s.data(), s.size());
        std::string key = std::move(part_);
        part_.clear();
        current_ = fields_.size();
        for (std::size_t i = 0; i < fields_.size(); ++i)
            if (fields_[i].name == key) current_ = i;
        if (current_ == fields_.size()) return fail(ec, errc::unknown_field, "unknown field");
        if (out_.seen[current_]) return fail(ec, errc::duplicate_key, "field given twice");
        out_.seen[current_] = true;
        return true;
    }

    bool on_string_part(boost::json::string_view s, std::size_t n, boost::system::error_code& ec) {
        if (n > limits_.max_field) return too_long(ec);
        part_.append(s.data(), s.size());
        return true;
    }
    bool on_string(boost::json::string_view s, std::size_t n, boost::system::error_code& ec) {
        if (depth_ == 0) return fail(ec, errc::not_object, "the body must be a JSON object");
        if (n > limits_.max_field) return too_long(ec);
        part_.append(s.data(), s.size());
        const FieldSpec& f = fields_[current_];
        if (in_array_) return fail(ec, errc::wrong_type, "job ids are whole numbers, not strings");
        if (f.kind == Kind::jobs) {
            const bool all = part_ == "all";
            wipe_string(part_);
            if (!all) return fail(ec, errc::bad_value, "'jobs' must be a list of job ids or \"all\"");
            out_.jobs_all = true;
            return true;
        }
        for (unsigned char c : part_)
            if (c < 0x20 || c == 0x7f) {
                wipe_string(part_);
                return fail(ec, errc::bad_value, "control characters are not allowed");
            }
        out_.text[current_].swap(part_);
        wipe_string(part_);
        return true;
    }

    bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t i, boost::json::string_view, boost::system::error_code& ec) {
        if (i < 1) return in_array_ ? fail(ec, errc::bad_value, "job ids start at 1") : number(ec);
        return on_uint64(static_cast<std::uint64_t>(i), {}, ec);
    }
    bool on_uint64(std::uint64_t u, boost::json::string_view, boost::system::error_code& ec) {
        if (!in_array_) return number(ec);
        if (u < 1 || u > max_job_id) return fail(ec, errc::bad_value, "job id out of range");
        if (out_.jobs.size() >= limits_.max_jobs)
            return fail(ec, errc::too_many_jobs, "at most " + std::to_string(limits_.max_jobs) + " job ids");
        for (std::uint64_t j : out_.jobs)
            if (j == u) return fail(ec, errc::duplicate_job, "job " + std::to_string(u) + " listed twice");
        out_.jobs.push_back(u);
        return true;
    }
    bool on_double(double, boost::json::string_view, boost::system::error_code& ec) {
        return in_array_ ? fail(ec, errc::bad_value, "job ids are whole numbers") : number(ec);
    }
    bool on_bool(bool, boost::system::error_code& ec) { return scalar(ec); }
    bool on_null(boost::system::error_code& ec) { return scalar(ec); }
    bool on_comment_part(boost::json::string_view, boost::system::error_code& ec) { return bad_json(ec); }
    bool on_comment(boost::json::string_view, boost::system::error_code& ec) { return bad_json(ec); }

    std::string_view current_name() const { return current_ < fields_.size() ? fields_[current_].name : ""; }

private:
    Kind current_kind() const { return current_ < fields_.size() ? fields_[current_].kind : Kind::string; }
    std::string wrong_type_message() const {
        if (current_kind() == Kind::jobs) return "'jobs' must be a list of job ids or \"all\"";
        return "'" + std::string(current_name()) + "' must be a string";
    }
    bool fail(boost::system::error_code& ec, errc code, std::string message) {
        wipe_string(part_);
        error = make(code, std::string(current_name()), std::move(message));
        ec = make_error_code(code);
        return false;
    }
    bool too_long(boost::system::error_code& ec) {
        return fail(ec, errc::field_too_long, "longer than " + std::to_string(limits_.max_field) + " bytes");
    }
    bool number(boost::system::error_code& ec) {
        if (depth_ == 0) return fail(ec, errc::not_object, "the body must be a JSON object");
        return fail(ec, errc::wrong_type, wrong_type_message());
    }
    bool scalar(boost::system::error_code& ec) {
        if (depth_ == 0) return fail(ec, errc::not_object, "the body must be a JSON object");
        if (in_array_) return fail(ec, errc::bad_value, "job ids are whole numbers");
        return fail(ec, errc::wrong_type, wrong_type_message());
    }
    bool bad_json(boost::system::error_code& ec) { return fail(ec, errc::bad_json, "comments are not JSON"); }

    std::span<const FieldSpec> fields_;
    const RequestLimits& limits_;
    Collected& out_;
    std::string part_;
    std::size_t current_ = 0;
    int depth_ = 0;
    bool in_array_ = false;
};

// Runs the SAX parser over the whole body.
std::optional<ParseError> parse_flat(std::string_view body, std::span<const FieldSpec> fields,
                                     const RequestLimits& limits, Collected& out) {
    if (body.size() > limits.max_body)
        return make(errc::too_large, {}, "longer than " + std::to_string(limits.max_body) + " bytes");
    boost::json::parse_options opt;
    opt.max_depth = 3;
    boost::json::basic_parser<Handler> p(opt, fields, limits, out);
    boost::system::error_code ec;
    const std::size_t n = p.write_some(false, body.data(), body.size(), ec);
    if (p.handler().error) {
        auto e = std::move(*p.handler().error);
        e.offset = n;
        return e;
    }
    if (!ec) {
        // write_some stops after the value: only white space may follow it.
        if (body.substr(n).find_first_not_of(" \t\r\n") != std::string_view::npos)
            return make(errc::bad_json, {}, "more than one JSON value", n);
        return std::nullopt;
    }
    {
        namespace je = boost::json;
        if (ec == je::error::syntax && n < body.size() && static_cast<unsigned char>(body[n]) >= 0x80)
            return make(errc::not_utf8, {}, "not valid UTF-8", n);
        // A high surrogate escape (\uD800 - \uDBFF) not followed by a low one.
        if (ec == je::error::syntax && n >= 6 && body.substr(n - 6, 2) == "\\u" &&
            (body[n - 4] == 'd' || body[n - 4] == 'D') && std::string_view("89abAB").find(body[n - 3]) != std::string_view::npos)
            return make(errc::not_utf8, {}, "not valid UTF-8", n);
        if (ec == je::error::illegal_leading_surrogate || ec == je::error::illegal_trailing_surrogate)
            return make(errc::not_utf8, {}, "not valid UTF-8", n);
        if (ec == je::error::too_deep) return make(errc::wrong_type, {}, "nested values are not allowed", n);
        return make(errc::bad_json, {}, "not a JSON document", n);
    }
}

template <std::size_t N>
std::size_t index_of(const std::array<FieldSpec, N>& fields, std::string_view name) {
    for (std::size_t i = 0; i < N; ++i)
        if (fields[i].name == name) return i;
    return N;
}

}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category instance;
    return instance;
}

void throw_exception_from_error(const ParseError& e, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

void wipe_string(std::string& s) noexcept {
    if (s.capacity() > 0) explicit_bzero(s.data(), s.capacity());
    s.clear();
}

std::string_view to_string(Method m) {
    switch (m) {
    case Method::card: return "card";
    case Method::pin: return "pin";
    case Method::password: return "password";
    case Method::card_pin: return "card_pin";
    case Method::card_password: return "card_password";
    }
    return "pin";
}

LoginBody::LoginBody(LoginBody&& other) noexcept : method(other.method) {
    card.swap(other.card);
    pin.swap(other.pin);
    username.swap(other.username);
    password.swap(other.password);
    other.wipe();
}

LoginBody& LoginBody::operator=(LoginBody&& other) noexcept {
    if (this != &other) {
        wipe();
        method = other.method;
        card.swap(other.card);
        pin.swap(other.pin);
        username.swap(other.username);
        password.swap(other.password);
        other.wipe();
    }
    return *this;
}

void LoginBody::wipe() noexcept {
    wipe_string(card);
    wipe_string(pin);
    wipe_string(username);
    wipe_string(password);
}

ParseResult<LoginBody> parse_login(std::string_view body, const RequestLimits& limits) {
    Collected c;
    if (auto e = parse_flat(body, login_fields, limits, c)) return *e;
    const auto at = [&](std::string_view name) -> std::string& { return c.text[index_of(login_fields, name)]; };
    const auto given = [&](std::string_view name) { return c.seen[index_of(login_fields, name)]; };
    if (at("method").empty()) return make(errc::missing_field, "method", "a login method is required");
    LoginBody out;
    static constexpr std::array<std::pair<std::string_view, Method>, 5> methods{{{"card", Method::card},
                                                                                 {"pin", Method::pin},
                                                                                 {"password", Method::password},
                                                                                 {"card_pin", Method::card_pin},
                                                                                 {"card_password", Method::card_password}}};
    bool known = false;
    for (const auto& [name, m] : methods)
        if (at("method") == name) {
            out.method = m;
            known = true;
        }
    if (!known)
        return make(errc::bad_value, "method", "method must be card, pin, password, card_pin or card_password");
    const bool card = out.method == Method::card || out.method == Method::card_pin || out.method == Method::card_password;
    const bool pin = out.method == Method::pin || out.method == Method::card_pin;
    const bool user = out.method == Method::password;
    const bool password = out.method == Method::password || out.method == Method::card_password;
    const std::array<std::pair<std::string_view, bool>, 4> need{
        {{"card", card}, {"pin", pin}, {"username", user}, {"password", password}}};
    for (const auto& [name, wanted] : need) {
        if (wanted && at(name).empty())
            return make(errc::missing_field, std::string(name),
                        "method " + std::string(to_string(out.method)) + " needs '" + std::string(name) + "'");
        if (!wanted && given(name))
            return make(errc::not_used, std::string(name),
                        "method " + std::string(to_string(out.method)) + " does not use '" + std::string(name) + "'");
    }
    out.card.swap(at("card"));
    out.pin.swap(at("pin"));
    out.username.swap(at("username"));
    out.password.swap(at("password"));
    return out;
}

ParseResult<JobsBody> parse_release(std::string_view body, const RequestLimits& limits) {
    Collected c;
    if (auto e = parse_flat(body, release_fields, limits, c)) return *e;
    if (!c.seen[0]) return make(errc::missing_field, "jobs", "'jobs' is required: a list of job ids or \"all\"");
    if (c.text[1].empty()) return make(errc::missing_field, "printer", "'printer' is required");
    JobsBody out;
    out.all = c.jobs_all;
    out.jobs = std::move(c.jobs);
    out.printer = std::move(c.text[1]);
    if (!out.all && out.jobs.empty()) return make(errc::missing_field, "jobs", "no job id given");
    return out;
}

ParseResult<JobsBody> parse_delete(std::string_view body, const RequestLimits& limits) {
    Collected c;
    if (auto e = parse_flat(body, delete_fields, limits, c)) return *e;
    if (!c.seen[0]) return make(errc::missing_field, "jobs", "'jobs' is required: a list of job ids");
    if (c.jobs_all) return make(errc::bad_value, "jobs", "delete takes job ids, not \"all\"");
    if (c.jobs.empty()) return make(errc::missing_field, "jobs", "no job id given");
    JobsBody out;
    out.jobs = std::move(c.jobs);
    return out;
}

namespace {

// "123" -> 123 within 1 .. max_job_id; no sign, no leading zero, digits only.
std::optional<std::uint64_t> job_id_of(std::string_view s) {
    if (s.empty() || s.size() > 16 || s[0] == '0') return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > max_job_id) return std::nullopt;
    return v;
}

Route with_method(std::string_view method, std::string_view want, Endpoint e, std::string_view allow,
                  std::uint64_t job = 0) {
    if (method == want) return {e, job, {}};
    return {Endpoint::bad_method, 0, allow};
}

}  // namespace

Route parse_route(std::string_view method, std::string_view target) {
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (target.size() > 1 && target.back() == '/') target.remove_suffix(1);
    constexpr std::string_view prefix = "/api/v1/";
    if (target.substr(0, prefix.size()) != prefix) return {};
    const std::string_view rest = target.substr(prefix.size());
    if (rest == "sessions") return with_method(method, "POST", Endpoint::login, "POST");
    if (rest == "sessions/current") return with_method(method, "DELETE", Endpoint::logout, "DELETE");
    if (rest == "printers") return with_method(method, "GET", Endpoint::list_printers, "GET");
    if (rest == "jobs") return with_method(method, "GET", Endpoint::list_jobs, "GET");
    if (rest == "jobs/release") return with_method(method, "POST", Endpoint::release_jobs, "POST");
    if (rest == "jobs/delete") return with_method(method, "POST", Endpoint::delete_jobs, "POST");
    if (rest.substr(0, 5) == "jobs/") {
        auto id = job_id_of(rest.substr(5));
        if (!id) return {};
        if (method == "GET") return {Endpoint::job_status, *id, {}};
        if (method == "DELETE") return {Endpoint::delete_job, *id, {}};
        return {Endpoint::bad_method, 0, "GET, DELETE"};
    }
    return {};
}

}  // namespace pg::terminal
