// SPDX-License-Identifier: Apache-2.0
// Ghostscript conversion in a sandboxed child. See convert.hpp (design note).
#include "gateway/output/convert.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "conf/config.hpp"

namespace pg::output {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kPrime = 4 * 1024 * 1024;  // output held back until gs proves it works

struct Device {
    std::string_view mime;
    std::string_view color_device;
    std::string_view mono_device;
    bool raster;
};

constexpr Device kDevices[] = {
    {"application/postscript", "ps2write", "ps2write", false},
    {"application/pdf", "pdfwrite", "pdfwrite", false},
    {"application/vnd.hp-pcl", "ljet4", "ljet4", true},
    {"application/vnd.hp-pclxl", "pxlcolor", "pxlmono", true},
    {"image/pwg-raster", "pwgraster", "pwgraster", true},
};

const Device* device_of(std::string_view mime) {
    for (const auto& d : kDevices)
        if (conf::mime_equal(d.mime, mime)) return &d;
    return nullptr;
}

void write_err(const char* msg) {
    // Async-signal-safe: used between fork and exec.
    [[maybe_unused]] auto n = ::write(2, msg, std::strlen(msg));
}

bool write_file(const char* path, const char* text) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const auto len = static_cast<ssize_t>(std::strlen(text));
    const bool ok = ::write(fd, text, static_cast<std::size_t>(len)) == len;
    ::close(fd);
    return ok;
}

bool is_tmpfs(const std::string& path) {
    struct statfs sf {};
    return ::statfs(path.c_str(), &sf) == 0 && static_cast<unsigned long>(sf.f_type) == TMPFS_MAGIC;
}

std::atomic<unsigned> scratch_counter{0};

}  // namespace

std::optional<std::vector<std::string>> ghostscript_args(const ConvertOptions& opts, std::string_view input) {
    const Device* d = device_of(opts.target_format);
    if (d == nullptr) return std::nullopt;
    std::vector<std::string> a = {"-dSAFER", "-dBATCH", "-dNOPAUSE", "-q"};
    // A damaged PDF is an error (exit 1), not a silently empty or partial job.
    if (opts.source_format == "application/pdf") a.push_back("-dPDFSTOPONERROR");
    a.push_back(fmt::format("-sDEVICE={}", opts.color ? d->color_device : d->mono_device));
    if (d->raster) {
        const int dpi = opts.resolution > 0 ? opts.resolution : 300;
        a.push_back(fmt::format("-r{}", dpi));
        a.push_back("-sBandListStorage=memory");  // no clist scratch files
        if (d->color_device == "pwgraster") {
            // CUPS cupsColorSpace: 19 sRGB, 18 sGray (cups/raster.h).
            a.push_back(opts.color ? "-dcupsColorSpace=19" : "-dcupsColorSpace=18");
            a.push_back("-dcupsBitsPerColor=8");
        }
    }
    // PostScript `print` and friends go to stderr: stdout carries only the output.
    a.push_back("-sstdout=%stderr");
    a.push_back("-sOutputFile=-");
    a.push_back(std::string(input));
    return a;
}

bool needs_scratch(std::string_view target_format) {
    const Device* d = device_of(target_format);
    return d != nullptr && !d->raster;
}

struct Converter::State {
    asio::any_io_executor ex;
    ConvertLimits limits;
    asio::posix::stream_descriptor out, err, in;
    asio::steady_timer deadline, changed;
    pid_t pid = -1;
    bool exited = true;        // reaped (true until a child is started)
    int status = 0;            // waitpid status
    bool feeding = false;      // the PostScript feeder runs
    bool err_done = true;      // stderr reader ended
    bool timed_out = false;
    bool stopped = false;      // finish() or the destructor killed it
    std::optional<std::string> input_error;
    std::optional<std::string> failure;
    std::string err_text;
    bool err_truncated = false;
    std::string scratch;       // "" = none

    explicit State(asio::any_io_executor e, ConvertLimits l)
        : ex(e), limits(std::move(l)), out(e), err(e), in(e), deadline(e), changed(e) {
        changed.expires_at(asio::steady_timer::time_point::max());
    }
    ~State() { kill_and_reap(); remove_scratch(); }

    void notify() { changed.cancel(); }

    void kill_group() {
        if (pid > 0 && !exited) ::kill(-pid, SIGKILL);
    }
    void kill_and_reap() {
        if (pid <= 0 || exited) return;
        ::kill(-pid, SIGKILL);
        int st = 0;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        exited = true;
        status = st;
    }
    void remove_scratch() {
        if (scratch.empty()) return;
        std::error_code ec;
        std::filesystem::remove_all(scratch, ec);
        scratch.clear();
    }
    void fail(std::string why) {
        if (!failure) failure = std::move(why);
    }
    // Called once the child is reaped: what its exit means.
    void judge(std::uint64_t bytes_out) {
        if (timed_out)
            fail(fmt::format("Ghostscript did not finish within {} s and was killed",
                             std::chrono::duration_cast<std::chrono::seconds>(limits.deadline).count()));
        else if (input_error) fail(*input_error);
        else if (stopped && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) fail("the conversion was stopped");
        else if (WIFSIGNALED(status))
            fail(WTERMSIG(status) == SIGXCPU
                     ? fmt::format("Ghostscript used more than {} s of CPU and was killed", limits.cpu_seconds)
                     : fmt::format("Ghostscript was killed by signal {}", WTERMSIG(status)));
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 126) fail("Ghostscript could not be sandboxed");
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            fail("Ghostscript (" + limits.gs_path + ") could not be run");
        else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            fail(fmt::format("Ghostscript could not convert the document (exit status {})", WEXITSTATUS(status)));
        else if (bytes_out == 0) fail("Ghostscript wrote nothing");
    }
};

namespace {

using StatePtr = std::shared_ptr<Converter::State>;

// Waits for the child to exit: its pidfd becomes readable, or (no pidfd) polling.
asio::awaitable<void> reap(StatePtr st) {
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, st->pid, 0));
    if (pidfd >= 0) {
        asio::posix::stream_descriptor d(st->ex, pidfd);
        co_await d.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
    }
    asio::steady_timer poll(st->ex);
    for (;;) {
        if (st->exited) break;  // the destructor reaped it
        int status = 0;
        const pid_t r = ::waitpid(st->pid, &status, WNOHANG);
        if (r == st->pid) {
            st->exited = true;
            st->status = status;
            break;
        }
        if (r < 0 && errno != EINTR) {  // ECHILD: cannot happen unless someone else reaped it
            st->exited = true;
            st->status = 0xff00;  // exit status 255
            break;
        }
        poll.expires_after(20ms);
        co_await poll.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    st->deadline.cancel();
    st->notify();
}

// Keeps the first max_stderr bytes of gs's stderr; reads the rest to keep gs going.
asio::awaitable<void> read_stderr(StatePtr st) {
    std::array<char, 4096> b;
    for (;;) {
        auto [ec, n] = co_await st->err.async_read_some(asio::buffer(b), asio::as_tuple(asio::use_awaitable));
        const std::size_t room = st->limits.max_stderr - std::min(st->limits.max_stderr, st->err_text.size());
        st->err_text.append(b.data(), std::min(n, room));
        if (n > room) st->err_truncated = true;
        if (ec) break;
    }
    st->err_done = true;
    st->notify();
}

// PostScript: the spooled document into gs's stdin, as it comes.
asio::awaitable<void> feed(StatePtr st, net::BodySource& input, std::uint64_t size) {
    std::uint64_t fed = 0;
    bool whole = false;  // the input ended (not gs, not finish())
    for (;;) {
        auto chunk = co_await input.next();
        if (!chunk) {
            st->input_error = "reading the spooled document failed: " + chunk.error().message();
            break;
        }
        if (chunk->empty()) {
            whole = true;
            break;
        }
        fed += chunk->size();
        if (!st->in.is_open() || st->stopped) break;  // finish() closed it
        auto [ec, n] = co_await asio::async_write(st->in, asio::buffer(chunk->data(), chunk->size()),
                                                  asio::as_tuple(asio::use_awaitable));
        if (ec) break;  // gs stopped reading (exited, or was killed)
    }
    if (whole && fed != size)
        st->input_error = fmt::format("the spooled document has {} bytes, not {}", fed, size);
    if (st->input_error) st->kill_group();  // never print half a document as if it were whole
    boost::system::error_code ignored;
    st->in.close(ignored);
    st->feeding = false;
    st->notify();
}

asio::awaitable<void> wait_done(StatePtr st) {
    while (!(st->exited && !st->feeding && st->err_done)) {
        st->changed.expires_at(asio::steady_timer::time_point::max());
        co_await st->changed.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

// The PDF into a sealed memfd; -1 and `why` on failure.
asio::awaitable<int> pdf_memfd(net::BodySource& input, std::uint64_t size, std::uint64_t max, std::string& why) {
    if (size > max) {
        why = fmt::format("the PDF is larger than the conversion limit of {} MiB", max >> 20);
        co_return -1;
    }
    const int fd = ::memfd_create("printgate-pdf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        why = std::string("memfd_create: ") + std::strerror(errno);
        co_return -1;
    }
    std::uint64_t got = 0;
    for (;;) {
        auto chunk = co_await input.next();
        if (!chunk) {
            why = "reading the spooled document failed: " + chunk.error().message();
            break;
        }
        if (chunk->empty()) break;
        if (chunk->size() > max - std::min(max, got)) {
            why = fmt::format("the PDF is larger than the conversion limit of {} MiB", max >> 20);
            break;
        }
        const char* p = reinterpret_cast<const char*>(chunk->data());
        std::size_t left = chunk->size();
        while (left > 0) {
            const ssize_t n = ::write(fd, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                why = std::string("writing the PDF to memory failed: ") + std::strerror(errno);
                break;
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
        if (!why.empty()) break;
        got += chunk->size();
    }
    if (why.empty() && got != size) why = fmt::format("the spooled document has {} bytes, not {}", got, size);
    if (why.empty() && ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
        why = std::string("sealing the PDF failed: ") + std::strerror(errno);
    if (why.empty() && ::lseek(fd, 0, SEEK_SET) != 0) why = std::string("lseek: ") + std::strerror(errno);
    if (!why.empty()) {
        ::close(fd);
        co_return -1;
    }
    co_return fd;
}

struct Pipe {
    int r = -1, w = -1;
    bool open() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return false;
        r = fds[0];
        w = fds[1];
        return true;
    }
    void close_all() {
        if (r >= 0) ::close(r);
        if (w >= 0) ::close(w);
        r = w = -1;
    }
};

// Between fork and exec: only async-signal-safe calls. Never returns.
[[noreturn]] void child(int in_fd, int out_fd, int err_fd, int pdf_fd, const char* path, char* const* argv,
                        char* const* envp, const char* dir, const rlimit (&limits)[5], const char* uid_map,
                        const char* gid_map, pid_t parent) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2}) signal(sig, SIG_DFL);
    signal(SIGXFSZ, SIG_IGN);
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
    // A private network namespace when permitted; without one -dSAFER still holds.
    if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
        if (!write_file("/proc/self/setgroups", "deny") || !write_file("/proc/self/uid_map", uid_map) ||
            !write_file("/proc/self/gid_map", gid_map)) {
            write_err("printgate: cannot map ids in the user namespace\n");
            _exit(126);
        }
    }
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
    if (pdf_fd >= 0 && dup2(pdf_fd, 3) < 0) _exit(126);
    const unsigned first = pdf_fd >= 0 ? 4 : 3;
    if (syscall(SYS_close_range, first, ~0U, 0) != 0)
        for (int fd = static_cast<int>(first); fd < 65536; ++fd) close(fd);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        write_err("printgate: PR_SET_NO_NEW_PRIVS failed\n");
        _exit(126);
    }
    const int which[5] = {RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE};
    for (int i = 0; i < 5; ++i) {
        if (setrlimit(which[i], &limits[i]) != 0) {
            write_err("printgate: setrlimit failed\n");
            _exit(126);
        }
    }
    if (chdir(dir) != 0) _exit(126);
    execve(path, argv, envp);
    write_err("printgate: cannot execute Ghostscript\n");
    _exit(127);
}

}  // namespace

Converter::Converter(std::shared_ptr<State> st) : st_(std::move(st)), buf_(kChunk) {}

Converter::~Converter() {
    // finish() should have run; if not (the I/O context is being torn down), the
    // child is still killed and reaped, and the scratch directory removed, by State.
    st_->stopped = true;
    st_->kill_and_reap();
    boost::system::error_code ignored;
    st_->in.close(ignored);
    st_->out.close(ignored);
    st_->err.close(ignored);
    st_->remove_scratch();
}

const std::optional<std::string>& Converter::failure() const { return st_->failure; }
const std::string& Converter::stderr_text() const { return st_->err_text; }
bool Converter::stderr_truncated() const { return st_->err_truncated; }

asio::awaitable<std::unique_ptr<Converter>> Converter::start(asio::any_io_executor ex, net::BodySource& input,
                                                             std::uint64_t size, ConvertOptions opts,
                                                             ConvertLimits limits) {
    auto st = std::make_shared<State>(ex, std::move(limits));
    std::unique_ptr<Converter> conv(new Converter(st));
    const ConvertLimits& lim = st->limits;
    const bool pdf = opts.source_format == "application/pdf";
    if (!pdf && opts.source_format != "application/postscript") {
        st->fail("Ghostscript converts only application/pdf and application/postscript, not " + opts.source_format);
        co_return conv;
    }
    // "-_": stdin read as a file; plain "-" reads it interactively, a byte at a
    // time (30 times slower here: 52 MB of PostScript took 159 s instead of 5).
    auto args = ghostscript_args(opts, pdf ? "/proc/self/fd/3" : "-_");
    if (!args) {
        st->fail("Ghostscript cannot write " + opts.target_format);
        co_return conv;
    }
    // The scratch directory: private, on a tmpfs; ps2write and pdfwrite need it.
    if (is_tmpfs(lim.scratch_parent)) {
        const std::string dir = fmt::format("{}/printgate-gs-{}-{}", lim.scratch_parent, ::getpid(),
                                            scratch_counter.fetch_add(1));
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);  // left by a crashed earlier run with our pid
        if (::mkdir(dir.c_str(), 0700) == 0) st->scratch = dir;
    }
    if (st->scratch.empty() && needs_scratch(opts.target_format)) {
        st->fail("converting to " + opts.target_format + " needs a private scratch directory on a tmpfs (" +
                 lim.scratch_parent + ")");
        co_return conv;
    }
    int pdf_fd = -1;
    if (pdf) {
        std::string why;
        pdf_fd = co_await pdf_memfd(input, size, lim.max_pdf_bytes, why);
        if (pdf_fd < 0) {
            st->fail(why);
            co_return conv;
        }
    }

    // Everything the child needs, made before fork (the child may not allocate).
    std::vector<std::string> argv_s;
    argv_s.push_back("gs");
    for (auto& a : *args) argv_s.push_back(std::move(a));
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string dir = st->scratch.empty() ? std::string("/") : st->scratch;
    std::vector<std::string> env_s = {"PATH=/usr/bin:/bin", "LC_ALL=C",
                                      "TMPDIR=" + (st->scratch.empty() ? std::string("/nonexistent") : dir),
                                      "HOME=" + (st->scratch.empty() ? std::string("/nonexistent") : dir)};
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const rlim_t fsize = needs_scratch(opts.target_format) ? lim.scratch_bytes : 0;
    const rlimit rl[5] = {{lim.address_space, lim.address_space},
                          {lim.cpu_seconds, lim.cpu_seconds + 5},
                          {fsize, fsize},
                          {64, 64},
                          {0, 0}};
    const std::string uid_map = fmt::format("{0} {0} 1", ::getuid());
    const std::string gid_map = fmt::format("{0} {0} 1", ::getgid());

    Pipe in, out, err;
    int devnull = -1;
    auto cleanup = [&] {
        in.close_all();
        out.close_all();
        err.close_all();
        if (devnull >= 0) ::close(devnull);
        if (pdf_fd >= 0) ::close(pdf_fd);
    };
    if (pdf) devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if ((pdf && devnull < 0) || (!pdf && !in.open()) || !out.open() || !err.open()) {
        st->fail(std::string("cannot make pipes for Ghostscript: ") + std::strerror(errno));
        cleanup();
        co_return conv;
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        st->fail(std::string("cannot start Ghostscript: fork: ") + std::strerror(errno));
        cleanup();
        co_return conv;
    }
    if (pid == 0)
        child(pdf ? devnull : in.r, out.w, err.w, pdf_fd, lim.gs_path.c_str(), argv.data(), envp.data(), dir.c_str(),
              rl, uid_map.c_str(), gid_map.c_str(), parent);
    ::setpgid(pid, pid);  // also in the child: whichever runs first
    st->pid = pid;
    st->exited = false;
    // Our ends only.
    ::close(out.w);
    ::close(err.w);
    out.w = err.w = -1;
    if (pdf) {
        ::close(devnull);
        ::close(pdf_fd);
        devnull = pdf_fd = -1;
    } else {
        ::close(in.r);
        in.r = -1;
        st->in.assign(in.w);
        in.w = -1;
    }
    st->out.assign(out.r);
    st->err.assign(err.r);
    out.r = err.r = -1;

    st->deadline.expires_after(lim.deadline);
    st->deadline.async_wait([w = std::weak_ptr<State>(st)](boost::system::error_code ec) {
        auto s = w.lock();
        if (ec || !s || s->exited) return;
        s->timed_out = true;
        s->kill_group();
    });
    st->err_done = false;
    asio::co_spawn(ex, read_stderr(st), asio::detached);
    asio::co_spawn(ex, reap(st), asio::detached);
    if (!pdf) {
        st->feeding = true;
        asio::co_spawn(ex, feed(st, input, size), asio::detached);
    }

    // The first kPrime bytes of output are held back: a document gs fails on
    // early (a damaged PDF: ps2write has written its prologue by then, so the
    // first bytes prove nothing) fails here, before the printer is contacted.
    // ps2write and pdfwrite write everything at the end, so a small job is
    // converted in whole before it is sent.
    for (;;) {
        auto [ec, n] = co_await st->out.async_read_some(asio::buffer(conv->buf_), asio::as_tuple(asio::use_awaitable));
        conv->primed_.insert(conv->primed_.end(), conv->buf_.begin(), conv->buf_.begin() + static_cast<std::ptrdiff_t>(n));
        conv->bytes_out_ += n;
        if (n == 0 || ec) {
            conv->ended_ = true;
            co_await wait_done(st);
            st->judge(conv->bytes_out_);
            if (ec && ec != asio::error::eof) st->fail("reading Ghostscript's output failed: " + ec.message());
            break;
        }
        if (conv->primed_.size() >= kPrime) break;
    }
    co_return conv;
}

asio::awaitable<boost::system::result<std::span<const std::byte>>> Converter::next() {
    using R = boost::system::result<std::span<const std::byte>>;
    if (st_->failure) co_return R(boost::system::errc::make_error_code(boost::system::errc::io_error));
    if (!primed_.empty() && !primed_sent_) {
        primed_sent_ = true;
        co_return std::span<const std::byte>(primed_.data(), primed_.size());
    }
    if (primed_sent_ && !primed_.empty()) std::vector<std::byte>().swap(primed_);
    if (!ended_) {
        auto [ec, n] = co_await st_->out.async_read_some(asio::buffer(buf_), asio::as_tuple(asio::use_awaitable));
        if (n > 0) {
            bytes_out_ += n;
            co_return std::span<const std::byte>(buf_.data(), n);
        }
        ended_ = true;
        // End of output (gs closed stdout: it exited) or a read error: its exit says which.
        co_await wait_done(st_);
        st_->judge(bytes_out_);
        if (ec && ec != asio::error::eof) st_->fail("reading Ghostscript's output failed: " + ec.message());
    }
    if (st_->failure) co_return R(boost::system::errc::make_error_code(boost::system::errc::io_error));
    co_return std::span<const std::byte>{};
}

asio::awaitable<std::optional<std::string>> Converter::finish() {
    if (!st_->exited) {
        st_->stopped = true;
        st_->kill_group();
    }
    boost::system::error_code ignored;
    st_->in.close(ignored);
    st_->out.close(ignored);
    co_await wait_done(st_);
    if (!ended_) {
        ended_ = true;
        st_->judge(bytes_out_);
    }
    st_->deadline.cancel();
    st_->remove_scratch();
    co_return st_->failure;
}

}  // namespace pg::output
