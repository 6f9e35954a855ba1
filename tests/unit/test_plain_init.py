"""``config init --plain`` with a fake prompt layer: the same file as the wizard, nothing written on Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pytest
from click.testing import CliRunner

from gfwizard.answers import QUESTIONS, ConfigAnswers, build_config, dropped_environment_reason, validate_answer
from gfwizard.errors import InputError
from gfwizard.orgconfig import load_config, render_config
from gfwizard.orgconfig_write import backup_path
from gfwizard.plain import Outcome, run_plain_init
from tests.helpers import tree_digest
from tests.unit.test_orgconfig import example_text

_CANCEL = object()


class FakePrompter:
    """Answers from a dict (anything else: the offered default). ``interrupt_at`` raises KeyboardInterrupt,
    a value of ``None`` behaves like questionary after Ctrl-C. A list holds the answers to successive
    askings of one question (then the default); like questionary, a text answer its validator refuses is recorded in
    ``refused`` and the next one in the list is typed instead."""

    def __init__(self, answers: dict[str, Any] | None = None, interrupt_at: str | None = None,
                 confirm_write: bool | None = True) -> None:
        self.answers = dict(answers or {})
        self.interrupt_at = interrupt_at
        self.answers.setdefault("write", confirm_write)
        self.asked: list[str] = []
        self.defaults: dict[str, Any] = {}
        self.refused: dict[str, list[str]] = {}

    def _next(self, key: str, default: Any) -> Any:
        value = self.answers.get(key, default)
        if isinstance(value, list):
            return value.pop(0) if value else default  # then Enter: the offered default
        return value

    def _answer(self, key: str, default: Any) -> Any:
        self.asked.append(key)
        self.defaults[key] = default
        if key == self.interrupt_at:
            raise KeyboardInterrupt
        return self._next(key, default)

    def text(self, key: str, message: str, default: str = "", validate: Any = None, help: str = "") -> str | None:
        value = self._answer(key, default)
        while value is not None and validate is not None and (error := validate(value)) is not None:
            self.refused.setdefault(key, []).append(error)
            assert isinstance(self.answers.get(key), list) and self.answers[key], f"{key}: {error}"
            value = self._next(key, default)
        return value

    def select(self, key: str, message: str, choices: Sequence[str], default: str | None = None,
               help: str = "") -> str | None:
        value = self._answer(key, default)
        assert value is None or value in choices
        return value

    def confirm(self, key: str, message: str, default: bool = False) -> bool | None:
        return self._answer(key, default)


ACME = {
    "org_name": "acme", "org_full_name": "Acme Corp", "kubeconfig": "", "context": "honey",
    "api_server": "https://honey.tail1234.ts.net:6443", "network": "tailnet", "backend": "s3",
    "s3_endpoint": "https://rustfs.tail1234.ts.net", "s3_bucket": "acme-state", "s3_region": "eu-west-1",
    "s3_key_prefix": "acme/gf", "environments": "dev, staging, prod", "confirm_environments": "staging, prod",
}


def acme_answers() -> ConfigAnswers:
    answers = ConfigAnswers()
    for key, value in ACME.items():
        answers.set(key, value)
    return answers


def test_plain_writes_what_the_wizard_would(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    prompter = FakePrompter(ACME)
    assert run_plain_init(path, prompter, echo=lambda _: None) is Outcome.WRITTEN
    assert path.read_text() == render_config(build_config(acme_answers()))
    cfg = load_config(path)
    assert cfg.state_key("staging", "attic") == "acme/gf/staging/attic.tfstate"
    assert [n for n, e in cfg.environments.items() if e.require_confirmation] == ["staging", "prod"]
    assert cfg.cluster.kubeconfig == ""
    assert prompter.asked == [q.key for q in QUESTIONS if not q.key.startswith("http_")] + ["write"]


def test_plain_http_backend_asks_http_questions(tmp_path: Path) -> None:
    answers = {"backend": "http", "http_address": "https://gitlab.example/api/v4/projects/9/terraform/state/{stack}-{env}",
               "http_username": "deployer"}
    prompter = FakePrompter(answers)
    assert run_plain_init(tmp_path / "organization.yaml", prompter, echo=lambda _: None) is Outcome.WRITTEN
    cfg = load_config(tmp_path / "organization.yaml")
    assert cfg.state.backend == "http" and cfg.state.s3 is None
    assert cfg.state.http is not None and cfg.state.http.username == "deployer"
    assert not any(k.startswith("s3_") for k in prompter.asked)


def test_plain_over_existing_shows_diff_keeps_comments_and_backup(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    original = example_text()
    path.write_text(original)
    out: list[str] = []
    prompter = FakePrompter({"s3_bucket": "honey-state"})
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.WRITTEN
    assert prompter.defaults["org_name"] == "tinyland"  # defaults come from the existing file
    shown = "\n".join(out)
    assert "-    bucket: gloriousflywheel-state\n+    bucket: honey-state" in shown
    text = path.read_text()
    assert "# RustFS S3 API on honey, reached over the tailnet" in text
    assert text == original.replace("bucket: gloriousflywheel-state", "bucket: honey-state")
    assert backup_path(path).read_text() == original


def test_plain_unchanged_answers_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    before = tree_digest(tmp_path)
    out: list[str] = []
    prompter = FakePrompter()
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.UNCHANGED
    assert "write" not in prompter.asked
    assert "already holds this configuration; nothing written" in out[-1]
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("interrupt_at", ["org_name", "backend", "s3_bucket", "environments", "write"])
def test_ctrl_c_writes_nothing(tmp_path: Path, interrupt_at: str) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    before = tree_digest(tmp_path)
    out: list[str] = []
    prompter = FakePrompter({"org_full_name": "Changed", "s3_bucket": "other-bucket"}, interrupt_at=interrupt_at)
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.CANCELLED
    assert out[-1] == "Cancelled: nothing written."
    assert tree_digest(tmp_path) == before


def test_prompt_returning_none_is_a_cancel(tmp_path: Path) -> None:
    prompter = FakePrompter({"context": None})
    out: list[str] = []
    assert run_plain_init(tmp_path / "organization.yaml", prompter, echo=out.append) is Outcome.CANCELLED
    assert tree_digest(tmp_path) == {}
    prompter = FakePrompter(confirm_write=None)
    assert run_plain_init(tmp_path / "organization.yaml", prompter, echo=out.append) is Outcome.CANCELLED
    assert tree_digest(tmp_path) == {}


def test_declining_writes_nothing(tmp_path: Path) -> None:
    out: list[str] = []
    assert run_plain_init(tmp_path / "organization.yaml", FakePrompter(confirm_write=False),
                          echo=out.append) is Outcome.DECLINED
    assert out[-1] == "Not written."
    assert any(chunk.startswith("# yaml-language-server: $schema=organization.schema.json") for chunk in out)
    assert tree_digest(tmp_path) == {}


def test_ctrl_c_via_cli_exits_130_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard import plain
    from gfwizard.cli import cli

    monkeypatch.setattr(plain, "make_prompter", lambda: FakePrompter(interrupt_at="api_server"))
    result = CliRunner().invoke(cli, ["config", "init", "--plain", "--config", str(tmp_path / "organization.yaml")])
    assert result.exit_code == 130
    assert "Cancelled: nothing written." in result.stdout
    assert "Traceback" not in result.output
    assert tree_digest(tmp_path) == {}


def test_invalid_existing_file_needs_force(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text().replace("context: honey", "context: bumble"))
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match="exists but is not a valid organization config") as info:
        run_plain_init(path, FakePrompter(), echo=lambda _: None)
    assert "'bumble' is a node role, not a cluster" in info.value.message
    assert "--force" in info.value.remedy
    assert tree_digest(tmp_path) == before
    assert run_plain_init(path, FakePrompter(), force=True, echo=lambda _: None) is Outcome.WRITTEN
    assert load_config(path).cluster.context == "honey"
    assert "context: bumble" in backup_path(path).read_text()


def test_force_remedy_names_the_real_backup(tmp_path: Path) -> None:
    path = tmp_path / "configs" / "honey-prod.yaml"
    path.parent.mkdir()
    path.write_text(example_text().replace("context: honey", "context: bumble"))
    before = tree_digest(tmp_path)
    with pytest.raises(InputError) as info:
        run_plain_init(path, FakePrompter(), echo=lambda _: None)
    assert info.value.remedy == ("fix it (see `gfwizard config validate`), or pass --force to answer from the "
                                 f"defaults (the old file is kept as {tmp_path / 'configs' / 'honey-prod.yaml.bak'})")
    assert tree_digest(tmp_path) == before


def test_bad_answers_are_refused_as_typed() -> None:
    answers = ConfigAnswers()
    assert validate_answer("context", "bumble", answers) is not None
    assert "node role, not a cluster" in (validate_answer("context", "sting", answers) or "")
    assert "legacy compatibility only" in (validate_answer("context", "tinyland-civo-dev", answers) or "")
    assert "https://" in (validate_answer("api_server", "http://100.113.89.12:6443", answers) or "")
    assert "GitLab token" in (validate_answer("http_username", "glpat-AbCdEfGhIjKlMnOpQrSt", answers) or "")
    assert "URL with a password" in (validate_answer("s3_endpoint", "http://u:pw123456@rustfs:9000", answers) or "")
    assert "not one of the environments" in (validate_answer("confirm_environments", "qa", answers) or "")
    assert validate_answer("kubeconfig", "~/.kube/kubeconfig-sting.yaml", answers) is not None
    assert validate_answer("kubeconfig", "", answers) is None
    assert validate_answer("environments", "dev, prod", answers) is None


def test_a_form_edited_as_typed_never_drops_a_confirmed_or_the_wizards_environment() -> None:
    answers = ConfigAnswers()  # dev, prod; prod needs a typed confirmation
    # "pro" on the way to "prod" is a valid list: dropping prod's confirmation there would not bring it back.
    assert dropped_environment_reason("dev, pro", answers) == (
        "'prod' needs a typed confirmation before apply: remove it from the environments that need one first")
    assert dropped_environment_reason("prod", answers, keep="dev") == (
        "'dev' is the environment this wizard run sets up (its state backend, its deploy): keep it")
    assert dropped_environment_reason("dev, prod, staging", answers, keep="dev") is None
    assert dropped_environment_reason("prod,dev", answers, keep="dev") is None
    answers.set("confirm_environments", "")
    assert dropped_environment_reason("dev", answers, keep="dev") is None
    assert answers.confirm_environments == [] and answers.environments == ["dev", "prod"]


def test_a_prompter_that_skips_validation_cannot_write_a_bad_value(tmp_path: Path) -> None:
    class Careless(FakePrompter):
        def text(self, key: str, message: str, default: str = "", validate: Any = None, help: str = "") -> str | None:
            return super().text(key, message, default, None, help)

    with pytest.raises(InputError, match="node role, not a cluster"):
        run_plain_init(tmp_path / "organization.yaml", Careless({"context": "bumble"}), echo=lambda _: None)
    assert tree_digest(tmp_path) == {}


def test_answers_round_trip_an_existing_config() -> None:
    from gfwizard.orgconfig import load_config_text

    cfg = load_config_text(example_text()).with_fingerprint("6f1c2b3a-1111-2222-3333-444455556666", "ab" * 32)
    assert build_config(ConfigAnswers.from_config(cfg)) == cfg
    moved = ConfigAnswers.from_config(cfg)
    moved.set("api_server", "https://10.0.0.5:6443")
    assert build_config(moved).cluster.fingerprint is None  # a different API server must be pinned again


def test_real_questionary_prompts_through_a_pipe(tmp_path: Path) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from gfwizard.plain import QuestionaryPrompter

    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=DummyOutput())
        pipe.send_text("\x15sting\r\x15honey\r")  # Ctrl-U clears the default; 'sting' is refused as typed
        assert prompter.text("context", "Context", default="x",
                             validate=lambda v: validate_answer("context", v, ConfigAnswers())) == "honey"
    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=DummyOutput())
        pipe.send_text("\x1b[B\r")
        assert prompter.select("backend", "Backend", ["s3", "http"], default="s3") == "http"
    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=DummyOutput())
        pipe.send_text("\x03")
        assert prompter.text("org_name", "Organization", default="x") is None  # Ctrl-C
    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=DummyOutput())
        pipe.send_text("\x15\x04")  # Ctrl-D on an emptied line: end of input, a cancel too
        assert prompter.text("org_name", "Organization", default="x") is None
    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=DummyOutput())
        pipe.send_text("\x04\r")  # Ctrl-D at a choice: a cancel as well (it did nothing; Enter then took s3)
        assert prompter.select("backend", "Backend", ["s3", "http"], default="s3") is None
    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=DummyOutput())
        pipe.send_text("\x04\r")
        assert prompter.confirm("write", "Write?", default=True) is None
    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=DummyOutput())
        pipe.send_text("\x1b[D\x04\r")  # on a line with text, Ctrl-D deletes under the cursor, as in a shell
        assert prompter.text("org_name", "Organization", default="xyz") == "xy"


def test_the_intro_describes_the_default_as_the_real_prompt_draws_it(tmp_path: Path) -> None:
    # The intro said "Enter keeps the value in brackets": questionary draws no brackets, it types the
    # current value in as the answer, so an operator looked for brackets that never came.
    import io
    import re

    from prompt_toolkit.data_structures import Size
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.vt100 import Vt100_Output

    from gfwizard.plain import QuestionaryPrompter

    drawn = io.StringIO()
    said: list[str] = []
    with create_pipe_input() as pipe:
        pipe.send_text("\x03")
        output = Vt100_Output(drawn, lambda: Size(rows=24, columns=80), term="xterm")
        outcome = run_plain_init(tmp_path / "organization.yaml", QuestionaryPrompter(input=pipe, output=output),
                                 echo=said.append)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.getvalue())
    assert outcome is Outcome.CANCELLED and tree_digest(tmp_path) == {}
    assert "? Organization name (short, lowercase)  (e.g. tinyland) tinyland" in screen
    assert "[tinyland]" not in screen and "bracket" not in said[0]
    assert "Enter keeps the value already typed in" in said[0]


def test_ctrl_d_at_a_real_prompt_cancels_writes_nothing_and_exits_130(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from gfwizard import plain
    from gfwizard.cli import cli
    from gfwizard.plain import QuestionaryPrompter

    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    before = tree_digest(tmp_path)
    with create_pipe_input() as pipe:
        pipe.send_text("\r\x15\x04")  # keep the first answer, then end of input on an emptied line
        monkeypatch.setattr(plain, "make_prompter", lambda: QuestionaryPrompter(input=pipe, output=DummyOutput()))
        result = CliRunner().invoke(cli, ["config", "init", "--plain", "--config", str(path)])
    assert result.exit_code == 130, result.output
    assert "Cancelled: nothing written." in result.stdout and "Aborted" not in result.output
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("at", ["network", "backend", "write"])
def test_ctrl_d_at_a_choice_or_yes_no_prompt_cancels_writes_nothing_and_exits_130(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: str) -> None:
    """Ctrl-D at the network or backend choice did nothing (questionary's select binds only Ctrl-C), while at an
    empty text answer it cancelled: now it ends every kind of prompt the same way."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from gfwizard import plain
    from gfwizard.cli import cli
    from gfwizard.plain import QuestionaryPrompter

    keys = [q.key for q in QUESTIONS if q.applies(ConfigAnswers())]
    before_it = keys.index(at) if at in keys else len(keys)  # "write": the closing Write …? (a new file)
    path = tmp_path / "organization.yaml"
    with create_pipe_input() as pipe:
        pipe.send_text("\r" * before_it + "\x04" + "\r" * (len(keys) + 2))  # the Enters: had Ctrl-D been ignored
        monkeypatch.setattr(plain, "make_prompter", lambda: QuestionaryPrompter(input=pipe, output=DummyOutput()))
        result = CliRunner().invoke(cli, ["config", "init", "--plain", "--config", str(path)])
    assert result.exit_code == 130, result.output
    assert "Cancelled: nothing written." in result.stdout and "Aborted" not in result.output
    assert tree_digest(tmp_path) == {}


def test_real_prompts_accepting_every_default_write_the_example(tmp_path: Path) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from gfwizard.orgconfig import load_config_text
    from gfwizard.plain import QuestionaryPrompter

    from gfwizard.answers import QUESTIONS, ConfigAnswers

    path = tmp_path / "organization.yaml"
    asked = sum(1 for q in QUESTIONS if q.applies(ConfigAnswers()))  # every default applies the same ones
    # Enter at every question and at "Write …?": the write prompt's default is No, so nothing is written.
    with create_pipe_input() as pipe:
        pipe.send_text("\r" * (asked + 1))
        outcome = run_plain_init(path, QuestionaryPrompter(input=pipe, output=DummyOutput()), echo=lambda _: None)
    assert outcome is Outcome.DECLINED and not path.exists()
    with create_pipe_input() as pipe:
        pipe.send_text("\r" * asked + "y")
        outcome = run_plain_init(path, QuestionaryPrompter(input=pipe, output=DummyOutput()), echo=lambda _: None)
    assert outcome is Outcome.WRITTEN
    assert load_config(path) == load_config_text(example_text())


PUBLIC = ("8.8.8.8 is a public address: honey's API is private (tailnet) and never reached over the internet; "
          "use its tailnet or LAN address")
NOT_LOOPBACK = "'loopback' is the rehearsal network, but api_server's host '100.113.89.12' is not a loopback address"


def test_a_public_api_server_is_refused_as_typed_and_the_rest_is_kept(tmp_path: Path) -> None:
    assert validate_answer("api_server", "https://8.8.8.8:6443", ConfigAnswers()) == PUBLIC
    path = tmp_path / "organization.yaml"
    prompter = FakePrompter({"org_name": "acme", "api_server": ["https://8.8.8.8:6443", "https://100.100.1.1:6443"]},
                            confirm_write=False)
    out: list[str] = []
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.DECLINED
    assert prompter.refused == {"api_server": [PUBLIC]}
    assert "  api_server: https://100.100.1.1:6443\n" in out[2] and "{name: acme, " in out[2]
    assert tree_digest(tmp_path) == {}


def test_loopback_for_a_tailnet_api_server_is_shown_and_both_asked_again(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    prompter = FakePrompter({"org_name": "acme", "network": ["loopback", "loopback"],
                             "api_server": ["https://100.113.89.12:6443", "https://127.0.0.1:6443"]},
                            confirm_write=False)
    out: list[str] = []
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.DECLINED
    assert out[1] == (f"How the API is reached: {NOT_LOOPBACK}. Asking again: Cluster API server URL, "
                      "How the API is reached.")
    assert tree_digest(tmp_path) == {}
    assert prompter.asked[4:8] == ["api_server", "network", "api_server", "network"]
    assert prompter.asked.count("org_name") == 1
    assert validate_answer("network", "loopback", ConfigAnswers()) == NOT_LOOPBACK
    assert validate_answer("network", "loopback", ConfigAnswers(api_server="https://127.0.0.1:6443")) is None

    prompter = FakePrompter({"org_name": "acme", "network": ["loopback", "tailnet"]})
    assert run_plain_init(path, prompter, echo=lambda _: None) is Outcome.WRITTEN
    cfg = load_config(path)
    assert (cfg.organization.name, cfg.cluster.network, cfg.cluster.api_server) == (
        "acme", "tailnet", "https://100.113.89.12:6443")


def test_a_rule_failing_after_all_answers_asks_its_questions_again(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard import plain

    # A cross-field rule the per-answer checks do not know yet: the built config is the last word.
    monkeypatch.setattr(plain, "validate_answer", lambda key, value, answers: None)
    path = tmp_path / "organization.yaml"
    prompter = FakePrompter({"org_name": "acme", "s3_bucket": "acme-state", "network": ["loopback", "private"],
                             "api_server": ["https://100.113.89.12:6443", "https://10.0.0.5:6443"]})
    out: list[str] = []
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.WRITTEN
    assert out[1] == f"These answers do not fit together:\n  cluster.network: {NOT_LOOPBACK}"
    assert out[2] == ("Asking again: Cluster API server URL, How the API is reached (every other answer is kept).")
    first = [q.key for q in QUESTIONS if not q.key.startswith("http_")]
    assert prompter.asked == first + ["api_server", "network", "write"]
    cfg = load_config(path)
    assert (cfg.organization.name, cfg.state.s3.bucket if cfg.state.s3 else None) == ("acme", "acme-state")
    assert (cfg.cluster.api_server, cfg.cluster.network) == ("https://10.0.0.5:6443", "private")


def test_real_prompts_refuse_a_public_api_server_and_ask_loopback_again(tmp_path: Path) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from gfwizard.plain import QuestionaryPrompter

    path = tmp_path / "organization.yaml"
    down2 = "\x1b[B\x1b[B\r"  # tailnet -> private -> loopback
    keys = ("\r" * 4 + "\x15https://8.8.8.8:6443\r" + "\x15https://100.64.0.1:6443\r" + down2
            + "\x15https://127.0.0.1:6443\r" + down2 + "\r" * 7 + "y")
    out: list[str] = []
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        outcome = run_plain_init(path, QuestionaryPrompter(input=pipe, output=DummyOutput()), echo=out.append)
    assert outcome is Outcome.WRITTEN, out
    assert out[1].startswith("How the API is reached: 'loopback' is the rehearsal network, but api_server's host "
                             "'100.64.0.1' is not a loopback address. Asking again:")
    cfg = load_config(path)
    assert (cfg.cluster.api_server, cfg.cluster.network, cfg.organization.name) == (
        "https://127.0.0.1:6443", "loopback", "tinyland")


def test_cli_public_api_server_then_decline_exits_0_and_writes_nothing(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard import plain
    from gfwizard.cli import cli

    prompter = FakePrompter({"api_server": ["https://8.8.8.8:6443", "https://100.64.0.9:6443"],
                             "network": ["loopback", "tailnet"]}, confirm_write=False)
    monkeypatch.setattr(plain, "make_prompter", lambda: prompter)
    result = CliRunner().invoke(cli, ["config", "init", "--plain", "--config", str(tmp_path / "organization.yaml")])
    assert result.exit_code == 0, result.output
    assert prompter.refused == {"api_server": [PUBLIC]}
    assert "Not written." in result.stdout and "error:" not in result.output
    assert tree_digest(tmp_path) == {}


@pytest.mark.parametrize("typed", ["Bumble", "bumble ", " STING", "bumble-admin"])
def test_a_node_role_context_is_refused_in_any_case_or_spacing(tmp_path: Path, typed: str) -> None:
    from gfwizard.kubeconfig_classify import Classification, TargetHint, classify

    reason = validate_answer("context", typed, ConfigAnswers())
    assert reason is not None and reason.startswith(f"{typed!r} is ") and ", not a cluster: honey is the one " in reason
    # The kubeconfig classifier that `gfwizard validate` uses says the same of this name.
    assert classify(typed, "honey", "https://100.113.89.12:6443", TargetHint())[0] is Classification.NODE_ROLE_MISUSE
    prompter = FakePrompter({"context": [typed, "honey"]}, confirm_write=False)
    assert run_plain_init(tmp_path / "organization.yaml", prompter, echo=lambda _: None) is Outcome.DECLINED
    assert prompter.refused == {"context": [reason]}
    assert tree_digest(tmp_path) == {}


@pytest.mark.parametrize("name", ["honey", "bumblebee", "honey-admin", "stingray", "Honey"])
def test_names_that_only_resemble_a_node_role_are_accepted_by_both_rules(name: str) -> None:
    from gfwizard.kubeconfig_classify import Classification, TargetHint, classify

    assert validate_answer("context", name, ConfigAnswers()) is None
    assert classify(name, "honey", "https://100.113.89.12:6443", TargetHint())[0] is not Classification.NODE_ROLE_MISUSE


@pytest.mark.parametrize(("key", "value", "start"), [
    ("org_name", "tinyland\n", "organization name 'tinyland\\n' must be a lowercase name"),
    ("s3_bucket", "gloriousflywheel-state\n", "bucket 'gloriousflywheel-state\\n' is not a valid S3 bucket name"),
    ("s3_region", "us-east-1\t", "region 'us-east-1\\t' must be a region name of lowercase letters, digits and"),
    ("s3_key_prefix", "gloriousflywheel\n", "key_prefix 'gloriousflywheel\\n' must be non-empty, without spaces"),
])
def test_answers_with_a_trailing_newline_or_tab_are_refused(key: str, value: str, start: str) -> None:
    assert (validate_answer(key, value, ConfigAnswers()) or "").startswith(start)
    assert validate_answer(key, value.rstrip(), ConfigAnswers()) is None


@pytest.mark.parametrize(("typed", "fault", "fixed"), [
    ("state..bucket", "two '.' in a row are not allowed", "state.bucket"),
    ("-state", "it starts with '-'", "state"),
    ("state.", "it ends with '.'", "state"),
    ("st", "it has 2 characters", "sta"),
    ("GloriousFlywheel-State", "capital letters are not allowed: write 'gloriousflywheel-state'",
     "gloriousflywheel-state"),
    ("state_bucket", "'_' is not allowed", "state-bucket"),
])
def test_a_refused_bucket_says_which_rule_it_breaks(tmp_path: Path, typed: str, fault: str, fixed: str) -> None:
    # 'state..bucket' was refused as "3-63 characters: lowercase letters, digits, '.' and '-'", which it is:
    # the operator was not told what to change.
    said = f"bucket {typed!r} is not a valid S3 bucket name ("
    prompter = FakePrompter({"s3_bucket": [typed, fixed]}, confirm_write=False)
    assert run_plain_init(tmp_path / "organization.yaml", prompter, echo=lambda _: None) is Outcome.DECLINED
    [refused] = prompter.refused["s3_bucket"]
    assert refused.startswith(said) and refused.endswith(f"): {fault}")
    assert tree_digest(tmp_path) == {}


PUBLIC_STATE = ("8.8.8.8 is a public address: the state store (RustFS on honey) is private (tailnet) and never "
                "reached over the internet; use its tailnet or LAN address")
BAD_REGION = ("region 'http://127.0.0.1:37531' must be a region name of lowercase letters, digits and '-' "
              "(1-63 characters, e.g. us-east-1), not a URL")


def test_a_public_s3_endpoint_and_a_url_region_are_refused_as_typed(tmp_path: Path) -> None:
    assert validate_answer("s3_endpoint", "http://8.8.8.8:9000", ConfigAnswers()) == PUBLIC_STATE
    assert validate_answer("s3_endpoint", "https://rustfs.honey.ts.net:9000", ConfigAnswers()) is None
    assert validate_answer("s3_region", "http://127.0.0.1:37531", ConfigAnswers()) == BAD_REGION
    path = tmp_path / "organization.yaml"
    prompter = FakePrompter({"s3_endpoint": ["http://8.8.8.8:9000", "http://100.100.1.2:9000"],
                             "s3_region": ["http://127.0.0.1:37531", "eu-west-1"]}, confirm_write=False)
    out: list[str] = []
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.DECLINED
    assert prompter.refused == {"s3_endpoint": [PUBLIC_STATE], "s3_region": [BAD_REGION]}
    assert "endpoint: http://100.100.1.2:9000" in out[2] and "region: eu-west-1" in out[2]
    assert tree_digest(tmp_path) == {}


def test_an_http_address_query_is_refused_as_typed_without_echoing_it() -> None:
    answers = ConfigAnswers(backend="http")
    reason = validate_answer("http_address", "https://gitlab.example/state/{stack}-{env}?private_token=hunter2secret",
                             answers)
    assert reason == ("address must not have a query or fragment (got 'https://gitlab.example/state/{stack}-{env}?…'); "
                      "remove it")


@pytest.mark.parametrize(("key", "typed", "shown"), [
    ("s3_endpoint", "s3://CanaryUrlTok4471@100.100.1.2:9000", "s3://…@100.100.1.2:9000"),
    ("api_server", "http://CanaryUrlTok4472@100.113.89.12:6443", "http://…@100.113.89.12:6443"),
    ("http_address", "ftp://CanaryUrlTok4473@gitlab.example/state/{stack}-{env}",
     "ftp://…@gitlab.example/state/{stack}-{env}"),
])
def test_a_refused_url_answer_never_echoes_its_credentials(key: str, typed: str, shown: str) -> None:
    """The plain prompt prints a refusal as it is (no redactor between): a URL refused for its scheme is
    shown without the token (or user:password) before its host, and the message still says what is wrong."""
    reason = validate_answer(key, typed, ConfigAnswers(backend="http"))
    assert reason is not None and "Canary" not in reason, reason
    assert f"(got {shown!r})" in reason


def test_a_url_shown_in_a_message_drops_user_information() -> None:
    from gfwizard.orgconfig_rules import check_http_url, shown_url

    assert shown_url("ftp://operator:CanaryUrlPw4474@100.100.1.2:9000/x?t=1") == "ftp://…@100.100.1.2:9000/x?…"
    assert shown_url("https://100.113.89.12:6443/a@b") == "https://100.113.89.12:6443/a@b"  # an @ in the path
    with pytest.raises(ValueError) as err:
        check_http_url("ftp://operator:CanaryUrlPw4474@100.100.1.2:9000", "endpoint")
    assert str(err.value) == "endpoint must be an http:// or https:// URL (got 'ftp://…@100.100.1.2:9000')"


def test_a_refused_answer_is_said_whole_and_asked_again_with_it_kept(tmp_path: Path) -> None:
    """questionary's validation line is one row (cut at the terminal's width): the full message is printed
    above the question asked again, with the refused answer there to edit."""
    import io

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.plain_text import PlainTextOutput

    from gfwizard.plain import QuestionaryPrompter

    long_error = "8.8.8.8 is a public address: " + "the state store is private and never reached over the internet " * 3
    printed = io.StringIO()
    with create_pipe_input() as pipe:
        prompter = QuestionaryPrompter(input=pipe, output=PlainTextOutput(printed))
        pipe.send_text("\x15http://8.8.8.8:9000\r" + "\x7f" * len("8.8.8.8:9000") + "100.64.0.9:9000\r")
        answer = prompter.text("s3_endpoint", "S3 endpoint", default="x",
                               validate=lambda v: long_error if "8.8.8.8" in v else None)
    assert answer == "http://100.64.0.9:9000"  # the refused answer was kept: only its host was retyped
    assert f"✗ {long_error}" in printed.getvalue()


def test_a_new_api_server_says_the_pinned_fingerprint_is_dropped(tmp_path: Path) -> None:
    from gfwizard.orgconfig import Fingerprint, load_config, save_config

    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    uid = "2f9c8a1e-0000-4000-8000-000000000001"
    cfg = load_config(path)
    fingerprint = Fingerprint(kube_system_uid=uid, ca_sha256="ab" * 32)
    pinned = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"fingerprint": fingerprint})})
    save_config(pinned, path)
    pinned_text = path.read_text()
    out: list[str] = []
    prompter = FakePrompter({"api_server": "https://100.64.0.7:6443"})
    assert run_plain_init(path, prompter, echo=out.append) is Outcome.WRITTEN
    assert (f"Note: the pinned fingerprint (kube-system UID {uid}) is dropped: it was pinned for the old API server "
            "or cluster name. Pin the new one with `gfwizard validate --pin` before a deploy") in "\n".join(out)
    assert load_config(path).cluster.fingerprint is None
    # The same server: the pin is kept and nothing is said about it.
    out.clear()
    path.write_text(pinned_text)
    assert run_plain_init(path, FakePrompter({"s3_bucket": "honey-state"}), echo=out.append) is Outcome.WRITTEN
    assert "is dropped" not in "\n".join(out) and load_config(path).cluster.fingerprint == fingerprint


def test_a_file_edited_while_the_write_is_asked_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    edited = example_text().replace("full_name: Tinyland", "full_name: Edited Meanwhile")

    class EditsBeforeConfirming(FakePrompter):
        def confirm(self, key: str, message: str, default: bool = False) -> bool | None:
            if key == "write":  # someone saves the file while the diff is on screen
                path.write_text(edited)
            return super().confirm(key, message, default)

    with pytest.raises(InputError, match="changed on disk after it was read") as info:
        run_plain_init(path, EditsBeforeConfirming({"s3_bucket": "honey-state"}), echo=lambda _: None)
    assert "diff against it" in info.value.remedy
    assert path.read_text() == edited
    assert sorted(p.name for p in tmp_path.iterdir()) == ["organization.yaml"]


def test_plain_keeps_crlf_and_shows_only_the_real_change(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    original = example_text().replace("\n", "\r\n")
    path.write_bytes(original.encode())
    out: list[str] = []
    assert run_plain_init(path, FakePrompter({"s3_bucket": "honey-state"}), echo=out.append) is Outcome.WRITTEN
    diff = [line for line in "\n".join(out).splitlines() if line[:1] in ("+", "-") and not line.startswith(("+++", "---"))]
    assert [line.rstrip("\r") for line in diff] == ["-    bucket: gloriousflywheel-state", "+    bucket: honey-state"]
    assert path.read_bytes() == original.replace("bucket: gloriousflywheel-state", "bucket: honey-state").encode()


def test_a_read_only_file_is_refused_before_any_question(tmp_path: Path) -> None:
    # Every question was asked and answered, and only "Write …? Yes" said the file was read-only.
    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    path.chmod(0o444)
    before = tree_digest(tmp_path)
    prompter = FakePrompter()
    with pytest.raises(InputError, match=r"is read-only \(mode 0444\); nothing was written") as info:
        run_plain_init(path, prompter, echo=lambda _: None)
    assert f"chmod u+w {path}" in (info.value.remedy or "")
    assert prompter.asked == []
    assert tree_digest(tmp_path) == before


def test_a_file_where_the_directory_should_be_is_refused_before_any_question(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("not a directory\n")
    path = tmp_path / "config" / "sub" / "organization.yaml"
    before = tree_digest(tmp_path)
    prompter = FakePrompter()
    with pytest.raises(InputError, match=r"config is a file, where a directory should be; nothing was asked") as info:
        run_plain_init(path, prompter, echo=lambda _: None)
    assert "--config" in (info.value.remedy or "")
    assert prompter.asked == []
    assert tree_digest(tmp_path) == before


def test_a_missing_directory_is_still_created_on_write(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "organization.yaml"
    assert run_plain_init(path, FakePrompter(), echo=lambda _: None) is Outcome.WRITTEN
    assert path.is_file()


def test_a_long_or_secret_answer_is_refused_without_being_echoed_whole(tmp_path: Path) -> None:
    """A 300-character organization name is quoted in part with its length; a pasted AWS secret access key
    as the key prefix is refused without being shown. Both are asked again; nothing is written."""
    long_name = "a" * 150 + "b" * 150
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    prompter = FakePrompter({"org_name": [long_name, "acme"], "s3_key_prefix": [secret, "acme/gf"]},
                            confirm_write=False)
    out: list[str] = []
    assert run_plain_init(tmp_path / "organization.yaml", prompter, echo=out.append) is Outcome.DECLINED
    [name_error] = prompter.refused["org_name"]
    assert name_error.startswith("organization name 'aaaa") and "(300 characters)" in name_error, name_error
    assert long_name not in name_error and len(name_error) < 250, name_error
    [prefix_error] = prompter.refused["s3_key_prefix"]
    assert prefix_error.startswith("value looks like an AWS secret access key: credentials never go in "
                                   "organization.yaml"), prefix_error
    assert secret not in prefix_error and secret not in "".join(out)
    assert tree_digest(tmp_path) == {}


_EXAMPLE_PROD = """  prod:
    cluster: honey
    tfvars: prod.tfvars
    require_confirmation: true  # type "prod" before an apply
"""


def test_prod_added_to_a_dev_only_config_needs_its_name_typed(tmp_path: Path) -> None:
    # Adding prod to a config that had only dev offered no typed confirmation (the list came from the file, which
    # had none), so a bare Enter wrote a prod that `gfwizard deploy --env prod` applied to after a y.
    path = tmp_path / "organization.yaml"
    assert _EXAMPLE_PROD in example_text()
    path.write_text(example_text().replace(_EXAMPLE_PROD, ""))
    prompter = FakePrompter({"environments": "dev, prod"})
    assert run_plain_init(path, prompter, echo=lambda _: None) is Outcome.WRITTEN
    assert prompter.defaults["confirm_environments"] == "prod"
    assert load_config(path).environments["prod"].require_confirmation


def test_every_added_environment_named_as_production_needs_its_name_typed() -> None:
    # Only prod was: a production or prd-eu added by the same answer got a bare y/N, which config validate warns about.
    answers = ConfigAnswers(environments=["dev"], confirm_environments=[])
    answers.set("environments", "dev, production, prd-eu, prodigy, preprod")
    assert answers.confirm_environments == ["production", "prd-eu"]


def test_a_prod_whose_confirmation_was_taken_out_keeps_it_out(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text().replace("    require_confirmation: true  # type \"prod\" before an apply\n", ""))
    before = tree_digest(tmp_path)
    prompter = FakePrompter()
    assert run_plain_init(path, prompter, echo=lambda _: None) is Outcome.UNCHANGED
    assert prompter.defaults["confirm_environments"] == ""
    assert tree_digest(tmp_path) == before


def test_an_environments_answer_that_adds_prod_adds_its_confirmation_once() -> None:
    answers = ConfigAnswers(environments=["dev"], confirm_environments=[])
    answers.set("environments", "dev, prod")
    assert answers.confirm_environments == ["prod"]
    answers.set("environments", "dev, staging, prod")  # prod was listed already: nothing is added twice
    assert answers.confirm_environments == ["prod"]
    answers.set("confirm_environments", "")
    answers.set("environments", "dev, prod, qa")  # taken out by the operator: it stays out
    assert answers.confirm_environments == []


@pytest.mark.parametrize(("key", "typed", "meant"), [
    ("context", "honey ", "honey"),
    ("context", " honey", "honey"),
    ("kubeconfig", " ~/.kube/kubeconfig-honey.yaml", "~/.kube/kubeconfig-honey.yaml"),
    ("kubeconfig", "~/my kube/honey config.yaml\t", "~/my kube/honey config.yaml"),
], ids=["context-trailing-space", "context-leading-space", "kubeconfig-leading-space", "kubeconfig-trailing-tab"])
def test_a_context_or_kubeconfig_with_a_space_at_an_end_is_refused_as_typed(tmp_path: Path, key: str, typed: str,
                                                                            meant: str) -> None:
    """A pasted `honey ` names no context (and ` ~/x` no file in the home directory); the file took it, and
    only doctor's `context 'honey ' not found` said so, with a space easy to miss."""
    error = (f"{key} {typed!r} starts or ends with a space: remove it ({meant!r} is meant, most likely)")
    assert validate_answer(key, typed, ConfigAnswers()) == error
    assert validate_answer(key, meant, ConfigAnswers()) is None  # a space inside a path is fine
    prompter = FakePrompter({key: [typed, meant]}, confirm_write=False)
    assert run_plain_init(tmp_path / "organization.yaml", prompter, echo=lambda _: None) is Outcome.DECLINED
    assert prompter.refused == {key: [error]}
    assert tree_digest(tmp_path) == {}
