// SPDX-License-Identifier: Apache-2.0
// The IPP print service: every configured queue is an IPP printer object at
// /ipp/print/QUEUE (and /printers/QUEUE for CUPS clients); `/` answers for the
// queue the request's printer-uri names, else the default queue.
//
// Owns: reading the attribute section of each request (pg::ipp::FrameParser,
// bounded), dispatching operations, streaming document data into the spool,
// and Create-Job jobs waiting for their Send-Document. Must not: encode bytes by
// hand (pg::ipp::Response does) or write the index directly (pg::spool does).
//
// Runs on the gateway's I/O thread; blocking spool work goes to the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "gateway/net/http_session.hpp"
#include "gateway/service/release.hpp"
#include "gateway/spool/spool.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

class IppService {
public:
    explicit IppService(app::Gateway& gw);
    ~IppService();

    boost::asio::awaitable<net::HttpReply> handle(const net::HttpRequestHead& head, net::BodySource& body);
    // Drops every Create-Job job still waiting for its documents (their writers
    // discard what they hold); returns how many. For the request-path fuzz
    // harness, between inputs. Blocking file work: not on a busy I/O thread.
    std::size_t discard_incoming();

private:
    struct Incoming {
        std::unique_ptr<spool::JobWriter> writer;
        std::chrono::steady_clock::time_point created;  // or the last Send-Document
        std::vector<spool::DocumentPart> parts;         // documents received so far
    };
    struct Exchange;

    boost::asio::awaitable<net::HttpReply> dispatch(Exchange& ex);
    // nullopt: go on; else the HTTP reply refusing the request (426, 401, 503).
    boost::asio::awaitable<std::optional<net::HttpReply>> authenticate(Exchange& ex);
    // auth: basic with an upstream: the password login of the release points.
    boost::asio::awaitable<std::optional<net::HttpReply>> authenticate_upstream(Exchange& ex, const std::string& user,
                                                                               const std::string& password);
    // Validates the request and starts a spool job; nullptr (reply set) when refused.
    std::unique_ptr<spool::JobWriter> begin_job(Exchange& ex);
    boost::asio::awaitable<void> print_job(Exchange& ex);
    boost::asio::awaitable<void> create_job(Exchange& ex);
    boost::asio::awaitable<void> send_document(Exchange& ex);
    boost::asio::awaitable<void> cancel_job(Exchange& ex);
    boost::asio::awaitable<void> hold_job(Exchange& ex);
    std::optional<spool::JobRecord> owned_job(Exchange& ex, std::string_view action);
    boost::asio::awaitable<std::optional<spool::JobRecord>> apply(Exchange& ex, std::uint64_t id,
                                                                  const spool::Transition& t,
                                                                  std::string_view not_possible);
    boost::asio::awaitable<void> release_job(Exchange& ex);
    void validate_job(Exchange& ex);
    bool is_operator(const Exchange& ex, const std::string& queue) const;
    ReleaseUser acting_user(const Exchange& ex, const std::string& queue) const;
    void pause_printer(Exchange& ex, bool pause);
    const conf::PrinterProfile* queue_profile(const std::string& queue) const;
    void get_printer_attributes(Exchange& ex);
    void get_jobs(Exchange& ex);
    void get_job_attributes(Exchange& ex);
    void cups_get_printers(Exchange& ex, bool only_default);
    boost::asio::awaitable<bool> stream_document(Exchange& ex, spool::JobWriter& writer);
    // Streams the document into `writer`, commits it, and adds the job group.
    // `parts`: the documents before this one of a multi-document job; null for Print-Job.
    boost::asio::awaitable<void> receive_and_commit(Exchange& ex, std::unique_ptr<spool::JobWriter> writer,
                                                    std::vector<spool::DocumentPart>* parts);
    boost::asio::awaitable<bool> receive_document(Exchange& ex, spool::JobWriter& writer);
    boost::asio::awaitable<void> commit_abandoned(std::unique_ptr<spool::JobWriter> writer,
                                                  std::vector<spool::DocumentPart> parts);
    void expire_incoming();

    app::Gateway& gw_;
    std::map<std::uint64_t, Incoming> incoming_;
    std::int64_t up_since_ = 0;
};

}  // namespace pg::service
