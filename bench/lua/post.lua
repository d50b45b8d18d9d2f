-- wrk: one fixed POST (client_credentials or introspection), its body and Basic
-- credentials from the environment. Usage: BENCH_PATH=... BENCH_BODY=... BENCH_AUTH=... wrk ... -s post.lua URL
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
