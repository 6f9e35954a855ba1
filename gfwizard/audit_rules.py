"""What the audit looks for, shared by the HCL, YAML and text readers.

:class:`AuditContext` knows the target (the configured cluster and context, the environments, the
node roles, the legacy contexts), classifies every context or cluster value it is shown, and
collects findings (one per criterion, file and line). :func:`shell_hits` is the rule set applied to
anything that is run or read as a command line: workflow steps, Justfile recipes, docs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from gfwizard.audit_model import TARGETS, Finding, Severity
from gfwizard.redact import MASK, redact, secret_spans

DEFAULT_CLUSTER = "honey"
DEFAULT_ENVIRONMENTS = ("dev", "prod")
DEFAULT_ROLES = frozenset({"bumble", "sting"})


@dataclass(frozen=True)
class Hit:
    """One rule match inside a piece of text: the criterion, the matched text and a description."""

    criterion: int
    needle: str
    found: str
    rule: str


@dataclass(frozen=True)
class EnvClaim:
    """An environment described as living on ``value`` at ``file``:``line``."""

    env: str
    value: str
    file: str
    line: int
    labelled: bool


@dataclass
class AuditContext:
    """The target of one audit run and the findings gathered so far."""

    root: Path
    target_cluster: str = DEFAULT_CLUSTER
    target_context: str = DEFAULT_CLUSTER
    environments: tuple[str, ...] = DEFAULT_ENVIRONMENTS
    roles: frozenset[str] = DEFAULT_ROLES
    legacy_contexts: frozenset[str] = frozenset()
    _findings: dict[tuple[int, str, int], Finding] = field(default_factory=dict, init=False, repr=False)
    _claims: list[EnvClaim] = field(default_factory=list, init=False, repr=False)

    # -- recording ---------------------------------------------------------------------------

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the checkout, with forward slashes."""
        p = Path(path)
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return p.as_posix()

    def target(self, criterion: int) -> str:
        """The default target text of ``criterion``."""
        return TARGETS[criterion].format(context=self.target_context)

    def add(self, criterion: int, path: Path | str, line: int, found: str, *, target: str | None = None,
            labelled: bool = False, info: bool = False, rule: str = "") -> None:
        """Record a finding; the first one for a (criterion, file, line) wins."""
        severity = Severity.INFO if info else Severity.LEGACY if labelled else Severity.FAIL
        file = self.rel(path)
        key = (criterion, file, line)
        if key in self._findings:
            return
        self._findings[key] = Finding(criterion=criterion, file=file, line=line, found=found,
                                      target=target or self.target(criterion), severity=severity, rule=rule)

    def add_secret(self, path: Path | str, line: int, shown: str) -> None:
        """Record a committed credential literal (criterion 1, always failing, labelled or not). It replaces
        another finding on the same line, unless that one already says a credential is written there."""
        file = self.rel(path)
        key = (1, file, line)
        existing = self._findings.get(key)
        if existing is not None and existing.severity is Severity.FAIL and existing.rule in _LITERAL_RULES:
            return
        self._findings[key] = Finding(criterion=1, file=file, line=line,
                                      found=f"credential literal committed: {shown}", target=SECRET_TARGET,
                                      severity=Severity.FAIL, rule="c1.secret-literal")

    def add_hits(self, hits: Iterable[Hit], path: Path | str, line: int, *, labelled: bool = False) -> None:
        """Record every hit at one line."""
        for hit in hits:
            self.add(hit.criterion, path, line, hit.found, labelled=labelled, rule=hit.rule)

    def findings(self) -> list[Finding]:
        """All findings, ordered by file, line and criterion."""
        return sorted(self._findings.values(), key=lambda f: (f.file, f.line, f.criterion))

    # -- contexts and clusters ---------------------------------------------------------------

    def is_target(self, value: str) -> bool:
        """True when ``value`` names the configured cluster or context."""
        v = value.strip().lower()
        return v in {self.target_cluster.lower(), self.target_context.lower()}

    def classify(self, value: str, what: str = "context") -> Hit | None:
        """Why ``value``, used as a cluster or context, is not the target; ``None`` when it is fine.

        Placeholders (``$X``, ``<ctx>``, ``${{ ... }}``, ``C``) are never judged.
        """
        v = value.strip().strip("\"'`").rstrip(".,;:)")
        if is_placeholder(v) or self.is_target(v):
            return None
        low = v.lower()
        if GITLAB_AGENT_CONTEXT.fullmatch(v):
            return Hit(2, v, f"GitLab agent {what} {v!r} instead of the kubeconfig contract", "context.gitlab-agent")
        tokens = set(re.split(r"[^a-z0-9]+", low))
        role = sorted(tokens & self.roles)
        if role:
            return Hit(5, v, f"node role {role[0]!r} used as a {what} ({v!r}): node role, not a cluster",
                       "context.node-role")
        if "civo" in low or low in self.legacy_contexts:
            return Hit(3, v, f"Civo-era {what} {v!r} used as a primary input (legacy compatibility only)",
                       "context.civo")
        return Hit(4, v, f"{what} {v!r} is not the one described cluster {self.target_context!r}",
                   "context.other")

    def claim(self, value: str, path: Path | str, line: int, *, env: str | None = None,
              labelled: bool = False, what: str = "context") -> None:
        """Judge one cluster/context value; remember it when it belongs to a known environment."""
        hit = self.classify(value, what)
        if hit is None:
            return
        self.add(hit.criterion, path, line, hit.found, labelled=labelled, rule=hit.rule)
        if env:
            self._claims.append(EnvClaim(env, hit.needle, self.rel(path), line, labelled))

    def env_of(self, text: str) -> str | None:
        """The single environment named as a word in ``text`` (a file stem, a job name), if any."""
        words = set(re.split(r"[^a-z0-9]+", text.lower()))
        named = [e for e in self.environments if e in words]
        return named[0] if len(named) == 1 else None

    def finish(self) -> None:
        """Criterion 4 across files: an environment described on anything but the target."""
        for c in self._claims:
            self.add(4, c.file, c.line,
                     f"{c.env} described on {c.value!r} while the decision puts every environment on "
                     f"{self.target_context!r}",
                     labelled=c.labelled, rule="environment.cluster")


# -- patterns ---------------------------------------------------------------------------------

GITLAB_AGENT_CONTEXT = re.compile(r"[\w.-]+(?:/[\w.-]+)+:[\w.-]+")
_PLACEHOLDER = re.compile(r"^(?:\$|<|\{|\[|-)|\$\{|\{\{|^[A-Z][A-Z0-9_]*$")


def is_placeholder(value: str) -> bool:
    """True for empty values, variables, templates and ALL-CAPS metavariables."""
    return not value or bool(_PLACEHOLDER.search(value))


_CRED_C1: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"\bTF_HTTP_PASSWORD\b"), "TF_HTTP_PASSWORD, the GitLab-managed HTTP state credential", "c1.tf-http-password"),
    (re.compile(r"\bGITLAB_PAT\b"), "GITLAB_PAT, a GitLab personal access token as the state credential", "c1.gitlab-pat"),
    (re.compile(r"glpat-[A-Za-z0-9_\-]*"), "a GitLab personal access token literal (glpat-…)", "c1.glpat"),
    (re.compile(r"/api/v4/projects/[^\s\"'`]+/terraform/state", re.I), "GitLab-managed Terraform state API URL",
     "c1.gitlab-state-url"),
    (re.compile(r"\byq\b[^\n]*project", re.I), "yq-parsed GitLab project id for the HTTP backend", "c1.yq-project-id"),
    (re.compile(r"-backend-config[= ][\"']?(?:password|username)=", re.I),
     "backend credential passed on the command line", "c1.backend-config-credential"),
]

_CIVO_CLI = re.compile(
    r"(?:^|[\s;&|(`$\"'])(civo\s+(?:kubernetes|k8s|k3s|apikey|region|network|instance|firewall|objectstore|"
    r"account|size|volume|loadbalancer|database|domain|sshkey|ip|version|update|completion)\b[^\n;&|`]*)")
_CIVO_OTHER: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"\bcivo/action-civo\b|\buses:\s*civo/", re.I), "Civo GitHub action", "c3.civo-action"),
    (re.compile(r"\bCIVO_(?:TOKEN|API_KEY|API_TOKEN)\b"), "Civo API credential", "c3.civo-credential"),
]
_KUBECONFIG_OTHER: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"\bkubectl\s+config\s+(?:set-cluster|set-credentials|set-context)\b"),
     "kubeconfig assembled with kubectl config set-*", "c2.kubectl-config-set"),
    (re.compile(r"\baws\s+eks\s+update-kubeconfig\b"), "kubeconfig fetched with aws eks update-kubeconfig",
     "c2.cloud-kubeconfig"),
    (re.compile(r"\bgcloud\s+container\s+clusters\s+get-credentials\b"), "kubeconfig fetched with gcloud",
     "c2.cloud-kubeconfig"),
    (re.compile(r"\baz\s+aks\s+get-credentials\b"), "kubeconfig fetched with az aks", "c2.cloud-kubeconfig"),
    (re.compile(r"\bdoctl\s+kubernetes\s+cluster\s+kubeconfig\b"), "kubeconfig fetched with doctl",
     "c2.cloud-kubeconfig"),
]

#: ``--context X``, ``use-context X``, ``cluster_context = "X"``, ``KUBE_CONTEXT=X``, ``context: X``.
CONTEXT_CLAIMS = re.compile(
    r"(?:--(?:kube-)?context[= ]+|\buse-context\s+|(?<![A-Za-z0-9])cluster_context\s*[=:]\s*|"
    r"(?<![A-Za-z0-9])(?:KUBE_?CONTEXT|kube_?context)\s*[=:]\s*|(?<![\w-])(?:current-)?context:\s+)"
    r"[\"'`]?([^\s\"'`;|&),\]}]+)")
_ROLE_KUBECONFIG = re.compile(r"kubeconfig[-_.]?(?P<r1>[a-z]+)|(?P<r2>[a-z]+)[-_.]kubeconfig", re.I)
_ROLE_PHRASE = re.compile(
    r"\b(?P<r1>[a-z]+)\b[`'\"*]*\s+(?:cluster|context)s?\b|"
    r"\b(?:cluster|context)s?\s*[:=]?\s*[`'\"*]*(?P<r2>[a-z]+)\b",
    re.I)
_NEGATION = re.compile(r"not an? (?:cluster|context)|not clusters|\bnever\b|node[- ]roles?|placement|"
                       r"not (?:separate )?clusters", re.I)


def shell_hits(ctx: AuditContext, text: str, *, credentials: bool, claims: bool = True) -> list[Hit]:
    """Every rule hit in one line of shell or prose.

    ``credentials`` turns on the criterion-1 rules, which apply only to the primary init path
    (Justfiles, Makefiles, scripts, workflows, README and quick-start). ``claims`` judges
    ``--context X``-style values; Markdown applies it to code only (see :func:`context_hits`).
    """
    hits: list[Hit] = []
    if credentials:
        hits += [Hit(1, m.group(0), found, rule) for pat, found, rule in _CRED_C1 for m in [pat.search(text)] if m]
    civo = _CIVO_CLI.search(text)
    if civo:
        # Quote the subcommand only: later words may be an API key.
        command = " ".join(civo.group(1).split()[:3])
        hits.append(Hit(3, command, f"Civo CLI invocation: {command!r}", "c3.civo-cli"))
        if re.match(r"civo\s+(?:kubernetes|k8s|k3s)\s+config", command):
            hits.append(Hit(2, command, f"kubeconfig fetched from Civo ({command!r}) instead of the kubeconfig contract",
                            "c2.civo-kubeconfig"))
    hits += [Hit(3, m.group(0), found, rule) for pat, found, rule in _CIVO_OTHER for m in [pat.search(text)] if m]
    hits += [Hit(2, m.group(0), found, rule) for pat, found, rule in _KUBECONFIG_OTHER for m in [pat.search(text)] if m]
    if claims:
        hits += context_hits(ctx, text)
    hits += role_hits(ctx, text)
    return hits


def context_hits(ctx: AuditContext, text: str) -> list[Hit]:
    """``--context X``, ``use-context X``, ``cluster_context = "X"``, ``context: X`` judged by :meth:`classify`."""
    found = (ctx.classify(m.group(1)) for m in CONTEXT_CLAIMS.finditer(text))
    return [hit for hit in found if hit]


def role_hits(ctx: AuditContext, text: str) -> list[Hit]:
    """Node roles named as a cluster, context or kubeconfig in free text (negated prose excluded)."""
    if _NEGATION.search(text):
        return []
    hits: list[Hit] = []
    for m in _ROLE_KUBECONFIG.finditer(text):
        role = (m.group("r1") or m.group("r2") or "").lower()
        if role in ctx.roles:
            hits.append(Hit(5, m.group(0), f"kubeconfig for node role {role!r} ({m.group(0)!r}): node role, not a cluster",
                            "c5.role-kubeconfig"))
    for m in _ROLE_PHRASE.finditer(text):
        role = (m.group("r1") or m.group("r2") or "").lower()
        if role in ctx.roles:
            hits.append(Hit(5, m.group(0), f"node role {role!r} described as a cluster or context ({m.group(0)!r})",
                            "c5.role-as-cluster"))
    return hits


#: the explicit label: a comment (or heading) whose text *starts with* "legacy compatibility"; a comment
#: that merely mentions legacy behaviour somewhere in a sentence labels nothing.
_LABEL = re.compile(r"legacy[\s_-]+compatib", re.I)
#: rendered transitional backend files carry gfwizard's "Transitional (legacy-current)" header.
_BACKEND_LABEL = re.compile(r"legacy[\s_-]+compatib|transitional \(legacy-current\)", re.I)
_COMMENT_LEADER = re.compile(r"^(?:#+|//+|/\*+|<!--)\s*")
#: a name (job id, recipe) or heading labelled legacy: its first word is "legacy" (``legacy-migrate``,
#: ``Legacy-current access``); ``no-legacy-apply`` is not labelled.
_LEGACY_FIRST_WORD = re.compile(r"legacy(?![a-z0-9])", re.I)
#: the primary deploy path: never labelled legacy as a whole file, whatever its comments say.
_PRIMARY_FILES = {"README.md", "docs/quick-start.md", "Justfile", "justfile", ".justfile", "Makefile",
                  "makefile", "GNUmakefile"}
_PRIMARY_WORKFLOW = re.compile(r"\.github/workflows/deploy\.ya?ml")
_GFWIZARD_DEPLOY = re.compile(r"\bgfwizard\s+deploy\b")


def is_label_comment(line: str, label: re.Pattern[str] = _LABEL) -> bool:
    """True when ``line`` is a comment whose text starts with the legacy label ("# legacy compatibility: …")."""
    stripped = line.strip()
    leader = _COMMENT_LEADER.match(stripped)
    return bool(leader) and label.match(stripped[leader.end():]) is not None


def primary_surface(rel: str, text: str, kind: str = "") -> bool:
    """True for a file on the primary deploy path, which no label downgrades as a whole: everything under
    ``tofu/stacks/`` (rendered ``.tfbackend`` files aside), README, quick-start, the root Justfile or
    Makefile, and the deploy workflow (``.github/workflows/deploy.yml`` or any workflow running
    ``gfwizard deploy``)."""
    if rel.startswith("tofu/stacks/"):
        return kind != "tfbackend"
    if rel in _PRIMARY_FILES or _PRIMARY_WORKFLOW.fullmatch(rel):
        return True
    return kind in ("github", "gitlab") and _GFWIZARD_DEPLOY.search(text) is not None


def labelled_file(rel: str, text: str, kind: str = "") -> bool:
    """A file explicitly labelled legacy: under a ``legacy*`` path, or with a header comment (one of its
    first 15 lines) that starts with "legacy compatibility". Rendered ``.tfbackend`` files may carry
    gfwizard's "Transitional (legacy-current)" header; a Markdown file is labelled by an HTML comment
    starting with "legacy compatibility" or a title starting with the word legacy. Prose that merely
    mentions legacy behaviour does not label a whole file, and no label applies to a primary surface
    (:func:`primary_surface`)."""
    if primary_surface(rel, text, kind):
        return False
    if any(part.lower().startswith("legacy") for part in rel.split("/")):
        return True
    label = _BACKEND_LABEL if kind == "tfbackend" else _LABEL
    for line in text.splitlines()[:15]:
        stripped = line.strip()
        if kind == "markdown":
            if stripped.startswith("<!--") and is_label_comment(stripped):
                return True
            if stripped.startswith("# "):
                return labelled_name(stripped[2:])
        elif is_label_comment(stripped, label):
            return True
    return False


def labelled_name(name: str) -> bool:
    """True when a job id, recipe name or heading labels itself legacy: its first word is "legacy"."""
    return _LEGACY_FIRST_WORD.match(name.strip().lstrip("@")) is not None


def mentions_legacy(text: str) -> bool:
    """True when a Markdown line says legacy (such a line labels only itself)."""
    return "legacy" in text.lower()


# -- committed credentials ------------------------------------------------------------------------

#: rules whose finding already says a credential is written in the file; a secret literal on the same
#: line does not replace them.
_LITERAL_RULES = {"c1.backend-credential", "c1.glpat", "c1.secret-literal"}
_REFERENCE = re.compile(r"^(?:var|local|data|module|each|secrets|vars|env|inputs|matrix|steps|needs)\.|\(", re.I)
#: a variable, template or metavariable (``$X``, ``${X}``, ``<token>``, ``{{ x }}``, ``YOUR_TOKEN``): not a value.
_TEMPLATE = re.compile(r"^(?:\$|<|\{|\[|%)|\$\{|\{\{|^[A-Z][A-Z_]*$")
_NOT_A_VALUE = {"true", "false", "null", "none", "yes", "no"}
#: characters of elided examples (``********``, ``xxxx...``): a value made of them is not a credential.
_FILLER = set("*.x-_•…")
_TOKEN_PREFIX = re.compile(r"^[a-z]+[-_]")  # glpat-, ghp_: an elided example keeps its prefix
SECRET_TARGET = ("credentials come from the environment or the CI secret store at run time, never from a "
                 "committed file; remove it and rotate the credential")


def secret_literals(text: str) -> list[tuple[int, str]]:
    """``(line, redacted line)`` for every credential literal in ``text``: a value of a known token shape
    or of a secret-named key (the patterns of :mod:`gfwizard.redact`), not a reference or placeholder."""
    lines = text.split("\n")
    found: dict[int, str] = {}
    for start, end in secret_spans(text):
        value = text[start:end].strip().strip("\"'`").rstrip(".,;:)\"'`")
        if len(value) < 8 or value.lower() in _NOT_A_VALUE or MASK in value or _TEMPLATE.search(value) \
                or _REFERENCE.search(value) or len(set(_TOKEN_PREFIX.sub("", value)) - _FILLER) < 2:
            continue
        number = text.count("\n", 0, start) + 1
        if number in found or number > len(lines):
            continue
        shown = redact(lines[number - 1].strip())
        if value in shown:  # belt and braces: the value itself is never shown
            shown = shown.replace(value, MASK)
        found[number] = shown if len(shown) <= 100 else shown[:99] + "…"
    return sorted(found.items())
