"""``gfwizard discover [--json]`` through the real entry point."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gfwizard.commands.discover import CUT_NOTE, redact_many
from gfwizard.redact import register_secret
from tests.helpers import run_cli, tree_digest
from tests.unit.test_kubeconfig_helpers import b64, client_cert_pem, kubeconfig, simple


def test_no_kubeconfig_at_all_says_so_and_exits_0(isolated_home: Path) -> None:
    proc = run_cli(["discover"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:6] == [
        "No kubeconfig found. Looked in:",
        "  ~/.kube/config",
        "  ~/.kube/kubeconfig-*.y*ml",
        "  ~/.kube/*.y*ml",
        # At 80 columns (not a terminal) the hint wraps under a hanging indent.
        "Nothing to list; point KUBECONFIG at a kubeconfig file (for honey:",
        "  ~/.kube/kubeconfig-honey.yaml).",
    ]
    # The fixture's $GFW_CONFIG names no file: a warning, as a named config that does not exist always is.
    assert lines[6:8] == ["", "Warnings:"] and lines[8].startswith(f"  - {os.environ['GFW_CONFIG'][:40]}")
    assert proc.stdout.count("\n  - ") == 1
    assert not (isolated_home / ".kube").exists()


def test_a_state_dir_too_long_for_the_file_system_only_skips_the_cache(isolated_home: Path, tmp_path: Path) -> None:
    # Path.is_dir() raises for ENAMETOOLONG (and EACCES on a directory above): discover (and doctor, which reads
    # the binary cache there) printed a traceback. The cache only saves time: without it they run as usual.
    before = tree_digest(tmp_path)
    for command in (["discover", "--json"], ["discover"]):
        proc = run_cli(command, env={"GFW_STATE_DIR": str(tmp_path / ("a" * 300) / "state")})
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(run_cli(["discover", "--json"], env={"GFW_STATE_DIR": str(tmp_path / ("a" * 300))}).stdout)
    assert tree_digest(tmp_path) == before


def test_no_kubeconfig_still_shows_the_warnings_that_explain_it(isolated_home: Path, tmp_path: Path) -> None:
    # With no kubeconfig the text output stopped at the places it looked: a --config that does not exist and a
    # KUBECONFIG that names no file were warned about in --json only (docs/discover.md: both are warnings).
    missing = tmp_path / "organization.yaml"
    proc = run_cli(["discover", "--config", str(missing)], env={"KUBECONFIG": ":", "COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.split("\nWarnings:\n", 1)[1]
    assert text.splitlines()[0] == f"  - {missing} does not exist; classifying with the defaults"
    assert "  - KUBECONFIG is set to ':', which names no file: kubectl then reads no" in text
    assert "No kubeconfig found;" not in text, "the places looked in are listed once, above"
    assert not missing.exists() and not (isolated_home / ".kube").exists()


def test_json_keys_are_exactly_contexts_files_warnings(isolated_home: Path, tmp_path: Path) -> None:
    kube = tmp_path / "kube"
    kube.mkdir()
    good, bad, missing = kube / "good.yaml", kube / "bad.yaml", kube / "missing.yaml"
    good.write_text(simple("honey", server="https://100.113.89.12:6443", current="honey",
                           user={"token": "tok-cli-secret-value-42"}))
    bad.write_text("clusters: [\n")
    before = tree_digest(kube)
    proc = run_cli(["discover", "--json"], env={"KUBECONFIG": os.pathsep.join(map(str, (missing, bad, good)))})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc) == ["contexts", "files", "warnings"]
    assert [list(f) for f in doc["files"]] == [["path", "status", "error"]] * 4
    assert [(f["path"], f["status"]) for f in doc["files"]] == [
        (str(missing), "missing"), (str(bad), "invalid"), (str(good), "ok"),
        (str(isolated_home / ".kube" / "config"), "missing"),
    ]
    (ctx,) = doc["contexts"]
    assert (ctx["name"], ctx["classification"], ctx["current"], ctx["auth"]) == ("honey", "target", True, "token")
    assert any(w.startswith(f"kubectl refuses to load this KUBECONFIG list: {bad} is invalid") for w in doc["warnings"])
    assert "tok-cli-secret-value-42" not in proc.stdout
    assert tree_digest(kube) == before


def test_a_fifo_device_or_huge_file_in_kubeconfig_is_reported_not_read(isolated_home: Path, tmp_path: Path) -> None:
    # A FIFO would block the read forever and /dev/zero never ends: neither is opened for reading.
    kube = tmp_path / "kube"
    kube.mkdir()
    fifo, huge, good = kube / "fifo.yaml", kube / "huge.yaml", kube / "good.yaml"
    os.mkfifo(fifo)
    with open(huge, "wb") as fh:  # sparse: 16 MiB + 1 byte without writing them
        fh.truncate(16 * 1024 * 1024 + 1)
    good.write_text(simple("honey", server="https://100.113.89.12:6443", current="honey"))
    before = tree_digest(kube)
    entries = (fifo, Path("/dev/zero"), huge, good)
    proc = run_cli(["discover", "--json"], env={"KUBECONFIG": os.pathsep.join(map(str, entries))}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["path"], f["status"], f["error"]) for f in doc["files"][:4]] == [
        (str(fifo), "unreadable", "is a FIFO (named pipe), not a regular file; not read"),
        ("/dev/zero", "unreadable", "is a character device, not a regular file; not read"),
        (str(huge), "unreadable", "is larger than 16 MiB, more than any kubeconfig needs; not read"),
        (str(good), "ok", ""),
    ]
    assert [c["name"] for c in doc["contexts"]] == ["honey"]
    assert tree_digest(kube) == before and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_text_table_shows_expiry_exec_and_file_problems(tmp_path: Path) -> None:
    kube = tmp_path / "kube"
    kube.mkdir()
    marker = tmp_path / "ran"
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\ntouch {marker}\n")
    plugin.chmod(0o755)
    pem = client_cert_pem(dt.datetime(2020, 2, 3, tzinfo=dt.timezone.utc))
    first = kube / "a.yaml"
    first.write_text(kubeconfig(
        [("old-admin", "c", "cert"), ("bumble", "c", "ex")],
        {"c": "https://10.0.0.1:6443"},
        {"cert": {"client-certificate-data": b64(pem), "client-key-data": "eA=="}, "ex": {"exec": {"command": str(plugin)}}},
        current="old-admin",
    ))
    second = kube / "b.yaml"
    second.write_text(simple("other", current="other"))
    empty = kube / "empty.yaml"
    empty.write_text("")
    before = tree_digest(kube)
    # Wide enough for every cell whole (the 80-column layout has its own test).
    env = {"KUBECONFIG": os.pathsep.join(map(str, (first, second, empty))), "COLUMNS": "300"}
    proc = run_cli(["discover"], env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["CONTEXT", "FILE", "SERVER", "AUTH", "CERT", "EXPIRY", "CLASS"]
    assert lines[1].split() == ["*", "old-admin", str(first), "https://10.0.0.1:6443", "cert", "2020-02-03", "EXPIRED", "other"]
    assert lines[2].split() == ["bumble", str(first), "https://10.0.0.1:6443", "exec", "(plugin.sh)", "node-role-misuse"]
    assert f"  old-admin ({first}): client certificate expired 2020-02-03T00:00:00Z" in lines
    assert f"  empty      {empty}: file is empty" in lines
    assert any(line.startswith("  - files disagree on current-context: ") for line in lines)
    assert CUT_NOTE not in proc.stdout  # nothing was cut
    assert not marker.exists()
    assert tree_digest(kube) == before


def test_config_option_sets_the_target(tmp_path: Path) -> None:
    org = tmp_path / "organization.yaml"
    org.write_text("cluster:\n  context: hive\n  api_server: https://hive.example:6443\n")
    path = tmp_path / "k.yaml"
    path.write_text(simple("hive") + "")
    proc = run_cli(["discover", "--json", "--config", str(org)], env={"KUBECONFIG": str(path)})
    assert proc.returncode == 0, proc.stderr
    assert [c["classification"] for c in json.loads(proc.stdout)["contexts"]] == ["target"]


def test_redact_many_matches_one_by_one_redaction() -> None:
    register_secret("registered-secret-value")
    values = ["plain", "https://u:pw-in-url@host", "Bearer abc.def.ghi", "has registered-secret-value inside",
              "multi\nline token: xyz", "authorization:", "x" * 30]
    from gfwizard.redact import redact

    assert redact_many(values) == {v: redact(v) for v in values}


_FRAGMENTS = ["token", "password", ":", "=", " ", "\t", "\"", ",", "authorization", "Bearer ", "abc123", "https://",
              "u:p@", "glpat-", "x" * 20, "AKIA", "ABCDEFGHIJKLMNOP", "-----BEGIN RSA PRIVATE KEY-----",
              "-----END RSA PRIVATE KEY-----", "[REDACTED]", "ghp_", "registered-secret-value", "\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_FRAGMENTS), max_size=6).map("".join), max_size=8, unique=True))
def test_redact_many_equals_redact_for_any_values(values: list[str]) -> None:
    from gfwizard.redact import redact

    register_secret("registered-secret-value")
    assert redact_many(values) == {v: redact(v) for v in values}


def test_json_output_is_redacted(tmp_path: Path) -> None:
    # A context named like a GitLab token: names are copied from files, so they pass through redact.
    path = tmp_path / "k.yaml"
    path.write_text(simple("glpat-abcdefghijklmnop1234"))
    proc = run_cli(["discover", "--json"], env={"KUBECONFIG": str(path)})
    assert proc.returncode == 0, proc.stderr
    assert "glpat-abcdefghijklmnop1234" not in proc.stdout
    assert [c["name"] for c in json.loads(proc.stdout)["contexts"]] == ["[REDACTED]"]


def test_a_named_config_that_does_not_exist_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(simple("honey"))
    missing = tmp_path / "typo" / "organization.yaml"
    before = tree_digest(tmp_path)
    proc = run_cli(["discover", "--json", "--config", str(missing)], env={"KUBECONFIG": str(path)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["warnings"][0] == f"{missing} does not exist; classifying with the defaults"
    assert tree_digest(tmp_path) == before and not missing.parent.exists()
    # $GFW_CONFIG is named by the operator too: classifying against honey's defaults is said.
    from_env = run_cli(["discover", "--json"], env={"KUBECONFIG": str(path), "GFW_CONFIG": str(missing)})
    assert from_env.returncode == 0, from_env.stderr
    assert json.loads(from_env.stdout)["warnings"][0] == f"{missing} does not exist; classifying with the defaults"
    assert tree_digest(tmp_path) == before and not missing.parent.exists()
    # The default location may be missing quietly (a fresh machine).
    quiet = run_cli(["discover", "--json"], env={"KUBECONFIG": str(path), "GFW_CONFIG": ""}, cwd=tmp_path)
    assert not [w for w in json.loads(quiet.stdout)["warnings"] if "classifying with the defaults" in w]



def test_help_names_the_one_file_discover_writes_and_a_run_writes_only_it(isolated_home: Path, tmp_path: Path) -> None:
    helptext = "".join(run_cli(["discover", "--help"]).stdout.split())  # click wraps lines, even at a hyphen
    assert "neverwritesafile" not in helptext
    assert "neverwritesakubeconfig" in helptext
    assert "$GFW_STATE_DIR/cache/kubeconfig-summaries.json" in helptext
    path = tmp_path / "k.yaml"
    path.write_text(simple("honey"))
    before, home_before = tree_digest(tmp_path), tree_digest(isolated_home)
    proc = run_cli(["discover", "--json"], env={"KUBECONFIG": str(path)})
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(tmp_path) == before
    written = set(tree_digest(isolated_home)) - set(home_before)
    assert written == {".local/state/gfwizard/cache/kubeconfig-summaries.json"}


def test_a_quoted_tilde_in_kubeconfig_is_not_current_and_says_what_to_do(isolated_home: Path, tmp_path: Path) -> None:
    # KUBECONFIG='~/.kube/kubeconfig-honey.yaml' (quoted): kubectl reads ./~/.kube/... and sees no context.
    kube = isolated_home / ".kube"
    kube.mkdir()
    meant = kube / "kubeconfig-honey.yaml"
    meant.write_text(simple("honey", server="https://100.113.89.12:6443", current="honey",
                            user={"token": "tok-tilde-secret-value-7"}))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = (tree_digest(kube), tree_digest(cwd))
    proc = run_cli(["discover", "--json"], env={"KUBECONFIG": "~/.kube/kubeconfig-honey.yaml"}, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    literal = cwd / "~" / ".kube" / "kubeconfig-honey.yaml"
    assert [(f["path"], f["status"]) for f in doc["files"][:2]] == [(str(literal), "missing"), (str(meant), "ok")]
    (ctx,) = doc["contexts"]
    assert (ctx["name"], ctx["file"], ctx["current"], ctx["kubectl_visible"]) == ("honey", str(meant), False, False)
    (warning,) = [w for w in doc["warnings"] if "'~'" in w]
    assert warning.startswith("KUBECONFIG entry '~/.kube/kubeconfig-honey.yaml' starts with '~', which kubectl does "
                              f"not expand: it reads {literal} (which does not exist), not {meant}")
    assert warning.endswith(f"write the entry without '~' ({meant}), or let the shell expand it: export "
                            "KUBECONFIG=\"$HOME/.kube/kubeconfig-honey.yaml\" (a '~' inside quotes is not expanded)")
    assert "tok-tilde-secret-value-7" not in proc.stdout + proc.stderr
    assert (tree_digest(kube), tree_digest(cwd)) == before and not (cwd / "~").exists()
    text = run_cli(["discover"], env={"KUBECONFIG": "~/.kube/kubeconfig-honey.yaml"}, cwd=cwd)
    assert text.returncode == 0, text.stderr
    row = next(line for line in text.stdout.splitlines() if " honey " in line)
    assert not row.startswith("*"), text.stdout


def test_the_table_stays_aligned_for_wide_and_escaped_context_names_and_a_newline_forges_no_row(
        isolated_home: Path, tmp_path: Path) -> None:
    # Widths were counted in characters before escaping: an emoji or CJK name (two cells a character) and an
    # escaped control character pushed their rows out of line, and a newline in a name printed a second row.
    from gfwizard.textfit import cell_width

    path = tmp_path / "names.yaml"
    names = ["hönig-🐝", "蜂蜜\u202eevil", "a\x1b[31mred", "evil\n*  honey", "plain"]
    path.write_text(kubeconfig([(n, "c", "u") for n in names], {"c": "https://10.0.0.1:6443"},
                               {"u": {"token": "tok-names-0123456789"}}))
    before = tree_digest(tmp_path)
    proc = run_cli(["discover"], env={"KUBECONFIG": str(path), "COLUMNS": "300"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    table = lines[:len(names) + 1]
    assert [line.split()[0] for line in table[1:]] == ["hönig-🐝", "蜂蜜\\u202eevil", "a\\x1b[31mred", "evil\\n*",
                                                       "plain"]
    # Every row's FILE column starts in the same terminal cell as the header's.
    starts = {cell_width(line[:line.index(str(path) if line is not table[0] else "FILE")]) for line in table}
    assert len(starts) == 1, table
    assert lines[len(names) + 1] == "" and tree_digest(tmp_path) == before


@pytest.mark.parametrize("columns", [None, "80", "100"])
def test_the_table_fits_the_width_keeping_each_context_start_and_class_and_says_names_were_cut(
        isolated_home: Path, tmp_path: Path, columns: str | None) -> None:
    # One 300-character context name widened the CONTEXT column of every row (lines of 400 columns).
    from gfwizard.textfit import cell_width

    width = int(columns or 80)  # not a terminal: 80 unless COLUMNS says otherwise
    kube = tmp_path.joinpath(*["a-rather-long-directory-name-for-kubeconfigs"] * 3)
    kube.mkdir(parents=True)
    names = ["ctx-" + "x" * 290 + "-tail", "蜂蜜-" * 20 + "end", "hönig-🐝-" + "🐝" * 30, "honey", "bumble"]
    path = kube / "team-kubeconfig-with-a-long-file-name.yaml"
    path.write_text(kubeconfig([(n, "c", "u") for n in names],
                               {"c": "https://very-long-api-server-hostname.eu-central-1.example.internal:6443"},
                               {"u": {"token": "tok-width-0123456789"}}, current="honey"))
    before = tree_digest(tmp_path)
    env = {"KUBECONFIG": str(path), **({"COLUMNS": columns} if columns else {})}
    proc = run_cli(["discover"], env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(cell_width(line) for line in lines) <= width, proc.stdout
    contexts = json.loads(run_cli(["discover", "--json"], env=env).stdout)["contexts"]
    assert [c["name"] for c in contexts] == names  # --json keeps the names whole
    header, rows = lines[0], lines[1:len(names) + 1]
    for ctx, row in zip(contexts, rows):
        assert row[3:].startswith(ctx["name"][:4]), row
        assert row.endswith(ctx["classification"]), row
    # Wide characters count as two cells: the CLASS column starts in the same cell on every line.
    starts = {cell_width(line[:line.rindex(cls)]) for line, cls in
              [(header, "CLASS"), *zip(rows, (c["classification"] for c in contexts))]}
    assert len(starts) == 1, lines
    assert rows[3].startswith("*  honey ")
    assert " ".join(lines[len(names) + 1:len(names) + 3]).startswith(CUT_NOTE[:60])
    assert "tok-width-0123456789" not in proc.stdout
    assert tree_digest(tmp_path) == before


def test_a_cut_file_column_keeps_each_file_name(isolated_home: Path, tmp_path: Path) -> None:
    # Cut in the middle to 12 cells, ~/.kube/team00.yaml and ~/.kube/team01.yaml both read `~/.kub….yaml`.
    kube = tmp_path.joinpath(*["a-rather-long-directory-name-for-kubeconfigs"] * 2)
    kube.mkdir(parents=True)
    paths = [kube / f"team{n:02d}.yaml" for n in range(2)]
    for n, path in enumerate(paths):
        path.write_text(kubeconfig([(f"ctx-{n}-" + "y" * 60, "c", "u")],
                                   {"c": "https://very-long-api-server-hostname.eu-central-1.example.internal:6443"},
                                   {"u": {"token": "tok-files-0123456789"}}))
    before = tree_digest(tmp_path)
    proc = run_cli(["discover"], env={"KUBECONFIG": os.pathsep.join(map(str, paths)), "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()[1:3]
    assert "…" in rows[0] and "team00.yaml" in rows[0] and "team01.yaml" in rows[1], proc.stdout
    assert tree_digest(tmp_path) == before


def test_at_80_columns_the_file_gives_way_before_the_server(isolated_home: Path, tmp_path: Path) -> None:
    # A rehearsal-shaped kubeconfig in a long temp directory: eliding only the FILE path fits, yet the 23-character
    # server was cut too (both columns shrank together).
    kube = tmp_path.joinpath("gfwizard-rehearsal-workspace-abcdef", "kube")
    kube.mkdir(parents=True)
    path = kube / "kubeconfig-honey.yaml"
    server = "https://127.0.0.1:38421"
    path.write_text(kubeconfig([("honey", "c", "u")], {"c": server}, {"u": {"token": "tok-server-0123456789"}}))
    before = tree_digest(tmp_path)
    proc = run_cli(["discover"], env={"KUBECONFIG": str(path), "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, proc.stdout
    row = lines[1]
    assert server in row, proc.stdout
    assert str(path) not in row and "…" in row and "honey.yaml" in row, proc.stdout
    assert CUT_NOTE[:40] in proc.stdout
    assert tree_digest(tmp_path) == before
