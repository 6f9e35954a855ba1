"""Benchmark: ``gfwizard discover --json`` against ``kubectl config get-contexts``.

Generates 200 kubeconfig files holding 2,000 contexts (realistic sizes: a base64 CA per cluster,
base64 client certificates and RSA-2048 private keys for the cert users, JWT-sized tokens, exec
and OIDC users) in a temp dir, points ``KUBECONFIG`` at all of them, and runs both commands
alternately. Prints the median of each and the ratios gfwizard / kubectl (target: <= 1.0).

    .venv/bin/python bench/discover.py [--runs 15] [--files 200] [--contexts 2000] [--keep]

gfwizard is timed twice: "cold" with ``GFW_DISCOVER_CACHE=0`` (no on-disk summary cache: every
run parses every file and reads every certificate, the worst case), and "cache" with the cache
in a temp state dir, filled by the untimed warm-up round, like an operator running discover more
than once. The three contenders run alternately, the order reversed every round.
This is a benchmark, not a test: it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Contender, Series, alternate, machine_note, report, venv_console  # noqa: E402

_KEY_POOL = 6


def _pem_material(count: int) -> tuple[list[str], list[str], list[str]]:
    """``count`` distinct client certs (some expired), a pool of RSA keys and CA certs, base64-encoded."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400)).not_valid_after(now + dt.timedelta(days=3000))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_b64 = base64.b64encode(ca_cert.public_bytes(serialization.Encoding.PEM)).decode()
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(_KEY_POOL)]
    key_b64 = [
        base64.b64encode(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption())).decode()
        for k in keys
    ]
    certs: list[str] = []
    for i in range(count):
        # Every 9th certificate has already expired, like a forgotten cluster's admin cert.
        not_after = now - dt.timedelta(days=3 + i % 30) if i % 9 == 0 else now + dt.timedelta(days=30 + i % 300)
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"kubernetes-admin-{i}"),
        ])
        cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
            .public_key(keys[i % _KEY_POOL].public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=400)).not_valid_after(not_after)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        certs.append(base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode())
    return certs, key_b64, [ca_b64]


def _token(i: int) -> str:
    """A JWT-sized opaque token (about 900 characters)."""
    body = base64.urlsafe_b64encode((f"{{\"sub\":\"system:serviceaccount:ns{i}:deployer\"}}" * 12).encode()).decode()
    return f"eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0.{body}.{'s' * 342}"


def _context_name(n: int) -> str:
    """A mix of the shapes an operator's machine really holds."""
    kind = n % 50
    if kind == 0:
        return f"tinyland-civo-dev-{n}"
    if kind == 1:
        return f"tinyland/agents-{n}:dev"
    if kind == 2:
        return f"bumble-{n}"
    return f"cluster-{n:04d}-admin@cluster-{n:04d}"


def generate(root: Path, files: int = 200, contexts: int = 2000) -> list[Path]:
    """Write ``files`` kubeconfigs under ``root`` holding ``contexts`` contexts in total; return their paths."""
    root.mkdir(parents=True, exist_ok=True)
    per_file = max(1, contexts // files)
    certs, keys, cas = _pem_material(contexts)
    paths: list[Path] = []
    n = 0
    for f in range(files):
        count = per_file if f < files - 1 else contexts - n
        clusters, users, ctxs = [], [], []
        first = None
        for _ in range(count):
            name = _context_name(n)
            first = first or name
            cname, uname = f"cluster-{n:04d}", f"user-{n:04d}"
            server = f"https://10.{n // 250 % 250}.{n % 250}.1:6443"
            if n % 50 == 0:
                server = f"https://{n}.k8s.civo.com:6443"
            elif n % 50 == 1:
                server = "https://kas.gitlab.com/k8s-proxy/"
            clusters.append(f"- cluster:\n    certificate-authority-data: {cas[0]}\n    server: {server}\n  name: {cname}\n")
            auth = n % 20
            if auth < 13:
                user = (f"    client-certificate-data: {certs[n]}\n"
                        f"    client-key-data: {keys[n % len(keys)]}\n")
            elif auth < 17:
                user = f"    token: {_token(n)}\n"
            elif auth < 19:
                user = ("    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
                        "      command: aws\n      args: [eks, get-token, --cluster-name, c{0}]\n"
                        "      interactiveMode: IfAvailable\n      provideClusterInfo: false\n").format(n)
            else:
                user = ("    auth-provider:\n      name: oidc\n      config:\n"
                        "        client-id: kubernetes\n        idp-issuer-url: https://dex.example.com\n"
                        f"        id-token: {_token(n)}\n        refresh-token: {'r' * 64}\n")
            users.append(f"- name: {uname}\n  user:\n{user}")
            ctxs.append(f"- context:\n    cluster: {cname}\n    user: {uname}\n  name: {name}\n")
            n += 1
        text = ("apiVersion: v1\nkind: Config\npreferences: {}\n"
                f"current-context: {first}\n"
                "clusters:\n" + "".join(clusters) + "contexts:\n" + "".join(ctxs) + "users:\n" + "".join(users))
        path = root / f"kubeconfig-{f:03d}.yaml"
        path.write_text(text)
        paths.append(path)
    return paths


def _check_outputs(gfw: Contender, kc: Contender, contexts: int) -> None:
    """Both commands must really list every context, or the timing means nothing."""
    import json
    import subprocess

    out = subprocess.run(list(gfw.argv), env=dict(gfw.env or {}), capture_output=True, text=True, check=True)
    listed = len(json.loads(out.stdout)["contexts"])
    rows = subprocess.run(list(kc.argv), env=dict(kc.env or {}), capture_output=True, text=True, check=True)
    kubectl_rows = len(rows.stdout.splitlines()) - 1
    if listed != contexts or kubectl_rows != contexts:
        raise SystemExit(f"expected {contexts} contexts; gfwizard listed {listed}, kubectl {kubectl_rows}")


def main(argv: list[str] | None = None) -> int:
    """Generate the files, time the commands alternately, print medians and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per contender (default 15)")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--contexts", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the generated directory and print its path")
    args = parser.parse_args(argv)

    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("kubectl not found on PATH; this benchmark needs it as the peer", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="gfw-bench-discover-"))
    try:
        paths = generate(tmp / "kube", args.files, args.contexts)
        size = sum(p.stat().st_size for p in paths)
        home = tmp / "home"
        home.mkdir()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "KUBECONFIG": os.pathsep.join(str(p) for p in paths),
            "GFW_STATE_DIR": str(tmp / "state"),
            "GFW_CONFIG": str(tmp / "no-config.yaml"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
        }
        gfw_argv = [venv_console("gfwizard"), "discover", "--json"]
        # GFW_DISCOVER_CACHE=0: no on-disk summary cache, every run parses every file (worst case).
        cold = Contender("gfwizard discover --json (cold)", gfw_argv, {**env, "GFW_DISCOVER_CACHE": "0"})
        # The cache in GFW_STATE_DIR is filled by the untimed warm-up round and reused after.
        warm = Contender("gfwizard discover --json (cache)", gfw_argv, env)
        kc = Contender("kubectl config get-contexts", [kubectl, "config", "get-contexts"], env)
        _check_outputs(cold, kc, args.contexts)
        print(f"{len(paths)} files, {args.contexts} contexts, {size / 1e6:.1f} MB of kubeconfig in {tmp}")
        print(f"machine: {machine_note()}")
        series: list[Series] = alternate([cold, warm, kc], runs=args.runs, warmup=1)
        print(report(series, baseline=kc.name))
        base = series[2].median
        print(f"RESULT cold_ratio={series[0].median / base:.2f} cache_ratio={series[1].median / base:.2f} "
              f"cold={series[0].median:.3f}s cache={series[1].median:.3f}s kubectl={base:.3f}s runs={args.runs}")
        if args.keep:
            print(f"kept: {tmp}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
