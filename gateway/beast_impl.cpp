// SPDX-License-Identifier: Apache-2.0
// The one translation unit that compiles Beast (BOOST_BEAST_SEPARATE_COMPILATION),
// and with it Asio's SSL layer (boost/asio/ssl: context, engine, error category),
// which BOOST_ASIO_SEPARATE_COMPILATION leaves out of asio_impl.cpp's src.hpp.
// Beast's ssl_stream itself is header-only: nothing of it is needed here.
#include <boost/beast/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
