// SPDX-License-Identifier: Apache-2.0
// Document format detection from the first bytes of a document (pure).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace pg::ipp {

// The MIME type the head of a document shows, or "application/octet-stream".
// Looks at most at the first 512 bytes; a PJL header (UEL + @PJL) is skipped
// up to an ENTER LANGUAGE line, whose language it reports when known.
std::string_view detect_format(std::span<const std::byte> head);

}  // namespace pg::ipp
