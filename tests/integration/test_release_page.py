# SPDX-License-Identifier: Apache-2.0
"""The release web page in a real browser (issue #7): Debian's headless Chromium driven by
playwright-core (tests/browser/release_page.mjs, one phase per run) against printgated
with the MyQ stand-in as its server and ippeveprinter -k as the release printer.

Online: a PIN login verified by the stand-in, alice's held jobs (not bob's), CSRF
refusals (403) on the login form and on a session's forms, a release to the printer
(byte-exact there, with the right owner and title), its status followed to "printed",
log out. An idle session (release.session_idle: 10s) is refused and sent to the login
page without doing anything. Stand-in down: the offline banner, an offline login with
the PIN used online, a release (byte-exact again).

Screenshots: $PG_BUILD_DIR/test-artifacts/release-page/*.png (kept after the run)."""
import json
import os
import shutil
import subprocess

import conftest
from conftest import BUILD, SOURCE, Daemon, TestPrinter, wait_until
from test_login import config as login_config
from test_login import standin  # noqa: F401 (the module's stand-in fixture, cheap argon2id)

BROWSER_DIR = os.path.join(SOURCE, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "release_page.mjs")
SHOTS = os.path.join(os.path.abspath(BUILD), "test-artifacts", "release-page")
CHROMIUM = "/usr/bin/chromium"
IDLE_S = 10

# A title that would be markup if the page did not escape it.
TITLES = ["Quarterly <b>report</b> & \"plans\"", "Second job 'draft'", "Third one"]

PRINT_TEST = """{
  NAME "Print-Job to a hold queue as $owner"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR language attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name $owner
  ATTR name job-name "$title"
  ATTR mimeMediaType document-format text/plain
  FILE $filename
  STATUS successful-ok
  EXPECT job-id OF-TYPE integer
}
"""


def require_browser():
    """tests/run-all installs both; without them this test fails, it is not skipped."""
    assert os.path.exists(CHROMIUM), "no /usr/bin/chromium: apt-get install chromium (tests/run-all does)"
    assert os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")), \
        "no playwright-core: npm ci --prefix tests/browser (tests/run-all does)"


def submit(d, tmp_root, owner, title, doc):
    port = [l for l in d.status()["listeners"] if l["protocol"] == "ipp"][0]["port"]
    path = os.path.join(tmp_root, f"doc-{owner}-{len(os.listdir(tmp_root))}.txt")
    with open(path, "wb") as f:
        f.write(doc)
    test = os.path.join(tmp_root, "print-held.test")
    with open(test, "w") as f:
        f.write(PRINT_TEST)
    before = {j["id"] for j in d.jobs()}
    r = subprocess.run(["ipptool", "-t", "-T", "30", "-f", path, "-d", f"owner={owner}", "-d", f"title={title}",
                        f"ipp://127.0.0.1:{port}/ipp/print/held", test], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    new = [j for j in d.jobs() if j["id"] not in before]
    assert len(new) == 1 and new[0]["state"] == "pending-held", new
    return new[0]["id"]


def run_phase(d, phase, case):
    port = [l for l in d.status()["listeners"] if l["protocol"] == "release"][0]["port"]
    env = dict(os.environ, PG_RELEASE_URL=f"https://127.0.0.1:{port}", PG_SHOTS=SHOTS, PG_CASE=json.dumps(case))
    r = subprocess.run(["node", SCRIPT, phase], cwd=BROWSER_DIR, env=env, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, f"browser phase {phase} failed:\n{r.stdout}\n{r.stderr}\n--- daemon log tail\n" \
                              f"{d.log_text()[-4000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def job(d, job_id):
    return [j for j in d.jobs() if j["id"] == job_id][0]


def printed(printer, doc):
    return [env for got, env in printer.kept() if got == doc]


def test_release_page_in_chromium(tmp_root, standin):
    require_browser()
    shutil.rmtree(SHOTS, ignore_errors=True)
    os.makedirs(SHOTS)
    standin.fault(mode="none")
    printer = TestPrinter(tmp_root, name="hall").start()
    extra = f"""\
printers:
  hall: {{uri: "{printer.uri}"}}
queues:
  held: {{mode: hold}}
release:
  session_idle: {IDLE_S}s
"""
    text = login_config(standin, extra=extra).replace(
        "listen:\n  raw: 127.0.0.1:0\n", "listen:\n  ipp: 127.0.0.1:0\n  release: 127.0.0.1:0\n")
    d = Daemon(tmp_root, text).start()
    docs = [os.urandom(2000).hex().encode() + b"\n\x1b%-12345X\r\n end one", b"second job\n" * 500]
    mine = [submit(d, tmp_root, "alice", TITLES[0], docs[0]),
            submit(d, tmp_root, "EXAMPLE\\alice", TITLES[1], docs[1]),
            submit(d, tmp_root, "alice@example.com", TITLES[2], b"third job\n")]
    others = [submit(d, tmp_root, "bob", "Bob's job", b"bob\n")]
    case = {"pin": "1234", "wrong_pin": "918273", "card": "04A1B2C3", "username": "alice", "password": "alice-pw",
            "wrong_password": "Wr0ng-pass-77", "printer": "hall", "idle_s": IDLE_S, "gone": [],
            "mine": [{"id": i, "title": t} for i, t in zip(mine, TITLES)],
            "others": [{"id": i, "title": "Bob's job"} for i in others], "release": mine[0]}

    seen = run_phase(d, "online", case)
    assert seen["methods"] == ["pin", "card", "password"]
    assert seen["refusal"] == "Login failed. Check what you typed and try again."
    wait_until(lambda: printed(printer, docs[0]), timeout=60, what="the released job at the printer")
    env = printed(printer, docs[0])[0]
    # ippeveprinter writes quotes in IPP_* values as \".
    assert env["IPP_JOB_NAME"].replace('\\"', '"') == TITLES[0], env
    assert env["IPP_JOB_ORIGINATING_USER_NAME"] == "alice", env
    assert job(d, mine[0])["state"] == "completed"
    assert job(d, mine[1])["state"] == "pending-held" and job(d, others[0])["state"] == "pending-held"

    case["release"] = mine[1]
    case["gone"] = [mine[0]]
    run_phase(d, "expire", case)
    assert job(d, mine[1])["state"] == "pending-held", "a post on an ended session did something"
    assert len(printer.kept()) == 1

    standin.fault(mode="down", seconds=600)
    try:
        wait_until(lambda: d.status()["upstream"]["state"] == "offline", timeout=60, what="the gateway offline")
        assert run_phase(d, "offline", case)["methods"] == ["pin", "card", "password"]
        wait_until(lambda: printed(printer, docs[1]), timeout=60, what="the job released offline at the printer")
    finally:
        standin.fault(mode="none")
    log = d.log_text()
    assert "EVENT=login_ok METHOD=pin SOURCE=web:127.0.0.1 USER=alice" in log
    assert "EVENT=login_ok REASON=offline METHOD=pin SOURCE=web:127.0.0.1 USER=alice" in log
    for method in ["card", "password"]:
        assert f"EVENT=login_ok METHOD={method} SOURCE=web:127.0.0.1 USER=alice" in log
        assert f"EVENT=login_ok REASON=offline METHOD={method} SOURCE=web:127.0.0.1 USER=alice" in log
    assert "EVENT=job_released" in log and "EVENT=release_page_csrf" in log
    conftest.assert_no_secret(log, ["918273", "1234", "04A1B2C3", "alice-pw", "Wr0ng-pass-77", "pg_session="])
    d.stop()
    for name in ["login", "card-login", "jobs", "outcome", "status", "session-ended", "offline-banner", "offline-jobs",
                 "offline-outcome"]:
        assert os.path.getsize(os.path.join(SHOTS, name + ".png")) > 1000, name
