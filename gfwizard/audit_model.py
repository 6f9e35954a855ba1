"""The audit's typed results: one :class:`Finding` per problem, gathered in an :class:`AuditReport`.

Criteria 1-5 are the deployment-authority decision's exit criteria (DESIGN.md §1); criterion 0 is
"the audit could read the file" (a malformed file is a finding, never a crash).
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, computed_field

#: criterion number -> the exit criterion in the project's own words.
CRITERIA: dict[int, str] = {
    0: "every deployment-surface file parses",
    1: "operators initialise and deploy stacks without GitLab-specific backend credentials as the default path",
    2: "stack docs and workflow automation use the same kubeconfig and context model",
    3: "no primary deployment surface depends on the Civo CLI",
    4: "dev and prod deployment authority is described once and reused everywhere",
    5: "no primary deployment surface models bumble or sting as separate clusters",
}

#: criterion number -> what the target looks like; ``{context}`` is the configured context.
TARGETS: dict[int, str] = {
    0: "a file that parses (HCL via python-hcl2, YAML via PyYAML)",
    1: 'S3 state: backend "s3" {{}} completed by the rendered <env>.s3.tfbackend, credentials from the AWS environment',
    2: "the kubeconfig contract: a kubeconfig file (or ambient KUBECONFIG) and context {context}; "
       "providers from var.k8s_config_path and var.cluster_context",
    3: "no Civo CLI or Civo-era input on a primary surface (legacy compatibility only, and labelled so)",
    4: "dev and prod both on {context}, as config/organization.yaml describes once",
    5: "bumble and sting only as node roles (placement node selectors) inside {context}",
}


class Severity(str, Enum):
    """How much a finding matters."""

    FAIL = "fail"
    LEGACY = "legacy-labelled"
    INFO = "info"


class Finding(BaseModel):
    """One row of the audit: which criterion, where, what was found and what the target is."""

    model_config = ConfigDict(frozen=True)

    criterion: int
    """Exit criterion number (1-5), or 0 for a file the audit could not parse."""
    file: str
    """Path relative to the audited checkout, with forward slashes."""
    line: int
    """1-based line number; 0 when the finding is about a file or directory as a whole."""
    found: str
    """What the audit found (never a secret value)."""
    target: str
    """What the decision asks for instead."""
    severity: Severity
    """``fail`` fails the criterion; ``legacy-labelled`` and ``info`` do not."""
    rule: str = ""
    """Identifier of the rule that produced the finding (stable, documented in docs/json-output.md)."""


class AuditReport(BaseModel):
    """Every finding for one checkout, and the per-criterion verdict."""

    path: str
    findings: list[Finding]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def criteria(self) -> dict[int, str]:
        """criterion number -> ``pass`` or ``fail``."""
        failing = {f.criterion for f in self.findings if f.severity is Severity.FAIL}
        return {n: ("fail" if n in failing else "pass") for n in CRITERIA}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when no finding fails."""
        return all(f.severity is not Severity.FAIL for f in self.findings)

    def failing(self) -> list[Finding]:
        """Only the findings that fail a criterion."""
        return [f for f in self.findings if f.severity is Severity.FAIL]
