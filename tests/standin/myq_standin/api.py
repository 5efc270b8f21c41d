# SPDX-License-Identifier: Apache-2.0
"""The /api endpoints of docs/upstream-protocol.md, as functions of a parsed request.

`handle(ctx, req)` returns (status, json body, extra headers). No sockets here: the
server module reads the request, applies faults and writes the answer. Each rule below
is the doc's; where a check's order matters (authentication before scope before
idempotency before the body), it is the order the doc's error table implies."""
import base64
import binascii
import datetime
import hmac
import json
import re
import secrets
from urllib.parse import parse_qs

from . import hasher as hasher_mod
from .directory import KEY_ID_RE, lookup_tag
from .store import canonical

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
GATEWAY_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
IDEM_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
RECORD_ID_RE = IDEM_KEY_RE
GATEWAY_PATH_RE = re.compile(r"^/api/v1/gateways/([^/]+)/(lookup-key|sync)$")
OUTCOMES = ("completed", "aborted", "canceled", "expired")
MAX_RECORDS = 1000
VERSION = "myq-standin 1"


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers  # email.message.Message: case-insensitive get()
        self.body = body


def err(status, code, description=None, headers=None, **extra):
    body = {"error": code}
    if description:
        body["error_description"] = description
    body.update(extra)
    return status, body, headers or {}


def endpoint_name(method, path):
    """The report's name for an endpoint: gateway ids replaced by {gateway_id}."""
    m = GATEWAY_PATH_RE.match(path)
    if m:
        return f"{method} /api/v1/gateways/{{gateway_id}}/{m.group(2)}"
    return f"{method} {path}"


def _json_body(req):
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return None, err(415, "unsupported_media_type", "the body must be application/json")
    try:
        obj = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, err(400, "invalid_request", "the body is not valid JSON")
    if not isinstance(obj, dict):
        return None, err(400, "invalid_request", "the body must be a JSON object")
    return obj, None


def _bearer(ctx, req, scope, path_gw=None):
    """(token record, None) or (None, error answer). `path_gw`: the gateway id the
    path names, which must be the caller's too."""
    auth = req.headers.get("Authorization") or ""
    tok = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    t = ctx.store.find_token(tok) if tok else None
    if t is None:
        return None, err(401, "invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if t["gateway"] != req.headers.get("X-Gateway-Id"):
        return None, err(403, "gateway_mismatch", "the token was issued to another gateway id")
    if scope not in t["scopes"]:
        return None, err(403, "insufficient_scope", headers={
            "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
    if path_gw is not None and path_gw != t["gateway"]:
        return None, err(403, "gateway_mismatch", "the path names another gateway")
    return t, None


def handle(ctx, req):
    rid = req.headers.get("X-Request-Id")
    gw = req.headers.get("X-Gateway-Id")
    if not rid or not REQUEST_ID_RE.match(rid):
        return err(400, "invalid_request", "missing or malformed X-Request-Id")
    if not gw or not GATEWAY_ID_RE.match(gw):
        return err(400, "invalid_request", "missing or malformed X-Gateway-Id")
    if req.path == "/api/auth/token":
        if req.method != "POST":
            return err(405, "method_not_allowed", headers={"Allow": "POST"})
        return token(ctx, req)
    if req.path == "/api/v1/status":
        if req.method != "GET":
            return err(405, "method_not_allowed", headers={"Allow": "GET"})
        return status(ctx, req)
    if req.path == "/api/v1/accounting/batches":
        if req.method != "POST":
            return err(405, "method_not_allowed", headers={"Allow": "POST"})
        return accounting(ctx, req)
    m = GATEWAY_PATH_RE.match(req.path)
    if m:
        want = "PUT" if m.group(2) == "lookup-key" else "GET"
        if req.method != want:
            return err(405, "method_not_allowed", headers={"Allow": want})
        return lookup_key(ctx, req, m.group(1)) if want == "PUT" else sync(ctx, req, m.group(1))
    return err(404, "not_found")


# -- POST /api/auth/token ---------------------------------------------------------
def token(ctx, req):
    ctx.store.bump("token_requests")
    if ctx.fault_active("token_fail"):
        return err(500, "server_error", "token service failing (stand-in fault)")
    body, e = _json_body(req)
    if e:
        return e
    grant = body.get("grant_type")
    if grant == "client_credentials":
        return client_credentials(ctx, req, body)
    if grant == "login_info":
        return login_info(ctx, req, body)
    return err(400, "unsupported_grant_type")


def client_credentials(ctx, req, body):
    client = ctx.store.check_client(body.get("client_id"), body.get("client_secret"))
    if client is None:
        return err(401, "invalid_client")
    scope = body.get("scope")
    if scope is None:
        granted = list(client["scopes"])
    elif isinstance(scope, str):
        granted = [s for s in dict.fromkeys(scope.split()) if s in client["scopes"]]
    else:
        return err(400, "invalid_request", "scope is a space-separated string")
    if not granted:
        return err(400, "invalid_scope")
    tok = ctx.store.issue_token(body["client_id"], req.headers.get("X-Gateway-Id"), granted)
    return 200, {"access_token": tok, "token_type": "Bearer", "expires_in": ctx.store.token_ttl,
                 "scope": " ".join(granted)}, {}


def _str(info, name):
    v = info.get(name)
    return v if isinstance(v, str) and v else None


def login_info(ctx, req, body):
    _, e = _bearer(ctx, req, "users")
    if e:
        return e
    info = body.get("login_info")
    if not isinstance(info, dict):
        return err(400, "invalid_request", "login_info must be an object")
    kind = info.get("type")
    if isinstance(kind, bool) or kind not in (1, 2, 3, 4, 5):
        return err(400, "unsupported_login_type")
    need = {1: ("card",), 2: ("pin",), 3: ("username", "password"), 4: ("card", "pin"),
            5: ("card", "password")}[kind]
    vals = {n: _str(info, n) for n in need}
    if any(v is None for v in vals.values()):
        return err(400, "invalid_request", "login_info type %d needs %s" % (kind, ", ".join(need)))
    with ctx.store.lock:
        d = ctx.store.directory
        if kind == 1:
            user = d.by_card(vals["card"])
        elif kind == 2:
            user = d.by_pin(vals["pin"])
        elif kind == 3:
            user = d.by_name(vals["username"])
            if user is not None and not _same(user.password, vals["password"]):
                user = None
        else:
            user = d.by_card(vals["card"])
            if user is not None:
                ok = (vals["pin"] in user.pins) if kind == 4 else _same(user.password, vals["password"])
                user = user if ok else None
        if user is None:
            ctx.store.c["logins_failed"] += 1
            return err(401, "invalid_grant")
        if user.disabled:
            ctx.store.c["logins_disabled"] += 1
            return err(403, "user_disabled")
        ctx.store.c["logins_ok"] += 1
        public = user.public()
    return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                 "expires_in": ctx.store.user_token_ttl, "user": public}, {}


def _same(stored, given):
    return stored is not None and hmac.compare_digest(stored.encode(), given.encode())


# -- GET /api/v1/status ------------------------------------------------------------
def status(ctx, req):
    _, e = _bearer(ctx, req, "gateway")
    if e:
        return e
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return 200, {"status": "ok", "server_time": now.isoformat().replace("+00:00", "Z"),
                 "version": VERSION}, {}


# -- writes: idempotency -------------------------------------------------------------
def _idempotent(ctx, req, work):
    key = req.headers.get("Idempotency-Key")
    if not key:
        return err(400, "idempotency_key_required")
    if not IDEM_KEY_RE.match(key):
        return err(400, "invalid_request", "malformed Idempotency-Key")
    digest = canonical(req.body)
    gw = req.headers.get("X-Gateway-Id")
    with ctx.store.lock:  # writes are short: one at a time keeps the key check atomic
        seen = ctx.store.idem_lookup(gw, key, digest)
        if seen is not None:
            if seen[0] == "conflict":
                return err(422, "idempotency_key_reused")
            return seen[1], json.loads(seen[2]), {"Idempotent-Replayed": "true"}
        st, body, headers = work(key)
        ctx.store.idem_store(gw, key, digest, st, json.dumps(body))
        return st, body, headers


# -- PUT /api/v1/gateways/{id}/lookup-key --------------------------------------------
def lookup_key(ctx, req, path_gw):
    _, e = _bearer(ctx, req, "gateway", path_gw)
    if e:
        return e

    def work(_key):
        body, e = _json_body(req)
        if e:
            return e
        key_id, b64 = body.get("key_id"), body.get("key")
        if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id):
            return err(400, "invalid_request", "key_id: 1 to 64 of [A-Za-z0-9._-]")
        try:
            raw = base64.b64decode(b64, validate=True) if isinstance(b64, str) else b""
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            return err(400, "invalid_request", "key: standard base64 of exactly 32 bytes")
        if ctx.store.directory.set_key(path_gw, key_id, raw) == "conflict":
            return err(409, "key_id_conflict")
        return 200, {"key_id": key_id}, {}
    return _idempotent(ctx, req, work)


# -- GET /api/v1/gateways/{id}/sync -----------------------------------------------------
def _int_param(q, name, default):
    vals = q.get(name)
    if not vals:
        return default
    if len(vals) != 1 or not vals[0].isdigit() or len(vals[0]) > 9:
        raise ValueError(name)
    return int(vals[0])


def sync(ctx, req, path_gw):
    _, e = _bearer(ctx, req, "users", path_gw)
    if e:
        return e
    q = parse_qs(req.query, keep_blank_values=True)
    try:
        limit = min(max(_int_param(q, "limit", 50), 1), 100)
        params = hasher_mod.clamp_params(_int_param(q, "argon2_m_kib", hasher_mod.DEFAULT_PARAMS[0]),
                                         _int_param(q, "argon2_t", hasher_mod.DEFAULT_PARAMS[1]),
                                         _int_param(q, "argon2_p", hasher_mod.DEFAULT_PARAMS[2]))
    except ValueError as bad:
        return err(400, "invalid_request", f"{bad}: a decimal integer")
    cursor = q.get("cursor", [None])[0]
    if cursor is not None and len(q["cursor"]) != 1:
        return err(400, "invalid_request", "one cursor")
    with ctx.store.lock:
        plan = ctx.store.directory.sync_page(path_gw, ctx.store.epoch, cursor, limit)
        if isinstance(plan, dict):
            ctx.store.c["sync_pages"] += 1
    if plan == "no_lookup_key":
        return err(409, "no_lookup_key", "register a lookup key first")
    if plan == "cursor_expired":
        return err(410, "cursor_expired", "do a full sync")
    return 200, _render_page(ctx, plan, params), {}


def _render_page(ctx, plan, params):
    """Tags and verifiers for a page (outside the store lock: hashing is slow)."""
    key = plan["key"]
    todo = []
    for u in plan["users"]:
        todo += u["pins"] + u["cards"] + ([u["password"]] if u["password"] is not None else [])
    verifiers = iter(ctx.hasher.verifiers(todo, params))
    users = []
    for u in plan["users"]:
        rec = dict(u["public"])
        rec["disabled"] = u["disabled"]
        rec["pins"] = [{"tag": lookup_tag(key, "pin", p), "verifier": next(verifiers)} for p in u["pins"]]
        rec["cards"] = [{"tag": lookup_tag(key, "card", c), "verifier": next(verifiers)} for c in u["cards"]]
        rec["password"] = {"verifier": next(verifiers)} if u["password"] is not None else None
        users.append(rec)
    t = plan["tombstones"]
    return {"cursor": plan["cursor"], "complete": plan["complete"], "key_id": plan["key_id"],
            "users": users,
            "tombstones": {"users": list(t["users"]),
                           "pins": [lookup_tag(key, "pin", p) for p in t["pins"]],
                           "cards": [lookup_tag(key, "card", c) for c in t["cards"]]}}


# -- POST /api/v1/accounting/batches ----------------------------------------------------
def _check_record(r):
    """The name of the first bad field, or None."""
    if not isinstance(r, dict):
        return "record"
    if not isinstance(r.get("record_id"), str) or not RECORD_ID_RE.match(r["record_id"]):
        return "record_id"
    for f in ("user", "queue"):
        if not isinstance(r.get(f), str) or not 1 <= len(r[f]) <= 255:
            return f
    if r.get("printer") is not None and (not isinstance(r["printer"], str) or len(r["printer"]) > 255):
        return "printer"
    if "printer" not in r:
        return "printer"
    for f in ("pages", "sheets", "copies", "bytes"):
        v = r.get(f)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return f
    for f in ("color", "duplex", "offline"):
        if not isinstance(r.get(f), bool):
            return f
    for f in ("submitted_at", "finished_at"):
        v = r.get(f)
        try:
            if not isinstance(v, str) or "T" not in v:
                return f
            datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return f
    if r.get("outcome") not in OUTCOMES:
        return "outcome"
    return None


def accounting(ctx, req):
    _, e = _bearer(ctx, req, "accounting")
    if e:
        return e
    gw = req.headers.get("X-Gateway-Id")

    def work(key):
        body, e = _json_body(req)
        if e:
            return e
        if body.get("batch_id") != key:
            return err(400, "invalid_request", "batch_id must equal the Idempotency-Key")
        records = body.get("records")
        if not isinstance(records, list):
            return err(400, "invalid_request", "records must be a list")
        if len(records) > MAX_RECORDS:
            return err(413, "payload_too_large", f"at most {MAX_RECORDS} records per batch")
        for r in records:
            bad = _check_record(r)
            if bad:
                rid = r.get("record_id") if isinstance(r, dict) else None
                return err(400, "invalid_record", f"bad {bad}", record_id=rid, field=bad)
        accepted, dups = ctx.store.add_records(gw, key, records)
        return 200, {"batch_id": key, "accepted": accepted, "duplicates": dups}, {}
    return _idempotent(ctx, req, work)
