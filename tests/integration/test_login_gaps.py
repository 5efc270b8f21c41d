# SPDX-License-Identifier: Apache-2.0
"""The login service against the MyQ stand-in's faults (issue #7): a black-holed server
holds an online login for offline_login.online_timeout only, then the cache decides; a
user the server answers user_disabled for is purged from the cache, so they cannot log
in offline afterwards."""
import os

import conftest
from test_login import LoginCheck, config, standin  # noqa: F401  (standin is a fixture)


def test_black_holed_server_falls_back_after_online_timeout(tmp_root, standin):  # noqa: F811
    standin.fault(mode="none")
    check = LoginCheck(os.path.join(tmp_root, "check"), config(standin, extra="  online_timeout: 2s\n"))
    try:
        assert check(cmd="wait", state="online")["state"] == "online"
        assert check.login("pin", pin="1234")["status"] == "ok"
        # The server reads the request and never answers: upstream.request_timeout is
        # 10 s, the login waits online_timeout (2 s here) and the cache decides.
        standin.fault(mode="blackhole", seconds=120)
        r = check.login("pin", source="terminal:t2", pin="1234")
        assert r["status"] == "ok" and r["offline"], r
        assert 1800 <= r["ms"] < 6000, r["ms"]
        # The monitor counts it and goes offline: later logins go to the cache at once.
        assert check(cmd="wait", state="offline")["state"] == "offline"
        r = check.login("pin", source="terminal:t3", pin="1234")
        assert r["status"] == "ok" and r["offline"] and r["ms"] < 1500, r
    finally:
        standin.fault(mode="none")
        log = check.close()
    assert "EVENT=login_fallback" in log and "EVENT=login_ok REASON=offline METHOD=pin SOURCE=terminal:t2" in log


def test_user_disabled_online_is_purged_from_the_cache(tmp_root, standin):  # noqa: F811
    standin.fault(mode="none")
    check = LoginCheck(os.path.join(tmp_root, "check"), config(standin))
    try:
        assert check(cmd="wait", state="online")["state"] == "online"
        assert check.login("pin", pin="1234")["status"] == "ok"
        assert check.login("password", username="alice", password="alice-pw")["status"] == "ok"
        standin.admin_post("/_standin/users/u-1001/disable")
        # The server refuses alice now (403 user_disabled) and the cache forgets her.
        assert check.login("pin", source="terminal:t2", pin="1234")["status"] == "refused"
        standin.fault(mode="down", seconds=120)
        assert check(cmd="wait", state="offline")["state"] == "offline"
        for source, method, secrets in [("terminal:t3", "pin", {"pin": "1234"}),
                                        ("terminal:t4", "password", {"username": "alice", "password": "alice-pw"})]:
            r = check.login(method, source=source, **secrets)
            assert r["status"] == "refused", (method, r)
    finally:
        standin.fault(mode="none")
        standin.admin_post("/_standin/users/u-1001/enable")
        log = check.close()
    assert "EVENT=login_refused REASON=user_disabled METHOD=pin SOURCE=terminal:t2" in log
    assert "EVENT=user_purged REASON=user_disabled METHOD=pin SOURCE=terminal:t2" in log
    assert "EVENT=login_refused REASON=no_match METHOD=password SOURCE=terminal:t4" in log
    conftest.assert_no_secret(log, ["alice-pw", "1234"])
