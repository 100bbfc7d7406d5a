"""``wrk`` (closed-loop HTTP load): its Lua scripts for the API's
``process`` and ``upload`` routes, a run, and its summary parsed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

#: Numbers wrk's threads (``tid``: 0, 1, ...) so that each takes its own requests.
THREAD_IDS = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
"""

PROCESS_LUA = (
    THREAD_IDS
    + """
local ids = {}
local counter = 0
function init(args)
  for line in io.lines("%(ids)s") do table.insert(ids, line) end
  counter = tid
end
function request()
  counter = counter + %(threads)d
  local id = ids[(counter %% #ids) + 1]
  return wrk.format("POST", "/v1/documents/" .. id .. "/process", {
    ["Authorization"] = "Bearer %(key)s", ["Content-Type"] = "application/json"},
    '%(body)s')
end
"""
)

UPLOAD_LUA = (
    THREAD_IDS
    + """
local counter = 0
function init(args) counter = tid * 100000000 end
function request()
  counter = counter + 1
  local body = "--BENCH\\r\\nContent-Disposition: form-data; name=\\"file\\"; " ..
    "filename=\\"note.txt\\"\\r\\nContent-Type: text/plain\\r\\n\\r\\n" ..
    "small bench note %(run)s " .. counter .. "\\n" .. string.rep("lorem ipsum ", 80) ..
    "\\r\\n--BENCH--\\r\\n"
  return wrk.format("POST", "/v1/documents", {
    ["Authorization"] = "Bearer %(key)s",
    ["Content-Type"] = "multipart/form-data; boundary=BENCH"}, body)
end
"""
)


def run_wrk(base_url: str, script: Path, connections: int, threads: int, duration_s: int) -> str:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def parse_wrk(output: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }
