"""The one redaction function: every secret shape the issue lists, registered values, no false hits."""

from __future__ import annotations

import pytest

from gfwizard.redact import MASK, Redactor, SECRET_ENV_VARS


@pytest.fixture
def r() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig", "eyJhbGciOiJSUzI1NiJ9.payload.sig"),
        ('curl -H "Authorization: Basic dXNlcjpwYXNzd29yZA==" https://x', "dXNlcjpwYXNzd29yZA=="),
        ("sending bearer abcDEF123456789._-~+/ to the API", "abcDEF123456789._-~+/"),
        ("key id AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("TF_HTTP_PASSWORD=s3cr3t-value-here", "s3cr3t-value-here"),
        ("export TF_HTTP_PASSWORD='hunter2hunter2'", "hunter2hunter2"),
        ("token glpat-AbCdEfGhIjKlMnOpQrSt leaked", "glpat-AbCdEfGhIjKlMnOpQrSt"),
        ("    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==", "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ=="),
        ("    token: eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9", "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9"),
        ('{"token": "abc.def.ghi-jkl", "kind": "x"}', "abc.def.ghi-jkl"),
        ("https://gitlab-ci-token:p4ssw0rd-xyz@gitlab.com/group/project.git", "p4ssw0rd-xyz"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----", "MIIEow"),
    ],
)
def test_known_secret_shapes_are_masked(r: Redactor, text: str, secret: str) -> None:
    out = r.redact(text)
    assert secret not in out
    assert MASK in out


def test_url_keeps_user_and_host_visible(r: Redactor) -> None:
    out = r.redact("https://deploy:p4ssw0rd-xyz@gitlab.example.com/x")
    assert out == f"https://deploy:{MASK}@gitlab.example.com/x"


def test_registered_values_are_masked_wherever_they_appear(r: Redactor) -> None:
    r.register("canary-7f3a9b2c1d")
    assert r.redact("plan: value canary-7f3a9b2c1d; again canary-7f3a9b2c1d") == f"plan: value {MASK}; again {MASK}"


def test_longer_registered_values_win_over_their_prefixes(r: Redactor) -> None:
    r.register("abcdef", "abcdefghijkl")
    assert r.redact("x abcdefghijkl y") == f"x {MASK} y"


def test_short_or_empty_values_are_not_registered(r: Redactor) -> None:
    r.register("", None, "abc")
    assert r.redact("abc is a common word") == "abc is a common word"


def test_secret_environment_variables_are_registered(r: Redactor) -> None:
    env = {name: f"value-of-{name.lower()}" for name in SECRET_ENV_VARS}
    env["HOME"] = "/home/operator"
    r.register_env(env)
    text = " ".join(env.values())
    out = r.redact(text)
    for name in SECRET_ENV_VARS:
        assert env[name] not in out
    assert "/home/operator" in out
    # `rehearse --serve` exports the rehearsal HTTP state's password under this name.
    assert "GFW_HTTP_STATE_PASSWORD" in SECRET_ENV_VARS


def test_ordinary_terraform_output_is_left_alone(r: Redactor) -> None:
    lines = [
        "Plan: 3 to add, 1 to change, 0 to destroy.",
        'terraform_data.workload["attic-dev/attic"]: Creation complete after 0s [id=5b1e]',
        "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.",
        "token_count = 5 (not a secret key name on its own)",
    ]
    assert r.redact_lines(lines) == lines


def test_clear_forgets_registered_values(r: Redactor) -> None:
    r.register("canary-forget-me")
    r.clear()
    assert r.redact("canary-forget-me") == "canary-forget-me"


def test_redaction_is_idempotent(r: Redactor) -> None:
    r.register("canary-idem-123")
    once = r.redact("TF_HTTP_PASSWORD=canary-idem-123 Authorization: Bearer zzz.yyy")
    assert r.redact(once) == once


# A JWT (service-account / exec-plugin shaped), a hex static token and a random base64 credential.
_JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjQ0In0.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlX3h5ejAxMjM0NTY3"
_HEX = "3f9a8c7e6d5b4a39281706f5e4d3c2b1"
_B64 = "Hq7mZ2pL9xWc4RtY8bNvKd3="


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A secret's name, a space, a credential-shaped value: the value goes, the prose stays.
        (f"error: token {_HEX} rejected; token expired", f"error: token {MASK} rejected; token expired"),
        (f"login with password {_B64} failed, password required",
         f"login with password {MASK} failed, password required"),
        (f'refresh token "{_B64}" is invalid', f'refresh token "{MASK}" is invalid'),
        (f"client secret {_B64}", f"client secret {MASK}"),
        ("bootstrap token abcdef.0123456789abcdef joined", f"bootstrap token {MASK} joined"),
        # A JWT is masked wherever it stands.
        (f"plugin returned {_JWT} for op", f"plugin returned {MASK} for op"),
        (f"id-token {_JWT}", f"id-token {MASK}"),
        # Ordinary words after "token" / "password" / "secret" are left alone.
        ("token expired", "token expired"),
        ("the token file /x is missing", "the token file /x is missing"),
        ("the token file /var/run/secrets/kubernetes.io/serviceaccount/TokenV1a2b3c4d5e6f7 is missing",
         "the token file /var/run/secrets/kubernetes.io/serviceaccount/TokenV1a2b3c4d5e6f7 is missing"),
        ("token /var/run/secrets/Kubernetes2024ServiceAccount/token",
         "token /var/run/secrets/Kubernetes2024ServiceAccount/token"),
        ("password hunter2 rejected", "password hunter2 rejected"),
        ("secret gitlab-runners-registration-token-2024 created",
         "secret gitlab-runners-registration-token-2024 created"),
        ("Token refresh failed: the token has expired", "Token refresh failed: the token has expired"),
    ],
)
def test_credential_shaped_values_after_a_secret_word_are_masked_and_prose_is_not(
        r: Redactor, text: str, expected: str) -> None:
    assert r.redact(text) == expected


def test_exec_plugin_stderr_with_a_fresh_token_is_masked_by_pattern(r: Redactor) -> None:
    """A plugin's stderr quoting a token gfwizard never saw (so none is registered)."""
    stderr = (f"E0101 exec_plugin.go:42] token {_HEX} rejected by https://100.113.89.12:6443: token expired\n"
              f"hint: Bearer {_B64}; cached credential {_JWT}")
    out = r.redact(stderr)
    assert _HEX not in out and _B64 not in out and _JWT not in out
    assert out.startswith("E0101 exec_plugin.go:42] token [REDACTED] rejected by https://100.113.89.12:6443: "
                          "token expired\n")


def test_secret_spans_cover_the_spaced_values() -> None:
    from gfwizard.redact import secret_spans

    text = f"invalid token {_HEX}, token expired"
    assert [text[s:e] for s, e in secret_spans(text)] == [_HEX]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password": "hunter2", "user": "bob"}', f'{{"password": "{MASK}", "user": "bob"}}'),
        ("client_secret: 'abc123'", f"client_secret: '{MASK}'"),
        ('token = "glpat-notreally"', f'token = "{MASK}"'),
        ("password=hunter2 next", f"password={MASK} next"),
        ('password: ""', 'password: ""'),
    ],
)
def test_a_quoted_secret_named_value_keeps_its_quotes(r: Redactor, text: str, expected: str) -> None:
    """JSON, YAML and HCL stay well-formed once masked: a redacted ``-json`` line still parses."""
    assert r.redact(text) == expected


def test_a_json_document_with_a_secret_named_key_stays_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from gfwizard.commands._common import emit_json

    emit_json({"password": "x", "nested": {"secret": "hunter2hunter2"}, "note": "token=abc123def456"})
    assert json.loads(capsys.readouterr().out) == {"password": MASK, "nested": {"secret": MASK},
                                                   "note": f"token={MASK}"}


def test_json_output_redacts_keys_and_values_json_has_no_type_for(capsys: pytest.CaptureFixture[str]) -> None:
    """A key can be data (a URL with its password), and a value JSON has no type for is printed as its text:
    both are redacted like any string."""
    import json

    from gfwizard.commands._common import emit_json

    class Opaque:
        def __str__(self) -> str:
            return "login with password=hunter2hunter2"

    emit_json({"https://bob:hunter2hunter2@git.example/x.git": 1, "what": Opaque()})
    out = capsys.readouterr().out
    assert "hunter2hunter2" not in out
    assert json.loads(out) == {f"https://bob:{MASK}@git.example/x.git": 1, "what": f"login with password={MASK}"}


def test_a_free_standing_40_character_token_is_left_alone() -> None:
    """An AWS secret access key is masked after its name (above); standing alone, the 40-character shape is
    left to the config's credential check: the general redactor would mask commit hashes and digests too."""
    from gfwizard.redact import redact

    for text in ("commit da39a3ee5e6b4b0d3255bfef95601890afd80709", "region: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                 "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"):
        masked = "REDACTED" in redact(text)
        assert masked is text.startswith("aws_secret_access_key"), (text, redact(text))
