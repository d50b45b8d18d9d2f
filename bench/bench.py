#!/usr/bin/env python3
"""authd's benchmark harness: every workload, its ceiling and the peer, in one run.

    bench/run.sh [--duration SECONDS] [--quick] [--skip-peer] [--skip-pgbench]

Builds release, then for each configuration (Postgres + Redis, then SQLite + in-process):
starts authd pinned to core 0 (one HTTP worker, one argon2 worker), seeds users and
clients, mints refresh tokens, and drives each workload with wrk pinned to core 1
(64 keep-alive connections, loopback only, bounded by --duration). In the same run it
measures the references: per-operation costs of authd's own code (examples/ops.rs, on
core 0), a static-bytes actix-web server with authd's JWKS body (examples/static_baseline.rs),
pgbench on authd's rotation transaction, and node-oidc-provider (shared/bench/peer-oidc-provider)
pinned like authd. Writes bench/results/latest.json and prints the BENCHMARKS.md tables.
Standard library only.
"""

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
RELEASE = os.path.join(ROOT, "target", "release")
PEER_SRC = os.path.join(ROOT, "..", "shared", "bench", "peer-oidc-provider")
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379"
PORT, STATIC_PORT, PEER_PORT = 18181, 18182, 18183
USERS = 200
PASSWORD = "bench-password-0123"
CC_SECRET = "bench-client-secret-0123456789abcdef"  # benchmark fixture, loopback only
RS_SECRET = "bench-introspect-secret-0123456789abcd"  # benchmark fixture, loopback only
SERVER_CORE, LOAD_CORE = "0", "1"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, env=None, stdin=None, check=True, capture=True):
    result = subprocess.run(
        cmd, env=env, input=stdin, text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
    )
    if check and result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed: {result.stderr or ''}{result.stdout or ''}")
    return result


def taskset_works():
    return shutil.which("taskset") and run(["taskset", "-c", "1", "true"], check=False).returncode == 0


PIN = taskset_works()


def pinned(core, cmd):
    return (["taskset", "-c", core] + cmd) if PIN else cmd


def http(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            http(url)
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not answer within {timeout}s")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def rss_parts_mib(pid):
    """What the resident memory is made of now: anonymous (heap, stacks, the argon2
    workers' memory, SQLite's page caches) and file-backed (the binary and libraries)."""
    parts = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"):
                value = int(line.split()[1])
                parts[key] = value if key == "Threads" else value / 1024
    return parts


class Proc:
    def __init__(self, cmd, env=None, cwd=None, log_path=None):
        self.log = open(log_path or os.devnull, "w")
        self.p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self.log, stderr=self.log)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def parse_duration_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url, duration, script=None, args=(), env=None, warmup=0, connections=64):
    """Runs wrk pinned to the load core; returns requests/s, p50/p99 (ms), errors, and
    the count per status when the script reports them."""
    base = ["wrk", "-t1", f"-c{connections}", "--latency"]
    if script:
        base += ["-s", os.path.join(BENCH, "lua", script)]
    tail = [url] + (["--"] + list(args) if args else [])
    full_env = dict(os.environ, **(env or {}))
    if warmup:
        run(pinned(LOAD_CORE, base + ["-d", f"{warmup}s"] + tail), env=full_env)
    out = run(pinned(LOAD_CORE, base + ["-d", f"{duration}s"] + tail), env=full_env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {m.group(1): parse_duration_ms(m.group(2), m.group(3))
           for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    timeouts = int(sock.group(4)) if sock else 0
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    statuses = {m.group(1): int(m.group(2)) for m in re.finditer(r"^status (\d+) (\d+)$", out, re.M)}
    result = {"rps": rps, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"),
              "requests": total, "errors": errors, "timeouts": timeouts}
    if statuses:
        result["statuses"] = statuses
    return result


def ops():
    out = run(pinned(SERVER_CORE, [os.path.join(RELEASE, "examples", "ops")])).stdout
    result = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "op":
            result[parts[1]] = {"us": float(parts[2]), "min_us": float(parts[3]),
                                "max_us": float(parts[4]), "per_s": float(parts[5])}
    return result


def psql(sql, db="test"):
    return run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-w", "-v",
                "ON_ERROR_STOP=1", "-Atc", sql]).stdout.strip()


def authd_env(work, kind):
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    config = os.path.join(work, f"{kind}.toml")
    with open(config, "w") as f:
        f.write(
            "[server]\n"
            f'bind = "127.0.0.1:{PORT}"\n'
            f'issuer = "http://127.0.0.1:{PORT}"\n'
            'trusted_proxies = ["127.0.0.1"]\n'
            "workers = 1\n"
            "[password]\nworkers = 1\n"
            "[log]\nformat = \"json\"\nlevel = \"warn\"\n"
        )
    keys = os.path.join(work, f"keys-{kind}")
    os.makedirs(keys, mode=0o700, exist_ok=True)
    env["AUTHD__KEYS__DIR"] = keys
    if kind == "postgres":
        db = f"authd_bench_{os.getpid()}"
        psql(f"drop database if exists {db}")
        psql(f"create database {db}")
        env["AUTHD__DATABASE__URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
        env["AUTHD__REDIS__URL"] = REDIS_URL
        env["AUTHD__REDIS__KEY_PREFIX"] = f"authd-bench-{os.getpid()}:"
        env["AUTHD__DATABASE__MAX_CONNECTIONS"] = "16"
    else:
        env["AUTHD__DATABASE__URL"] = f"sqlite://{work}/authd-bench.db"
    return config, env


def cleanup_authd(kind, env):
    if kind == "postgres":
        db = env["AUTHD__DATABASE__URL"].rsplit("/", 1)[1]
        psql(f"drop database if exists {db} with (force)")
        prefix = env["AUTHD__REDIS__KEY_PREFIX"]
        keys = run(["redis-cli", "--scan", "--pattern", f"{prefix}*"], check=False).stdout.split()
        for i in range(0, len(keys), 500):
            run(["redis-cli", "del"] + keys[i:i + 500], check=False)


def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def bench_authd(kind, work, duration, mint):
    log(f"authd on {kind}: seeding")
    config, env = authd_env(work, kind)
    authd = os.path.join(RELEASE, "authd")
    cli = lambda *a, stdin=None: run([authd, "--config", config] + list(a), env=env, stdin=stdin)
    cli("migrate")
    for i in range(1, USERS + 1):
        cli("user", "add", f"bench-{i}", "--password-stdin", stdin=PASSWORD + "\n")
    cli("client", "add", "bench-cc", "--secret-stdin", "--grant", "client_credentials",
        "--audience", "api", "--scope", "api:read", "--scope", "api:write", stdin=CC_SECRET + "\n")
    cli("client", "add", "bench-rs", "--secret-stdin", "--audience", "rs", stdin=RS_SECRET + "\n")
    tokens_file = os.path.join(work, f"refresh-{kind}.txt")
    run([os.path.join(RELEASE, "examples", "mint_refresh"), "bench-1", str(mint), tokens_file], env=env)

    server = Proc(pinned(SERVER_CORE, [authd, "--config", config, "serve"]), env=env,
                  log_path=os.path.join(work, f"authd-{kind}.log"))
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_http(f"{base}/readyz")
        pid = server.p.pid
        login = json.loads(http(f"{base}/auth/token",
                                data=f"grant_type=password&username=bench-2&password={PASSWORD}".encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"}))
        access = login["access_token"]
        jwks_body = http(f"{base}/.well-known/jwks.json")
        results = {}
        log(f"authd on {kind}: jwks")
        results["jwks"] = wrk(f"{base}/.well-known/jwks.json", duration, warmup=3)
        # No warm-up here: an aborted warm-up leaves logins queued, and queued logins of
        # the next run's users would meet the per-username in-flight limit (429).
        log(f"authd on {kind}: password login")
        results["login"] = wrk(base, duration, "login.lua", [str(USERS), PASSWORD])
        time.sleep(3)  # let the queued logins drain before the next workload
        log(f"authd on {kind}: password login past the pool's capacity (256 connections)")
        overload = wrk(base, min(duration, 5), "login.lua", [str(USERS), PASSWORD], connections=256)
        # Shedding is the point here: fast 503s (pool full) and 429s (a user's in-flight
        # limit, reached because shed requests come back at once) are expected.
        st = overload.get("statuses", {})
        overload["shed_503"], overload["shed_429"] = st.get("503", 0), st.get("429", 0)
        # Logins admitted to the full queue wait up to queue × argon2 time on the server's one
        # core; past wrk's 2 s they count as timeouts, reported apart from errors.
        overload["errors"] = (overload["errors"] - overload["shed_503"] - overload["shed_429"]
                              - overload["timeouts"])
        results["login_overload"] = overload
        time.sleep(3)
        log(f"authd on {kind}: refresh")
        results["refresh"] = wrk(base, duration, "refresh.lua", [tokens_file])
        log(f"authd on {kind}: client_credentials")
        results["client_credentials"] = wrk(base, duration, "post.lua", warmup=2, env={
            "BENCH_PATH": "/auth/token", "BENCH_AUTH": basic("bench-cc", CC_SECRET),
            "BENCH_BODY": "grant_type=client_credentials&scope=api%3Aread%20api%3Awrite"})
        log(f"authd on {kind}: userinfo")
        results["userinfo"] = wrk(base, duration, "bearer.lua", warmup=2, env={
            "BENCH_PATH": "/auth/userinfo", "BENCH_AUTH": f"Bearer {access}"})
        log(f"authd on {kind}: introspect")
        results["introspect"] = wrk(base, duration, "post.lua", warmup=2, env={
            "BENCH_PATH": "/auth/introspect", "BENCH_AUTH": basic("bench-rs", RS_SECRET),
            "BENCH_BODY": f"token={access}"})
        results["peak_rss_mib"] = peak_rss_mib(pid)
        results["rss_parts_mib"] = rss_parts_mib(pid)
        return results, jwks_body
    finally:
        server.stop()
        cleanup_authd(kind, env)


def bench_static(work, duration, body):
    path = os.path.join(work, "jwks.json")
    with open(path, "wb") as f:
        f.write(body)
    server = Proc(pinned(SERVER_CORE, [os.path.join(RELEASE, "examples", "static_baseline"),
                                       str(STATIC_PORT), "1", path]))
    try:
        url = f"http://127.0.0.1:{STATIC_PORT}/.well-known/jwks.json"
        wait_http(url)
        log("static baseline: jwks")
        return {"jwks": wrk(url, duration, warmup=3), "body_bytes": len(body)}
    finally:
        server.stop()


def bench_peer(work, duration, mint):
    peer = os.path.join(work, "peer")
    shutil.copytree(PEER_SRC, peer, ignore=shutil.ignore_patterns("node_modules", "jwks.json", "refresh-tokens.txt"))
    log("peer: npm install")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=peer, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["node", "gen-keys.mjs"], cwd=peer, check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, NODE_ENV="production", PORT=str(PEER_PORT))
    base = f"http://127.0.0.1:{PEER_PORT}"
    results = {}
    server = Proc(pinned(SERVER_CORE, ["node", "server.mjs"]), env=env, cwd=peer,
                  log_path=os.path.join(work, "peer.log"))
    try:
        wait_http(f"{base}/jwks")
        log("peer: jwks")
        results["jwks"] = wrk(f"{base}/jwks", duration, warmup=3)
        log("peer: client_credentials")
        results["client_credentials"] = wrk(f"{base}/token", duration, os.path.join(peer, "client-credentials.lua"), warmup=3)
    finally:
        server.stop()
    server = Proc(pinned(SERVER_CORE, ["node", "server.mjs"]), env=dict(env, MINT_REFRESH=str(mint)), cwd=peer,
                  log_path=os.path.join(work, "peer-refresh.log"))
    try:
        wait_http(f"{base}/jwks", timeout=300)
        log("peer: refresh")
        results["refresh"] = wrk(f"{base}/token", duration, os.path.join(peer, "refresh-token.lua"),
                                 [os.path.join(peer, "refresh-tokens.txt"), "1"])
    finally:
        server.stop()
    return results


ROTATE_SQL = """\\set i random(1, 100000)
BEGIN;
UPDATE refresh_tokens SET consumed_at = now() WHERE token_hash = sha256(convert_to(:i::text, 'UTF8')) RETURNING family_id;
SELECT f.id, f.user_id, f.client_id, f.scope, f.created_at, f.last_used_at, f.expires_at, f.revoked_at, f.revoked_reason, u.disabled
  FROM refresh_families f JOIN users u ON u.id = f.user_id
  WHERE f.id = (SELECT family_id FROM refresh_tokens WHERE token_hash = sha256(convert_to(:i::text, 'UTF8'))) FOR UPDATE OF f;
INSERT INTO refresh_tokens (token_hash, family_id, created_at)
  VALUES (sha256(uuid_send(gen_random_uuid())), (SELECT family_id FROM refresh_tokens WHERE token_hash = sha256(convert_to(:i::text, 'UTF8'))), now());
UPDATE refresh_families SET last_used_at = now()
  WHERE id = (SELECT family_id FROM refresh_tokens WHERE token_hash = sha256(convert_to(:i::text, 'UTF8')));
COMMIT;
"""


def bench_pgbench(work, duration):
    """The database ceiling: authd's rotation transaction (its statements, its schema)
    replayed by pgbench, 16 clients, with Postgres sharing the 2 cores."""
    db = f"authd_pgbench_{os.getpid()}"
    psql(f"drop database if exists {db}")
    psql(f"create database {db}")
    try:
        for name in sorted(os.listdir(os.path.join(ROOT, "migrations", "postgres"))):
            run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-w", "-q", "-v", "ON_ERROR_STOP=1",
                 "-f", os.path.join(ROOT, "migrations", "postgres", name)])
        psql("insert into users (id, username, password_hash, roles, disabled, password_changed_at, created_at, updated_at) "
             "values (gen_random_uuid(), 'u', 'x', '{}', false, now(), now(), now())", db)
        psql("insert into refresh_families (id, user_id, client_id, scope, created_at, last_used_at, expires_at) "
             "select gen_random_uuid(), (select id from users), 'app', '', now(), now(), now() + interval '30 days' "
             "from generate_series(1, 100000)", db)
        psql("insert into refresh_tokens (token_hash, family_id, created_at) "
             "select sha256(convert_to(n::text, 'UTF8')), f.id, now() from "
             "(select id, row_number() over () as n from refresh_families) f", db)
        psql("vacuum analyze", db)
        script = os.path.join(work, "rotate.sql")
        with open(script, "w") as f:
            f.write(ROTATE_SQL)
        log("pgbench: authd's rotation transaction")
        out = run(["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-M", "prepared", "-T", str(duration),
                   "-c", "16", "-j", "1", "-f", script, db]).stdout
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        return {"rotation_tps": tps}
    finally:
        psql(f"drop database if exists {db} with (force)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=15, help="seconds per workload (default 15)")
    ap.add_argument("--quick", action="store_true", help="2 s per workload, small mint: a smoke run")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-pgbench", action="store_true")
    ap.add_argument("--configs", default="postgres,sqlite")
    a = ap.parse_args()
    duration = 2 if a.quick else a.duration
    mint = 5000 if a.quick else max(100000, duration * 9000)
    work = tempfile.mkdtemp(prefix="authd-bench-")
    log(f"work dir {work}; pinning {'on' if PIN else 'unavailable'}; {duration}s per workload")
    results = {"duration_s": duration, "pinned": bool(PIN), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "kernel": os.uname().release}}
    try:
        log("per-operation costs (examples/ops.rs)")
        results["ops"] = ops()
        jwks_body = None
        for kind in a.configs.split(","):
            results[kind], jwks_body = bench_authd(kind, work, duration, mint)
        results["static"] = bench_static(work, duration, jwks_body)
        if not a.skip_pgbench:
            results["pgbench"] = bench_pgbench(work, duration)
        if not a.skip_peer:
            results["peer"] = bench_peer(work, duration, mint)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    with open(os.path.join(BENCH, "results", "latest.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(report(results))
    errors = {f"{k}.{w}": r["errors"] for k in a.configs.split(",") for w, r in results[k].items()
              if isinstance(r, dict) and r.get("errors")}
    if errors:
        raise SystemExit(f"bench: workloads with errors: {errors}")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def errors_text(w):
    """The error count, and what the errors were where the script counted statuses:
    e.g. `1 (1 timeout)` or `3 (503 ×2, 1 timeout)`."""
    if not w["errors"] or "statuses" not in w:
        return str(w["errors"])
    kinds = [f"{code} ×{n}" for code, n in sorted(w["statuses"].items()) if not code.startswith(("2", "3"))]
    if w["timeouts"]:
        kinds.append(f"{w['timeouts']} timeout" + ("s" if w["timeouts"] > 1 else ""))
    return f"{w['errors']} ({', '.join(kinds)})"


def report(r):
    ops = r["ops"]
    lines = []
    def row(*cells):
        lines.append("| " + " | ".join(cells) + " |")
    def fmt(x, d=0):
        return "-" if x is None else f"{x:,.{d}f}"
    login_ceiling = ops["argon2_verify"]["per_s"]
    verify_ceiling = ops["es256_verify"]["per_s"]
    sign_ceiling = ops["es256_sign"]["per_s"]
    static = r["static"]["jwks"]["rps"]
    peer = r.get("peer", {})
    pg = r.get("pgbench", {}).get("rotation_tps")
    for kind in [k for k in ("postgres", "sqlite") if k in r]:
        a = r[kind]
        lines.append(f"\n### authd on {'Postgres + Redis' if kind == 'postgres' else 'SQLite + in-process state'}\n")
        row("workload", "req/s", "p50 ms", "p99 ms", "errors", "reference (same run)", "ratio", "target")
        row(*["---"] * 8)
        def ratio(x, ref):
            return "-" if not ref else f"{x / ref:.2f}×"
        checks = [
            ("JWKS GET", a["jwks"], f"static actix {fmt(static)}/s", static, "≥ 0.8×"),
            ("password login", a["login"], f"argon2 ceiling {fmt(login_ceiling)}/s (1 core)", login_ceiling, "≥ 0.9×"),
            ("refresh", a["refresh"], f"peer {fmt(peer.get('refresh', {}).get('rps'))}/s", peer.get("refresh", {}).get("rps"), "≥ 1.5×"),
            ("refresh vs DB", a["refresh"], f"pgbench rotation {fmt(pg)} tx/s", pg, "≥ 0.6×"),
            ("client_credentials", a["client_credentials"], f"peer {fmt(peer.get('client_credentials', {}).get('rps'))}/s",
             peer.get("client_credentials", {}).get("rps"), "≥ 6×"),
            ("userinfo", a["userinfo"], f"verify ceiling {fmt(verify_ceiling)}/s (1 core)", verify_ceiling, "≥ 0.7×"),
            ("introspect", a["introspect"], f"verify ceiling {fmt(verify_ceiling)}/s (1 core)", verify_ceiling, "-"),
        ]
        o = a.get("login_overload")
        if o:
            checks.insert(2, ("login, 256 connections", o,
                              f"{o['shed_503']:,} shed with 503, {o['shed_429']:,} with 429, "
                              f"{o['timeouts']:,} over 2 s, of {o['requests']:,}",
                              None, "fast 503"))
        for name, w, ref_text, ref, target in checks:
            row(name, fmt(w["rps"]), fmt(w["p50_ms"], 2), fmt(w["p99_ms"], 2), errors_text(w), ref_text,
                ratio(w["rps"], ref), target)
        lines.append(f"\nPeak RSS of the authd process over all workloads: {fmt(a['peak_rss_mib'], 1)} MiB.")
        parts = a.get("rss_parts_mib")
        if parts:
            lines.append(f"At the end: RSS {fmt(parts.get('VmRSS'), 1)} MiB = anonymous {fmt(parts.get('RssAnon'), 1)} MiB "
                         f"(heap, {parts.get('Threads')} thread stacks, argon2 and SQLite memory) + file-backed "
                         f"{fmt(parts.get('RssFile'), 1)} MiB (code) + shared {fmt(parts.get('RssShmem'), 1)} MiB "
                         f"(SQLite's WAL index).")
    lines.append("\n### References\n")
    row("reference", "figure")
    row("---", "---")
    for name, o in ops.items():
        row(f"op {name}", f"{o['us']:,.2f} µs (min {o['min_us']:,.2f}, max {o['max_us']:,.2f}) → {o['per_s']:,.0f}/s per core")
    row("static actix JWKS", f"{fmt(static)} req/s ({r['static']['body_bytes']} bytes)")
    if pg:
        row("pgbench rotation txn", f"{fmt(pg)} tx/s (16 clients)")
    for w, v in peer.items():
        row(f"peer {w}", f"{fmt(v['rps'])} req/s, p50 {fmt(v['p50_ms'], 2)} ms, p99 {fmt(v['p99_ms'], 2)} ms, errors {v['errors']}")
    row("Keycloak (published, not measured here)", "15 password logins, 120 client-credential grants, 120 refresh grants per second per vCPU")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
