-- wrk: GET with a fixed bearer token from the environment (userinfo).
-- Usage: BENCH_PATH=/auth/userinfo BENCH_AUTH="Bearer ..." wrk ... -s bearer.lua URL
wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
