// SPDX-License-Identifier: Apache-2.0
// IPP message framing (RFC 8010 §3): see frame.hpp for the design note.
#include "protocols/ipp/frame.hpp"

#include <algorithm>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace pg::ipp {

namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.ipp"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::truncated: return "IPP message ends inside the attribute section";
            case errc::bad_delimiter: return "invalid or misplaced IPP delimiter tag";
            case errc::bad_extension_tag: return "IPP extension tag out of range";
            case errc::attribute_outside_group: return "IPP attribute before the first group";
            case errc::missing_attribute_name: return "IPP additional value without an attribute";
            case errc::bad_collection: return "malformed IPP collection";
            case errc::collection_too_deep: return "IPP collections nested too deeply";
            case errc::section_too_large: return "IPP attribute section too large";
            case errc::too_many_attributes: return "too many IPP attributes";
            case errc::name_too_long: return "IPP attribute name too long";
            case errc::bad_name: return "IPP attribute name not printable US-ASCII";
            case errc::value_too_long: return "IPP attribute value too long";
            case errc::trailing_data: return "bytes after the IPP end-of-attributes tag";
            case errc::decode_failed: return "IPP attribute section rejected by the decoder";
            case errc::encode_failed: return "IPP message could not be encoded";
            case errc::out_of_memory: return "out of memory";
        }
        return "unknown pg.ipp error";
    }
};

constexpr std::uint32_t kTagEnd = 0x03;
constexpr std::uint32_t kTagOperation = 0x01;
constexpr std::uint32_t kLastDelimiter = 0x0A;  // system-attributes-tag (PWG 5100.22)
constexpr std::uint32_t kFirstValueTag = 0x10;
constexpr std::uint32_t kTagExtension = 0x7F;
constexpr std::size_t kExtensionTagSize = 4;
constexpr std::uint32_t kTagBeginCollection = 0x34;
constexpr std::uint32_t kTagEndCollection = 0x37;
constexpr std::uint32_t kTagMemberName = 0x4A;

}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category instance;
    return instance;
}

void throw_exception_from_error(const ParseError& e, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

FrameParser::FrameParser(FrameLimits limits) : limits_(limits) {}

void FrameParser::reset() {
    *this = FrameParser(limits_);
}

std::uint32_t FrameParser::request_id() const {
    return std::uint32_t{header_[4]} << 24 | std::uint32_t{header_[5]} << 16 |
           std::uint32_t{header_[6]} << 8 | std::uint32_t{header_[7]};
}

FeedResult FrameParser::fail(errc code, std::size_t at, const char* message, std::size_t consumed) {
    status_ = FrameStatus::error;
    error_ = ParseError{make_error_code(code), at, message};
    return {FrameStatus::error, consumed};
}

// A field of `length` bytes starting at offset_ must leave room for at least the
// end-of-attributes tag inside max_section_bytes. Checked when the length field is
// read, so an oversized declaration fails before its bytes arrive.
bool FrameParser::fits(std::size_t length) const {
    return offset_ < limits_.max_section_bytes && length < limits_.max_section_bytes - offset_;
}

FeedResult FrameParser::feed(std::span<const std::byte> bytes) {
    if (status_ != FrameStatus::need_more) return {status_, 0};

    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        if (offset_ >= limits_.max_section_bytes)
            return fail(errc::section_too_large, offset_, "attribute section exceeds the size limit", i);

        switch (state_) {
            case State::header:
                header_[offset_] = static_cast<std::uint8_t>(bytes[i]);
                ++i;
                ++offset_;
                if (offset_ == header_.size()) state_ = State::tag;
                break;

            case State::tag: {
                const auto tag = static_cast<std::uint8_t>(bytes[i]);
                tag_offset_ = offset_;
                ++i;
                ++offset_;
                if (!on_tag(tag)) return {FrameStatus::error, i};
                if (state_ == State::done) {
                    status_ = FrameStatus::complete;
                    return {FrameStatus::complete, i};
                }
                break;
            }

            case State::extension_value:
                accumulator_ = accumulator_ << 8 | static_cast<std::uint8_t>(bytes[i]);
                ++i;
                ++offset_;
                if (--remaining_ == 0) {
                    // RFC 8010 §3.5.2: the extended tag is a positive 32-bit integer.
                    if (accumulator_ > 0x7FFFFFFFu)
                        return fail(errc::bad_extension_tag, field_start_, "extension tag above 0x7FFFFFFF", i);
                    remaining_ = value_rest_;
                    state_ = remaining_ == 0 ? State::tag : State::value;
                }
                break;

            case State::name_length:
            case State::value_length:
                accumulator_ = accumulator_ << 8 | static_cast<std::uint8_t>(bytes[i]);
                ++i;
                ++offset_;
                if (--remaining_ == 0) {
                    const bool ok = state_ == State::name_length ? on_name_length(accumulator_)
                                                                 : on_value_length(accumulator_);
                    if (!ok) return {FrameStatus::error, i};
                }
                break;

            case State::name:
            case State::value: {
                // fits() guaranteed at the length field that the whole field is
                // inside the section limit. Values are skipped unseen; names (at
                // most max_name_length bytes) are checked byte by byte.
                const std::size_t take = std::min(remaining_, n - i);
                if (state_ == State::name || tag_ == kTagMemberName) {
                    for (std::size_t k = 0; k < take; ++k) {
                        const auto b = static_cast<std::uint8_t>(bytes[i + k]);
                        if (b < 0x21 || b > 0x7E)
                            return fail(errc::bad_name, offset_ + k, "attribute name not printable US-ASCII", i + k + 1);
                    }
                }
                i += take;
                offset_ += take;
                remaining_ -= take;
                if (remaining_ == 0) {
                    if (state_ == State::name) {
                        state_ = State::value_length;
                        field_start_ = offset_;
                        remaining_ = 2;
                        accumulator_ = 0;
                    } else {
                        state_ = State::tag;
                    }
                }
                break;
            }

            case State::done:
                return {status_, i};
        }
    }
    return {FrameStatus::need_more, i};
}

bool FrameParser::on_tag(std::uint32_t tag) {
    if (tag < kFirstValueTag) {
        if (depth_ > 0) {
            fail(errc::bad_collection, tag_offset_, "delimiter tag inside a collection", 0);
            return false;
        }
        if (tag == kTagEnd) {
            state_ = State::done;
            return true;
        }
        if (tag == 0 || tag > kLastDelimiter) {
            fail(errc::bad_delimiter, tag_offset_, "invalid or reserved delimiter tag", 0);
            return false;
        }
        // RFC 8011 §4.1.2: the operation attributes come first; libcups refuses an
        // operation group anywhere else, so a second one cannot be framed either.
        if (tag == kTagOperation && in_group_) {
            fail(errc::bad_delimiter, tag_offset_, "operation-attributes-tag after another group", 0);
            return false;
        }
        in_group_ = true;
        have_attribute_ = false;
        return true;
    }

    if (!in_group_) {
        fail(errc::attribute_outside_group, tag_offset_, "attribute before the first delimiter tag", 0);
        return false;
    }
    if (++attributes_ > limits_.max_attributes) {
        fail(errc::too_many_attributes, tag_offset_, "too many attributes", 0);
        return false;
    }
    if (depth_ == 0 && (tag == kTagMemberName || tag == kTagEndCollection)) {
        fail(errc::bad_collection, tag_offset_, "collection member outside a collection", 0);
        return false;
    }
    // RFC 8010 §3.1.7: a member attribute has at least one value. libcups 2.4.2
    // accepts a valueless member but then encodes it as a 0x00 tag.
    if (member_pending_ && (tag == kTagMemberName || tag == kTagEndCollection)) {
        fail(errc::bad_collection, tag_offset_, "collection member without a value", 0);
        return false;
    }
    member_pending_ = false;
    tag_ = tag;
    state_ = State::name_length;
    field_start_ = offset_;
    remaining_ = 2;
    accumulator_ = 0;
    return true;
}

bool FrameParser::on_name_length(std::size_t length) {
    if (length > limits_.max_name_length) {
        fail(errc::name_too_long, field_start_, "attribute name too long", 0);
        return false;
    }
    if (depth_ > 0 && length != 0) {
        // RFC 8010 §3.1.7: member attributes carry their names in memberAttrName.
        fail(errc::bad_collection, field_start_, "named attribute inside a collection", 0);
        return false;
    }
    if (depth_ == 0) {
        if (length == 0 && !have_attribute_) {
            fail(errc::missing_attribute_name, field_start_, "additional value without an attribute", 0);
            return false;
        }
        if (length != 0) have_attribute_ = true;
    }
    if (!fits(length)) {
        fail(errc::section_too_large, field_start_, "attribute name exceeds the section size limit", 0);
        return false;
    }
    remaining_ = length;
    accumulator_ = 0;
    if (length == 0) {
        state_ = State::value_length;
        field_start_ = offset_;
        remaining_ = 2;
    } else {
        state_ = State::name;
    }
    return true;
}

bool FrameParser::on_value_length(std::size_t length) {
    if (tag_ == kTagMemberName) {
        if (length > limits_.max_name_length) {
            fail(errc::name_too_long, field_start_, "member attribute name too long", 0);
            return false;
        }
        if (length == 0) {
            fail(errc::bad_collection, field_start_, "empty member attribute name", 0);
            return false;
        }
        member_pending_ = true;
    }
    if (length > limits_.max_value_length) {
        fail(errc::value_too_long, field_start_, "attribute value too long", 0);
        return false;
    }
    if (tag_ == kTagBeginCollection || tag_ == kTagEndCollection) {
        // RFC 8010 §3.1.6: begCollection and endCollection have empty values.
        if (length != 0) {
            fail(errc::bad_collection, field_start_, "collection delimiter with a value", 0);
            return false;
        }
        if (tag_ == kTagBeginCollection) {
            if (++depth_ > limits_.max_collection_depth) {
                fail(errc::collection_too_deep, tag_offset_, "collections nested too deeply", 0);
                return false;
            }
        } else {
            --depth_;  // depth_ > 0: on_tag refused endCollection at depth 0
        }
    }
    if (!fits(length)) {
        fail(errc::section_too_large, field_start_, "attribute value exceeds the section size limit", 0);
        return false;
    }
    accumulator_ = 0;
    if (tag_ == kTagExtension) {
        if (length < kExtensionTagSize) {
            fail(errc::bad_extension_tag, field_start_, "extension value shorter than its 4-octet tag", 0);
            return false;
        }
        field_start_ = offset_;
        remaining_ = kExtensionTagSize;
        value_rest_ = length - kExtensionTagSize;
        state_ = State::extension_value;
        return true;
    }
    remaining_ = length;
    state_ = length == 0 ? State::tag : State::value;
    return true;
}

}  // namespace pg::ipp
