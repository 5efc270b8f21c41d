# SPDX-License-Identifier: Apache-2.0
"""Checks of the systemd integration files in systemd/.

* printgated.service passes `systemd-analyze verify` (on a copy whose
  ExecStart points at the built binary) and rates <= 3.0 with
  `systemd-analyze security --offline=true`;
* the unit keeps the settings the daemon relies on;
* the sysusers.d and tmpfiles.d snippets apply cleanly to a scratch root.

Everything runs offline: no systemd as PID 1 is needed.

Environment: PG_SOURCE_DIR (checkout; defaults to this file's repository) and
PG_BUILD_DIR (build folder holding the `printgated` binary).
"""

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("PG_SOURCE_DIR") or Path(__file__).resolve().parents[2])
SYSTEMD_DIR = SOURCE_DIR / "systemd"
UNIT = SYSTEMD_DIR / "printgated.service"
SYSUSERS = SYSTEMD_DIR / "printgate.sysusers.conf"
TMPFILES = SYSTEMD_DIR / "printgate.tmpfiles.conf"

INSTALLED_BINARY = "/usr/sbin/printgated"
MAX_EXPOSURE = 3.0
TIMEOUT = 120  # seconds per tool invocation

TOOL_ENV = dict(os.environ, SYSTEMD_PAGER="cat", PAGER="cat", SYSTEMD_COLORS="0",
                LC_ALL="C.UTF-8")


def run(*args, check=False):
    """Runs a tool; returns CompletedProcess with stdout/stderr as text."""
    proc = subprocess.run(list(args), capture_output=True, text=True, encoding="utf-8",
                          errors="replace", env=TOOL_ENV, timeout=TIMEOUT, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}\n"
                    f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def tool(name):
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{name} not found (Debian package 'systemd')")
    return path


def parse_unit(path):
    """Returns {section: [(key, value), ...]} of a unit file (no continuation
    lines are used in our unit, so none are supported here)."""
    sections, current = {}, None
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
            continue
        assert current is not None, f"{path}: assignment outside a section: {raw!r}"
        assert not line.endswith("\\"), f"{path}: unexpected continuation line: {raw!r}"
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not an assignment: {raw!r}"
        sections[current].append((key.strip(), value.strip()))
    return sections


def values(section, key):
    return [v for k, v in section if k == key]


def single(section, key):
    found = values(section, key)
    assert len(found) == 1, f"expected exactly one {key}=, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def built_binary():
    build_dir = os.environ.get("PG_BUILD_DIR")
    if not build_dir:
        pytest.fail("PG_BUILD_DIR is not set (build folder containing printgated)")
    binary = Path(build_dir).resolve() / "printgated"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"built daemon not found or not executable: {binary}")
    return binary


def unit_copy(directory, exec_path):
    """Copies printgated.service into directory with ExecStart's program
    replaced by exec_path (arguments kept); returns the copy's path."""
    text = UNIT.read_text()
    pattern = re.compile(r"^ExecStart=" + re.escape(INSTALLED_BINARY) + r"(?=\s|$)", re.M)
    new_text, count = pattern.subn(lambda _: f"ExecStart={exec_path}", text)
    assert count == 1, f"expected one 'ExecStart={INSTALLED_BINARY} ...' line in {UNIT}"
    copy = Path(directory) / UNIT.name
    copy.write_text(new_text)
    return copy


@pytest.fixture(scope="module")
def unit_for_build(tmp_path_factory, built_binary):
    return unit_copy(tmp_path_factory.mktemp("unit"), built_binary)


# --- printgated.service: systemd-analyze --------------------------------------


def test_unit_verify_passes(unit_for_build, built_binary):
    exec_start = [line for line in unit_for_build.read_text().splitlines()
                  if line.startswith("ExecStart=")]
    assert exec_start == [f"ExecStart={built_binary} --config /etc/printgate/printgate.yaml"]

    proc = run(tool("systemd-analyze"), "verify", "--man=no", "--generators=no",
               str(unit_for_build))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"systemd-analyze verify failed:\n{output}"
    # verify only warns (exit 0) about unknown keys or unparsable values:
    # any line about our unit is a defect.
    ours = [line for line in output.splitlines() if UNIT.name in line]
    assert not ours, "systemd-analyze verify complained about the unit:\n" + "\n".join(ours)


def test_unit_verify_detects_missing_binary(tmp_path):
    # Guards the test above: verify really checks the ExecStart program.
    copy = unit_copy(tmp_path, tmp_path / "no-such-printgated")
    proc = run(tool("systemd-analyze"), "verify", "--man=no", "--generators=no", str(copy))
    assert proc.returncode != 0
    assert "is not executable" in proc.stdout + proc.stderr


def test_unit_security_exposure(tmp_path):
    # --offline=true reads the unit file only; ExecStart need not exist.
    copy = unit_copy(tmp_path, INSTALLED_BINARY)
    proc = run(tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(copy))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"systemd-analyze security failed:\n{output}"
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", output)
    assert match, f"no overall exposure level in:\n{output}"
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE, (
        f"exposure {exposure} > {MAX_EXPOSURE}; report:\n{output}")


# --- printgated.service: static checks -----------------------------------------


@pytest.fixture(scope="module")
def service():
    sections = parse_unit(UNIT)
    assert "Service" in sections and "Install" in sections
    return sections["Service"]


def test_unit_lifecycle(service):
    assert single(service, "Type") == "notify"
    assert single(service, "NotifyAccess") == "main"
    assert single(service, "ExecStart") == (
        f"{INSTALLED_BINARY} --config /etc/printgate/printgate.yaml")
    assert single(service, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert single(service, "WatchdogSec") == "30s"
    assert single(service, "Restart") == "on-failure"
    assert single(service, "TimeoutStopSec") == "30s"
    assert single(service, "LimitNOFILE") == "65536"


def test_unit_identity_and_state(service):
    assert single(service, "User") == "printgate"
    assert single(service, "Group") == "printgate"
    # Fixed user so printgatectl can run as "printgate"; no DynamicUser.
    assert values(service, "DynamicUser") in ([], ["no"])
    assert single(service, "StateDirectory") == "printgate"
    assert single(service, "StateDirectoryMode") == "0700"
    assert single(service, "UMask") == "0077"
    assert single(service, "ProtectSystem") == "strict"
    # /etc/printgate is admin-owned, not a ConfigurationDirectory.
    assert values(service, "ConfigurationDirectory") == []
    # The encrypted-credential hint for the master key is present (commented).
    assert re.search(r"^#LoadCredentialEncrypted=master\.key:/etc/printgate/master\.key\.cred$",
                     UNIT.read_text(), re.M)


def test_unit_privileges(service):
    assert single(service, "CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE"
    assert single(service, "AmbientCapabilities") == "CAP_NET_BIND_SERVICE"
    assert single(service, "NoNewPrivileges") == "yes"
    # PrivateUsers= would make CAP_NET_BIND_SERVICE useless for 631/515.
    assert values(service, "PrivateUsers") in ([], ["no"])


def test_unit_network_access(service):
    families = " ".join(values(service, "RestrictAddressFamilies")).split()
    # AF_UNIX is needed for control.sock, sd_notify and the journal socket.
    assert sorted(families) == ["AF_INET", "AF_INET6", "AF_UNIX"]
    # The gateway serves the LAN and talks to the LAN and the WAN.
    assert values(service, "PrivateNetwork") in ([], ["no"])
    assert values(service, "IPAddressDeny") == []
    assert values(service, "IPAddressAllow") == []


def test_unit_syscall_filter(service):
    filters = values(service, "SystemCallFilter")
    assert filters and filters[0] == "@system-service"
    denied = {item for f in filters if f.startswith("~") for item in f[1:].split()}
    # fork/exec stay allowed: Ghostscript children are planned.
    assert not denied & {"@process", "execve", "execveat", "fork", "vfork", "clone",
                         "clone3"}
    # sync, statfs and friends are needed for the SQLite WAL and spool checks.
    assert not denied & {"@sync", "@file-system", "@network-io", "@basic-io"}
    assert single(service, "SystemCallErrorNumber") == "EPERM"
    assert single(service, "SystemCallArchitectures") == "native"


def test_rlimit_syscall_not_filtered(service):
    # The unit denies @resources (which holds the setrlimit syscall); the
    # daemon still raises RLIMIT_NOFILE because glibc uses prlimit64, which
    # must stay in @default and out of the denied groups.
    filters = values(service, "SystemCallFilter")
    denied = [item for f in filters if f.startswith("~") for item in f[1:].split()]
    analyze = tool("systemd-analyze")
    allowed = run(analyze, "syscall-filter", "--no-pager", "@default", check=True).stdout.split()
    assert "prlimit64" in allowed
    if denied:
        banned = run(analyze, "syscall-filter", "--no-pager", *denied, check=True).stdout.split()
        assert "prlimit64" not in banned


def test_unit_is_installable():
    install = parse_unit(UNIT)["Install"]
    assert single(install, "WantedBy") == "multi-user.target"


# --- sysusers.d / tmpfiles.d snippets -----------------------------------------


@pytest.fixture(scope="module")
def scratch_root(tmp_path_factory):
    """A scratch root with the sysusers snippet applied."""
    root = tmp_path_factory.mktemp("root")
    (root / "etc").mkdir()
    # Config arguments are read as given (absolute path), entries are written
    # into ROOT/etc/{passwd,group,shadow,gshadow}.
    run(tool("systemd-sysusers"), f"--root={root}", str(SYSUSERS.resolve()), check=True)
    return root


def read_db(path):
    return {fields[0]: fields for fields in
            (line.split(":") for line in path.read_text().splitlines() if line)}


def test_sysusers_creates_printgate(scratch_root):
    passwd = read_db(scratch_root / "etc" / "passwd")
    group = read_db(scratch_root / "etc" / "group")
    assert "printgate" in passwd, passwd
    assert "printgate" in group, group
    name, _, uid, gid, _, home, shell = passwd["printgate"]
    assert 0 < int(uid) < 1000, "printgate must be a system user"
    assert gid == group["printgate"][2]
    assert home == "/var/lib/printgate"
    assert shell in ("/usr/sbin/nologin", "/sbin/nologin")


def test_tmpfiles_creates_directories(scratch_root):
    proc = run(tool("systemd-tmpfiles"), f"--root={scratch_root}", "--create",
               str(TMPFILES.resolve()))
    if os.geteuid() == 0:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        # Without root, only the chown to printgate/root may fail.
        problems = [line for line in proc.stderr.splitlines()
                    if line.strip() and "Operation not permitted" not in line]
        assert not problems, proc.stderr

    passwd = read_db(scratch_root / "etc" / "passwd")
    group = read_db(scratch_root / "etc" / "group")
    pg_uid, pg_gid = int(passwd["printgate"][2]), int(group["printgate"][2])
    expected = {
        "var/lib/printgate": (0o700, pg_uid, pg_gid),
        "etc/printgate": (0o750, 0, pg_gid),
    }
    for rel, (mode, uid, gid) in expected.items():
        st = (scratch_root / rel).stat()
        assert stat.S_ISDIR(st.st_mode), rel
        assert stat.S_IMODE(st.st_mode) == mode, f"{rel}: mode {oct(stat.S_IMODE(st.st_mode))}"
        if os.geteuid() == 0:
            assert (st.st_uid, st.st_gid) == (uid, gid), f"{rel}: owner {st.st_uid}:{st.st_gid}"
