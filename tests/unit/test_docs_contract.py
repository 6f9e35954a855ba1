"""The docs keep the decision: honey is the only cluster; bumble and sting appear only as node roles
(placement inputs), never as clusters, contexts or kubeconfigs. Checked with its own patterns, not
the audit's, so a bug in one does not hide a bug in the other. And the names the docs use exist: every
``gfwizard`` command, subcommand and flag in their code, every checkout path, module and dotted name, every
``just`` recipe and ``make`` target; json-output.md's ``deploy --json`` events carry the keys the events have, and
it names every variable ``rehearse --serve`` exports; and the key tables of discover's contexts, validate, audit and
a single-stack migrate name exactly the keys those reports have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO

DOCS = sorted([*(REPO / "docs").glob("*.md"), REPO / "README.md", *(REPO / "tofu").rglob("README.md")])
ROLES = r"(?:bumble|sting)"
ROLE_AS_CLUSTER = [
    re.compile(rf"\b{ROLES}\b(?:\W+\w+){{0,2}}?\W+(?:clusters?|contexts?)\b", re.I),
    re.compile(rf"\b(?:clusters?|contexts?|--context|use-context)\b(?:\W+\w+){{0,2}}?\W+{ROLES}\b", re.I),
    re.compile(rf"kubeconfig[-_.]{ROLES}|{ROLES}[-_.]kubeconfig", re.I),
]
NEGATED = re.compile(r"\bnot?\b|\bnever\b|node[- ]roles?|placement|refuse", re.I)
CONTEXT_VALUE = re.compile(r"(?:--context[= ]|use-context |\bcontext: |\bcluster: |cluster_context = \"?)`?([\w./:@-]+)")
KUBECONFIG_FILE = re.compile(r"kubeconfig-([\w-]+)\.ya?ml")


def lines(path: Path) -> list[tuple[int, str]]:
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))


def code(path: Path) -> list[tuple[int, str, str]]:
    """``(line number, code, whole line)``: fenced block lines whole, elsewhere the inline code spans."""
    out, fenced = [], False
    for n, line in lines(path):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        out += [(n, line, line)] if fenced else [(n, span, line) for span in re.findall(r"`([^`]+)`", line)]
    return out


def test_the_docs_exist() -> None:
    names = {p.name for p in DOCS}
    assert {"quick-start.md", "deployment-authority.md", "status-mode.md", "json-output.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_node_roles_are_never_clusters_or_contexts(doc: Path) -> None:
    bad = [(n, line) for n, line in lines(doc)
           if not NEGATED.search(line) and any(p.search(line) for p in ROLE_AS_CLUSTER)]
    assert bad == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_context_and_kubeconfig_named_is_honey(doc: Path) -> None:
    """Contexts, clusters and kubeconfig files the docs name are honey's, except on lines labelled legacy."""
    bad = []
    for n, snippet, line in code(doc):
        if "legacy" in line.lower():
            continue
        for value in CONTEXT_VALUE.findall(snippet) + KUBECONFIG_FILE.findall(snippet):
            value = value.strip("`\"'.,")
            if value and value != "honey" and not re.fullmatch(r"[A-Z_]+|<[^>]*>?|\$\w*|\{.*", value):
                bad.append((n, value, line))
    assert bad == []


def test_the_patterns_catch_what_they_must() -> None:
    """The two checks above can fail."""
    for text in ("Deploy runners to the sting cluster.", "kubectl --context bumble get pods",
                 "export KUBECONFIG=~/.kube/kubeconfig-sting.yaml", "switch to the bumble context"):
        assert any(p.search(text) for p in ROLE_AS_CLUSTER) and not NEGATED.search(text), text
    assert not any(p.search("bumble and sting are node roles inside honey") for p in ROLE_AS_CLUSTER[2:])
    assert CONTEXT_VALUE.findall("kubectl --context tinyland-civo-dev get ns") == ["tinyland-civo-dev"]


@pytest.mark.parametrize("name", ["quick-start.md", "deployment-authority.md"])
def test_honey_is_named_as_the_one_cluster(name: str) -> None:
    text = (REPO / "docs" / name).read_text(encoding="utf-8")
    assert re.search(r"\*\*honey\*\*, the one cluster|\*\*one\*\* on-prem Kubernetes cluster, \*\*honey\*\*", text)
    assert "context `honey`" in text
    assert re.search(r"`bumble` and `sting` are node roles inside honey", text)


def test_deployment_authority_lists_the_five_exit_criteria() -> None:
    text = (REPO / "docs" / "deployment-authority.md").read_text(encoding="utf-8")
    for n, words in enumerate(["without GitLab-specific backend credentials", "same kubeconfig and context model",
                               "depends on the Civo CLI", "described once and reused everywhere",
                               "bumble or sting as separate clusters"], start=1):
        assert re.search(rf"^{n}\. .*{re.escape(words)}", text, re.M), n
    assert "`tofu validate` is not part of the audit" in text


def test_status_mode_states_its_read_only_guarantees() -> None:
    text = (REPO / "docs" / "status-mode.md").read_text(encoding="utf-8")
    assert "## Read-only guarantees" in text
    for phrase in ("raises before it is\n  sent", "GET, HEAD and LIST only", "never written"):
        assert phrase in text


# --- names the docs use exist: commands and flags in the CLI, files in the checkout, dotted names in the code ---

FENCE = re.compile(r"^ *(```|~~~).*?^ *\1", re.M | re.S)
#: ``gfwizard`` where a command line starts: at a snippet's start, after a shell separator or env assignments.
COMMAND = re.compile(r"(?:^|&&|;|\||\(|\$ )\s*(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:\S*/)?gfwizard"
                     r"((?:\s+[a-z][\w-]*(?:\|[a-z][\w-]*)*)*)(.*)")
PATH = re.compile(r"(?<![\w./-])((?:gfwizard|screens|tests|bench|tofu|\.github)/[\w./-]*\w)(?![\w./{<*-])(?:::(\w+))?")
BARE_MODULE = re.compile(r"^[a-z_]+\.py$")
DOTTED = re.compile(r"(?<![\w./-])((?:gfwizard|screens)(?:\.\w+)+)")


def snippets(path: Path) -> list[str]:
    """The lines of fenced blocks, then every inline code span (one spanning a line break joined into one line)."""
    text = path.read_text(encoding="utf-8")
    out = [line for block in FENCE.finditer(text) for line in block.group(0).splitlines()[1:-1]]
    return out + [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", FENCE.sub("", text))]


def cli_problems(snippet: str) -> list[str]:
    """Commands, subcommands and ``--flags`` of every ``gfwizard`` command line in ``snippet`` the CLI lacks."""
    import click

    from gfwizard.cli import cli

    ctx, bad = click.Context(cli), []
    for m in COMMAND.finditer(snippet):
        words = m.group(1).split()
        if not words:
            continue
        command = cli.get_command(ctx, words[0])
        if command is None:
            bad.append(f"gfwizard {words[0]}: no such command")
            continue
        commands = [command]
        if isinstance(command, click.Group) and len(words) > 1:
            commands = [command.commands.get(name) for name in words[1].split("|")]
            if None in commands:
                bad.append(f"gfwizard {words[0]} {words[1]}: no such subcommand")
                continue
        # Flags up to the end of this command line (a comment, a pipe or the next command ends it).
        tail = re.split(r"\s(?:&&|;|\|\||\||#)\s", m.group(1) + m.group(2))[0]
        for flag in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", tail):
            if not any(flag in opt for c in commands for p in c.params for opt in (p.opts, p.secondary_opts)):
                bad.append(f"gfwizard {' '.join(words[:2])}: no option {flag}")
    return bad


def name_problems(snippet: str) -> list[str]:
    """Checkout paths, bare module file names and dotted ``gfwizard.``/``screens.`` names in ``snippet`` that do
    not exist (a dotted name may also be a logger name the code uses)."""
    bad = []
    for path, test in PATH.findall(snippet):
        if not (REPO / path).exists():
            bad.append(f"{path}: no such file")
        elif test and not re.search(rf"def {test}\b", (REPO / path).read_text(encoding="utf-8")):
            bad.append(f"{path}::{test}: no such test")
    if BARE_MODULE.match(snippet) and not any(next((REPO / d).rglob(snippet), None) for d in ("gfwizard", "screens")):
        bad.append(f"{snippet}: no such module in gfwizard/ or screens/")
    for dotted in DOTTED.findall(snippet):
        if not dotted_exists(dotted):
            bad.append(f"{dotted}: no such module, attribute or logger")
    return bad


def dotted_exists(dotted: str) -> bool:
    """``pkg.module[.attr...]``: the longest prefix that is a module file, and each rest a name defined or
    imported in it; or a logger name in the code."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        base = REPO.joinpath(*parts[:n])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            text = source.read_text(encoding="utf-8")
            if all(re.search(rf"\b{re.escape(name)}\b", text) for name in parts[n:]):
                return True
            break
    logger = re.compile(rf"getLogger\(\s*[\"']{re.escape(dotted)}[\"']")
    sources = [p for d in ("gfwizard", "screens") for p in (REPO / d).rglob("*.py")]
    return any(logger.search(p.read_text(encoding="utf-8")) for p in sources)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_gfwizard_command_and_flag_the_docs_name_exists(doc: Path) -> None:
    assert [(s, p) for s in snippets(doc) for p in cli_problems(s)] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_module_path_and_dotted_name_the_docs_name_exists(doc: Path) -> None:
    assert [(s, p) for s in snippets(doc) for p in name_problems(s)] == []


def test_the_name_checks_catch_what_they_must() -> None:
    """The two checks above can fail, and ignore prose that merely mentions gfwizard."""
    assert cli_problems("gfwizard deploy --env dev --dry-run") == ["gfwizard deploy: no option --dry-run"]
    assert cli_problems(".venv/bin/gfwizard backend check|lock --env dev") == [
        "gfwizard backend check|lock: no such subcommand"]
    assert cli_problems("X=1 gfwizard frobnicate") == ["gfwizard frobnicate: no such command"]
    assert cli_problems("gfwizard validate --pin --yes | tee log && kubectl --context honey get ns") == []
    assert cli_problems("the CPU time of gfwizard from spawn to exit") == []
    assert cli_problems("gfwizard validate [--context C] [--kubeconfig PATH]  # --context is optional") == []
    assert name_problems("gfwizard/nope.py") == ["gfwizard/nope.py: no such file"]
    assert name_problems("tests/unit/test_docs_contract.py::test_nope") == [
        "tests/unit/test_docs_contract.py::test_nope: no such test"]
    assert name_problems("nope_screen.py") == ["nope_screen.py: no such module in gfwizard/ or screens/"]
    assert name_problems("gfwizard.backend.no_such_name") == [
        "gfwizard.backend.no_such_name: no such module, attribute or logger"]
    assert name_problems("gfwizard.backend.lock_probe") == name_problems("gfwizard.ui") == []
    assert name_problems("tofu/stacks/<stack>/<env>.s3.tfbackend") == name_problems("tests/faults/test_{a,b}.py") == []


# --- recipes and targets the docs tell an operator to run exist ---

RECIPE = re.compile(r"(?:^|&&|;|\(|\$ )\s*(just|make)((?:\s+[A-Z_][A-Z0-9_]*=\S*)*)\s+([a-z][\w-]*)")


def recipe_problems(snippet: str) -> list[str]:
    """``just RECIPE`` / ``make TARGET`` command lines in ``snippet`` whose recipe or target does not exist
    (``just ENV=prod tofu-plan`` also needs ``ENV`` to be a Justfile variable)."""
    defined = {
        "just": re.findall(r"^([a-z][\w-]*)\s*:(?!=)", (REPO / "Justfile").read_text(encoding="utf-8"), re.M),
        "make": re.findall(r"^([a-z][\w-]*)\s*:(?!=)", (REPO / "Makefile").read_text(encoding="utf-8"), re.M),
    }
    variables = re.findall(r"^([A-Z_][A-Z0-9_]*)\s*:=", (REPO / "Justfile").read_text(encoding="utf-8"), re.M)
    bad = []
    for tool, assignments, name in RECIPE.findall(snippet):
        if name not in defined[tool]:
            bad.append(f"{tool} {name}: no such {'recipe' if tool == 'just' else 'target'}")
        for var in re.findall(r"([A-Z_][A-Z0-9_]*)=", assignments):
            if tool == "just" and var not in variables:
                bad.append(f"just {var}=…: no such Justfile variable")
    return bad


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_just_recipe_and_make_target_the_docs_name_exists(doc: Path) -> None:
    assert [(s, p) for s in snippets(doc) for p in recipe_problems(s)] == []


def test_the_recipe_check_catches_what_it_must() -> None:
    assert recipe_problems("just tofu-destroy") == ["just tofu-destroy: no such recipe"]
    assert recipe_problems("just STAGE=prod tofu-plan") == ["just STAGE=…: no such Justfile variable"]
    assert recipe_problems("make rehearse   # the wizard") == recipe_problems("just ENV=prod tofu-plan") == []
    assert recipe_problems("make lint") == ["make lint: no such target"]


# --- the keys of `gfwizard deploy --json` events, as documented, are the fields the events have ---

def documented_event_keys() -> dict[str, tuple[set[str], tuple[str, ...]]]:
    """``event -> (keys named outside parentheses in its row, every event of that row)`` from the table in
    json-output.md's deploy section."""
    section = (REPO / "docs" / "json-output.md").read_text(encoding="utf-8").split(
        "## `gfwizard deploy --env E --json`", 1)[1]
    rows: dict[str, tuple[set[str], tuple[str, ...]]] = {}
    for line in section.splitlines():
        cells = line.split(" | ")
        if not line.startswith("| `") or len(cells) < 3:
            continue
        events = tuple(re.findall(r"`(\w+)`", cells[0]))
        if events == ("event",):  # the header
            continue
        keys, previous = cells[1], None
        while previous != keys:  # what parentheses say about a key is not a key
            previous, keys = keys, re.sub(r"\([^()]*\)", "", keys)
        for event in events:
            rows[event] = (set(re.findall(r"`(\w+)`", keys)), events)
    return rows


def test_every_deploy_event_and_its_keys_are_documented() -> None:
    import dataclasses

    from gfwizard import stacks_events

    classes = {re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower(): cls for cls in vars(stacks_events).values()
               if isinstance(cls, type) and issubclass(cls, stacks_events.DeployEvent)
               and cls not in (stacks_events.DeployEvent, stacks_events.LogLine, stacks_events.RunFinished)}
    fields = {name: {f.name for f in dataclasses.fields(cls)} for name, cls in classes.items()}
    fields["result"] = {f.name for f in dataclasses.fields(stacks_events.DeployResult)} | {"exit_code"}
    rows = documented_event_keys()
    assert set(rows) == set(fields), "events emitted and events documented differ"
    for event, (keys, shared) in rows.items():
        # A row shared by several events may name a key only some have (and says which).
        assert fields[event] <= keys, (event, fields[event] - keys)
        union = set().union(*(fields[e] for e in shared))
        assert keys <= union, (event, keys - union)


# --- the keys the screens bind are the keys the docs' key tables name, both ways ---

#: Where each class of screens/ that binds keys is documented: a row of a table with a keys column in the
#: operator guide's Wizard section (a step's, or every step's and each dialog's), or status-mode.md's key table.
#: A class that binds keys and is missing here fails, so a new one cannot go undocumented.
KEY_DOCS = {
    "WizardApp": "every step", "StepScreen": "every step", "ConfirmModal": "a yes/no dialog",
    "TypedConfirmModal": "the typed confirmation", "ErrorModal": "an error or information dialog",
    "PreflightScreen": "1 · Preflight", "KubeconfigScreen": "2 · Kubeconfig", "ValidateScreen": "3 · Validate",
    "BackendScreen": "4 · State backend", "ConfigScreen": "5 · organization.yaml", "DeployScreen": "6 · Deploy",
    "LogPane": "6 · Deploy", "DoneScreen": "7 · Done",
    "StatusApp": "status", "StacksTable": "status", "NodesTable": "status", "EventsTable": "status", "EventModal": "status",
    "NodeModal": "status",
    "WorkloadScreen": "status",
}
#: Keys a focused widget handles itself (a table's cursor and Enter, a form's Tab, a radio list's arrows):
#: documented, but bound by no class of screens/.
WIDGET_KEYS = {"↑/↓", "Enter", "Tab"}
#: Textual's command palette key, which the wizard keeps (status mode turns the palette off).
PALETTE_KEY = "Ctrl+P"
#: What a doc calls a key (bold in the operator guide, a code span in status-mode.md); anything else, such as
#: a button's name (**Apply**), is not one.
KEYISH = re.compile(r"Ctrl\+\w|Esc|Enter|Tab|↑/↓|[\w/]")


def doc_key(key: str) -> str:
    """A Textual key name as the docs write it: ``ctrl+n`` is Ctrl+N, ``escape`` Esc, ``slash`` /."""
    named = {"escape": "Esc", "enter": "Enter", "tab": "Tab", "slash": "/"}
    if key in named:
        return named[key]
    return "Ctrl+" + key[5:].upper() if key.startswith("ctrl+") else key


def bound_keys(source_dir: Path = REPO / "screens") -> dict[str, set[str]]:
    """``class -> keys`` of every class in ``source_dir`` with a ``BINDINGS`` list, read from the source (no
    Textual import), each key as the docs write it."""
    import ast

    out: dict[str, set[str]] = {}
    for path in sorted(source_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(getattr(t, "id", "") == "BINDINGS" for t in stmt.targets):
                    assert isinstance(stmt.value, ast.List), f"{path.name}:{node.name}: BINDINGS is not a list"
                    keys: set[str] = set()
                    for item in stmt.value.elts:
                        assert isinstance(item, ast.Call) and getattr(item.func, "id", "") == "Binding" \
                            and isinstance(item.args[0], ast.Constant), f"{path.name}:{node.name}: not Binding('key', …)"
                        keys |= {doc_key(k.strip()) for k in str(item.args[0].value).split(",")}
                    out[node.name] = keys
    return out


def wizard_documented_keys(text: str) -> dict[str, set[str]]:
    """``row -> keys`` in the keys column of each table of the operator guide's Wizard section (a row is named
    by its first cell: ``7 · Done``, ``every step``), and ``"wizard text"`` -> the keys its text names."""
    section = text.split("\n## Wizard\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    out: dict[str, set[str]] = {"wizard text": set()}
    column = None
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            column = None
            where, keys = "wizard text", line
        elif column is None:  # a table's header
            column = cells.index("keys") if "keys" in cells else -1
            continue
        elif column < 0 or set(cells[0]) <= {"-", " "}:
            continue
        else:
            where, keys = cells[0], cells[column]
        bold = " ".join(re.findall(r"\*\*([^*]+)\*\*", keys))
        out.setdefault(where, set()).update(k for k in bold.split() if KEYISH.fullmatch(k))
    return out


def status_documented_keys(text: str) -> set[str]:
    """The keys of status-mode.md's key table (its first column's code spans; `1` … `5` is each of them)."""
    table = text.split("### Keys (live view)", 1)[1].split("\n\n", 2)[1]
    out: set[str] = set()
    for line in table.splitlines()[2:]:
        first = line.strip("|").split("|")[0]
        spans = re.findall(r"`([^`]+)`", first)
        if re.search(r"`(\d)` … `(\d)`", first):
            low, high = map(int, re.search(r"`(\d)` … `(\d)`", first).groups())  # type: ignore[union-attr]
            spans += [str(n) for n in range(low, high + 1)]
        out |= set(spans)
    return out


def key_drift(bound: dict[str, set[str]], wizard: dict[str, set[str]], status: set[str]) -> list[str]:
    """Each binding missing from the docs and each documented key bound nowhere it is documented for."""
    problems = [f"{cls} binds keys and is in no key table (add it to KEY_DOCS and the docs)"
                for cls in sorted(set(bound) - set(KEY_DOCS))]
    # The Wizard section's text names keys in passing ("r on the Deploy step resumes"): each is bound somewhere.
    wizard_keys = {k for cls, w in KEY_DOCS.items() if w != "status" for k in bound.get(cls, ())}
    problems += [f"wizard text: {key} is documented but bound to nothing"
                 for key in sorted(wizard.get("wizard text", set()) - wizard_keys - WIDGET_KEYS - {PALETTE_KEY})]
    problems += [f"{cls}: in KEY_DOCS, binds no keys any more" for cls in sorted(set(KEY_DOCS) - set(bound))]
    documented = {**wizard, "status": status}
    for where in sorted(set(KEY_DOCS.values())):  # each row or table: exactly its classes' keys
        keys = set().union(*(bound.get(cls, set()) for cls, w in KEY_DOCS.items() if w == where))
        shown = documented.get(where)
        if shown is None:
            problems.append(f"{where}: no such row or table in the docs")
            continue
        problems += [f"{where}: {key} is bound but not documented" for key in sorted(keys - shown)]
        allowed = keys | WIDGET_KEYS
        if where == "every step":
            allowed.add(PALETTE_KEY)
        if where == "status":
            allowed -= {"Tab"}
        problems += [f"{where}: {key} is documented but bound to nothing" for key in sorted(shown - allowed)]
    return problems


def test_every_key_a_screen_binds_is_documented_and_every_documented_key_is_bound() -> None:
    bound = bound_keys()
    wizard = wizard_documented_keys((REPO / "docs" / "operator-guide.md").read_text(encoding="utf-8"))
    status = status_documented_keys((REPO / "docs" / "status-mode.md").read_text(encoding="utf-8"))
    assert len([w for w in wizard if re.fullmatch(r"\d · .+", w)]) == 7, "the Wizard table has a row per step"
    assert {"1", "5", "q", "Ctrl+Q", "Esc", "b"} <= status
    assert key_drift(bound, wizard, status) == []


def test_the_key_check_catches_what_it_must(tmp_path: Path) -> None:
    """A binding the docs lack, a documented key bound nowhere and an unmapped class each fail."""
    (tmp_path / "s.py").write_text(
        'class DoneScreen:\n    BINDINGS = [Binding("s", "status", "Status"), Binding("ctrl+x,slash", "x", "X")]\n'
        'class NewModal:\n    BINDINGS = [Binding("escape", "dismiss", "Close")]\n', encoding="utf-8")
    bound = bound_keys(tmp_path)
    assert bound["DoneScreen"] == {"s", "Ctrl+X", "/"}
    guide = ("intro\n## Wizard\n\nKeys: **Esc** Back, **Apply** is a button, **F9** nothing.\n\n"
             "| step | shows | keys | writes |\n| --- | --- | --- | --- |\n"
             "| 7 · Done | it **x** | **s** status, **q** quits, **↑/↓** move | nothing |\n\n### Next\n**z**\n")
    wizard = wizard_documented_keys(guide)
    assert wizard["7 · Done"] == {"s", "q", "↑/↓"} and wizard["wizard text"] == {"Esc"}
    problems = key_drift(bound, wizard, {"q"})
    assert "NewModal binds keys and is in no key table (add it to KEY_DOCS and the docs)" in problems
    assert "7 · Done: Ctrl+X is bound but not documented" in problems
    assert "7 · Done: q is documented but bound to nothing" in problems
    assert "7 · Done: ↑/↓ is documented but bound to nothing" not in problems
    assert "wizard text: Esc is documented but bound to nothing" in problems  # NewModal is in no table
    assert status_documented_keys("### Keys (live view)\n\n| key | does |\n| --- | --- |\n"
                                  "| `1` … `3` | panes |\n| `q` / `Ctrl+Q` | quit |\n\nafter") == \
        {"1", "2", "3", "q", "Ctrl+Q"}


# --- the variables `rehearse --serve` exports, as json-output.md lists them ---

def documented_rehearsal_variables(text: str) -> set[str]:
    """The variable names json-output.md's ``rehearse --serve --json`` section names, ``A_B_X`/`_Y``
    shorthand expanded (``_Y`` takes the previous name's stem: ``A_B_Y``)."""
    section = text.split("## `gfwizard rehearse --serve --json`", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for run in re.findall(r"`[A-Z][A-Z0-9_]*`(?:/`_[A-Z0-9_]+`)*", section):
        first, *rest = re.findall(r"`([A-Z0-9_]+)`", run)
        names.add(first)
        stem = first.rsplit("_", 1)[0]
        names |= {stem + suffix for suffix in rest}
    return names | set(re.findall(r'"([A-Z][A-Z0-9_]+)":', section))


def test_every_variable_rehearse_exports_is_documented() -> None:
    from gfwizard.commands.rehearse import EXPORT_ORDER

    documented = documented_rehearsal_variables((REPO / "docs" / "json-output.md").read_text(encoding="utf-8"))
    assert set(EXPORT_ORDER) - documented == set()


def test_the_rehearsal_variable_check_catches_what_it_must() -> None:
    text = ("## `gfwizard rehearse --serve --json`\n\n```json\n{\"env\": {\"KUBECONFIG\": \"x\"}}\n```\n"
            "also `GFW_HTTP_STATE_URL`/`_ADDRESS`, `TF_HTTP_USERNAME`\n\n## next\n`NOT_THIS`\n")
    assert documented_rehearsal_variables(text) == {
        "KUBECONFIG", "GFW_HTTP_STATE_URL", "GFW_HTTP_STATE_ADDRESS", "TF_HTTP_USERNAME"}


# --- the keys of the other `--json` reports, as their docs' key tables name them ---

def table_keys(text: str, heading: str) -> set[str]:
    """The key names in the first column of every table of ``text`` under ``heading`` (up to the next ``## ``),
    a ``findings[].rule`` row naming ``rule``."""
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for line in section.splitlines():
        cells = line.split(" | ")
        if line.startswith("| `") and len(cells) >= 2:
            keys |= {re.split(r"\[\]\.|\.", span)[-1] for span in re.findall(r"`([\w.\[\]]+)`", cells[0])}
    return keys


def report_keys() -> dict[str, tuple[str, str, set[str]]]:
    """``id -> (doc, section heading, the keys the report's --json has)``, read from the models."""
    import dataclasses

    from gfwizard.audit_model import AuditReport, Finding
    from gfwizard.backend_migrate import MigrationReport
    from gfwizard.cluster import ValidationReport
    from gfwizard.kubeconfig import ContextInfo

    return {
        "discover contexts[]": ("discover.md", "## Per context", {f.name for f in dataclasses.fields(ContextInfo)}),
        "validate": ("json-output.md", "## `gfwizard validate --json`", set(ValidationReport.model_fields) | {"ok", "pin"}),
        "audit": ("json-output.md", "## `gfwizard audit [PATH] --json`",
                  set(AuditReport.model_fields) | set(AuditReport.model_computed_fields) | set(Finding.model_fields)),
        "backend migrate --stack": ("json-output.md", "## `gfwizard backend migrate --env E --stack S --json`",
                                    {f.name for f in dataclasses.fields(MigrationReport)}),
    }


@pytest.mark.parametrize("report", sorted(report_keys()))
def test_every_key_of_a_json_report_is_documented_and_every_documented_key_is_emitted(report: str) -> None:
    doc, heading, emitted = report_keys()[report]
    documented = table_keys((REPO / "docs" / doc).read_text(encoding="utf-8"), heading)
    assert (emitted - documented, documented - emitted) == (set(), set())


def test_the_table_key_check_reads_what_it_must() -> None:
    text = ("## `x --json`\n\n| key | meaning |\n| --- | --- |\n| `path` | the `other` thing |\n"
            "| `findings[].rule`, `a.b` | x |\n\n## next\n\n| `later` | y |\n")
    assert table_keys(text, "## `x --json`") == {"path", "rule", "b"}
