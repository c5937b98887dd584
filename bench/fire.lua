-- wrk script for bench/fire.py and bench/memory.py: replays pre-generated requests.
--
--   wrk -t T -c C -d D -s bench/fire.lua http://127.0.0.1:PORT -- DATA MODE THREADS MARKER
--
-- DATA holds one request per line, fields separated by tabs:
--   METHOD <tab> PATH <tab> BODY <tab> Name: value <tab> Name: value ...
-- (Python writes it; wrk's Lua has no HMAC, so webhook signatures are computed there.)
-- Thread k of THREADS takes lines k, k + THREADS, ... so no request is sent twice.
--
-- MODE "once": each request is sent at most once (webhook signatures are single use: a
-- replay is a 409). When a thread has used its slice it sends GET /api/health/live as
-- filler (answered 200, counted apart from the 202s of fires) and, once every fire it
-- sent has been answered, creates MARKER.<thread> so that the caller stops wrk (SIGINT).
-- MODE "cycle": the slice is sent round and round (for the no-op endpoint, which
-- verifies nothing).
--
-- done() prints one line "WRK_JSON {...}" with the summary, the latency distribution
-- (microseconds) and the status codes counted in response().

local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local count = 0
local index = 0
local cycle = false
local marker = nil
local filler = nil
local signalled = false
-- wrk calls request() once on thread 0 before the run, only to count pipelined requests:
-- that call must not use up a request.
local probing = false

-- Globals read back by done() through thread:get().
statuses = {}
fires_sent = 0
fires_answered = 0
exhausted = 0
slice = 0

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  -- args[0] is the URL; what follows "--" starts at args[1].
  local data, mode, nthreads = args[1], args[2], tonumber(args[3])
  marker = args[4]
  cycle = mode == "cycle"
  local line_no = 0
  for line in io.lines(data) do
    if line_no % nthreads == tid then
      local f = split(line)
      local headers = {}
      for k = 4, #f do
        local name, value = string.match(f[k], "^([^:]+):%s*(.*)$")
        headers[name] = value
      end
      count = count + 1
      requests[count] = wrk.format(f[1], f[2], headers, f[3])
    end
    line_no = line_no + 1
  end
  slice = count
  probing = tid == 0
  filler = wrk.format("GET", "/api/health/live", {}, nil)
  if not cycle and count == 0 then
    write_marker()
  end
end

function request()
  if probing then
    probing = false
    return count > 0 and requests[1] or filler
  end
  if index >= count then
    if cycle and count > 0 then
      index = 0
    else
      exhausted = 1
      return filler
    end
  end
  index = index + 1
  fires_sent = fires_sent + 1
  return requests[index]
end

function write_marker()
  signalled = true
  if marker then
    local file = io.open(marker .. "." .. tid, "w")
    if file then
      file:write("done\n")
      file:close()
    end
  end
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= 200 or cycle then
    fires_answered = fires_answered + 1
  end
  if not cycle and not signalled and fires_answered >= count then
    write_marker()
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', "") .. '"'
end

function done(summary, latency, requests_stats)
  local codes, sent, answered, used, any_exhausted = {}, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    local st = thread:get("statuses") or {}
    for code, n in pairs(st) do
      codes[code] = (codes[code] or 0) + n
    end
    sent = sent + (thread:get("fires_sent") or 0)
    answered = answered + (thread:get("fires_answered") or 0)
    used = used + (thread:get("slice") or 0)
    if (thread:get("exhausted") or 0) > 0 then
      any_exhausted = 1
    end
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, json_string(code) .. ":" .. n)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,' ..
    '"p99":%d,"p999":%d},"statuses":{%s},"fires_sent":%d,"fires_answered":%d,' ..
    '"slice_total":%d,"exhausted":%s}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9),
    table.concat(parts, ","), sent, answered, used,
    any_exhausted > 0 and "true" or "false"))
end
