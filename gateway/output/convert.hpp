// SPDX-License-Identifier: Apache-2.0
// Ghostscript conversion of one document (PDF or PostScript to a printer's PDL),
// run as a sandboxed child process and read as a stream.
//
// Owns: the gs child (fork/exec of ConvertLimits::gs_path), its pipes, its scratch
// directory, its deadline and its reaping; the document's bytes on their way in
// (PostScript: streamed into gs's stdin as the spool yields them; PDF: into a
// sealed memfd, because Ghostscript needs to seek in a PDF) and out (gs's stdout,
// returned chunk by chunk through net::BodySource).
// Must not: touch job states or decide what to convert (release_plan.hpp does), or
// put a byte of the document on disk.
//
// Design note. Why each part of the sandbox is there:
// - The child gets an empty environment (PATH, LC_ALL=C, TMPDIR/HOME = its scratch
//   directory), only fds 0-2 (and 3, the PDF), its own process group (so a kill
//   reaches anything it starts), PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG (it dies
//   with printgated), and rlimits: RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE 64,
//   RLIMIT_CORE 0, RLIMIT_FSIZE (0 for raster devices, which keep their band list
//   in memory; ps2write and pdfwrite must write scratch files, so they get
//   ConvertLimits::scratch_bytes). SIGXFSZ is ignored, so an oversized write fails
//   with EFBIG instead of killing gs mid-page with a half document.
// - -dSAFER: PostScript may not open files or run commands; gs reads only what the
//   command line names.
// - Network: the child tries unshare(CLONE_NEWNET) (root), then an unprivileged
//   user namespace with a private network namespace (mapping only its own uid and
//   gid); when neither is permitted (RestrictNamespaces= in printgated.service) it
//   runs without, which -dSAFER already covers: PostScript has no sockets.
// - Plaintext never reaches a disk: a PDF goes into a memfd (bounded by
//   max_pdf_bytes, sealed against writes before gs starts), and the scratch
//   directory is a fresh 0700 directory on a tmpfs (scratch_parent, checked with
//   statfs; /dev/shm by default), removed with everything in it when the
//   conversion ends, however it ends. Without a tmpfs, ps2write and pdfwrite
//   conversions fail; raster conversions need no scratch files.
// - The deadline is wall-clock time from the start: on expiry the whole process
//   group is killed with SIGKILL, as it is by finish() and the destructor.
// - Exit is noticed through a pidfd (pidfd_open) when the kernel has it, else by
//   polling waitpid every 20 ms; printgated never reaps children elsewhere.
//
// Threads: everything runs on the executor given to start() (the gateway's I/O
// thread); not thread-safe. The process must ignore SIGPIPE (printgated does):
// gs may exit while its stdin is being written.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "gateway/net/http_session.hpp"

namespace pg::output {

struct ConvertLimits {
    std::string gs_path = "/usr/bin/gs";
    std::uint64_t max_pdf_bytes = 256ull << 20;       // a bigger PDF is refused (it is held in memory)
    std::chrono::milliseconds deadline{std::chrono::minutes(5)};  // wall clock, start to exit
    std::uint64_t address_space = 2ull << 30;         // RLIMIT_AS
    std::uint64_t cpu_seconds = 240;                  // RLIMIT_CPU
    std::uint64_t scratch_bytes = 512ull << 20;       // RLIMIT_FSIZE for ps2write/pdfwrite
    std::string scratch_parent = "/dev/shm";          // must be a tmpfs
    std::size_t max_stderr = 4096;                    // kept for the log; the rest is dropped
};

struct ConvertOptions {
    std::string source_format;  // application/pdf | application/postscript
    std::string target_format;  // one of conf::ghostscript_output_formats
    bool color = true;          // false: pxlmono, grey PWG raster (ljet4 is monochrome anyway)
    int resolution = 0;         // dpi of raster outputs; 0 = 300
};

// Ghostscript's arguments (without argv[0]) to convert to opts.target_format,
// reading `input` ("-_" = stdin); nullopt for a target it cannot write. Pure.
std::optional<std::vector<std::string>> ghostscript_args(const ConvertOptions& opts, std::string_view input);
// Whether the target's device writes scratch files (ps2write, pdfwrite).
bool needs_scratch(std::string_view target_format);

class Converter final : public net::BodySource {
public:
    // Starts gs on `input` (a document of exactly `size` bytes; PDF is read in
    // whole before gs starts, PostScript is fed while gs runs), then holds back
    // its first 4 MiB of output (or all of it, when less): gs proves it can read
    // the document before anything is sent. Never null; check failure(): a
    // conversion that could not start or failed within that window has one, and
    // the printer has seen nothing yet. `input` must outlive finish(). No default
    // arguments: GCC 12 destroys a prvalue argument of an awaited coroutine twice,
    // so callers pass named values.
    static boost::asio::awaitable<std::unique_ptr<Converter>> start(boost::asio::any_io_executor ex,
                                                                    net::BodySource& input, std::uint64_t size,
                                                                    ConvertOptions opts, ConvertLimits limits);
    ~Converter() override;
    Converter(const Converter&) = delete;
    Converter& operator=(const Converter&) = delete;

    // The converted bytes; the empty span at the end only when gs exited 0 having
    // written something, else an error (then failure() says why).
    boost::asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override;

    // Ends the conversion: kills gs if it still runs, waits for it and for the
    // input feeder, removes the scratch directory. Call before `input` goes away.
    // Returns failure().
    boost::asio::awaitable<std::optional<std::string>> finish();

    // Why the conversion failed, fit for job-state-message (no user data, no gs
    // output); nullopt while it has not failed.
    const std::optional<std::string>& failure() const;
    // What gs wrote to stderr (at most ConvertLimits::max_stderr bytes, raw: escape
    // before logging) and whether more was dropped.
    const std::string& stderr_text() const;
    bool stderr_truncated() const;
    std::uint64_t bytes_out() const { return bytes_out_; }

    struct State;

private:
    explicit Converter(std::shared_ptr<State> st);
    std::shared_ptr<State> st_;
    std::vector<std::byte> buf_;
    std::vector<std::byte> primed_;  // output read by start(), returned by the first next()
    bool primed_sent_ = false;
    std::uint64_t bytes_out_ = 0;
    bool ended_ = false;
};

}  // namespace pg::output
