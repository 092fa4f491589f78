-- wrk script for --stream: the same streamed chat completion request for every target (usage included).
wrk.method = "POST"
wrk.body = '{"model":"bench-stream","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Count to forty."}],'
  .. '"max_tokens":200,"stream":true,"stream_options":{"include_usage":true}}'
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key then wrk.headers["Authorization"] = "Bearer " .. key end
