#!/usr/bin/python3
"""Cold starts and cost per day of cutout on Cloud Run with one L4, for three warm-up strategies.

    deploy/cost_model.py                          the table for the built-in traffic patterns
    deploy/cost_model.py --pattern office         one pattern
    deploy/cost_model.py --hourly 0,0,0,0,0,0,0,2,10,20,20,20,10,20,20,20,10,5,2,0,0,0,0,0 --burst 3
    deploy/cost_model.py --markdown               the table as docs/deploy.md shows it

Strategies: scale to zero (min instances 0); scale to zero plus scheduler pings every N minutes during
business hours; min instances 1 (one instance up all day).

The model (one instance serves the traffic; see docs/deploy.md for its limits):
  * Uploads arrive in visits (bursts) of `burst` uploads at once; visits arrive as a Poisson process
    whose rate is constant within each hour of the day (requests per hour / burst).
  * An instance shuts down after `idle_timeout_s` without requests. A visit finds no instance, and
    all its uploads wait for a cold start, when no request or ping came in the last idle_timeout_s:
    probability exp(-rate * T) for Poisson visits, times the chance that no ping came either
    (1 - T/N for pings every N > T seconds, 0 when N <= T).
  * A cold start makes the visitor wait platform start + time to ready (the container's own start:
    `ready_s`, an input: the GPU figure is a target, not a measurement).
  * Billing is instance-based (GPU services): an instance is billed from its start to its shutdown,
    so the billed time is the share of the day an instance is up, plus each cold start's duration.
Prices are inputs (PRICES below, with where and when they were read), not facts.
"""
import argparse
import math
import sys
from dataclasses import dataclass, field, replace

HOURS = 24

# Cloud Run, Tier 1 region, instance-based billing, NVIDIA L4 without zonal redundancy. Read
# 2026-11-27 from third-party summaries of https://cloud.google.com/run/pricing (the page itself was
# not reachable from here): check them there before relying on the table.
PRICES = {
    "gpu_per_s": 0.0001867,        # L4, no zonal redundancy (~$0.672/h)
    "vcpu_per_s": 0.000018,        # instance-based billing
    "gib_per_s": 0.000002,         # instance-based billing
    "scheduler_job_per_month": 0.10,
}


@dataclass(frozen=True)
class Inputs:
    hourly: tuple                  # requests (uploads) per hour, 24 values, hour 0 = midnight
    burst: float = 1.0             # uploads per visit (>= 1): burstiness
    idle_timeout_s: float = 600.0  # Cloud Run keeps an idle GPU instance about 10 min
    ready_s: float = 2.0           # container start to /health 200 (project target on an L4)
    platform_start_s: float = 5.0  # Cloud Run's GPU instance start, drivers included (~5 s, Google)
    vcpu: float = 4.0
    memory_gib: float = 16.0
    ping_interval_min: float = 8.0
    business_hours: tuple = (8, 18)  # pings from the first hour up to (not including) the second
    prices: dict = field(default_factory=lambda: dict(PRICES))

    def validate(self):
        if len(self.hourly) != HOURS:
            raise ValueError(f"hourly needs {HOURS} values, got {len(self.hourly)}")
        if any(r < 0 for r in self.hourly):
            raise ValueError("requests per hour cannot be negative")
        if self.burst < 1:
            raise ValueError("burst is uploads per visit: at least 1")
        if self.idle_timeout_s <= 0 or self.ping_interval_min <= 0:
            raise ValueError("idle timeout and ping interval must be positive")
        start, end = self.business_hours
        if not 0 <= start < end <= HOURS:
            raise ValueError("business hours must satisfy 0 <= start < end <= 24")
        return self


@dataclass(frozen=True)
class Result:
    strategy: str
    cold_starts_per_day: float     # cold starts that a visitor waits for
    cold_share: float              # share of uploads that wait for a cold start
    cold_wait_s: float             # how long such an upload waits
    instance_hours: float          # billed instance time per day
    cost_per_day: float


def instance_cost_per_s(inputs):
    p = inputs.prices
    return p["gpu_per_s"] + inputs.vcpu * p["vcpu_per_s"] + inputs.memory_gib * p["gib_per_s"]


def _down_probability(rate_per_hour, burst, idle_s, ping_s):
    """For one hour: the share of time no instance is up, which is also (Poisson arrivals see time
    averages) the probability that a visit finds none: no visit and no ping in the last idle_s."""
    visits_per_s = rate_per_hour / burst / 3600.0
    no_visit = math.exp(-visits_per_s * idle_s)
    no_ping = 1.0 if ping_s is None else max(0.0, 1.0 - idle_s / ping_s)
    return no_visit * no_ping


def _in_business_hours(inputs, hour):
    start, end = inputs.business_hours
    return start <= hour < end


def evaluate(inputs, strategy):
    """One strategy: 'scale-to-zero', 'scheduler' or 'min-instances'."""
    inputs.validate()
    cold_wait = inputs.platform_start_s + inputs.ready_s
    per_s = instance_cost_per_s(inputs)
    uploads = float(sum(inputs.hourly))
    if strategy == "min-instances":
        up_s = HOURS * 3600.0
        return Result(strategy, 0.0, 0.0, cold_wait, up_s / 3600.0, up_s * per_s)
    if strategy not in ("scale-to-zero", "scheduler"):
        raise ValueError(f"unknown strategy {strategy}")

    cold_starts = cold_uploads = up_s = 0.0
    pings = 0
    for hour, rate in enumerate(inputs.hourly):
        ping_s = None
        if strategy == "scheduler" and _in_business_hours(inputs, hour):
            ping_s = inputs.ping_interval_min * 60.0
            pings += int(round(3600.0 / ping_s))
        p_down = _down_probability(rate, inputs.burst, inputs.idle_timeout_s, ping_s)
        cold_starts += rate / inputs.burst * p_down
        cold_uploads += rate * p_down
        up_s += 3600.0 * (1.0 - p_down)
    # After the last ping of the day the instance stays up for the rest of its idle timeout.
    if strategy == "scheduler" and pings:
        ping_s = inputs.ping_interval_min * 60.0
        after = inputs.hourly[inputs.business_hours[1] % HOURS]
        no_visit_after = math.exp(-after / inputs.burst / 3600.0 * inputs.idle_timeout_s)
        up_s += max(0.0, inputs.idle_timeout_s - ping_s) * no_visit_after
    # Every cold start, a visitor's or a ping's, is billed for its duration too.
    ping_cold_starts = 0.0
    if strategy == "scheduler" and pings:
        ping_s = inputs.ping_interval_min * 60.0
        if ping_s <= inputs.idle_timeout_s:
            ping_cold_starts = 1.0 if _first_window_hour_cold(inputs) else 0.0
        else:
            ping_cold_starts = pings * _ping_cold_probability(inputs)
    up_s = min(HOURS * 3600.0, up_s + (cold_starts + ping_cold_starts) * cold_wait)
    cost = up_s * per_s
    if strategy == "scheduler":
        cost += inputs.prices["scheduler_job_per_month"] * 12 / 365
    share = cold_uploads / uploads if uploads else 0.0
    return Result(strategy, cold_starts, share, cold_wait, up_s / 3600.0, cost)


def _first_window_hour_cold(inputs):
    """Whether the first ping of the day starts an instance: no visit in the idle window before it."""
    start = inputs.business_hours[0]
    before = inputs.hourly[start - 1] if start > 0 else inputs.hourly[HOURS - 1]
    p_warm = 1.0 - math.exp(-before / inputs.burst / 3600.0 * inputs.idle_timeout_s)
    return p_warm < 0.5


def _ping_cold_probability(inputs):
    """Pings sparser than the idle timeout: each finds no instance unless a visit came recently."""
    start, end = inputs.business_hours
    rates = inputs.hourly[start:end]
    mean_rate = sum(rates) / len(rates)
    return math.exp(-mean_rate / inputs.burst / 3600.0 * inputs.idle_timeout_s)


STRATEGIES = ("scale-to-zero", "scheduler", "min-instances")

# Requests per hour, hour 0 = midnight (local time of the business hours).
PATTERNS = {
    "office": ((0,) * 8 + (10, 20, 30, 30, 20, 30, 30, 20, 10, 5) + (0,) * 6, 3.0,
               "office tool: 205 uploads in 08-18, visits of 3 uploads"),
    "sparse": ((0,) * 9 + (2, 2, 2, 2, 2, 2, 2, 2) + (0,) * 7, 1.0,
               "a few uploads an hour, 09-17, one at a time"),
    "steady": ((5,) * 24, 1.0, "5 uploads an hour around the clock"),
    "busy": ((20,) * 8 + (200,) * 10 + (20,) * 6, 2.0, "200/h in business hours, 20/h at night"),
}


def pattern_inputs(name, **overrides):
    hourly, burst, _ = PATTERNS[name]
    return replace(Inputs(hourly=tuple(hourly), burst=burst), **overrides)


def table(rows, markdown):
    head = ("pattern", "strategy", "uploads/day", "cold starts/day", "uploads hitting one",
            "instance h/day", "$/day")
    lines = []
    for name, inputs in rows:
        for s in STRATEGIES:
            r = evaluate(inputs, s)
            label = s if s != "scheduler" else f"pings every {inputs.ping_interval_min:g} min"
            lines.append((name, label, f"{sum(inputs.hourly):g}", f"{r.cold_starts_per_day:.1f}",
                          f"{100 * r.cold_share:.1f}%", f"{r.instance_hours:.2f}",
                          f"{r.cost_per_day:.2f}"))
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(l) + " |" for l in lines]
        return "\n".join(out)
    widths = [max(len(x) for x in col) for col in zip(head, *lines)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join(fmt.format(*l) for l in [head] + lines)


def describe_inputs(inputs):
    p = inputs.prices
    start, end = inputs.business_hours
    return (f"inputs: idle timeout {inputs.idle_timeout_s:g} s, time to ready {inputs.ready_s:g} s "
            f"+ platform start {inputs.platform_start_s:g} s, {inputs.vcpu:g} vCPU, "
            f"{inputs.memory_gib:g} GiB, pings every {inputs.ping_interval_min:g} min "
            f"{start:02d}:00-{end:02d}:00; prices: L4 ${p['gpu_per_s']:.7f}/s, "
            f"vCPU ${p['vcpu_per_s']:.7f}/s, GiB ${p['gib_per_s']:.7f}/s "
            f"(instance ${instance_cost_per_s(inputs) * 3600:.3f}/h), "
            f"scheduler job ${p['scheduler_job_per_month']}/month")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pattern", choices=sorted(PATTERNS), action="append",
                    help="built-in traffic pattern (repeatable; default: all)")
    ap.add_argument("--hourly", help="24 comma-separated requests per hour (instead of --pattern)")
    ap.add_argument("--burst", type=float, help="uploads per visit (default: the pattern's, or 1)")
    ap.add_argument("--idle-timeout-s", type=float, default=600.0)
    ap.add_argument("--ready-s", type=float, default=2.0,
                    help="time to ready inside the container (default 2: the GPU target, not measured)")
    ap.add_argument("--platform-start-s", type=float, default=5.0)
    ap.add_argument("--ping-interval-min", type=float, default=8.0)
    ap.add_argument("--business-hours", default="8-18", help="START-END, hours of the day")
    ap.add_argument("--vcpu", type=float, default=4.0)
    ap.add_argument("--memory-gib", type=float, default=16.0)
    for key, value in PRICES.items():
        ap.add_argument("--" + key.replace("_", "-"), type=float, default=value, dest=key)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)

    try:
        start, end = (int(x) for x in args.business_hours.split("-"))
    except ValueError:
        ap.error("--business-hours must look like 8-18")
    common = dict(idle_timeout_s=args.idle_timeout_s, ready_s=args.ready_s,
                  platform_start_s=args.platform_start_s, ping_interval_min=args.ping_interval_min,
                  business_hours=(start, end), vcpu=args.vcpu, memory_gib=args.memory_gib,
                  prices={k: getattr(args, k) for k in PRICES})
    rows = []
    try:
        if args.hourly:
            hourly = tuple(float(x) for x in args.hourly.split(","))
            rows.append(("custom", Inputs(hourly=hourly, burst=args.burst or 1.0, **common).validate()))
        else:
            for name in args.pattern or PATTERNS:
                inputs = pattern_inputs(name, **common)
                if args.burst:
                    inputs = replace(inputs, burst=args.burst)
                rows.append((name, inputs.validate()))
    except ValueError as e:
        ap.error(str(e))
    print(table(rows, args.markdown))
    print()
    print(describe_inputs(rows[0][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
