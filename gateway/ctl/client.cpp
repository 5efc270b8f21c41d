// SPDX-License-Identifier: Apache-2.0
#include "gateway/ctl/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "gateway/ctl/protocol.hpp"

namespace pg::ctl {
namespace {

bool read_exact(int fd, char* p, std::size_t n) {
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

Reply call(const std::string& socket_path, std::string_view request_json,
           const std::function<bool(std::string_view)>& on_data) {
    Reply reply;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path)) {
        reply.transport_error = "control socket path too long";
        return reply;
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        reply.transport_error = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return reply;
    }
    std::string req(request_json);
    req += '\n';
    if (!write_all(fd, req.data(), req.size())) {
        reply.transport_error = std::strerror(errno);
        ::close(fd);
        return reply;
    }
    std::vector<char> buf;
    for (;;) {
        char hdr[5];
        if (!read_exact(fd, hdr, 5)) {
            reply.transport_error = "printgated closed the connection";
            break;
        }
        std::uint32_t len = (static_cast<std::uint32_t>(static_cast<unsigned char>(hdr[1])) << 24) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(hdr[2])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(hdr[3])) << 8) |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(hdr[4]));
        if (len > kMaxFrame) {
            reply.transport_error = "oversized reply frame";
            break;
        }
        buf.resize(len);
        if (!read_exact(fd, buf.data(), len)) {
            reply.transport_error = "printgated closed the connection";
            break;
        }
        if (hdr[0] == kData) {
            if (on_data && !on_data(std::string_view(buf.data(), len))) {
                reply.transport_error = "output failed";
                break;
            }
            continue;
        }
        reply.type = hdr[0];
        reply.payload.assign(buf.data(), len);
        break;
    }
    ::close(fd);
    return reply;
}

}  // namespace pg::ctl
