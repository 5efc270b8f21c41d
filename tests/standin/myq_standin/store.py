# SPDX-License-Identifier: Apache-2.0
"""Everything the stand-in remembers, behind one lock: the fixture's clients and
directory, issued tokens, stored idempotency answers, accepted accounting records, and
the report counters that tests assert on (GET /_standin/report).

Memory only: a restarted stand-in has forgotten its tokens, keys and cursors, which is
what a server reset looks like to the gateway (410 cursor_expired, 409 no_lookup_key)."""
import collections
import hashlib
import hmac
import json
import secrets
import threading
import time

from .directory import Directory, FixtureError

RECENT_MAX = 200
RECORDS_MAX = 100000
IDEMPOTENCY_TTL = 24 * 3600 + 60  # the protocol promises at least 24 h


def load_fixture(path):
    with open(path, "rb") as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml  # Debian's python3-yaml, when present
        except ImportError as e:
            raise FixtureError("a YAML fixture needs python3-yaml; use JSON") from e
        data = yaml.safe_load(text)
    else:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise FixtureError(f"{path}: {e}") from e
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: the fixture is a JSON object")
    return data


def canonical(body_bytes):
    """What a repeated write is compared on: parsed JSON with sorted keys, else raw bytes."""
    try:
        obj = json.loads(body_bytes)
        return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).digest()
    except ValueError:
        return hashlib.sha256(body_bytes).digest()


class Store:
    def __init__(self, fixture):
        self.lock = threading.RLock()
        self.epoch = secrets.token_hex(4)
        self.clients = {}
        for c in fixture.get("clients", []):
            if not isinstance(c, dict) or not c.get("client_id") or not isinstance(c.get("client_secret"), str):
                raise FixtureError(f"a client needs client_id and client_secret: {c!r}")
            scopes = c.get("scopes", ["gateway", "users", "accounting"])
            self.clients[c["client_id"]] = {"secret": c["client_secret"], "scopes": list(scopes)}
        self.token_ttl = int(fixture.get("token_ttl", 3600))
        self.user_token_ttl = int(fixture.get("user_token_ttl", 300))
        self.directory = Directory(fixture.get("users", []), fixture.get("sync_sets", {}))
        self.tokens = {}
        self.idempotency = {}
        self.records = collections.OrderedDict()  # (gateway, record_id) -> record
        self.reset_report()

    # -- report ----------------------------------------------------------------
    def reset_report(self):
        with self.lock:
            self.counts = collections.Counter()
            self.statuses = collections.defaultdict(collections.Counter)
            self.recent = collections.deque(maxlen=RECENT_MAX)
            self.c = collections.Counter()  # named counters, see report()
            self.accepted_records = collections.deque(maxlen=RECORDS_MAX)

    def note_request(self, endpoint, entry):
        with self.lock:
            self.counts[endpoint] += 1
            self.recent.append(entry)

    def note_status(self, endpoint, status):
        with self.lock:
            self.statuses[endpoint][str(status)] += 1

    def bump(self, name, n=1):
        with self.lock:
            self.c[name] += n

    def report_counts(self):
        with self.lock:
            now = time.monotonic()
            return {
                "requests": dict(self.counts),
                "responses": {k: dict(v) for k, v in self.statuses.items()},
                "token_requests": self.c["token_requests"],
                "tokens_issued": self.c["tokens_issued"],
                "tokens_active": sum(1 for t in self.tokens.values() if t["expires"] > now),
                "token_ttl": self.token_ttl,
                "logins": {"ok": self.c["logins_ok"], "failed": self.c["logins_failed"],
                           "disabled": self.c["logins_disabled"]},
                "duplicates": {"idempotency": self.c["dup_idempotency"],
                               "accounting_records": self.c["dup_records"]},
                "accounting_batches": self.c["accounting_batches"],
                "accounting_records_accepted": self.c["records_accepted"],
                "accounting_records": list(self.accepted_records),
                "sync_pages": self.c["sync_pages"],
                "lookup_keys": {gw: k["key_id"] for gw, k in self.directory.keys.items()},
                "recent_requests": list(self.recent),
            }

    # -- tokens --------------------------------------------------------------------
    def check_client(self, client_id, client_secret):
        c = self.clients.get(client_id) if isinstance(client_id, str) else None
        # Compare against something even for an unknown client, so timing says little.
        want = c["secret"] if c else "\0" * 32
        ok = isinstance(client_secret, str) and hmac.compare_digest(want.encode(), client_secret.encode())
        return c if (c and ok) else None

    def issue_token(self, client_id, gateway, scopes):
        tok = secrets.token_urlsafe(32)
        with self.lock:
            now = time.monotonic()
            for k in [k for k, v in self.tokens.items() if v["expires"] <= now]:
                del self.tokens[k]
            self.tokens[tok] = {"client": client_id, "gateway": gateway, "scopes": set(scopes),
                                "expires": now + self.token_ttl}
            self.c["tokens_issued"] += 1
        return tok

    def find_token(self, tok):
        with self.lock:
            t = self.tokens.get(tok)
            if t is None or t["expires"] <= time.monotonic():
                return None
            return t

    def expire_tokens(self):
        with self.lock:
            n = len(self.tokens)
            self.tokens.clear()
            return n

    # -- idempotency -----------------------------------------------------------------
    def idem_lookup(self, gateway, key, digest):
        """None (new key), ('replay', status, body) or ('conflict',)."""
        with self.lock:
            now = time.monotonic()
            if len(self.idempotency) > 10000:
                for k in [k for k, v in self.idempotency.items() if now - v["at"] > IDEMPOTENCY_TTL]:
                    del self.idempotency[k]
            e = self.idempotency.get((gateway, key))
            if e is None:
                return None
            if e["digest"] != digest:
                return ("conflict",)
            self.c["dup_idempotency"] += 1
            return ("replay", e["status"], e["body"])

    def idem_store(self, gateway, key, digest, status, body):
        if status == 429 or status >= 500:
            return
        with self.lock:
            self.idempotency[(gateway, key)] = {"digest": digest, "status": status, "body": body,
                                                "at": time.monotonic()}

    # -- accounting --------------------------------------------------------------------
    def add_records(self, gateway, batch_id, records):
        with self.lock:
            accepted = dups = 0
            for r in records:
                k = (gateway, r["record_id"])
                if k in self.records:
                    dups += 1
                    continue
                self.records[k] = r
                self.accepted_records.append(dict(r, gateway=gateway, batch_id=batch_id))
                accepted += 1
            self.c["accounting_batches"] += 1
            self.c["records_accepted"] += accepted
            self.c["dup_records"] += dups
            return accepted, dups
