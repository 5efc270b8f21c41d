# SPDX-License-Identifier: Apache-2.0
"""argon2id verifiers (PHC strings) made with Debian's `argon2` command.

The server side of docs/upstream-protocol.md "Verifier": a fresh random salt per
secret, a 32-byte hash, the parameters the gateway asked for (clamped). The command
costs a process start plus the hash, so each (secret, parameters) pair is hashed once
and cached for the life of the process: a resync returns the same verifier."""
import concurrent.futures
import os
import secrets
import shutil
import subprocess
import threading

ARGON2 = "argon2"

DEFAULT_PARAMS = (19456, 2, 1)  # m (KiB), t, p: the protocol's defaults
LIMITS = {"t": (1, 10), "p": (1, 8), "m_max": 262144}

_SALT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def clamp_params(m_kib, t, p):
    """The parameters the server really uses, as the protocol's sync table says."""
    p = min(max(p, LIMITS["p"][0]), LIMITS["p"][1])
    t = min(max(t, LIMITS["t"][0]), LIMITS["t"][1])
    m_kib = min(max(m_kib, 8 * p), LIMITS["m_max"])
    return m_kib, t, p


def available():
    return shutil.which(ARGON2) is not None


class Hasher:
    def __init__(self, workers=None):
        self._cache = {}
        self._pending = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers or max(2, os.cpu_count() or 2), thread_name_prefix="argon2")
        self.computed = 0

    def _run(self, secret, params):
        m_kib, t, p = params
        # The command takes the salt as an argument (at least 8 characters) and hashes
        # its bytes: 16 characters from a 64-symbol alphabet are 16 salt bytes with
        # 96 bits of randomness.
        salt = "".join(secrets.choice(_SALT_ALPHABET) for _ in range(16))
        out = subprocess.run(
            [ARGON2, salt, "-id", "-t", str(t), "-k", str(m_kib), "-p", str(p), "-l", "32", "-e"],
            input=secret.encode(), capture_output=True, check=True, timeout=120)
        phc = out.stdout.decode().strip()
        if not phc.startswith("$argon2id$"):
            raise RuntimeError("argon2 gave no PHC string")
        return phc

    def _get_future(self, secret, params):
        key = (secret, params)
        with self._lock:
            if key in self._cache:
                done = concurrent.futures.Future()
                done.set_result(self._cache[key])
                return done
            fut = self._pending.get(key)
            if fut is None:
                fut = self._pool.submit(self._compute, key)
                self._pending[key] = fut
            return fut

    def _compute(self, key):
        phc = self._run(*key)
        with self._lock:
            self._cache[key] = phc
            self._pending.pop(key, None)
            self.computed += 1
        return phc

    def verifiers(self, secrets_list, params):
        """PHC strings for each secret of `secrets_list`, hashed in parallel."""
        params = clamp_params(*params)
        futs = [self._get_future(s, params) for s in secrets_list]
        return [f.result() for f in futs]

    def cached(self):
        with self._lock:
            return len(self._cache)

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)
