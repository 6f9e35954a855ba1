"""Benchmark: ``gfwizard deploy --env dev --yes`` against a shell loop of raw ``init/plan/apply``.

Both deploy the four rehearsal twins (``tofu/rehearsal/<stack>``) to the same embedded S3 endpoint
of one rehearsal environment (started here, on 127.0.0.1), each run with fresh state keys (a new
``key_prefix``), so every run creates every resource. The raw loop is what an operator would type:
per stack, in dependency order, ``init -reconfigure`` with the same backend settings, ``plan -out``
with the same variables, ``apply`` of that plan. gfwizard does more than that loop: it renders the
backend files, runs the gates (cluster server + fingerprint against the rehearsal API, S3 lock
probe), summarises every plan with ``show -json``, journals, and materialises each twin in the
rehearsal API; concurrent init/plan of the stacks and applying while later stacks still
plan must pay for that.

Runs alternate (gfwizard, raw, raw, gfwizard, ...) after one untimed warm-up round each; the report
is each median and the ratio gfwizard / raw (target: <= 0.8).

    .venv/bin/python bench/deploy.py [--runs 7] [--concurrency 2] [--plan-latency S] [--timeline]

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import REPO, Contender, RunResult, Series, machine_note, median, report, run_timed  # noqa: E402

STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per contender (default 7)")
    parser.add_argument("--concurrency", type=int, default=2, help="gfwizard --concurrency (default 2)")
    parser.add_argument("--plan-latency", type=float, default=0.0, metavar="SECONDS",
                        help="add this many seconds to every `plan`, for both contenders (a stand-in for providers "
                             "that refresh against a cluster; default 0: the twins as they are)")
    parser.add_argument("--timeline", action="store_true",
                        help="after the timed runs, one more gfwizard run (untimed) printing when each event arrived")
    args = parser.parse_args()

    from gfwizard.backend_render import render_s3_text
    from gfwizard.orgconfig import load_config, save_config
    from gfwizard.rehearsal.workspace import RehearsalEnvironment

    tofu = os.environ.get("GFW_TOFU_BIN") or shutil.which("tofu") or shutil.which("terraform")
    if not tofu:
        print("needs tofu or terraform on PATH (or $GFW_TOFU_BIN)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="gfw-bench-deploy-"))
    counter = {"n": 0}
    if args.plan_latency > 0:
        wrapper = tmp / "bin" / "terraform"
        wrapper.parent.mkdir(parents=True)
        wrapper.write_text(f'#!/bin/sh\n[ "$1" = plan ] && sleep {args.plan_latency:g}\nexec "{tofu}" "$@"\n')
        wrapper.chmod(0o755)
        tofu = str(wrapper)
    try:
        with RehearsalEnvironment(workspace=tmp / "ws", keep=True) as rehearsal:
            base_cfg = load_config(rehearsal.config_path)
            base_env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CLI_ARGS", "GFW_"))}
            base_env.update(rehearsal.env)
            base_env.update({"GFW_STATE_DIR": str(tmp / "state"), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
                             "GFW_REPO": str(REPO), "GFW_TOFU_BIN": tofu})

            def fresh_config(tag: str) -> tuple[Path, object]:
                counter["n"] += 1
                prefix = f"bench/{counter['n']:03d}-{tag}"
                data = base_cfg.model_dump()
                data["state"]["s3"]["key_prefix"] = prefix
                cfg = type(base_cfg).model_validate(data)
                path = save_config(cfg, tmp / "configs" / f"{counter['n']:03d}-{tag}.yaml")
                return path, cfg

            def gfwizard_run() -> RunResult:
                path, _ = fresh_config("gfw")
                argv = [sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes",
                        "--concurrency", str(args.concurrency), "--config", str(path)]
                return run_timed(Contender("gfwizard deploy --env dev --yes", argv, env=base_env, cwd=REPO))

            def raw_run() -> RunResult:
                _, cfg = fresh_config("raw")
                backends = tmp / "raw-backends" / str(counter["n"])
                backends.mkdir(parents=True)
                for stack in STACKS:
                    (backends / f"{stack}.s3.tfbackend").write_text(render_s3_text(cfg, "dev", stack))
                env = {**base_env, "TOFU": tofu, "STACKS": " ".join(STACKS),
                       "STACKS_ROOT": str(REPO / "tofu" / "rehearsal"), "BACKENDS": str(backends),
                       "DATA_ROOT": str(tmp / "raw-data"), "KUBECONFIG_PATH": str(rehearsal.kubeconfig_path)}
                return run_timed(Contender("raw init/plan/apply loop", ["bash", "-c", RAW_LOOP], env=env))

            contenders = {"gfwizard deploy --env dev --yes": gfwizard_run, "raw init/plan/apply loop": raw_run}
            series = {name: Series(Contender(name, [])) for name in contenders}
            cpu: dict[str, list[float]] = {name: [] for name in contenders}
            for fn in contenders.values():  # warm-up: page cache, plugin cache dir, data dirs
                fn()
            names = list(contenders)
            for i in range(args.runs):
                for name in (names if i % 2 == 0 else list(reversed(names))):
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    series[name].runs.append(contenders[name]())
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            print(f"machine: {machine_note()}")
            print(f"binary: {tofu}; stacks: {', '.join(STACKS)}; runs: {args.runs} each, alternating, "
                  f"fresh state keys per run; gfwizard --concurrency {args.concurrency}"
                  + (f"; +{args.plan_latency:g}s per plan" if args.plan_latency > 0 else ""))
            print(report(list(series.values()), baseline="raw init/plan/apply loop"))
            for name, values in cpu.items():
                # The whole process tree (every terraform child included): what the 2 cores must fit.
                print(f"median CPU s (user+sys, process tree) {name}: {median(values):.2f}")
            if args.timeline:
                path, _ = fresh_config("timeline")
                print(timeline([sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes", "--json",
                                "--concurrency", str(args.concurrency), "--config", str(path)], base_env))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


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
