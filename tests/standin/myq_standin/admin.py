# SPDX-License-Identifier: Apache-2.0
"""The /_standin/ control endpoints (docs/standin.md): faults, report, token expiry,
directory changes. JSON in and out, no authentication, loopback peers only (the server
module checks that). Served on the HTTPS port and on --admin-listen."""
import json
import re

from . import directory, faults as faults_mod

USER_ACTION_RE = re.compile(r"^/_standin/users/([^/]+)/(disable|enable|delete)$")
SET_REMOVE_RE = re.compile(r"^/_standin/sync-sets/([^/]+)/remove$")


def _json(body):
    if not body.strip():
        return {}
    obj = json.loads(body)
    if not isinstance(obj, dict):
        raise ValueError("the body is a JSON object")
    return obj


def report(app):
    out = app.store.report_counts()
    out["fault"] = app.faults.describe()
    out["tls"] = {"ca": app.tls_paths.get("ca"), "cert": app.tls_paths["cert"], "pin": app.tls_paths["pin"]}
    out["argon2_cached"] = app.hasher.cached()
    if app.queue is not None:
        out["queue"] = {"uri": app.queue.uri, "documents": app.queue.documents()}
    return out


def handle(app, h, path, body):
    """Answers one /_standin/ request on handler `h`."""
    method = h.command
    if path == "/_standin/report":
        if method != "GET":
            return h.reply(405, {"error": "method_not_allowed"}, {"Allow": "GET"})
        return h.reply(200, report(app))
    if method != "POST":
        return h.reply(405, {"error": "method_not_allowed"}, {"Allow": "POST"})
    try:
        req = _json(body)
    except ValueError as e:
        return h.reply(400, {"error": "invalid_request", "error_description": str(e)})
    try:
        return _post(app, h, path, req)
    except directory.FixtureError as e:
        return h.reply(400, {"error": "invalid_request", "error_description": str(e)})


def _post(app, h, path, req):
    store = app.store
    if path == "/_standin/fault":
        try:
            spec = faults_mod.validate(req)
        except ValueError as e:
            return h.reply(400, {"error": "invalid_request", "error_description": str(e)})
        taking_down = spec["mode"] in ("down", "flap") and not h.server.listener.admin
        problem = app.set_fault(spec, keep=h.request if taking_down else None)
        if problem:
            return h.reply(409, {"error": "conflict", "error_description": problem})
        return h.reply(200, {"fault": app.faults.describe()}, close=taking_down)
    if path == "/_standin/expire-tokens":
        return h.reply(200, {"expired": store.expire_tokens()})
    if path == "/_standin/reset-report":
        store.reset_report()
        if app.queue is not None:
            app.queue.hide_current()
        return h.reply(200, {"reset": True})
    if path == "/_standin/config":
        with store.lock:
            for k in ("token_ttl", "user_token_ttl"):
                if k in req:
                    if isinstance(req[k], bool) or not isinstance(req[k], int) or req[k] < 1:
                        return h.reply(400, {"error": "invalid_request", "error_description": f"{k}: seconds >= 1"})
                    setattr(store, k, req[k])
            return h.reply(200, {"token_ttl": store.token_ttl, "user_token_ttl": store.user_token_ttl})
    if path == "/_standin/users":
        user, sets = req.get("user"), req.get("sync_sets", [])
        if not isinstance(sets, list):
            return h.reply(400, {"error": "invalid_request", "error_description": "sync_sets is a list"})
        with store.lock:
            u = store.directory.upsert(user, sets)
            return h.reply(200, {"user": u.public()})
    m = USER_ACTION_RE.match(path)
    if m:
        uid, action = m.groups()
        with store.lock:
            d = store.directory
            if uid not in d.users:
                return h.reply(404, {"error": "not_found", "error_description": "no such user"})
            if action == "delete":
                d.delete(uid)
            else:
                d.set_disabled(uid, action == "disable")
            return h.reply(200, {"user": uid, "done": action})
    m = SET_REMOVE_RE.match(path)
    if m:
        with store.lock:
            ok = store.directory.remove_from_set(m.group(1), req.get("user"))
        return h.reply(200 if ok else 404, {"removed": ok})
    if path == "/_standin/revoke":
        kinds = [k for k in ("pin", "card", "password") if k in req]
        uid = req.get("user")
        if len(kinds) != 1 or not isinstance(uid, str):
            return h.reply(400, {"error": "invalid_request",
                                 "error_description": 'give "user" and one of "pin", "card", "password"'})
        with store.lock:
            d = store.directory
            if uid not in d.users:
                return h.reply(404, {"error": "not_found", "error_description": "no such user"})
            ok = d.revoke(uid, kinds[0], str(req[kinds[0]]) if kinds[0] != "password" else None)
        return h.reply(200 if ok else 404, {"revoked": ok})
    return h.reply(404, {"error": "not_found"})
