# SPDX-License-Identifier: Apache-2.0
"""Run-time faults (POST /_standin/fault, docs/standin.md): the current fault, its
validation, and a condition variable that request threads and the flap schedule wait
on, so that lifting a fault releases a held (slow, black-holed) request at once."""
import threading
import time

MODES = ("none", "down", "blackhole", "error", "ratelimit", "slow", "flap", "token_fail", "bad_cert")
DEFAULTS = {"status": 503, "retry_after": 2, "delay_ms": 1000, "up_ms": 2000, "down_ms": 2000,
            "hold_seconds": 300}


def validate(spec):
    """The fault as applied (defaults filled in); ValueError with the reason."""
    if not isinstance(spec, dict):
        raise ValueError("the body is a JSON object")
    mode = spec.get("mode")
    if mode not in MODES:
        raise ValueError("mode is one of " + ", ".join(MODES))
    out = {"mode": mode}
    for k, default in DEFAULTS.items():
        v = spec.get(k, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ValueError(f"{k} is a number >= 0")
        out[k] = v
    if not 100 <= out["status"] <= 599:
        raise ValueError("status is an HTTP status code")
    out["status"] = int(out["status"])
    out["retry_after"] = int(out["retry_after"])
    secs = spec.get("seconds")
    if secs is not None and (isinstance(secs, bool) or not isinstance(secs, (int, float)) or secs <= 0):
        raise ValueError("seconds is a number > 0")
    out["seconds"] = secs
    return out


class Faults:
    def __init__(self):
        self.cv = threading.Condition()
        self.spec = {"mode": "none"}
        self.gen = 0
        self.since = time.time()
        self.phase = None  # flap: "down" or "up"

    def set(self, spec):
        with self.cv:
            self.spec = spec
            self.gen += 1
            self.since = time.time()
            self.phase = None
            self.cv.notify_all()
            return self.gen

    def snapshot(self):
        with self.cv:
            return self.gen, dict(self.spec)

    def active(self, mode):
        with self.cv:
            return self.spec["mode"] == mode

    def wait_change(self, gen, timeout):
        """True when the fault changed from generation `gen` within `timeout` seconds."""
        with self.cv:
            return self.cv.wait_for(lambda: self.gen != gen, timeout)

    def describe(self):
        with self.cv:
            d = dict(self.spec)
            d["since"] = self.since
            if self.spec.get("seconds"):
                d["until"] = self.since + self.spec["seconds"]
            if self.phase:
                d["phase"] = self.phase
            return d
