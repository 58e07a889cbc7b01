"""Unit tests of deploy/cost_model.py, and the docs' table against the tool's output."""
import contextlib
import io
import math
import os
import sys
import unittest
from dataclasses import replace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "deploy"))
import cost_model as cm  # noqa: E402

PER_S = cm.instance_cost_per_s(cm.Inputs(hourly=(0,) * 24))


def flat(rate, **kw):
    return cm.Inputs(hourly=(rate,) * 24, **kw)


class ScaleToZero(unittest.TestCase):
    def test_no_traffic_costs_nothing(self):
        r = cm.evaluate(flat(0), "scale-to-zero")
        self.assertEqual((r.cold_starts_per_day, r.cold_share, r.instance_hours, r.cost_per_day), (0, 0, 0, 0))

    def test_poisson_closed_form(self):
        # 6 visits/h with a 600 s idle timeout: rate x timeout = 1, so a visit finds no instance
        # with probability e^-1, and an instance is up 1 - e^-1 of the time plus its cold starts.
        inputs = flat(6, idle_timeout_s=600, ready_s=2, platform_start_s=5)
        r = cm.evaluate(inputs, "scale-to-zero")
        p = math.exp(-1)
        self.assertAlmostEqual(r.cold_share, p, places=12)
        self.assertAlmostEqual(r.cold_starts_per_day, 24 * 6 * p, places=9)
        up_s = 24 * 3600 * (1 - p) + 24 * 6 * p * 7
        self.assertAlmostEqual(r.instance_hours, up_s / 3600, places=9)
        self.assertAlmostEqual(r.cost_per_day, up_s * PER_S, places=9)
        self.assertEqual(r.cold_wait_s, 7)

    def test_uploads_in_a_burst_share_one_cold_start(self):
        # 12 uploads/h as 3 visits of 4: each visit finds no instance with probability e^-0.5 and
        # all 4 of its uploads wait for the one cold start.
        single = cm.evaluate(flat(12, burst=1), "scale-to-zero")
        bursty = cm.evaluate(flat(12, burst=4), "scale-to-zero")
        self.assertAlmostEqual(bursty.cold_starts_per_day, 24 * 3 * math.exp(-0.5))
        self.assertAlmostEqual(bursty.cold_share, math.exp(-0.5))
        self.assertGreater(bursty.cold_share, single.cold_share, "fewer, larger visits: more find none")

    def test_longer_idle_timeout_fewer_cold_starts_more_hours(self):
        short = cm.evaluate(flat(4, idle_timeout_s=300), "scale-to-zero")
        long = cm.evaluate(flat(4, idle_timeout_s=900), "scale-to-zero")
        self.assertLess(long.cold_starts_per_day, short.cold_starts_per_day)
        self.assertGreater(long.instance_hours, short.instance_hours)

    def test_heavy_traffic_is_always_warm(self):
        r = cm.evaluate(flat(3600), "scale-to-zero")
        self.assertLess(r.cold_share, 1e-9)
        self.assertAlmostEqual(r.instance_hours, 24, places=6)

    def test_time_to_ready_is_billed_per_cold_start(self):
        fast = cm.evaluate(flat(2, ready_s=2), "scale-to-zero")
        slow = cm.evaluate(flat(2, ready_s=62), "scale-to-zero")
        self.assertAlmostEqual(slow.instance_hours - fast.instance_hours, fast.cold_starts_per_day * 60 / 3600)
        self.assertEqual(slow.cold_wait_s - fast.cold_wait_s, 60)


class Scheduler(unittest.TestCase):
    def office(self, **kw):
        hourly = (0,) * 9 + (4,) * 8 + (0,) * 7      # traffic only 09-17
        return cm.Inputs(hourly=hourly, business_hours=(8, 18), **kw)

    def test_pings_inside_the_idle_timeout_remove_cold_starts(self):
        r = cm.evaluate(self.office(ping_interval_min=8, idle_timeout_s=600), "scheduler")
        self.assertEqual(r.cold_starts_per_day, 0)
        self.assertEqual(r.cold_share, 0)
        # Up 08-18, plus the idle tail after the last ping, plus the first ping's cold start.
        expected_h = 10 + (600 - 480) / 3600 + 7 / 3600
        self.assertAlmostEqual(r.instance_hours, expected_h, places=9)
        self.assertAlmostEqual(r.cost_per_day, expected_h * 3600 * PER_S + 0.10 * 12 / 365, places=9)

    def test_pings_beyond_the_idle_timeout_leave_gaps(self):
        r = cm.evaluate(self.office(ping_interval_min=20, idle_timeout_s=600), "scheduler")
        z = cm.evaluate(self.office(ping_interval_min=20, idle_timeout_s=600), "scale-to-zero")
        self.assertGreater(r.cold_share, 0)
        self.assertAlmostEqual(r.cold_share, z.cold_share * (1 - 600 / 1200))

    def test_scheduler_only_acts_in_business_hours(self):
        night = cm.Inputs(hourly=(3,) * 8 + (0,) * 16, business_hours=(8, 18))
        r = cm.evaluate(night, "scheduler")
        z = cm.evaluate(night, "scale-to-zero")
        self.assertAlmostEqual(r.cold_starts_per_day, z.cold_starts_per_day)


class MinInstances(unittest.TestCase):
    def test_always_up(self):
        r = cm.evaluate(flat(1), "min-instances")
        self.assertEqual(r.cold_starts_per_day, 0)
        self.assertEqual(r.instance_hours, 24)
        self.assertAlmostEqual(r.cost_per_day, 24 * 3600 * PER_S)

    def test_prices_are_inputs(self):
        prices = dict(cm.PRICES, gpu_per_s=2 * cm.PRICES["gpu_per_s"])
        base = cm.evaluate(flat(1), "min-instances")
        dear = cm.evaluate(flat(1, prices=prices), "min-instances")
        self.assertAlmostEqual(dear.cost_per_day - base.cost_per_day, 24 * 3600 * cm.PRICES["gpu_per_s"])


class Validation(unittest.TestCase):
    def test_bad_inputs(self):
        with self.assertRaises(ValueError):
            cm.evaluate(cm.Inputs(hourly=(1,) * 23), "scale-to-zero")
        with self.assertRaises(ValueError):
            cm.evaluate(flat(1, burst=0.5), "scale-to-zero")
        with self.assertRaises(ValueError):
            cm.evaluate(flat(-1), "scale-to-zero")
        with self.assertRaises(ValueError):
            cm.evaluate(flat(1, business_hours=(18, 8)), "scheduler")
        with self.assertRaises(ValueError):
            cm.evaluate(flat(1), "warm-pool")

    def test_cli(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(cm.main(["--hourly", ",".join(["6"] * 24), "--ready-s", "3"]), 0)
        self.assertIn("custom", out.getvalue())
        self.assertIn("time to ready 3 s", out.getvalue())
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as e:
            cm.main(["--hourly", "1,2,3"])
        self.assertEqual(e.exception.code, 2)


class DocsTable(unittest.TestCase):
    def test_docs_show_the_tools_current_table(self):
        with open(os.path.join(ROOT, "docs/deploy.md")) as f:
            text = f.read()
        begin, end = "<!-- cost-table:begin -->", "<!-- cost-table:end -->"
        self.assertIn(begin, text)
        shown = text.split(begin, 1)[1].split(end, 1)[0].strip()
        rows = [(name, cm.pattern_inputs(name)) for name in cm.PATTERNS]
        expected = cm.table(rows, markdown=True) + "\n\n" + cm.describe_inputs(rows[0][1])
        self.assertEqual(shown, expected, "regenerate with: deploy/cost_model.py --markdown")


if __name__ == "__main__":
    unittest.main(verbosity=2)
