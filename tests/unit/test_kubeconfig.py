"""Kubeconfig discovery: bad files are reported and never fatal, kubectl's merge rules, auth kinds,
certificate expiry, exec plugins never run, and no kubeconfig file is ever written."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
import yaml

from gfwizard.errors import InputError
from gfwizard.kubeconfig import AuthKind, FileStatus, discover
from tests.unit.test_kubeconfig_helpers import b64, client_cert_pem, kubeconfig, run_discover, simple


@pytest.fixture
def kube(tmp_path: Path) -> Path:
    d = tmp_path / "kube"
    d.mkdir()
    return d


def env_for(*paths: Path) -> dict[str, str]:
    return {"KUBECONFIG": os.pathsep.join(str(p) for p in paths)}


def names(result) -> list[str]:
    return [c.name for c in result.contexts]


def file_info(result, path: Path):
    return next(f for f in result.files if f.path == str(path))


# --- bad input: each reported, never fatal, the other files still listed, nothing written ------------


def test_missing_kubeconfig_entry_is_reported_and_others_listed(kube: Path) -> None:
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    missing = kube / "nope.yaml"
    result = run_discover([kube], env_for(missing, good))
    info = file_info(result, missing)
    assert (info.status, info.error) == (FileStatus.MISSING, "no such file")
    assert names(result) == ["good"]
    assert not missing.exists()


def _skipped_warning(path: Path) -> str:
    return (f"{path} is empty (no YAML document: no bytes, or only whitespace or comments): skipped, as kubectl "
            f"skips it; put the kubeconfig {path} should hold into it, or remove it from the kubeconfig list "
            "(KUBECONFIG, cluster.kubeconfig or --kubeconfig); nothing to do if it is meant to be empty")


def test_empty_file_is_skipped_like_kubectl_with_a_warning(kube: Path) -> None:
    empty = kube / "empty.yaml"
    empty.write_text("")
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    result = run_discover([kube], env_for(empty, good))
    info = file_info(result, empty)
    assert (info.status, info.error) == (FileStatus.EMPTY, "file is empty")
    assert names(result) == ["good"] and result.merged_files == [str(good)]
    assert result.warnings == [_skipped_warning(empty)]
    alone = run_discover([kube], env_for(good))
    assert [c.to_dict() for c in result.contexts] == [c.to_dict() for c in alone.contexts]
    assert empty.read_text() == "" and good.read_text() == simple("good")


@pytest.mark.parametrize("text", ["# nothing here yet\n", "  \n\n   \n", "---\n# later\n"])
def test_comment_or_whitespace_only_file_counts_as_empty_and_is_skipped(kube: Path, text: str) -> None:
    only = kube / "comments.yaml"
    only.write_text(text)
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    result = run_discover([kube], env_for(only, good))
    info = file_info(result, only)
    assert (info.status, info.error) == (FileStatus.EMPTY, "no YAML document (only comments or whitespace)")
    assert names(result) == ["good"] and result.warnings == [_skipped_warning(only)]
    assert only.read_text() == text


def test_whitespace_with_a_tab_is_invalid_yaml_as_kubectl_reads_it(kube: Path) -> None:
    # kubectl 1.32: "error loading config file ...: yaml: found character that cannot start any token".
    tab = kube / "tab.yaml"
    tab.write_text("\n\t\n")
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    result = run_discover([kube], env_for(tab, good))
    info = file_info(result, tab)
    assert info.status is FileStatus.INVALID and info.error.startswith("not valid YAML: line 2, column 1"), info
    assert any(w.startswith(f"kubectl refuses to load this KUBECONFIG list: {tab} is invalid") for w in result.warnings)
    assert tab.read_text() == "\n\t\n"


def test_unparseable_file_reports_line_and_column_and_others_listed(kube: Path) -> None:
    bad = kube / "bad.yaml"
    bad.write_text("apiVersion: v1\nclusters: [unclosed\n")
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    result = run_discover([kube], env_for(bad, good))
    info = file_info(result, bad)
    assert info.status is FileStatus.INVALID
    assert info.error.startswith("not valid YAML: line 3, column 1: ")
    assert names(result) == ["good"]
    assert (f"kubectl refuses to load this KUBECONFIG list: {bad} is invalid ({info.error}); so does the Python "
            "kubernetes client. Contexts from the other files are listed anyway") in result.warnings
    # kubectl would refuse the list, so nothing is visible to it.
    assert [c.kubectl_visible for c in result.contexts] == [False]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway; see the open() variant below")
def test_unreadable_file_chmod_000(kube: Path) -> None:
    locked = kube / "locked.yaml"
    locked.write_text(simple("locked"))
    locked.chmod(0)
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    try:
        result = run_discover([kube / "good.yaml"], env_for(locked, good))
    finally:
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
    info = file_info(result, locked)
    assert (info.status, info.error) == (FileStatus.UNREADABLE, "Permission denied")
    assert names(result) == ["good"]


def test_unreadable_file_permission_denied_on_open(kube: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, which reads a chmod 000 file anyway: make open() of that one path fail the
    # way it does for an ordinary user instead.
    locked = kube / "locked.yaml"
    locked.write_text(simple("locked"))
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    real_open = os.open

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(file) == str(locked):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    result = run_discover([kube], env_for(locked, good))
    info = file_info(result, locked)
    assert (info.status, info.error) == (FileStatus.UNREADABLE, "Permission denied")
    assert names(result) == ["good"]
    assert any(w.startswith(f"kubectl refuses to load this KUBECONFIG list: {locked} is unreadable (Permission denied)")
               for w in result.warnings)


def test_dev_null_in_kubeconfig_is_empty_as_kubectl_reads_it(kube: Path) -> None:
    # `KUBECONFIG=/dev/null:...` is a shell idiom; kubectl reads /dev/null as an empty config and loads the rest.
    good = kube / "good.yaml"
    good.write_text(simple("good", current="good"))
    result = run_discover([kube], {"KUBECONFIG": os.pathsep.join((os.devnull, str(good)))})
    info = next(f for f in result.files if f.path == os.devnull)
    assert (info.status, info.error) == (FileStatus.EMPTY, f"is {os.devnull}: reads as an empty kubeconfig")
    assert [(c.name, c.current, c.kubectl_visible) for c in result.contexts] == [("good", True, True)]
    assert not [w for w in result.warnings if os.devnull in w]
    assert result.client_target("good") == (str(good), "good")


def test_fifo_and_oversized_entries_say_what_kubectl_really_does(kube: Path) -> None:
    # Checked with kubectl 1.32: it blocks on a FIFO (waiting for a writer) and reads a file over gfwizard's cap.
    fifo, huge, good = kube / "fifo.yaml", kube / "huge.yaml", kube / "good.yaml"
    os.mkfifo(fifo)
    with open(huge, "wb") as fh:
        fh.truncate(16 * 1024 * 1024 + 1)
    good.write_text(simple("good"))
    result = run_discover([kube], env_for(fifo, huge, good))
    assert (f"kubectl hangs on this KUBECONFIG list: {fifo} is a FIFO (named pipe), and kubectl (like the Python "
            "kubernetes client) waits for a writer before it reads any file of the list. Contexts from the other "
            "files are listed anyway") in result.warnings
    assert (f"gfwizard did not read {huge}: it is larger than 16 MiB, more than any kubeconfig needs. kubectl does "
            "read it: the contexts it defines are not listed here, and if it is not a valid kubeconfig kubectl "
            "refuses this KUBECONFIG list. Contexts from the other files are listed anyway") in result.warnings
    assert not [w for w in result.warnings if w.startswith("kubectl refuses")]
    assert names(result) == ["good"] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_directory_where_a_file_is_expected_is_unreadable(kube: Path) -> None:
    folder = kube / "dir.yaml"
    folder.mkdir()
    good = kube / "good.yaml"
    good.write_text(simple("good"))
    result = run_discover([kube], env_for(folder, good))
    info = file_info(result, folder)
    assert (info.status, info.error) == (FileStatus.UNREADABLE, "is a directory, not a file")
    assert names(result) == ["good"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- a\n- b\n", "top level is a list, expected a mapping"),
        ("kind: Pod\napiVersion: v1\n", "kind 'Pod' is not a kubeconfig (expected kind: Config)"),
        ("contexts: {a: b}\n", "'contexts' is a dict, expected a list"),
        (kubeconfig([("x", "c1", "u")], {"c1": "https://a"}, {"u": {}}).replace("clusters:\n", "clusters:\n- name: c1\n  cluster: {server: https://b}\n"),
         "duplicate cluster name 'c1' (kubectl refuses a file with duplicate names)"),
    ],
)
def test_structurally_wrong_files_are_invalid(kube: Path, text: str, error: str) -> None:
    bad = kube / "bad.yaml"
    bad.write_text(text)
    result = run_discover([kube], env_for(bad))
    info = file_info(result, bad)
    assert (info.status, info.error) == (FileStatus.INVALID, error)
    assert result.contexts == []


def test_two_nameless_entries_are_skipped_by_discovery_and_refused_by_the_context_reader(kube: Path) -> None:
    """Both readers use one duplicate-name check; only the context reader (validate, deploy) counts an empty
    name, as client-go does, while discovery skips nameless entries with a warning and lists the rest."""
    from gfwizard.cluster_errors import ClusterAccessError
    from gfwizard.cluster_kubeconfig import resolve_context

    path = kube / "nameless.yaml"
    path.write_text(simple("good").replace("clusters:\n", "clusters:\n- name: ''\n  cluster: {server: https://a}\n"
                                                            "- name: ''\n  cluster: {server: https://b}\n"))
    before = path.read_bytes()
    result = run_discover([kube], env_for(path))
    assert file_info(result, path).status is FileStatus.OK and names(result) == ["good"]
    assert [w for w in result.warnings if "no name" in w] == [f"{path}: clusters[0] has no name; skipped",
                                                               f"{path}: clusters[1] has no name; skipped"]
    with pytest.raises(ClusterAccessError) as refused:
        resolve_context(str(path), "good")
    assert f"{path} names cluster '' twice: kubectl and the stacks' providers (client-go) refuse such a file" \
        in refused.value.message
    assert path.read_bytes() == before


def test_two_files_with_different_current_context_warn_and_first_wins(kube: Path) -> None:
    a, b = kube / "a.yaml", kube / "b.yaml"
    a.write_text(simple("alpha", current="alpha"))
    b.write_text(simple("beta", current="beta"))
    result = run_discover([kube], env_for(a, b))
    assert (
        f"files disagree on current-context: {a} sets 'alpha', {b} sets 'beta'. kubectl uses 'alpha' from {a} "
        f"(the first file in KUBECONFIG wins); the Python kubernetes client (KubeConfigMerger) given the same "
        f"KUBECONFIG would use 'beta' from {b} (the last file wins)"
    ) in result.warnings
    assert [(c.name, c.current) for c in result.contexts] == [("alpha", True), ("beta", False)]
    assert result.current_context == "alpha"


def test_current_context_disagreement_with_kubeconfig_unset(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    config = home / ".kube" / "config"
    config.write_text(simple("main", current="main"))
    other = home / ".kube" / "kubeconfig-honey.yaml"
    other.write_text(simple("honey", current="honey"))
    result = run_discover([home], {}, home=home)
    assert (
        f"files disagree on current-context: {config} sets 'main', {other} sets 'honey'. Discovery marks 'main' "
        f"from {config} current (the first file wins); with KUBECONFIG unset kubectl reads only {config}, which sets 'main'"
    ) in result.warnings
    by_name = {c.name: c for c in result.contexts}
    assert by_name["main"].current and by_name["main"].kubectl_visible
    assert not by_name["honey"].current and not by_name["honey"].kubectl_visible


def test_expired_client_cert_shows_its_expiry(kube: Path) -> None:
    not_after = dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    pem = client_cert_pem(not_after)
    path = kube / "old.yaml"
    path.write_text(simple("old", user={"client-certificate-data": b64(pem), "client-key-data": b64(b"k" * 200)}))
    result = run_discover([kube], env_for(path))
    ctx = result.context("old")
    assert ctx is not None
    assert (ctx.auth, ctx.cert_expiry, ctx.cert_expired) == (AuthKind.CERT, "2021-03-04T05:06:07Z", True)
    assert "client certificate expired 2021-03-04T05:06:07Z" in ctx.problems


def test_valid_client_cert_file_relative_to_the_kubeconfig(kube: Path) -> None:
    not_after = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=90)
    (kube / "certs").mkdir()
    (kube / "certs" / "admin.crt").write_bytes(client_cert_pem(not_after))
    path = kube / "fresh.yaml"
    path.write_text(simple("fresh", user={"client-certificate": "certs/admin.crt", "client-key": "certs/admin.key"}))
    ctx = run_discover([kube], env_for(path)).context("fresh")
    assert ctx is not None
    assert ctx.cert_expiry == not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ctx.cert_expired is False
    assert ctx.problems == ()


def test_unreadable_certificate_data_is_a_problem_not_a_failure(kube: Path) -> None:
    path = kube / "junk.yaml"
    path.write_text(simple("junk", user={"client-certificate-data": b64(b"not a certificate"), "client-key-data": "eA=="}))
    ctx = run_discover([kube], env_for(path)).context("junk")
    assert ctx is not None
    assert ctx.cert_expiry is None
    assert "client-certificate-data does not hold a readable certificate" in ctx.problems


def test_exec_plugin_is_classified_and_never_run(kube: Path, tmp_path: Path) -> None:
    marker = tmp_path / "plugin-ran"
    plugin = tmp_path / "credential-plugin"
    plugin.write_text(f"#!/bin/sh\ntouch {marker}\necho '{{}}'\n")
    plugin.chmod(0o755)
    path = kube / "exec.yaml"
    path.write_text(simple("eks", user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
        "args": ["--secret-arg", "s3cr3t-argument-value"], "env": [{"name": "X", "value": "y"}],
    }}))
    result = run_discover([kube], env_for(path))
    ctx = result.context("eks")
    assert ctx is not None
    assert (ctx.auth, ctx.exec_command) == (AuthKind.EXEC, "credential-plugin")
    assert not marker.exists(), "discovery ran the exec plugin"
    assert "s3cr3t-argument-value" not in repr(result.to_dict())


@pytest.mark.parametrize(
    ("user", "kind", "command"),
    [
        ({"client-certificate-data": "eA==", "client-key-data": "eA=="}, AuthKind.CERT, ""),
        ({"token": "abcdef0123456789"}, AuthKind.TOKEN, ""),
        ({"tokenFile": "/var/run/token"}, AuthKind.TOKEN, ""),
        ({"username": "admin", "password": "hunter2-hunter2"}, AuthKind.BASIC, ""),
        ({}, AuthKind.NONE, ""),
        ({"auth-provider": {"name": "oidc", "config": {"id-token": "x"}}}, AuthKind.OIDC, ""),
        ({"exec": {"command": "kubectl", "args": ["oidc-login", "get-token"]}}, AuthKind.OIDC, "kubectl"),
        ({"exec": {"command": "/usr/local/bin/kubelogin", "args": ["get-token"]}}, AuthKind.OIDC, "kubelogin"),
        ({"exec": {"command": "aws", "args": ["eks", "get-token"]}}, AuthKind.EXEC, "aws"),
        ({"auth-provider": {"name": "gcp"}}, AuthKind.EXEC, "auth-provider:gcp"),
    ],
)
def test_auth_kinds(kube: Path, user: dict, kind: AuthKind, command: str) -> None:
    path = kube / "u.yaml"
    path.write_text(simple("ctx", user=user))
    ctx = run_discover([kube], env_for(path)).context("ctx")
    assert ctx is not None
    assert (ctx.auth, ctx.exec_command) == (kind, command)


def test_no_secret_values_in_results(kube: Path) -> None:
    secrets = ["tok-super-secret-0123456789", "hunter2-password-value", "S0VZLURBVEEtU0VDUkVU", "idtoken-secret-xyz"]
    path = kube / "s.yaml"
    path.write_text(kubeconfig(
        [("a", "c", "ua"), ("b", "c", "ub"), ("c", "c", "uc")],
        {"c": "https://admin:hunter2-password-value@10.1.1.1:6443"},
        {"ua": {"token": secrets[0]}, "ub": {"username": "u", "password": secrets[1]},
         "uc": {"client-certificate-data": "eA==", "client-key-data": secrets[2],
                "auth-provider": {"name": "oidc", "config": {"id-token": secrets[3]}}}},
    ))
    result = run_discover([kube], env_for(path))
    text = repr(result) + repr(result.to_dict())
    for secret in secrets:
        assert secret not in text
    assert result.context("a").server == "https://10.1.1.1:6443"  # type: ignore[union-attr]


# --- kubectl's merge rules ------------------------------------------------------------------------


def test_first_file_wins_for_contexts_clusters_and_users(kube: Path) -> None:
    a, b = kube / "a.yaml", kube / "b.yaml"
    a.write_text(kubeconfig([("shared", "c1", "u1"), ("a-only", "c1", "u1")], {"c1": "https://a.example:6443"},
                            {"u1": {"token": "aaaaaaaaaaaa"}}))
    b.write_text(kubeconfig([("shared", "c9", "u2"), ("b-only", "c1", "u2")], {"c1": "https://b.example:6443"},
                            {"u2": {"exec": {"command": "aws"}}}))
    result = run_discover([kube], env_for(a, b))
    winner = result.context("shared")
    assert winner is not None and (winner.file, winner.server, winner.shadowed_by) == (str(a), "https://a.example:6443", "")
    hidden = result.context("shared", file=str(b))
    assert hidden is not None and hidden.shadowed_by == str(a) and not hidden.kubectl_visible
    b_only = result.context("b-only")
    # kubectl resolves b's context through the merged clusters: a's c1 wins.
    assert b_only is not None
    assert (b_only.server, b_only.cluster_file, b_only.user_file) == ("https://a.example:6443", str(a), str(b))
    assert f"context 'shared' is defined in {a} and {b}; kubectl uses the one in {a}" in result.warnings
    assert (f"cluster 'c1' is defined differently in {a} and {b} (server https://a.example:6443 vs "
            f"https://b.example:6443); kubectl uses the one in {a} for every context that names it, including those "
            f"in {b}") in result.warnings


def test_files_outside_the_merge_set_resolve_on_their_own(tmp_path: Path, kube: Path) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    listed = kube / "listed.yaml"
    listed.write_text(kubeconfig([("one", "c1", "u1")], {"c1": "https://listed:6443"}, {"u1": {"token": "t" * 12}}))
    extra = home / ".kube" / "kubeconfig-honey.yaml"
    extra.write_text(kubeconfig([("honey", "c1", "u1")], {"c1": "https://100.113.89.12:6443"}, {"u1": {"token": "t" * 12}}))
    result = run_discover([kube, home], env_for(listed), home=home)
    honey = result.context("honey")
    assert honey is not None
    assert (honey.server, honey.kubectl_visible, honey.cluster_file) == ("https://100.113.89.12:6443", False, str(extra))
    assert result.context("one").kubectl_visible  # type: ignore[union-attr]
    assert [f.path for f in result.files] == [str(listed), str(home / ".kube" / "config"), str(extra)]


def test_home_candidates_order_and_symlink_dedupe(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kd = home / ".kube"
    kd.mkdir(parents=True)
    (kd / "kubeconfig-honey.yaml").write_text(simple("honey"))
    (kd / "config").symlink_to(kd / "kubeconfig-honey.yaml")
    (kd / "zeta.yml").write_text(simple("zeta"))
    (kd / "alpha.yaml").write_text(simple("alpha"))
    result = run_discover([home], {}, home=home)
    assert [f.path for f in result.files] == [str(kd / "config"), str(kd / "alpha.yaml"), str(kd / "zeta.yml")]
    assert names(result) == ["honey", "alpha", "zeta"]
    assert result.searched == ["~/.kube/config", "~/.kube/kubeconfig-*.y*ml", "~/.kube/*.y*ml"]


def test_kubeconfig_unset_and_no_default_file_says_kubectl_sees_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "kubeconfig-honey.yaml").write_text(simple("honey"))
    result = run_discover([home], {}, home=home)
    config = home / ".kube" / "config"
    assert (f"KUBECONFIG is unset and {config} does not exist: kubectl sees none of the 1 context(s) in the other "
            "~/.kube files; set KUBECONFIG (or pass --kubeconfig) to use them") in result.warnings
    assert [c.kubectl_visible for c in result.contexts] == [False]


def test_a_name_defined_twice_in_files_kubectl_does_not_read_says_so(tmp_path: Path) -> None:
    # With KUBECONFIG unset kubectl reads only ~/.kube/config: the warning said "kubectl uses the one in team00"
    # about two ~/.kube files kubectl never reads.
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    config, team00, team07 = (home / ".kube" / n for n in ("config", "team00.yaml", "team07.yaml"))
    for path, server in ((team00, "https://a.example:6443"), (team07, "https://b.example:6443")):
        path.write_text(kubeconfig([("staging", "c1", "u1")], {"c1": server}, {"u1": {"token": "t" * 12}}))
    result = run_discover([home], {}, home=home)
    neither = (f"kubectl reads neither file unless it is in KUBECONFIG (unset, kubectl reads only {config}); "
               f"gfwizard uses the one in {team00}")
    assert f"context 'staging' is defined in {team00} and {team07}; {neither}" in result.warnings
    assert (f"cluster 'c1' is defined differently in {team00} and {team07} (server https://a.example:6443 vs "
            f"https://b.example:6443); {neither} for every context that names it, including those in {team07}"
            ) in result.warnings
    assert not [w for w in result.warnings if "kubectl uses the one in" in w]
    assert [(c.file, c.shadowed_by, c.kubectl_visible) for c in result.contexts] == [
        (str(team00), "", False), (str(team07), str(team00), False)]
    # When kubectl does read the first file (~/.kube/config), its pick is said as before.
    config.write_text(simple("staging"))
    result = run_discover([home], {}, home=home)
    assert f"context 'staging' is defined in {config} and {team00}; kubectl uses the one in {config}" in result.warnings


def home_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A home directory and a different current directory (entered) under ``tmp_path``."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return home, cwd


def test_tilde_entry_is_read_as_kubectl_reads_it_and_its_file_listed_outside_the_merge(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # KUBECONFIG='~/honey.yaml' (quoted, so the shell left the ~): kubectl reads ./~/honey.yaml under the
    # current directory and sees nothing; honey.yaml's contexts are listed, but none is current or visible.
    home, cwd = home_and_cwd(tmp_path, monkeypatch)
    (home / "honey.yaml").write_text(simple("honey", current="honey"))
    result = run_discover([home, cwd], {"KUBECONFIG": "~/honey.yaml"}, home=home)
    literal = cwd / "~" / "honey.yaml"
    assert [(f.path, f.status) for f in result.files[:2]] == [
        (str(literal), FileStatus.MISSING), (str(home / "honey.yaml"), FileStatus.OK)]
    ctx = result.context("honey")
    assert ctx is not None and (ctx.current, ctx.kubectl_visible, ctx.shadowed_by) == (False, False, "")
    assert result.current_context is None and result.merged_files == []
    assert (f"KUBECONFIG entry '~/honey.yaml' starts with '~', which kubectl does not expand: it reads {literal} "
            f"(which does not exist), not {home / 'honey.yaml'} (the Python kubernetes client expands it); contexts "
            f"from {home / 'honey.yaml'} are listed, but kubectl does not see them and none of them is current; write "
            f"the entry without '~' ({home / 'honey.yaml'}), or let the shell expand it: export "
            "KUBECONFIG=\"$HOME/honey.yaml\" (a '~' inside quotes is not expanded)") in result.warnings
    assert not literal.exists() and not (cwd / "~").exists()


def test_tilde_entry_neither_shadows_nor_sets_the_current_context_of_a_later_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # kubectl (checked with 1.32): KUBECONFIG='~/a.yaml:/abs/b.yaml' lists only b.yaml's contexts, b's current.
    home, cwd = home_and_cwd(tmp_path, monkeypatch)
    a, b = home / "a.yaml", tmp_path / "b.yaml"
    a.write_text(simple("honey", server="https://10.0.0.1:6443", current="honey"))
    b.write_text(kubeconfig([("honey", "b", "b"), ("other", "b", "b")], {"b": "https://10.0.0.2:6443"},
                            {"b": {"token": "t" * 12}}, current="other"))
    result = run_discover([home, cwd, b], {"KUBECONFIG": f"~/a.yaml{os.pathsep}{b}"}, home=home)
    assert result.current_context == "other" and result.merged_files == [str(b)]
    assert [(c.name, c.file, c.current, c.kubectl_visible, c.shadowed_by) for c in result.contexts] == [
        ("honey", str(b), False, True, ""), ("other", str(b), True, True, ""), ("honey", str(a), False, False, "")]
    assert result.context("honey").file == str(b)
    assert not any("disagree on current-context" in w for w in result.warnings), result.warnings
    assert sum("starts with '~'" in w for w in result.warnings) == 1


def test_tilde_entry_reads_a_directory_named_tilde_under_the_current_one_like_kubectl(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    (cwd / "~").mkdir(parents=True)
    home.mkdir()
    monkeypatch.chdir(cwd)
    (home / "k.yaml").write_text(simple("meant", current="meant"))
    (cwd / "~" / "k.yaml").write_text(simple("literal", current="literal"))
    result = run_discover([home, cwd], {"KUBECONFIG": "~/k.yaml"}, home=home)
    assert result.current_context == "literal"
    assert [(c.name, c.current, c.kubectl_visible) for c in result.contexts] == [
        ("literal", True, True), ("meant", False, False)]
    assert any(w.startswith(f"KUBECONFIG entry '~/k.yaml' starts with '~', which kubectl does not expand: it reads "
                            f"{cwd / '~' / 'k.yaml'} (a different file), not {home / 'k.yaml'}") for w in result.warnings)


def test_tilde_entry_for_a_file_also_named_outright_keeps_it_merged_without_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(tmp_path)
    (home / "k.yaml").write_text(simple("honey", current="honey"))
    result = run_discover([home], {"KUBECONFIG": f"~/k.yaml{os.pathsep}{home / 'k.yaml'}"}, home=home)
    ctx = result.context("honey")
    assert ctx is not None and ctx.current and ctx.kubectl_visible
    assert not any("starts with '~'" in w for w in result.warnings)


@pytest.mark.parametrize("value", ["~/a.yaml", "~/a.yaml:{b}", "{b}:~/a.yaml", "~/a.yaml:~/b.yaml", ":", "::",
                                   "rel.yaml", ""])
def test_kubectl_sees_the_contexts_and_current_context_discovery_says_it_sees(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("needs kubectl on PATH")
    home, cwd = home_and_cwd(tmp_path, monkeypatch)
    (home / "a.yaml").write_text(simple("from-a", current="from-a"))
    (home / "b.yaml").write_text(simple("from-b", current="from-b"))
    (cwd / "rel.yaml").write_text(simple("from-rel", current="from-rel"))
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text(simple("from-default", current="from-default"))
    env = {"KUBECONFIG": value.format(b=home / "b.yaml").replace(":", os.pathsep)}
    result = run_discover([home, cwd], env, home=home)
    run = {"env": {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **env}, "cwd": cwd,
           "capture_output": True, "text": True, "timeout": 60}
    listed = subprocess.run([kubectl, "config", "get-contexts", "-o", "name"], **run)
    current = subprocess.run([kubectl, "config", "current-context"], **run)
    assert listed.returncode == 0, listed.stderr
    assert sorted(c.name for c in result.contexts if c.kubectl_visible) == sorted(listed.stdout.split())
    assert result.current_context == (current.stdout.strip() if current.returncode == 0 else None)
    assert [c.name for c in result.contexts if c.current] == ([current.stdout.strip()] if current.returncode == 0 else [])


def test_kubeconfig_set_to_no_file_reads_nothing_like_kubectl_and_says_so(tmp_path: Path) -> None:
    # KUBECONFIG=":" (set, naming no file): kubectl reads no kubeconfig, not even ~/.kube/config.
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(simple("default", current="default"))
    result = run_discover([home], {"KUBECONFIG": os.pathsep}, home=home)
    ctx = result.context("default")
    assert ctx is not None and (ctx.current, ctx.kubectl_visible) == (False, False)
    assert result.current_context is None and result.merged_files == []
    assert result.warnings[0] == (
        f"KUBECONFIG is set to '{os.pathsep}', which names no file: kubectl then reads no kubeconfig at all (it does "
        "not fall back to ~/.kube/config); set KUBECONFIG to a kubeconfig file (for honey: "
        "~/.kube/kubeconfig-honey.yaml), or unset it to use ~/.kube/config")


def test_current_context_naming_nothing_warns(kube: Path) -> None:
    path = kube / "k.yaml"
    path.write_text(simple("real", current="ghost"))
    result = run_discover([kube], env_for(path))
    assert f"current-context 'ghost' (set in {path}) names no context in the merged files" in result.warnings
    assert not any(c.current for c in result.contexts)


def test_context_naming_undefined_cluster_and_user(kube: Path) -> None:
    path = kube / "k.yaml"
    path.write_text(kubeconfig([("lost", "nowhere", "nobody")]))
    ctx = run_discover([kube], env_for(path)).context("lost")
    assert ctx is not None
    assert ctx.problems == ("cluster 'nowhere' is not defined", "user 'nobody' is not defined")
    assert (ctx.server, ctx.auth) == ("", AuthKind.NONE)


def test_no_kubeconfig_at_all(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = run_discover([home], {}, home=home)
    assert not result.found_any and result.contexts == []
    assert result.warnings == ["No kubeconfig found; looked in: ~/.kube/config, ~/.kube/kubeconfig-*.y*ml, ~/.kube/*.y*ml"]


def test_discover_defaults_read_the_process_environment(kube: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = kube / "env.yaml"
    path.write_text(simple("from-env"))
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert [c.name for c in discover().contexts] == ["from-env"]


# --- the client helper ----------------------------------------------------------------------------


def test_client_target_own_file_or_merge_list(kube: Path) -> None:
    a, empty, b = kube / "a.yaml", kube / "empty.yaml", kube / "b.yaml"
    a.write_text(kubeconfig([("self", "c1", "u1")], {"c1": "https://a"}, {"u1": {"token": "t" * 12}}))
    empty.write_text("")
    b.write_text(kubeconfig([("cross", "c1", "u2")], {}, {"u2": {"token": "t" * 12}}))
    result = run_discover([kube], env_for(a, empty, b))
    assert result.client_target("self") == (str(a), "self")
    # The empty file is left out: it holds nothing (and the Python client refuses a list holding one).
    assert result.client_target("cross") == (os.pathsep.join([str(a), str(b)]), "cross")
    with pytest.raises(InputError, match=r"no context named 'ghost' was discovered \(known: cross, self\)"):
        result.client_target("ghost")


def test_client_target_for_a_shadowed_definition(kube: Path) -> None:
    a, b = kube / "a.yaml", kube / "b.yaml"
    a.write_text(kubeconfig([("dup", "c1", "u1")], {"c1": "https://a"}, {"u1": {"token": "t" * 12}}))
    b.write_text(kubeconfig([("dup", "c2", "u1")], {"c2": "https://b"}, {}))
    result = run_discover([kube], env_for(a, b))
    assert result.client_target("dup") == (str(a), "dup")
    with pytest.raises(InputError, match=f"context 'dup' in {b} is hidden by the one in {a}"):
        result.client_target("dup", file=str(b))


def test_client_target_refuses_an_unresolvable_context(kube: Path) -> None:
    path = kube / "k.yaml"
    path.write_text(kubeconfig([("lost", "nowhere", "nobody")]))
    result = run_discover([kube], env_for(path))
    with pytest.raises(InputError, match=f"context 'lost' in {path} names a cluster that no file defines"):
        result.client_target("lost")


@pytest.mark.parametrize("field", ["cluster", "user"])
def test_client_target_for_a_context_with_no_cluster_or_user_field_says_it_names_none(kube: Path, field: str) -> None:
    # A context without `cluster:` got "names a cluster that no file defines": there is no name to define.
    path = kube / "k.yaml"
    doc = yaml.safe_load(kubeconfig([("bare", "c1", "u1")], {"c1": "https://a.example:6443"},
                                    {"u1": {"token": "t" * 12}}))
    del doc["contexts"][0]["context"][field]
    path.write_text(yaml.safe_dump(doc))
    before = path.read_bytes()
    result = run_discover([kube], env_for(path))
    with pytest.raises(InputError) as err:
        result.client_target("bare")
    assert path.read_bytes() == before
    assert str(err.value) == f"context 'bare' in {path} names no {field} (its {field}: field is missing or empty)"
    assert err.value.remedy == (f"add `{field}: NAME` under context 'bare' in {path}, where NAME is a {field} entry a "
                                "kubeconfig defines, or pick another context")
    assert "no file defines" not in str(err.value)


def test_client_target_gives_the_python_client_what_kubectl_uses(kube: Path) -> None:
    from kubernetes.config import new_client_from_config

    a, empty, b = kube / "a.yaml", kube / "empty.yaml", kube / "b.yaml"
    a.write_text(kubeconfig([("first", "c1", "u1")], {"c1": "https://a.example:6443"}, {"u1": {"token": "t" * 12}},
                            current="first"))
    empty.write_text("")
    # b's context names a1's cluster c1 (a's definition wins) and its own user; b sets its own current-context.
    b.write_text(kubeconfig([("second", "c1", "u2")], {"c1": "https://b.example:6443"}, {"u2": {"token": "t" * 12}},
                            current="second"))
    before = {p: p.read_bytes() for p in (a, empty, b)}
    result = run_discover([kube], env_for(a, empty, b))
    config_file, context = result.client_target("second")
    client = new_client_from_config(config_file=config_file, context=context, persist_config=False)
    assert client.configuration.host == result.context("second").server == "https://a.example:6443"  # type: ignore[union-attr]
    assert {p: p.read_bytes() for p in (a, empty, b)} == before


def test_many_disagreeing_files_are_summarised(kube: Path) -> None:
    paths = []
    for i in range(6):
        p = kube / f"k{i}.yaml"
        p.write_text(simple(f"c{i}", current=f"c{i}"))
        paths.append(p)
    result = run_discover([kube], env_for(*paths))
    (warning,) = [w for w in result.warnings if w.startswith("files disagree")]
    assert warning == (
        f"files disagree on current-context: {paths[0]} sets 'c0', {paths[1]} sets 'c1', {paths[2]} sets 'c2', "
        f"{paths[3]} sets 'c3' and 2 more file(s) set one. kubectl uses 'c0' from {paths[0]} (the first file in "
        f"KUBECONFIG wins); the Python kubernetes client (KubeConfigMerger) given the same KUBECONFIG would use "
        f"'c5' from {paths[5]} (the last file wins)"
    )
