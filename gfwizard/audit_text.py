"""The audit's text reader: Justfiles, Makefiles, shell scripts and Markdown, line by line.

Only these are read as text (HCL and YAML have parsers). Comment lines of Justfiles, Makefiles and
scripts are skipped: the audit judges what runs. A recipe whose name starts with the word "legacy" or
whose preceding comment starts with "legacy compatibility", a Markdown section whose heading starts
with the word "legacy", and a Markdown line that says "legacy", are labelled legacy.
"""

from __future__ import annotations

import re
from pathlib import Path

from gfwizard.audit_rules import (AuditContext, context_hits, is_label_comment, labelled_name, mentions_legacy,
                                  shell_hits)

_RECIPE = re.compile(r"^@?([A-Za-z0-9_.-]+)(?:\s+[^:=]*)?:(?!=)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)")
_INLINE_CODE = re.compile(r"`([^`]+)`")


def check_recipes(ctx: AuditContext, path: Path, text: str, labelled: bool) -> None:
    """A Justfile, Makefile or shell script: every non-comment line through the shell rules."""
    recipe_labelled = False
    comment_labelled = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comment_labelled = comment_labelled or is_label_comment(stripped)
            continue
        if not line[0].isspace():
            header = _RECIPE.match(line)
            recipe_labelled = bool(header) and (comment_labelled or labelled_name(header.group(1)))
            line_labelled = recipe_labelled or comment_labelled
            comment_labelled = False
        else:
            line_labelled = recipe_labelled
        hits = shell_hits(ctx, line, credentials=True)
        ctx.add_hits(hits, path, number, labelled=labelled or line_labelled)


def check_markdown(ctx: AuditContext, path: Path, text: str, labelled: bool, primary: bool) -> None:
    """A Markdown document: prose and code through the shell rules; context values only in code.

    ``primary`` marks the primary init path (README, quick-start, stack READMEs),
    where GitLab state credentials are a criterion-1 finding.
    """
    headings: dict[int, str] = {}
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        heading = _HEADING.match(line) if not in_fence else None
        if heading:
            level = len(heading.group(1))
            headings = {lvl: t for lvl, t in headings.items() if lvl < level}
            headings[level] = heading.group(2)
        # A primary document's title would label all of it: only its sections can be labelled.
        section_labelled = any(labelled_name(t) for lvl, t in headings.items() if lvl > 1 or not primary)
        hits = shell_hits(ctx, line, credentials=primary, claims=False)
        code = [line] if in_fence else _INLINE_CODE.findall(line)
        for snippet in code:
            hits += context_hits(ctx, snippet)
        ctx.add_hits(hits, path, number, labelled=labelled or section_labelled or mentions_legacy(line))
