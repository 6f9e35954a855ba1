"""Loading ``organization.yaml`` with ruamel.yaml, so every problem names file, line, column and field.

YAML is read as YAML 1.2 (``yes``/``no``/``on`` are strings) and validated strictly (a string is
never coerced into a boolean or an integer). Every problem is collected: syntax errors, types,
unknown keys (with a "did you mean" hint), the decision's cross-field rules and credentials.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import types
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Union, get_args, get_origin

from gfwizard.errors import InputError
from gfwizard.redact import redact

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from gfwizard.orgconfig import OrgConfig

#: Larger files are refused unread: the example is under 3 KiB, and a file this size is the wrong file.
MAX_CONFIG_BYTES = 1024 * 1024

TOP_LEVEL_KEYS = ("version", "organization", "cluster", "placement", "state", "environments", "stacks")
_YAML11_BOOL_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false"})


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file: where it is (1-based line and column) and what is wrong."""

    file: str
    line: int
    column: int
    field_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.field_path}: {self.message}" if self.field_path else f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape: file, line, column, field, message."""
        return {"file": self.file, "line": self.line, "column": self.column, "field": self.field_path,
                "message": self.message}


class ConfigError(InputError):
    """The config file is not a valid organization config; ``problems`` lists every problem."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{file}: invalid organization config ({count}):\n{lines}",
            remedy="fix the fields listed (reference: docs/config-reference.md), then run `gfwizard config validate`",
        )


def field_path(loc: Iterable[Any]) -> str:
    """A readable field path: ``stacks[1].depends_on``, ``placement.roles.bumble.node_selector["kubernetes.io/hostname"]``."""
    from gfwizard.orgconfig_rules import SHOWN_VALUE_CHARS
    from gfwizard.textfit import elide

    out = ""
    for part in loc:
        if isinstance(part, str) and len(part) > SHOWN_VALUE_CHARS:  # a pasted key: its message says its length
            part = elide(part, SHOWN_VALUE_CHARS, middle=True)
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_\-]+", str(part)):
            out += f".{part}" if out else str(part)
        else:  # JSON quoting: a key holding a quote or a newline stays on one line, unambiguous
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


# -- reading ----------------------------------------------------------------------------------------


def load_config(path: Path | str) -> "OrgConfig":
    """Read and validate ``path``; InputError when it is missing or unreadable, ConfigError when invalid."""
    text = read_config_text(path)
    return load_config_text(text, str(path))


def read_config_text(path: Path | str) -> str:
    """The text of ``path``; InputError (missing, a directory, unreadable) or ConfigError (not UTF-8)."""
    import stat

    from gfwizard.paths import CONFIG_ENV, config_from_env

    path = Path(path).expanduser()
    # Said where the path came from: "pass the file" does not help whoever never passed one (it was $GFW_CONFIG).
    from_env = config_from_env(path)
    named, give = ((f" (from ${CONFIG_ENV})", f"set {CONFIG_ENV} to the organization.yaml file itself (or pass "
                                               "--config FILE)") if from_env
                   else ("", "pass the organization.yaml file itself"))
    try:
        info = path.stat()
    except FileNotFoundError:
        dangling = f" (a symlink to the missing {os.readlink(path)})" if path.is_symlink() else ""
        create = "create it with `gfwizard config init` (or copy config/organization.example.yaml)"
        raise InputError(f"config file not found: {path}{dangling}{named}",
                         remedy=(f"{create}, or set {CONFIG_ENV} to the organization.yaml file you meant (or unset "
                                 "it, or pass --config FILE)") if from_env else create) from None
    except OSError as exc:  # a symlink loop, a file where a directory should be, ...
        raise InputError(f"cannot read config file {path}{named}: {exc.strerror or exc}",
                         remedy=f"{give} (`ls -l {path}` shows what is there)") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"config path is a directory, not a file: {path}{named}", remedy=give)
    if not stat.S_ISREG(info.st_mode):  # reading a FIFO or a device would block or never end
        raise InputError(f"config path is not a regular file (a pipe, socket or device): {path}{named}",
                         remedy=give)
    if info.st_size > MAX_CONFIG_BYTES:
        raise InputError(f"config file {path} is {info.st_size // 1024} KiB: an organization config is a few KiB "
                         f"(at most {MAX_CONFIG_BYTES // 1024} KiB are read), so this is likely not one",
                         remedy="check that --config (or $GFW_CONFIG) names the organization.yaml file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read config file {path}: {exc.strerror or exc}",
                         remedy="check the file's permissions") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(str(path), [ConfigProblem(str(path), line, column, "", "the file is not UTF-8 text")]) from None


def parse_yaml(text: str, file: str = "<text>") -> Any:
    """The ruamel round-trip document of ``text`` (None when empty); ConfigError with line/column when malformed."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise ConfigError(file, [ConfigProblem(file, line, column, "", _yaml_message(exc, text))]) from None
    except ReaderError as exc:  # a character YAML does not allow: say where, not "position N" of a string
        at = max(0, min(int(exc.position or 0), len(text)))
        line, column = text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character or "\0")[:1] or "\0")
        said = (f"a character YAML does not allow (U+{code:04X}): remove it (a stray control character, or a "
                "binary file)")
        raise ConfigError(file, [ConfigProblem(file, line, column, "", said)]) from None
    except YAMLError as exc:
        raise ConfigError(file, [ConfigProblem(file, 1, 1, "", redact(f"malformed YAML: {exc}"))]) from None
    except TypeError:
        # ruamel builds a complex key (``? [a, b]`` or ``?`` followed by a mapping) and cannot hash it.
        line = next((n for n, raw in enumerate(text.splitlines(), 1) if raw.strip() == "?"
                     or raw.lstrip().startswith(("? ", "?\t"))), 1)
        raise ConfigError(file, [ConfigProblem(file, line, 1, "", "a mapping key that is itself a list or a mapping "
                                               "(a `?` complex key): keys must be plain names")]) from None


def _yaml_message(exc: Any, text: str = "") -> str:
    problem = str(exc.problem or "").strip()
    duplicate = re.match(r'found duplicate key "(.*?)"', problem)
    if duplicate:
        first = exc.context_mark.line + 1 if exc.context_mark is not None else None
        where = f" (the mapping starts at line {first})" if first else ""
        from gfwizard.orgconfig_rules import shown_value

        return f"duplicate key {shown_value(duplicate.group(1))}{where}"
    if "'\\t' that cannot start any token" in problem:
        return "a tab where YAML expects indentation or a value: YAML indents with spaces only"
    context = str(exc.context or "").strip()
    message = f"malformed YAML: {problem}" if problem else "malformed YAML"
    if context:
        message += f" ({context}"
        if exc.context_mark is not None and exc.context_mark is not exc.problem_mark:
            message += f" started at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message += ")"
    hint = _yaml_hint(problem, context, exc.problem_mark, exc.context_mark, text.splitlines())
    return redact(f"{message}: {hint}" if hint else message)


def _yaml_hint(problem: str, context: str, at: Any, start: Any, lines: list[str]) -> str | None:
    """What the parser's words mean in this file, and what to change (None when there is no plain hint).

    The parser says "expected <block end>" or "mapping values are not allowed here"; an operator who
    shifted a line by a space needs to hear "indentation" and which line to line up with which.
    """
    line = at.line + 1 if at is not None else None
    block_start = "<block mapping start>" in problem or "<block sequence start>" in problem
    moved = _dedented_before(lines, at.line) if at is not None else None
    if "expected <block end>" in problem and block_start:
        where = (f"the block that starts at line {start.line + 1} (indented {_spaces(start.column)})"
                 if start is not None else "the lines around it")
        indent = f" (indented {_spaces(at.column)})" if at is not None else ""
        if moved:
            return f"line {line}{indent} is out of line with {where}, because {_moved_key(lines, at, *moved)}"
        return (f"line {line}{indent} is out of line with {where}: YAML nests by indentation, so indent it "
                "exactly like the other keys (or `- ` items) at its level")
    if "expected <block end>" in problem and "<scalar>" in problem:
        return ("text where a key was expected: a quote (\" or ') opened on an earlier line and closed only here, "
                "or a line indented out of place; close the quote on the line that opens it, or line the text up "
                "with its keys")
    if problem.startswith("mapping values are not allowed here"):
        if moved:
            return f"line {line} is read as part of line {moved[0]}'s value, because {_moved_key(lines, at, *moved)}"
        return ("a ': ' inside a plain value, or a key indented deeper than the key above it, which already has a "
                "value: quote a value that holds ': ' (e.g. full_name: \"Tinyland: Inc\"), or give the two keys the "
                "same indentation")
    if problem.startswith("could not find expected ':'"):
        key_line = start.line + 1 if start is not None else line
        return f"the key on line {key_line} has no ':' after it: write `key: value` (a space after the colon)"
    if "quoted scalar" in context and "end of stream" in problem:
        opened = f" on line {start.line + 1}" if start is not None else ""
        return f"the quote opened{opened} is never closed: end the value with the same quote character"
    flow = re.match(r"expected ',' or '([\]}])'", problem)
    if flow and start is not None:
        kind = "[ ] list" if flow.group(1) == "]" else "{ } mapping"
        return (f"the {kind} opened on line {start.line + 1} is not closed where YAML expects it (or two of its "
                f"items lack the ',' between them): close it with '{flow.group(1)}'")
    return None


def _moved_key(lines: list[str], at: Any, number: int, spaces: int) -> str:
    """What to say when the line before the one the parser blames (``at``) is the one out of place."""
    return (f"line {number} (indented {_spaces(spaces)}) ended the block it belongs to: if line {number} belongs "
            f"with the lines around it, indent it {_spaces(_indent(lines[at.line]))} like them (YAML nests by "
            "indentation)")


def _dedented_before(lines: list[str], index: int) -> tuple[int, int] | None:
    """(line number, indentation) of the line just before line ``index`` (0-based) when that line is indented
    less than the lines on both sides of it, which are indented alike: a key pulled out of its block, so the
    parser blames the next line (None otherwise, or when the line before opens a block of its own)."""

    def content_before(i: int) -> int | None:
        for j in range(i - 1, -1, -1):
            stripped = lines[j].strip()
            if stripped and not stripped.startswith("#"):
                return j
        return None

    if index >= len(lines):
        return None
    here = _indent(lines[index])
    before = content_before(index)
    if before is None:
        return None
    above = content_before(before)
    if above is None or _indent(lines[above]) != here or _indent(lines[before]) >= here:
        return None
    if lines[before].split("#", 1)[0].rstrip().endswith(":"):
        return None  # a key that opens a block: the next line may be its first, just indented wrong
    return before + 1, _indent(lines[before])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _spaces(count: int) -> str:
    return f"{count} space{'s' if count != 1 else ''}"


def load_config_text(text: str, file: str = "<text>") -> "OrgConfig":
    """Validate the YAML ``text`` (``file`` names it in problems); ConfigError lists every problem."""
    from pydantic import ValidationError
    from ruamel.yaml.comments import CommentedMap

    from gfwizard.orgconfig import OrgConfig
    from gfwizard.orgconfig_rules import secret_findings

    doc = parse_yaml(text, file)
    if doc is None:
        raise ConfigError(file, [ConfigProblem(file, 1, 1, "", "the file is empty: expected a mapping with "
                                               + ", ".join(TOP_LEVEL_KEYS))])
    if not isinstance(doc, CommentedMap):
        raise ConfigError(file, [ConfigProblem(file, 1, 1, "", f"expected a mapping with {', '.join(TOP_LEVEL_KEYS)} "
                                               f"at the top level, got {describe(to_plain(doc))}")])
    data = to_plain(doc)
    problems: list[ConfigProblem] = comment_secret_problems(text, file)
    secret_keys: set[tuple[int, int]] = set()
    secret_values: set[str] = set()
    for loc, at_key, message in secret_findings(data):
        problem = _problem(file, doc, loc, message, at_key=at_key)
        problems.append(problem)
        if at_key:
            secret_keys.add((problem.line, problem.column))
        else:
            secret_values.add(problem.field_path)
    try:
        cfg = OrgConfig.model_validate(data)
    except ValidationError as exc:
        for problem in problems_from_validation(exc, file, doc):
            # A credential-named key is reported once, as a credential, not also as an unknown key.
            if (problem.line, problem.column) in secret_keys and problem.message.startswith("unknown key"):
                continue
            # A field holding a credential-looking value: its other problems would quote the value.
            if problem.field_path in secret_values:
                continue
            problems.append(problem)
    else:
        if not problems:
            return cfg
    raise ConfigError(file, _unique_sorted(problems))


def comment_secret_problems(text: str, file: str = "<text>") -> list[ConfigProblem]:
    """A problem at each comment of ``text`` that looks like it holds a credential (file:line:col of its ``#``).

    The file never holds a secret, and its comments are committed with it. ``text`` must be YAML that
    :func:`parse_yaml` accepted: comments are found by ruamel's scanner, so a ``#`` inside a quoted or
    block scalar is not taken for a comment (values are checked as values).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.tokens import CommentToken

    from gfwizard.orgconfig_rules import secret_comment_reason

    # Cheap first pass (every load runs this): only a text where something after a '#' looks like a
    # credential is scanned for its real comments (a '#' inside a value is no comment).
    if not any(secret_comment_reason(line.split("#", 1)[1]) for line in text.splitlines() if "#" in line):
        return []
    found: list[tuple[int, str]] = []  # (scanner's line of the comment token, one comment line)

    def collect(node: Any) -> None:
        if isinstance(node, CommentToken):
            found.extend((node.start_mark.line, piece.strip()) for piece in node.value.splitlines()
                         if piece.strip().startswith("#"))
        elif isinstance(node, (list, tuple)):
            for item in node:
                collect(item)

    try:
        for token in YAML(typ="rt").scan(text):
            collect(getattr(token, "_comment", None))
    except YAMLError:
        return []  # parse_yaml reports malformed YAML with its position
    lines = [raw.rstrip() for raw in text.splitlines()]
    problems: list[ConfigProblem] = []
    used: set[int] = set()
    for token_line, comment in found:
        reason = secret_comment_reason(comment.lstrip("#"))
        if reason is None:
            continue
        # The token's mark can sit a line early (a comment after a blank line), so look from there on.
        index = next((i for i in range(max(token_line - 1, 0), len(lines))
                      if i not in used and lines[i].endswith(comment)), None)
        if index is None:
            line, column = token_line + 1, 1
        else:
            used.add(index)
            line, column = index + 1, len(lines[index]) - len(comment) + 1
        problems.append(ConfigProblem(file, line, column, "", redact(reason)))
    return problems


def _unique_sorted(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    seen: dict[tuple[int, int, str, str], ConfigProblem] = {}
    for p in problems:
        seen.setdefault((p.line, p.column, p.field_path, p.message), p)
    return sorted(seen.values(), key=lambda p: (p.line, p.column, p.field_path))


def to_plain(node: Any) -> Any:
    """Plain Python values (dict, list, str, int, float, bool, None) from a ruamel document."""
    if isinstance(node, dict):
        return {key: to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


# -- mapping pydantic errors to positions -----------------------------------------------------------


def problems_from_validation(exc: "ValidationError", file: str, doc: Any = None) -> list[ConfigProblem]:
    """One ConfigProblem per pydantic error (cross-field rules expanded), positioned in ``doc`` when given."""
    from gfwizard.orgconfig import SemanticErrors

    problems: list[ConfigProblem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        error = (err.get("ctx") or {}).get("error")
        if err["type"] == "value_error" and isinstance(error, SemanticErrors):
            for issue in error.issues:
                problems.append(_problem(file, doc, loc + tuple(issue.loc), issue.message, at_key=issue.at_key))
            continue
        at_key = err["type"] == "extra_forbidden"
        if loc and loc[-1] == "[key]":
            loc, at_key = loc[:-1], True
        problems.append(_problem(file, doc, loc, friendly_message(err, loc), at_key=at_key,
                                 missing=err["type"] == "missing"))
    return problems


def _problem(file: str, doc: Any, loc: tuple[Any, ...], message: str, *, at_key: bool = False,
             missing: bool = False) -> ConfigProblem:
    line, column = locate(doc, loc, at_key=at_key, missing=missing) if doc is not None else (0, 0)
    return ConfigProblem(file, line, column, field_path(shown_loc(loc, at_key)), redact(message))


def shown_loc(loc: tuple[Any, ...], at_key: bool) -> tuple[Any, ...]:
    """The field path a problem is shown under: for a credential-named key, the mapping that holds it.

    ``state.http.password: key 'password' ...`` would read as ``password: <secret>`` to the redactor every
    output passes through, which masks the message's first word; ``state.http: key 'password' ...`` does
    not (the message names the key, and line:col still point at it).
    """
    from gfwizard.orgconfig_rules import secret_key_reason

    if at_key and loc and secret_key_reason(str(loc[-1])) is not None:
        return loc[:-1]
    return loc


def locate(doc: Any, loc: tuple[Any, ...], *, at_key: bool = False, missing: bool = False) -> tuple[int, int]:
    """1-based (line, column) of the node at ``loc``: its key when ``at_key``; for a missing field, its parent's key."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = doc
    key_pos = value_pos = (getattr(doc.lc, "line", 0) or 0, getattr(doc.lc, "col", 0) or 0)
    found = 0
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            key_pos, value_pos = node.lc.key(part), node.lc.value(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            key_pos = value_pos = node.lc.item(part)
            node = node[part]
        else:
            break
        found += 1
    if missing and found == len(loc):
        missing = False
    if node is None and found == len(loc):
        at_key = True  # ruamel places an empty value at the next token; the key is where the reader looks
    line, column = key_pos if (at_key or missing) else value_pos
    return line + 1, column + 1


def describe(value: Any) -> str:
    """How a YAML value reads in a message: ``the string 'yes'``, ``a list``, ``the integer 3``."""
    from gfwizard.orgconfig_rules import shown_value

    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {shown_value(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, date):
        return f"the date {value.isoformat()} (quote it to make it a string)"
    return f"a {type(value).__name__}"


def friendly_message(err: Any, loc: tuple[Any, ...]) -> str:
    """A message for one pydantic error that says what was expected and what was found."""
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return unknown_key_message(loc)
    if kind == "bool_type":
        if isinstance(value, str) and value.lower() in _YAML11_BOOL_WORDS:
            return (f"expected true or false, got the string {value!r}: YAML 1.2 reads yes/no/on/off as strings "
                    "(and quoted values are strings), write true or false")
        return f"expected true or false, got {describe(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected an integer, got {describe(value)}"
    if kind == "string_type":
        hint = " (quote it to make it a string)" if isinstance(value, (bool, int, float)) else ""
        return f"expected a string, got {describe(value)}{hint}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return f"expected a mapping (key: value), got {describe(value)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {describe(value)}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '?')}, got {describe(value)}"
    if kind == "too_short":
        return "must have at least one entry"
    if kind == "value_error" and ctx.get("error") is not None:
        return str(ctx["error"])
    return str(err.get("msg", "invalid value"))


def unknown_key_message(loc: tuple[Any, ...]) -> str:
    """``unknown key 'x'; did you mean 'y'?`` using the fields of the section that holds ``loc``."""
    from gfwizard.orgconfig_rules import shown_value

    key = str(loc[-1]) if loc else ""
    model = model_at(loc[:-1])
    allowed = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {shown_value(key)}; did you mean {close[0]!r}?"
    if allowed:
        return f"unknown key {shown_value(key)} (allowed here: {', '.join(allowed)})"
    return f"unknown key {shown_value(key)}"


def model_at(loc: tuple[Any, ...]) -> "type[BaseModel] | None":
    """The config section model found at ``loc`` (None when ``loc`` is not a section)."""
    from pydantic import BaseModel

    from gfwizard.orgconfig import OrgConfig

    current: Any = OrgConfig
    for part in loc:
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) is list:
            current = get_args(current)[0]
        else:
            return None
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp
