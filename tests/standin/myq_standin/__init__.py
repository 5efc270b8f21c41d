# SPDX-License-Identifier: Apache-2.0
"""The MyQ stand-in server: an HTTPS server speaking docs/upstream-protocol.md for
printgate's tests and benchmarks. Entry point: tests/standin/myq-standin."""
