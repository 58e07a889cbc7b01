"""Issue 14, item 3: no memory budget across requests (4 concurrent 50 MP WebP outputs: 5.6 GB).

Expected (What to build): each request's peak estimated from its header and admitted against a
budget (cgroup limit or a flag), else 503 `busy` with Retry-After. The case sets the budget with
BUDGET_FLAG (in bytes)."""
import concurrent.futures

import harness
import payloads
from registry import case

BUDGET_FLAG = "--memory-budget-bytes"


@case(3, "4 concurrent large uploads over a budget: some 503 busy + Retry-After, some 200, RSS growth <= budget")
def concurrent_large_over_budget(ctx):
    v = harness.Verdict()
    (w, h), budget_mib, n = ctx.size(((2000, 1500), 400, 4), ((8660, 5773), 2048, 4))
    flag_known = harness.has_flag(ctx, BUDGET_FLAG)
    v.check(f"server has {BUDGET_FLAG}", flag_known, flag_known)
    flags = [BUDGET_FLAG, budget_mib * 2**20] if flag_known else []  # without it: measure what it costs now
    image = payloads.jpeg(w, h)
    with harness.Server(ctx, ctx.model("tiny.pt"), *flags, name="budget") as srv:
        srv.ready()
        with srv.sample() as mem, concurrent.futures.ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(lambda _: harness.upload(srv.port, image, "?format=webp", timeout=300), range(n)))
        busy = [a for a in answers if a.status == 503 and a.error_type() == "busy"]
        ok = [a for a in answers if a.status == 200]
        v.figures.update(requests=n, picture=f"{w}x{h}", output="webp", budget_mib=budget_mib if flag_known else None,
                         answers=[repr(a) for a in answers], seconds=max(a.seconds or 0 for a in answers),
                         rss_growth_mib=mem.growth_mib, rss_before_mib=mem.before)
        v.check("every answer 200 or 503 busy", [repr(a) for a in answers], len(busy) + len(ok) == n)
        v.check("at least one 503 busy, each with Retry-After", len(busy),
                busy and all("retry-after" in a.headers for a in busy))
        v.check("at least one 200", len(ok), len(ok) > 0)
        v.check(f"RSS growth <= {budget_mib} MiB", f"{mem.growth_mib} MiB", mem.growth_mib <= budget_mib)
    return v
