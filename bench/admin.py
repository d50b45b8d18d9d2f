#!/usr/bin/env python3
"""The admin API at scale (issue #14): 1,000,000 users, per configuration.

    python3 bench/admin.py [--users N] [--duration SECONDS] [--quick] [--configs postgres,sqlite]

(run by bench/run.sh after bench.py). For each configuration: migrates a fresh database,
inserts N users in one SQL statement (generate_series / a recursive CTE: the seeding
step, timed), starts authd (release, pinned to core 0, one HTTP worker), and measures
with wrk on core 1, latency at 1 connection and throughput (and its p99) at 8:

- `GET /admin/v1/users/{id}` over 1,000 random users (target p99 <= 5 ms);
- `GET /admin/v1/users?limit=100&cursor=...` over 200 cursors spread through the whole
  table, obtained by real requests (target p99 <= 20 ms);
- `POST /admin/v1/users/import`: 5 files of 10,000 NDJSON lines with a pre-hashed
  password each (target >= 20,000 users/s);
- authd's resident memory before and after listing and import (it must stay flat: no
  listing or import holds all rows).

Writes bench/results/admin-latest.json and prints the BENCHMARKS.md rows.
"""

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (BENCH, PORT, RELEASE, Proc, authd_env, basic, cleanup_authd, http, log,  # noqa: E402
                   peak_rss_mib, pinned, psql, rss_parts_mib, run, wait_http, wrk, SERVER_CORE)

ADMIN_SECRET = "bench-admin-secret-0123456789abcdefgh"  # benchmark fixture, loopback only
ADMIN_SCOPES = ["admin:users:read", "admin:users:write"]
# A well-formed argon2id PHC string (nobody logs in with it): an
# import carries hashes, never passwords.
HASH = ("$argon2id$v=19$m=19456,t=2,p=1$YmVuY2gtc2FsdC0wMTIz"
        "$8z4VtRJXbhhRlOM0iLCFwn6pN1pQzMl3fS2cwtzYm1s")
IMPORT_FILES, IMPORT_LINES = 5, 10_000


def uuid_of(i):
    return f"00000000-0000-4000-8000-{i:012x}"


def seed(kind, env, users):
    """Inserts `users` rows named user-0000001... with ids uuid_of(i), in one statement."""
    started = time.time()
    if kind == "postgres":
        db = env["AUTHD__DATABASE__URL"].rsplit("/", 1)[1]
        psql("insert into users (id, username, password_hash, roles, disabled, "
             "password_changed_at, created_at, updated_at) "
             "select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, "
             "'user-' || lpad(i::text, 7, '0'), "
             f"'{HASH}', '{{}}', false, now(), now(), now() "
             f"from generate_series(1, {users}) as i", db=db)
        psql("analyze users", db=db)
    else:
        path = env["AUTHD__DATABASE__URL"].removeprefix("sqlite://")
        con = sqlite3.connect(path)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        con.execute(
            "with recursive s(i) as (select 1 union all select i + 1 from s where i < ?) "
            "insert into users (id, username, password_hash, roles, disabled, "
            "password_changed_at, created_at, updated_at) "
            "select printf('00000000-0000-4000-8000-%012x', i), printf('user-%07d', i), "
            "?, '[]', 0, ?, ?, ? from s", (users, HASH, now, now, now))
        con.commit()
        con.execute("analyze")
        con.close()
    return time.time() - started


def admin_token(base):
    body = json.loads(http(f"{base}/auth/token", data=b"grant_type=client_credentials",
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Authorization": basic("bench-admin", ADMIN_SECRET)}))
    return body["access_token"]


def get_json(url, token):
    return json.loads(http(url, headers={"Authorization": f"Bearer {token}"}))


def import_rate(base, token, work):
    created, started = 0, time.time()
    for f in range(IMPORT_FILES):
        lines = "".join(json.dumps({"username": f"imported-{f}-{i:05d}", "password_hash": HASH}) + "\n"
                        for i in range(IMPORT_LINES)).encode()
        req = urllib.request.Request(f"{base}/admin/v1/users/import", data=lines, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            body = json.loads(resp.read())
        if body["failed"]:
            raise SystemExit(f"bench: import failed lines: {body['failed'][:3]}")
        created += body["created"]
    elapsed = time.time() - started
    return {"users": created, "seconds": elapsed, "users_per_s": created / elapsed}


def bench(kind, work, users, duration):
    config, env = authd_env(work, kind)
    authd = os.path.join(RELEASE, "authd")
    cli = lambda *a, stdin=None: run([authd, "--config", config] + list(a), env=env, stdin=stdin)
    cli("migrate")
    log(f"admin on {kind}: seeding {users} users")
    seconds = seed(kind, env, users)
    log(f"admin on {kind}: seeded in {seconds:.1f} s")
    scopes = [a for s in ADMIN_SCOPES for a in ("--scope", s)]
    cli("client", "add", "bench-admin", "--secret-stdin", "--grant", "client_credentials",
        "--audience", "authd-admin", *scopes, stdin=ADMIN_SECRET + "\n")
    server = Proc(pinned(SERVER_CORE, [authd, "--config", config, "serve"]), env=env,
                  log_path=os.path.join(work, f"authd-admin-{kind}.log"))
    base = f"http://127.0.0.1:{PORT}"
    results = {"users": users, "seed_s": seconds}
    try:
        wait_http(f"{base}/readyz")
        pid = server.p.pid
        token = admin_token(base)
        auth = {"BENCH_AUTH": f"Bearer {token}"}
        rng = random.Random(7)
        ids = os.path.join(work, f"ids-{kind}.txt")
        with open(ids, "w") as f:
            for _ in range(1000):
                f.write(f"/admin/v1/users/{uuid_of(rng.randint(1, users))}\n")
        first = get_json(f"{base}/admin/v1/users/{uuid_of(1)}", token)
        assert first["username"] == "user-0000001", first
        results["rss_start_mib"] = rss_parts_mib(pid)["VmRSS"]
        log(f"admin on {kind}: GET /users/{{id}}")
        results["get_user"] = wrk(base, duration, "paths.lua", [ids], env=auth, warmup=2, connections=1)
        results["get_user_c8"] = wrk(base, duration, "paths.lua", [ids], env=auth, connections=8)
        log(f"admin on {kind}: collecting cursors")
        pages = os.path.join(work, f"pages-{kind}.txt")
        with open(pages, "w") as f:
            for _ in range(200):
                prefix = f"user-{rng.randint(0, min(users // 1000, 999)):04d}"
                page = get_json(f"{base}/admin/v1/users?limit=1&username_prefix={prefix}", token)
                if page["next_cursor"]:
                    f.write(f"/admin/v1/users?limit=100&cursor={page['next_cursor']}\n")
        log(f"admin on {kind}: GET /users?limit=100&cursor=...")
        results["list_users"] = wrk(base, duration, "paths.lua", [pages], env=auth, warmup=2, connections=1)
        results["list_users_c8"] = wrk(base, duration, "paths.lua", [pages], env=auth, connections=8)
        results["rss_after_reads_mib"] = rss_parts_mib(pid)["VmRSS"]
        log(f"admin on {kind}: POST /users/import ({IMPORT_FILES} x {IMPORT_LINES} lines)")
        results["import"] = import_rate(base, token, work)
        results["rss_end_mib"] = rss_parts_mib(pid)["VmRSS"]
        results["peak_rss_mib"] = peak_rss_mib(pid)
        return results
    finally:
        server.stop()
        cleanup_authd(kind, env)


def report(r):
    lines = ["| configuration | users | seed | GET /users/{id} p50 / p99 (1 conn) | p99 / req/s (8 conn) "
             "| list 100/page p50 / p99 (1 conn) | p99 / req/s (8 conn) | import users/s | RSS start → end (peak) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for kind in ("postgres", "sqlite"):
        x = r.get(kind)
        if not x:
            continue
        g, g8, lst, l8, imp = (x["get_user"], x["get_user_c8"], x["list_users"], x["list_users_c8"],
                               x["import"])
        lines.append(
            f"| {kind} | {x['users']:,} | {x['seed_s']:.1f} s | {g['p50_ms']:.2f} / {g['p99_ms']:.2f} ms "
            f"| {g8['p99_ms']:.2f} ms / {g8['rps']:,.0f} | {lst['p50_ms']:.2f} / {lst['p99_ms']:.2f} ms "
            f"| {l8['p99_ms']:.2f} ms / {l8['rps']:,.0f} | {imp['users_per_s']:,.0f} "
            f"| {x['rss_start_mib']:.0f} → {x['rss_end_mib']:.0f} MiB ({x['peak_rss_mib']:.0f}) |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--duration", type=int, default=10, help="seconds per workload (default 10)")
    ap.add_argument("--configs", default="postgres,sqlite")
    ap.add_argument("--quick", action="store_true", help="50,000 users, 2 s per workload")
    # bench/run.sh passes its arguments to bench.py and here; the others are bench.py's.
    a, _ = ap.parse_known_args()
    if a.quick:
        a.users, a.duration = 50_000, 2
    work = tempfile.mkdtemp(prefix="authd-bench-admin-")
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for kind in a.configs.split(","):
        results[kind] = bench(kind, work, a.users, a.duration)
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    with open(os.path.join(BENCH, "results", "admin-latest.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(report(results))
    errors = {f"{k}.{w}": results[k][w]["errors"] for k in a.configs.split(",")
              for w in ("get_user", "get_user_c8", "list_users", "list_users_c8")
              if results[k][w]["errors"]}
    if errors:
        raise SystemExit(f"bench: workloads with errors: {errors}")


if __name__ == "__main__":
    main()
