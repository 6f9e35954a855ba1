"""Benchmark: ``gfwizard deploy --env dev --yes`` against a shell loop of raw ``init/plan/apply``.

Both deploy the four rehearsal twins (``tofu/rehearsal/<stack>``) to the same embedded S3 endpoint
of one rehearsal environment (started here, on 127.0.0.1). The raw loop is what an operator would
type: per stack, in dependency order, ``init -reconfigure`` with the same backend settings, ``plan
-out`` with the same variables, ``apply`` of that plan. gfwizard does more than that loop: it renders
the backend files, runs the gates (cluster server + fingerprint against the rehearsal API, S3 lock
probe), summarises every plan with ``show -json``, journals, and materialises each twin in the
rehearsal API; concurrent init/plan of the stacks and applying while later stacks still plan must
pay for that.

Two scenarios (``--scenario``, default both):

* ``first-deploy``: every run gets fresh state keys (a new ``key_prefix``), so every run initialises
  every stack and creates all 10 resources; before each gfwizard run (untimed) the workloads the
  earlier runs materialised are deleted from the rehearsal API, as on a honey that never ran them
  (with them running and no state, the ``running without state`` gate rightly stops the deploy);
* ``redeploy``: a release. One state location for every run of both contenders; before every run
  each stack's ``dev.tfvars`` gets a new version (attic and runner-dashboard ``image``, arc-runners
  ``arc_chart_version``, gitlab-runners ``runner_image_tag``; in a copy of ``tofu/`` that both use),
  so every stack has a change to plan and apply; data directories stay initialised between runs, as
  on an operator's machine (the raw loop still runs ``init`` every time, as the peer is defined;
  gfwizard skips an init whose backend file, code and binary are those of the last one).

Runs alternate (gfwizard, raw, raw, gfwizard, ...) after one untimed warm-up round each; the report
is each median and the ratio gfwizard / raw (target: <= 0.8).

    .venv/bin/python bench/deploy.py [--runs 7] [--scenario both] [--concurrency 2] [--plan-latency S] [--timeline]

This is a benchmark, not a test: it asserts nothing about timing (it does fail when a run fails).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    REPO, Contender, RunResult, Series, ensure_bytecode, machine_note, median, report, run_timed,
)

STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")
GFW = "gfwizard deploy --env dev --yes"
RAW = "raw init/plan/apply loop"
#: What a release changes in each stack's dev.tfvars: the variable and its value for release N.
RELEASE = {
    "attic": ("image", "ghcr.io/zhaofengli/attic:1.0.{n}"),
    "arc-runners": ("arc_chart_version", "0.13.{n}"),
    "gitlab-runners": ("runner_image_tag", "alpine-v18.0.{n}"),
    "runner-dashboard": ("image", "ghcr.io/tinyland-inc/runner-dashboard:1.0.{n}"),
}

RAW_LOOP = r"""
set -euo pipefail
for stack in $STACKS; do
  cd "$STACKS_ROOT/$stack"
  export TF_DATA_DIR="$DATA_ROOT/$stack"
  "$TOFU" init -input=false -reconfigure -backend-config="$BACKENDS/$stack.s3.tfbackend" >/dev/null
  "$TOFU" plan -input=false -out="$DATA_ROOT/$stack.tfplan" -var-file=dev.tfvars \
    -var "k8s_config_path=$KUBECONFIG_PATH" -var "cluster_context=honey" >/dev/null
  "$TOFU" apply -input=false "$DATA_ROOT/$stack.tfplan" >/dev/null
done
"""


class Bench:
    """One rehearsal environment, and a fresh config, backend files and environment per run."""

    def __init__(self, tmp: Path, rehearsal: object, tofu: str, concurrency: int) -> None:
        from gfwizard.orgconfig import load_config

        self.tmp, self.rehearsal, self.tofu, self.concurrency = tmp, rehearsal, tofu, concurrency
        self.base_cfg = load_config(rehearsal.config_path)  # type: ignore[attr-defined]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CLI_ARGS", "GFW_", "TF_VAR_"))}
        env.update(rehearsal.env)  # type: ignore[attr-defined]
        env.update({"GFW_STATE_DIR": str(tmp / "state"), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
                    "GFW_REPO": str(REPO), "GFW_TOFU_BIN": tofu})
        self.base_env = env
        self.counter = 0

    def config(self, prefix: str, name: str) -> tuple[Path, object]:
        """organization.yaml with state under ``prefix``, saved as ``name``."""
        from gfwizard.orgconfig import save_config

        data = self.base_cfg.model_dump()
        data["state"]["s3"]["key_prefix"] = prefix
        cfg = type(self.base_cfg).model_validate(data)
        path = self.tmp / "configs" / f"{name}.yaml"
        if not path.exists():
            save_config(cfg, path)
        return path, cfg

    def backends(self, cfg: object, name: str) -> Path:
        """The raw loop's backend files for ``cfg`` (the same settings gfwizard renders)."""
        from gfwizard.backend_render import render_s3_text

        backends = self.tmp / "raw-backends" / name
        if not backends.is_dir():
            backends.mkdir(parents=True)
            for stack in STACKS:
                (backends / f"{stack}.s3.tfbackend").write_text(render_s3_text(cfg, "dev", stack))
        return backends

    def forget_workloads(self) -> None:
        """A first deploy onto a honey where nothing of the stacks runs: the namespaces earlier runs
        materialised are deleted (and waited for)."""
        self.rehearsal.api.drop_deployed_namespaces()  # type: ignore[attr-defined]

    def gfwizard_argv(self, config: Path, *extra: str) -> list[str]:
        """``python -m gfwizard deploy --env dev --yes`` on ``config``."""
        return [sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes", *extra,
                "--concurrency", str(self.concurrency), "--config", str(config)]

    def raw_env(self, backends: Path, data_root: Path) -> dict[str, str]:
        """The raw loop's environment."""
        return {**self.base_env, "TOFU": self.tofu, "STACKS": " ".join(STACKS),
                "STACKS_ROOT": str(REPO / "tofu" / "rehearsal"), "BACKENDS": str(backends),
                "DATA_ROOT": str(data_root), "KUBECONFIG_PATH": str(self.rehearsal.kubeconfig_path)}  # type: ignore[attr-defined]


Scenario = tuple[Callable[[], RunResult], Callable[[], RunResult], Callable[[], tuple[list[str], dict[str, str]]]]


def first_deploy(bench: Bench) -> Scenario:
    """Fresh state keys for every run: every stack initialised, every resource created."""

    def fresh(tag: str) -> tuple[Path, object, str]:
        bench.counter += 1
        name = f"{bench.counter:03d}-{tag}"
        path, cfg = bench.config(f"bench/{name}", name)
        return path, cfg, name

    def gfw() -> RunResult:
        path, _, _ = fresh("gfw")
        bench.forget_workloads()
        return run_timed(Contender(GFW, bench.gfwizard_argv(path), env=bench.base_env, cwd=REPO))

    def raw() -> RunResult:
        _, cfg, name = fresh("raw")
        env = bench.raw_env(bench.backends(cfg, name), bench.tmp / "raw-data")
        return run_timed(Contender(RAW, ["bash", "-c", RAW_LOOP], env=env))

    def timeline_run() -> tuple[list[str], dict[str, str]]:
        path, _, _ = fresh("timeline")
        bench.forget_workloads()
        return bench.gfwizard_argv(path, "--json"), bench.base_env

    return gfw, raw, timeline_run


def redeploy(bench: Bench) -> Scenario:
    """One state location for every run of both contenders; every run a new release of every stack."""
    bench.forget_workloads()  # the first-deploy scenario's workloads: this state location starts empty
    path, cfg = bench.config("bench/redeploy", "redeploy")
    backends = bench.backends(cfg, "redeploy")
    checkout = bench.tmp / "checkout"
    if not checkout.is_dir():  # the twins link the real stacks' variables.tf: copy the links as links
        shutil.copytree(REPO / "tofu", checkout / "tofu", symlinks=True)
    stacks_root = checkout / "tofu" / "rehearsal"
    gfw_env = {**bench.base_env, "GFW_REPO": str(checkout)}
    raw_env = {**bench.raw_env(backends, bench.tmp / "raw-data-redeploy"), "STACKS_ROOT": str(stacks_root)}

    def release() -> None:
        bench.counter += 1
        for stack, (variable, value) in RELEASE.items():
            tfvars = stacks_root / stack / "dev.tfvars"
            kept = [line for line in tfvars.read_text().splitlines()
                    if line.split("=", 1)[0].strip() != variable]
            tfvars.write_text("\n".join([*kept, f'{variable} = "{value.format(n=bench.counter)}"']) + "\n")

    def gfw() -> RunResult:
        release()
        return run_timed(Contender(GFW, bench.gfwizard_argv(path), env=gfw_env, cwd=REPO))

    def raw() -> RunResult:
        release()
        return run_timed(Contender(RAW, ["bash", "-c", RAW_LOOP], env=raw_env))

    def timeline_run() -> tuple[list[str], dict[str, str]]:
        release()
        return bench.gfwizard_argv(path, "--json"), gfw_env

    return gfw, raw, timeline_run


SCENARIOS: dict[str, Callable[[Bench], Scenario]] = {"first-deploy": first_deploy, "redeploy": redeploy}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per contender and scenario (default 7)")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both",
                        help="first-deploy, redeploy, or both (default)")
    parser.add_argument("--concurrency", type=int, default=2, help="gfwizard --concurrency (default 2)")
    parser.add_argument("--plan-latency", type=float, default=0.0, metavar="SECONDS",
                        help="add this many seconds to every `plan`, for both contenders (a stand-in for providers "
                             "that refresh against a cluster; default 0: the twins as they are)")
    parser.add_argument("--timeline", action="store_true",
                        help="after the timed runs, one more gfwizard run (untimed) printing when each event arrived")
    args = parser.parse_args()

    from gfwizard.rehearsal.workspace import RehearsalEnvironment

    tofu = os.environ.get("GFW_TOFU_BIN") or shutil.which("tofu") or shutil.which("terraform")
    if not tofu:
        print("needs tofu or terraform on PATH (or $GFW_TOFU_BIN)", file=sys.stderr)
        return 2
    bytecode = ensure_bytecode()
    tmp = Path(tempfile.mkdtemp(prefix="gfw-bench-deploy-"))
    if args.plan_latency > 0:
        wrapper = tmp / "bin" / "terraform"
        wrapper.parent.mkdir(parents=True)
        wrapper.write_text(f'#!/bin/sh\n[ "$1" = plan ] && sleep {args.plan_latency:g}\nexec "{tofu}" "$@"\n')
        wrapper.chmod(0o755)
        tofu = str(wrapper)
    scenarios = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    try:
        with RehearsalEnvironment(workspace=tmp / "ws", keep=True) as rehearsal:
            bench = Bench(tmp, rehearsal, tofu, args.concurrency)
            print(f"machine: {machine_note()}")
            print(f"binary: {tofu}; stacks: {', '.join(STACKS)}; runs: {args.runs} each, alternating; "
                  f"gfwizard --concurrency {args.concurrency}; {bytecode}"
                  + (f"; +{args.plan_latency:g}s per plan" if args.plan_latency > 0 else ""))
            for name in scenarios:
                print(f"\nscenario {name}:")
                print(run_scenario(SCENARIOS[name](bench), args.runs, args.timeline))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def run_scenario(scenario: Scenario, runs: int, with_timeline: bool) -> str:
    """Warm up, alternate the contenders ``runs`` times, and report medians, ratio and CPU."""
    gfw, raw, timeline_run = scenario
    contenders = {GFW: gfw, RAW: raw}
    series = {name: Series(Contender(name, [])) for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm-up: page cache, plugin cache dir, data dirs
        fn()
    names = list(contenders)
    for i in range(runs):
        for name in (names if i % 2 == 0 else list(reversed(names))):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            series[name].runs.append(contenders[name]())
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    lines = [report(list(series.values()), baseline=RAW)]
    for name, values in cpu.items():
        # The whole process tree (every terraform child included): what the cores must fit.
        lines.append(f"median CPU s (user+sys, process tree) {name}: {median(values):.2f}")
    cores = os.cpu_count() or 1
    floor = median(cpu[GFW]) / cores
    # No schedule finishes before its CPU time spread over every core (the rehearsal servers' own CPU,
    # spent in this process, not even counted): the best ratio this machine allows this workload.
    lines.append(f"CPU floor on {cores} cores: {floor:.3f} s, ratio {floor / series[RAW].median:.2f} "
                 "if every core were busy for gfwizard from spawn to exit")
    if with_timeline:
        lines.append(timeline(*timeline_run()))
    return "\n".join(lines)


_MILESTONES = ("run_started", "stack_planning", "stack_planned", "gate_checked", "apply_started", "stack_applied",
               "stack_materialised", "result")


def timeline(argv: list[str], env: dict[str, str]) -> str:
    """Seconds from spawn to each milestone event of one ``--json`` run (where a run's time goes)."""
    import json
    import subprocess
    import time

    started = time.perf_counter()
    rows: list[str] = []
    with subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            at = time.perf_counter() - started
            event = json.loads(line)
            if event.get("event") in _MILESTONES:
                rows.append(f"{at:6.2f}s  {event['event']:<20} {event.get('stack', '')}".rstrip())
    return "timeline of one more run (seconds since spawn):\n" + "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
