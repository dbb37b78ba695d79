"""bench_arms' arms: the gateway configs it starts (each the lane plus what a config adds), the
arms measured on them, and each arm's arm/plain target. Kept apart from the driver so that adding
an arm is a change here alone."""

from __future__ import annotations

OTLP_PORT = 4439  # the tracing arm's stand-in collector
LANE = "bench3"
LANE_CONFIG = f"""
[lanes.{LANE}]
policy = "cheapest"
candidates = ["gpt-5.4-nano", "gpt-5.4-mini", "gpt-5.4"]
"""
STATE = {  # gateway config -> what it adds to the lane
    "open": "",
    "memory": '\n[state]\nbackend = "memory"\n',
    "redis": '\n[state]\nbackend = "redis"\nurl = "{url}"\nnamespace = "{namespace}"\n',
    "capture": '\n[capture]\nlanes = ["*"]\nshare = 0.01\nper_day = 10000000\n',
    "metrics": "\n[metrics]\nenabled = true\nopen = true\n",
    "tracing": f'\n[tracing]\nendpoint = "http://127.0.0.1:{OTLP_PORT}/v1/traces"\n',
    "traceall": (
        f'\n[tracing]\nendpoint = "http://127.0.0.1:{OTLP_PORT}/v1/traces"\nsample_ratio = 1.0\n'
    ),
    "traceids": '\n[tracing]\nexporter = "none"\n',
    "tracenone": (
        f'\n[tracing]\nendpoint = "http://127.0.0.1:{OTLP_PORT}/v1/traces"\nsample_ratio = 0.0\n'
    ),
    "jsonlog": '\n[server]\nlog_format = "json"\n',
    "telemetry": (
        "\n[metrics]\nenabled = true\nopen = true\n"
        f'\n[tracing]\nendpoint = "http://127.0.0.1:{OTLP_PORT}/v1/traces"\n'
        '\n[server]\nlog_format = "json"\n'
    ),
}
ARMS = {
    "plain": "open",
    "lane": "open",
    "memory": "memory",
    "redis": "redis",
    "capture": "capture",
    "metrics": "metrics",
    "tracing": "tracing",
    "traceall": "traceall",
    "traceids": "traceids",
    "tracenone": "tracenone",
    "jsonlog": "jsonlog",
    "telemetry": "telemetry",
}
# Issue 5 (lane), issue 6 (memory, redis); the observers' arms (issues 20, 23): within 3%.
TARGETS = {"lane": 0.95, "memory": 0.90, "redis": 0.70} | dict.fromkeys(
    (
        "capture",
        "metrics",
        "tracing",
        "traceall",
        "traceids",
        "tracenone",
        "jsonlog",
        "telemetry",
    ),
    0.97,
)
