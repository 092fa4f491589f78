-- wrk script: the same chat completion request for every target. Headers need "Name: value" with the space.
wrk.method = "POST"
wrk.body = '{"model":"bench","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello."}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key then wrk.headers["Authorization"] = "Bearer " .. key end
