"""``gfwizard discover``: every kubeconfig context on this machine, classified.

Stays light on purpose: no Kubernetes client, no boto3, no Textual, no pydantic models. Exit 0
whatever it finds (problems are reported, never fatal); 2 only for bad flags.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from gfwizard.commands._common import (
    config_option, echo, handles_errors, json_option, report_width, resolve_config_path, write,
)

_COLUMNS = ("", "CONTEXT", "FILE", "SERVER", "AUTH", "CERT EXPIRY", "CLASS")
_CONTEXT, _FILE, _SERVER, _AUTH = 1, 2, 3, 4
#: How the table gives up cells when it is wider than the terminal, one stage at a time: the file, then
#: the server (the file is in ``--json`` and its name survives the cut; a cut server is no longer an
#: address to compare), then the context name, each down to a width that still reads well, then the
#: three again, narrower, in the same order; then an exec plugin's name (never the auth kind). The
#: current marker, the cert expiry and the class (what an operator acts on) are never cut.
_SHRINK = (((_FILE, 24),), ((_SERVER, 24),), ((_CONTEXT, 40),), ((_FILE, 12),), ((_SERVER, 12),), ((_CONTEXT, 20),),
           ((_AUTH, 5),), ((_FILE, 6),), ((_SERVER, 6),), ((_CONTEXT, 8),))
#: Said under a table whose names were cut, so the whole ones are one command away.
CUT_NOTE = "names cut to fit; `gfwizard discover --json` or a wider window shows them whole"


@click.command()
@json_option
@config_option
@handles_errors
def discover(as_json: bool, config_path: Path | None) -> None:
    """List kubeconfig contexts: file, server, auth, cert expiry, classification, current marker.

    Looks at every KUBECONFIG entry, the cluster.kubeconfig of organization.yaml, ~/.kube/config,
    ~/.kube/kubeconfig-*.y*ml and ~/.kube/*.y*ml. Never runs exec plugins and never writes a kubeconfig:
    its one write is its summary cache, $GFW_STATE_DIR/cache/kubeconfig-summaries.json (no credentials in it;
    GFW_DISCOVER_CACHE=0 skips it).
    """
    from gfwizard.kubeconfig import discover as run_discovery
    from gfwizard.kubeconfig_classify import load_target_hint

    from gfwizard.paths import CONFIG_ENV

    # Only the default may be missing quietly (a fresh machine): a path the operator named (--config, or
    # $GFW_CONFIG) is a typo.
    named = config_path is not None or bool(os.environ.get(CONFIG_ENV))
    hint, hint_warning = load_target_hint(resolve_config_path(config_path), named=named)
    result = run_discovery(target=hint)
    if hint_warning:
        result.warnings.insert(0, hint_warning)
    if as_json:
        _emit_json(result.to_dict())
        return
    echo(render_text(result, width=report_width()))


def _emit_json(doc: dict[str, Any]) -> None:
    """Like ``emit_json``, but fast for thousands of contexts.

    The document is already JSON-ready, so ``to_jsonable`` is skipped; every distinct string is
    redacted in one batch instead of redacting the whole indented text (ten regex passes over a
    megabyte took longer than parsing the kubeconfigs); and output is indented only for a
    terminal, because Python's C JSON encoder is used only without indentation.
    """
    import json
    import sys

    strings: dict[str, str] = {}

    def collect(value: Any) -> None:
        if isinstance(value, str):
            strings[value] = value
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    def rebuild(value: Any) -> Any:
        if isinstance(value, str):
            return strings[value]
        if isinstance(value, dict):
            return {k: rebuild(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rebuild(v) for v in value]
        return value

    collect(doc)
    redacted = redact_many(list(strings))
    changed = any(k != v for k, v in redacted.items())
    strings.update(redacted)
    indent = 2 if sys.stdout.isatty() else None
    write(json.dumps(rebuild(doc) if changed else doc, indent=indent))


def redact_many(values: list[str]) -> dict[str, str]:
    """Each value redacted exactly as ``redact(value)`` would, with one ``redact`` call for the lot.

    Single-line values are joined by newlines and redacted once. Every value the batch changed is
    redacted again on its own, so a match that ran across a line break cannot garble a neighbour;
    if the line count changed, every value is redacted on its own. A value the batch left alone
    is clean on its own too: the patterns treat a newline like the end of the text.
    """
    from gfwizard.redact import redact

    single = [v for v in values if "\n" not in v and "\r" not in v]
    out = {v: redact(v) for v in values if "\n" in v or "\r" in v}
    joined = redact("\n".join(single)).split("\n") if single else []
    if len(joined) != len(single):
        joined = [redact(v) for v in single]
    for value, batch in zip(single, joined):
        out[value] = value if batch == value else redact(value)
    return out


def _short(path: str, home: str) -> str:
    if home and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home):]
    return path


def render_text(result: "object", width: int | None = None) -> str:
    """The human-readable report of a :class:`gfwizard.kubeconfig.Discovery`, every line at most ``width``
    terminal cells (None: as wide as its content).

    A table wider than that has its columns elided (:data:`_SHRINK`; in the middle, a file at its start to keep
    its name) and says so under it (:data:`CUT_NOTE`); when even that does not fit, each context is a wrapped line of labelled cells. The
    problem, file and warning lines wrap, so nothing in them is cut.
    """
    from gfwizard.kubeconfig import NO_KUBECONFIG_WARNING, Discovery
    from gfwizard.kubeconfig_files import FileStatus
    from gfwizard.textsafe import printable

    assert isinstance(result, Discovery)
    home = os.path.expanduser("~").rstrip(os.sep)

    def say(text: str, indent: str, subsequent: str) -> list[str]:
        from gfwizard.textfit import wrap

        return [indent + text] if width is None else wrap(text, width, indent, subsequent)

    lines: list[str] = []
    if not result.found_any:
        lines.append("No kubeconfig found. Looked in:")
        lines.extend(f"  {place}" for place in result.searched)
        lines += say("Nothing to list; point KUBECONFIG at a kubeconfig file "
                     "(for honey: ~/.kube/kubeconfig-honey.yaml).", "", "  ")
        # The rest still matter here: a --config that does not exist, a KUBECONFIG that names no file.
        others = [w for w in result.warnings if not w.startswith(NO_KUBECONFIG_WARNING)]
        if others:
            lines += ["", "Warnings:"]
            for w in others:
                lines += say(w, "  - ", "    ")
        return "\n".join(lines)
    rows: list[tuple[str, ...]] = []
    for ctx in result.contexts:
        expiry = ""
        if ctx.cert_expiry:
            expiry = ctx.cert_expiry[:10] + (" EXPIRED" if ctx.cert_expired else "")
        auth = ctx.auth.value + (f" ({ctx.exec_command})" if ctx.exec_command else "")
        name = ctx.name + (" (shadowed)" if ctx.shadowed_by else "")
        # Escaped here, not by echo: a name's escapes (or a newline in it) must count in the column widths.
        rows.append(tuple(printable(cell) for cell in ("*" if ctx.current else "", name, _short(ctx.file, home),
                                                        ctx.server or "-", auth, expiry, ctx.classification.value)))
    if rows:
        lines.extend(_table(rows, width))
    else:
        lines.append("No contexts in the kubeconfig files found.")
    problems = [c for c in result.contexts if c.problems]
    if problems:
        lines.append("")
        lines.append("Context problems:")
        for ctx in problems:
            lines += say(f"{printable(ctx.name)} ({_short(ctx.file, home)}): " + "; ".join(ctx.problems), "  ", "    ")
    bad = [f for f in result.files if f.status is not FileStatus.OK]
    if bad:
        lines.append("")
        lines.append("Files:")
        for f in bad:
            lines += say(f"{f.status.value:<10} {_short(f.path, home)}" + (f": {f.error}" if f.error else ""),
                         "  ", " " * 13)
    if result.warnings:
        lines.append("")
        lines.append("Warnings:")
        for w in result.warnings:
            lines += say(w, "  - ", "    ")
    return "\n".join(lines)


def _table(rows: list[tuple[str, ...]], width: int | None) -> list[str]:
    """The context table's lines, at most ``width`` cells each (None: as wide as its cells)."""
    from gfwizard.textfit import cell_width, elide, elide_start, pack, pad, shrink_widths, wrap

    # Terminal cells, not characters: a CJK or emoji name takes two per character.
    natural = [max(cell_width(r[i]) for r in (*rows, _COLUMNS)) for i in range(len(_COLUMNS))]
    widths: list[int] | None = natural
    if width is not None:
        widths = shrink_widths(natural, width - 2 * (len(_COLUMNS) - 1), _SHRINK)
    if widths is None:
        # Not even the narrowest columns fit: each context becomes a wrapped line of labelled cells, whole.
        out: list[str] = []
        for row in rows:
            items = [f"{header.lower()} {cell}" for header, cell in zip(_COLUMNS[1:], row[1:]) if cell not in ("", "-")]
            out += pack(items, width or 0, "    ", first="* " if row[0] else "  ")
        return out
    cut = False

    def fit(i: int, cell: str, room: int) -> str:
        nonlocal cut
        if cell_width(cell) <= room:
            return cell
        cut = True
        if i == _FILE:  # a file's name is what tells two files apart: its directory gives way
            return elide_start(cell, room)
        return elide(cell, room, middle=i != _AUTH)

    out = ["  ".join(pad(cell, w) for cell, w in zip(_COLUMNS, widths)).rstrip()]
    out += ["  ".join(pad(fit(i, cell, w), w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    if cut:
        out += [CUT_NOTE] if width is None else wrap(CUT_NOTE, width, "", "  ")
    return out
