# SPDX-License-Identifier: Apache-2.0
"""The stand-in's user directory: users with their PINs, cards and passwords (plaintext:
this is test data), per-gateway sync sets, lookup keys, and the change log that sync
cursors and tombstones are computed from (docs/upstream-protocol.md "sync").

Design: every change bumps one sequence number `seq`; a user remembers the seq of its
last change, and removals are logged as tombstones (seq, gateway or None for all, kind,
value) with the raw PIN or card, so tags are computed at sync time under whatever key
the gateway has then. Pages are keyset-paged by user id: a page after id X lists ids
greater than X changed since the cursor, so a user changed during a multi-page sync is
either on a later page or in the next change sync, never lost.

Not thread-safe by itself: callers hold Store.lock."""
import base64
import hashlib
import hmac
import json
import re

CARD_RE = re.compile(r"^[0-9A-F]{1,64}$")
KEY_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_SECRETS = 3


class FixtureError(Exception):
    pass


def normalize_card(card):
    """Card numbers as the protocol compares them; None when it is no card number."""
    if not isinstance(card, str):
        return None
    norm = "".join(card.split()).upper()
    return norm if CARD_RE.match(norm) else None


def lookup_tag(key, method, secret):
    mac = hmac.new(key, (method + ":" + secret).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class User:
    FIELDS = ("id", "name", "full_name", "email", "aliases", "accounts")

    def __init__(self, spec, seq=0):
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str) or not spec["id"]:
            raise FixtureError(f"a user needs an \"id\": {spec!r}")
        if not isinstance(spec.get("name"), str) or not spec["name"]:
            raise FixtureError(f"user {spec['id']}: needs a \"name\"")
        self.id = spec["id"]
        self.name = spec["name"]
        self.full_name = str(spec.get("full_name", spec["name"]))
        self.email = str(spec.get("email", ""))
        self.aliases = [str(a) for a in spec.get("aliases", [])]
        self.accounts = list(spec.get("accounts", []))
        self.disabled = bool(spec.get("disabled", False))
        self.pins = [str(p) for p in spec.get("pins", [])]
        self.cards = []
        for c in spec.get("cards", []):
            norm = normalize_card(c)
            if norm is None:
                raise FixtureError(f"user {self.id}: {c!r} is not a card number (hex digits)")
            self.cards.append(norm)
        if len(self.pins) > MAX_SECRETS or len(self.cards) > MAX_SECRETS:
            raise FixtureError(f"user {self.id}: at most {MAX_SECRETS} PINs and {MAX_SECRETS} cards")
        pw = spec.get("password")
        self.password = None if pw is None else str(pw)
        self.seq = seq

    def public(self):
        return {"id": self.id, "name": self.name, "full_name": self.full_name, "email": self.email,
                "aliases": list(self.aliases), "accounts": list(self.accounts)}

    def matches_name(self, username):
        want = username.lower()
        return self.name.lower() == want or any(a.lower() == want for a in self.aliases)


class Directory:
    def __init__(self, users, sync_sets):
        self.seq = 0
        self.users = {}
        for spec in users:
            u = User(spec)
            if u.id in self.users:
                raise FixtureError(f"user id {u.id} twice")
            self.users[u.id] = u
        self._check_unique()
        self.sync_sets = {}
        for gw, ids in (sync_sets or {}).items():
            missing = [i for i in ids if i not in self.users]
            if missing:
                raise FixtureError(f"sync set {gw}: unknown users {missing}")
            self.sync_sets[gw] = list(dict.fromkeys(ids))
        self.tombstones = []  # (seq, gateway or None, "users"|"pins"|"cards", value)
        self.keys = {}  # gateway -> {"key_id", "key", "gen"}
        self.key_gen = 0

    def _check_unique(self):
        seen = {}
        for u in self.users.values():
            for kind, values in (("PIN", u.pins), ("card", u.cards)):
                for v in values:
                    other = seen.setdefault((kind, v), u.id)
                    if other != u.id:
                        raise FixtureError(f"{kind} {v!r} belongs to both {other} and {u.id}")

    def bump(self):
        self.seq += 1
        return self.seq

    # -- login ---------------------------------------------------------------
    def by_pin(self, pin):
        return next((u for u in self.users.values() if pin in u.pins), None)

    def by_card(self, card):
        norm = normalize_card(card)
        if norm is None:
            return None
        return next((u for u in self.users.values() if norm in u.cards), None)

    def by_name(self, username):
        return next((u for u in self.users.values() if u.matches_name(username)), None)

    # -- changes (admin) -------------------------------------------------------
    def _bury_secrets(self, user, seq):
        for p in user.pins:
            self.tombstones.append((seq, None, "pins", p))
        for c in user.cards:
            self.tombstones.append((seq, None, "cards", c))

    def set_disabled(self, uid, disabled):
        u = self.users[uid]
        seq = self.bump()
        if disabled and not u.disabled:
            self._bury_secrets(u, seq)
        u.disabled = disabled
        u.seq = seq

    def delete(self, uid):
        u = self.users.pop(uid)
        seq = self.bump()
        self._bury_secrets(u, seq)
        self.tombstones.append((seq, None, "users", uid))
        for ids in self.sync_sets.values():
            if uid in ids:
                ids.remove(uid)

    def revoke(self, uid, kind, value):
        """Removes one PIN, card or the password; False when the user has no such secret."""
        u = self.users[uid]
        if kind == "password":
            if u.password is None:
                return False
            u.password = None
            u.seq = self.bump()
            return True
        if kind == "card":
            value = normalize_card(value)
        values = u.pins if kind == "pin" else u.cards
        if value not in values:
            return False
        values.remove(value)
        seq = self.bump()
        self.tombstones.append((seq, None, kind + "s", value))
        u.seq = seq
        return True

    def upsert(self, spec, sync_sets=()):
        new = User(spec)
        old = self.users.get(new.id)
        seq = self.bump()
        if old is not None:
            for p in set(old.pins) - set(new.pins):
                self.tombstones.append((seq, None, "pins", p))
            for c in set(old.cards) - set(new.cards):
                self.tombstones.append((seq, None, "cards", c))
        new.seq = seq
        self.users[new.id] = new
        try:
            self._check_unique()
        except FixtureError:
            if old is None:
                del self.users[new.id]
            else:
                self.users[new.id] = old
            raise
        for gw in sync_sets:
            ids = self.sync_sets.setdefault(gw, [])
            if new.id not in ids:
                ids.append(new.id)
        return new

    def remove_from_set(self, gw, uid):
        ids = self.sync_sets.get(gw, [])
        if uid not in ids:
            return False
        ids.remove(uid)
        self.tombstones.append((self.bump(), gw, "users", uid))
        return True

    # -- lookup keys -----------------------------------------------------------
    def set_key(self, gw, key_id, key):
        """'ok' or 'conflict' (same key id, other key)."""
        cur = self.keys.get(gw)
        if cur and cur["key_id"] == key_id:
            return "ok" if hmac.compare_digest(cur["key"], key) else "conflict"
        self.key_gen += 1
        self.keys[gw] = {"key_id": key_id, "key": key, "gen": self.key_gen}
        return "ok"

    # -- sync --------------------------------------------------------------------
    @staticmethod
    def encode_cursor(epoch, gen, since, upto, after):
        raw = json.dumps([epoch, gen, since, upto, after], separators=(",", ":")).encode()
        return "v1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @staticmethod
    def decode_cursor(cursor):
        if not cursor.startswith("v1."):
            return None
        body = cursor[3:]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            epoch, gen, since, upto, after = json.loads(raw)
        except (ValueError, TypeError):
            return None
        if not (isinstance(since, int) and isinstance(upto, int) and isinstance(after, str)):
            return None
        return epoch, gen, since, upto, after

    def sync_page(self, gw, epoch, cursor, limit):
        """The page plan: (user ids, tombstones as raw values, next cursor, complete), or
        the error code 'no_lookup_key' / 'cursor_expired'. Verifiers are made by the caller
        outside the lock, from the users' secrets copied here."""
        key = self.keys.get(gw)
        if key is None:
            return "no_lookup_key"
        if cursor is None:
            since, upto, after = -1, self.seq, ""
        else:
            parsed = self.decode_cursor(cursor)
            if parsed is None or parsed[0] != epoch or parsed[1] != key["gen"] or parsed[2] > self.seq:
                return "cursor_expired"
            _, _, since, upto, after = parsed
            if after == "":
                upto = self.seq  # a change cursor: the changes from `since` to now
        members = set(self.sync_sets.get(gw, []))
        ids = sorted(uid for uid in members
                     if uid in self.users and (since < 0 or self.users[uid].seq > since) and uid > after)
        more = len(ids) > limit
        ids = ids[:limit]
        tomb = {"users": [], "pins": [], "cards": []}
        if since >= 0 and after == "":
            for seq, where, kind, value in self.tombstones:
                if since < seq <= upto and where in (None, gw) and value not in tomb[kind]:
                    tomb[kind].append(value)
        if more:
            nxt = self.encode_cursor(epoch, key["gen"], since, upto, ids[-1])
        else:
            nxt = self.encode_cursor(epoch, key["gen"], upto, upto, "")
        snapshot = []
        for uid in ids:
            u = self.users[uid]
            snapshot.append({
                "public": u.public(), "disabled": u.disabled,
                "pins": [] if u.disabled else list(u.pins),
                "cards": [] if u.disabled else list(u.cards),
                "password": None if u.disabled else u.password})
        return {"users": snapshot, "tombstones": tomb, "cursor": nxt, "complete": not more,
                "key": key["key"], "key_id": key["key_id"]}
