#!/usr/bin/python3
"""deploy/service.yaml: the fields the L4 service needs, the probe arithmetic, and the deploy and
warm-up scripts' plans (run with DRY_RUN=1: every gcloud command printed, none run).

    check_service_yaml.py REPO_ROOT SERVER_BINARY
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

ROOT = SERVER = None
GPU_STARTUP_LIMIT_S = 1800     # Cloud Run: failureThreshold x periodSeconds, GPU services
INITIAL_DELAY_LIMIT_S = 240    # Cloud Run's cap on initialDelaySeconds
SLOW_FIRST_START_S = 120       # at least twice the ~60 s cold starts seen before (docs/deploy.md)
PIN = "0a" * 32                # a well-formed LIBTORCH_SHA256 for the dry runs
GPU_IDLE_TIMEOUT_S = 600       # Cloud Run keeps an idle GPU instance about 10 minutes


def memory_gib(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Gi|Mi|G|M)", str(text))
    if not m:
        raise ValueError(f"memory {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    return {"Gi": value, "Mi": value / 1024, "G": value * 1e9 / 2**30, "M": value * 1e6 / 2**30}[unit]


def server_env_names():
    out = subprocess.run([SERVER, "--help"], check=True, capture_output=True, text=True).stdout
    return set(re.findall(r"\(Env:([A-Z0-9_]+)\)", out))


def dry_run(script, **env):
    full = dict(os.environ, DRY_RUN="1", PROJECT_ID="test-project", REGION="europe-west4", **env)
    proc = subprocess.run([os.path.join(ROOT, "deploy", script)], env=full, capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"{script} (dry run) failed: {proc.stderr}")
    return proc.stdout


def commands(output):
    return [l[2:] for l in output.splitlines() if l.startswith("+ ")]


class ServiceYaml(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "deploy/service.yaml")) as f:
            cls.doc = yaml.safe_load(f)
        cls.template = cls.doc["spec"]["template"]
        cls.annotations = cls.template["metadata"]["annotations"]
        cls.spec = cls.template["spec"]
        (cls.container,) = cls.spec["containers"]
        cls.env = {e["name"]: e["value"] for e in cls.container.get("env", [])}

    def test_kind(self):
        self.assertEqual(self.doc["apiVersion"], "serving.knative.dev/v1")
        self.assertEqual(self.doc["kind"], "Service")

    def test_gpu_and_resources(self):
        self.assertEqual(self.spec["nodeSelector"], {"run.googleapis.com/accelerator": "nvidia-l4"})
        limits = self.container["resources"]["limits"]
        self.assertEqual(limits["nvidia.com/gpu"], "1")
        self.assertIsInstance(limits["cpu"], str, "quoted, as Knative expects")
        self.assertGreaterEqual(float(limits["cpu"]), 4, "an L4 needs at least 4 vCPU")
        self.assertGreaterEqual(memory_gib(limits["memory"]), 16, "an L4 needs at least 16 GiB")

    def test_annotations(self):
        a = self.annotations
        for key in a:
            self.assertIsInstance(a[key], str, f"{key}: annotation values are strings")
        self.assertEqual(a["run.googleapis.com/cpu-throttling"], "false", "instance-based billing")
        self.assertEqual(a["run.googleapis.com/startup-cpu-boost"], "true")
        self.assertIn(a.get("run.googleapis.com/gpu-zonal-redundancy-disabled"), ("true", "false"),
                      "zonal redundancy: an explicit choice")
        self.assertEqual(a["autoscaling.knative.dev/minScale"], "0", "scale to zero by default")
        self.assertGreaterEqual(int(a["autoscaling.knative.dev/maxScale"]), 1)

    def test_concurrency_fits_one_gpu_and_the_queue(self):
        concurrency = self.spec["containerConcurrency"]
        queue = int(self.env["CUTOUT_QUEUE_DEPTH"])
        threads = int(self.env["CUTOUT_HTTP_THREADS"])
        self.assertGreaterEqual(concurrency, 1)
        self.assertLessEqual(concurrency, queue, "Cloud Run would send requests the queue refuses")
        self.assertGreater(threads, concurrency, "probes need a free worker thread at full load")
        self.assertLessEqual(concurrency, 16, "one GPU: a bounded queue, not a backlog")

    def test_env_names_are_server_settings(self):
        names = server_env_names()
        self.assertNotIn("PORT", self.env, "Cloud Run sets PORT itself")
        for name in self.env:
            self.assertIn(name, names, f"{name} is not a cutout-server setting")
        self.assertEqual(self.env.get("CUTOUT_DEVICE"), "cuda", "fail the start without a GPU")

    def test_probes(self):
        port = self.container["ports"][0]["containerPort"]
        self.assertEqual(self.container["ports"][0].get("name"), "http1")
        start = self.container["startupProbe"]
        live = self.container["livenessProbe"]
        self.assertEqual(start["httpGet"]["path"], "/health", "readiness: 503 while loading")
        self.assertEqual(live["httpGet"]["path"], "/health/live", "liveness: independent of the model")
        for probe in (start, live):
            self.assertEqual(probe["httpGet"].get("port", port), port)
            self.assertLessEqual(probe["timeoutSeconds"], probe["periodSeconds"])
        delay = start.get("initialDelaySeconds", 0)
        total = delay + start["periodSeconds"] * start["failureThreshold"]
        self.assertLessEqual(delay, INITIAL_DELAY_LIMIT_S)
        self.assertLessEqual(total, GPU_STARTUP_LIMIT_S, "over Cloud Run's GPU startup limit")
        self.assertGreaterEqual(total, SLOW_FIRST_START_S, "a slow first start would be killed")
        self.assertLessEqual(start["periodSeconds"], 2, "a long period adds itself to every cold start")
        hang_detect = live["periodSeconds"] * live["failureThreshold"]
        self.assertLessEqual(hang_detect, 60, "a hung server should be restarted within a minute")
        self.assertGreaterEqual(hang_detect, 10, "one slow answer must not restart the instance")
        print(f"startup probe: {delay} + {start['failureThreshold']} x {start['periodSeconds']} s = "
              f"{total} s (limit {GPU_STARTUP_LIMIT_S}); liveness: {live['failureThreshold']} x "
              f"{live['periodSeconds']} s = {hang_detect} s")

    def test_timeout_covers_a_cold_start(self):
        start = self.container["startupProbe"]
        self.assertGreaterEqual(self.spec["timeoutSeconds"], 60)
        self.assertLessEqual(self.spec["timeoutSeconds"], 3600)
        self.assertGreater(start["periodSeconds"] * start["failureThreshold"], 0)


class DeployScripts(unittest.TestCase):
    def test_deploy_renders_the_yaml(self):
        with tempfile.TemporaryDirectory() as tmp:
            rendered = os.path.join(tmp, "service.yaml")
            out = dry_run("deploy.sh", RENDERED=rendered, TAG="abc1234", LIBTORCH_SHA256=PIN)
            with open(rendered) as f:
                text = f.read()
            doc = yaml.safe_load(text)
        image = "europe-west4-docker.pkg.dev/test-project/cutout/cutout:abc1234"
        self.assertEqual(doc["spec"]["template"]["spec"]["containers"][0]["image"], image)
        self.assertEqual(doc["metadata"]["name"], "cutout")
        self.assertEqual(doc["metadata"]["labels"]["cloud.googleapis.com/location"], "europe-west4")
        self.assertEqual(doc["spec"]["template"]["spec"]["serviceAccountName"],
                         "cutout-run@test-project.iam.gserviceaccount.com")
        self.assertNotIn("${", re.sub(r"#.*", "", text))
        env = {e["name"]: e["value"] for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]}
        self.assertEqual(env["GOOGLE_CLOUD_PROJECT"], "test-project", "trace field's project")
        self.assertEqual(env["CUTOUT_TRUSTED_PROXY_HOPS"], "1", "Google's front end")
        cmds = commands(out)
        self.assertTrue(any(c.startswith("gcloud builds submit") and f"_IMAGE={image}" in c
                            and f"_LIBTORCH_SHA256={PIN}" in c for c in cmds))
        self.assertTrue(any(c.startswith("gcloud run services replace") for c in cmds))
        self.assertFalse(any("allUsers" in c for c in cmds), "private unless asked")

    def test_deploy_with_an_existing_image_skips_the_build(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = dry_run("deploy.sh", RENDERED=os.path.join(tmp, "s.yaml"), IMAGE="example/cutout:1",
                          ALLOW_UNAUTHENTICATED="1")
        cmds = commands(out)
        self.assertFalse(any(c.startswith("gcloud builds") for c in cmds))
        self.assertTrue(any("allUsers" in c for c in cmds))

    def test_warmup_job(self):
        out = dry_run("warmup-create.sh")
        cmds = commands(out)
        (create,) = [c for c in cmds if c.startswith("gcloud scheduler jobs create http")]
        self.assertIn("/warmup", create)
        self.assertIn("--http-method GET", create)
        self.assertIn("--oidc-service-account-email cutout-warmup@test-project.iam.gserviceaccount.com", create)
        self.assertTrue(any("add-iam-policy-binding" in c and "roles/run.invoker" in c for c in cmds))
        schedule = re.search(r"--schedule (\S+(?:\\ \S+)*)", create).group(1).replace("\\", "")
        minute = schedule.split()[0]
        m = re.fullmatch(r"\*/(\d+)", minute)
        self.assertTrue(m, f"pings at a fixed interval: {schedule}")
        self.assertLess(int(m.group(1)) * 60, GPU_IDLE_TIMEOUT_S, "pings must come before the idle timeout")

    def test_warmup_ends_before_the_request_timeout(self):
        """The server's warmup_timeout (503 with the phase) must come before Cloud Run's 504, with a
        margin for what happens before the server's clock starts (docs/deploy.md)."""
        with open(os.path.join(ROOT, "deploy/service.yaml")) as f:
            request_timeout_s = yaml.safe_load(f)["spec"]["template"]["spec"]["timeoutSeconds"]
        (create,) = [c for c in commands(dry_run("warmup-create.sh")) if c.startswith("gcloud scheduler jobs create")]
        timeout_ms = int(re.search(r"/warmup\\*\?timeout_ms=(\d+)", create).group(1))
        self.assertLessEqual(timeout_ms / 1000 + 20, request_timeout_s, "20 s margin before the request timeout")
        deadline = int(re.search(r"--attempt-deadline (\d+)s", create).group(1))
        self.assertGreaterEqual(deadline, request_timeout_s, "the job waits for Cloud Run's answer")
        # A setting that leaves no margin is refused.
        proc = subprocess.run([os.path.join(ROOT, "deploy/warmup-create.sh")],
                              env=dict(os.environ, DRY_RUN="1", PROJECT_ID="p", REGION="r",
                                       WARMUP_TIMEOUT_MS=str(request_timeout_s * 1000)),
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("request timeout", proc.stderr)

    def test_deploy_build_needs_the_libtorch_pin(self):
        full = dict(os.environ, DRY_RUN="1", PROJECT_ID="p", REGION="r")
        full.pop("LIBTORCH_SHA256", None)
        proc = subprocess.run([os.path.join(ROOT, "deploy/deploy.sh")], env=full, capture_output=True,
                              text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("LIBTORCH_SHA256", proc.stderr)

    def test_metrics_sidecar(self):
        """The Prometheus sidecar scrapes the loopback metrics listener the server is told to open,
        with the RunMonitoring config from Secret Manager; /metrics never goes on the public port."""
        with open(os.path.join(ROOT, "deploy/metrics/rungmp-config.yaml")) as f:
            config = yaml.safe_load(f)
        self.assertEqual(config["kind"], "RunMonitoring")
        (endpoint,) = config["spec"]["endpoints"]
        self.assertEqual(endpoint["path"], "/metrics")
        port = int(endpoint["port"])
        with open(os.path.join(ROOT, "deploy/service.yaml")) as f:
            container = yaml.safe_load(f)["spec"]["template"]["spec"]["containers"][0]
        self.assertNotEqual(port, container["ports"][0]["containerPort"], "not the public port")
        env = {e["name"]: e["value"] for e in container["env"]}
        self.assertNotIn("CUTOUT_METRICS_PUBLIC", env)
        cmds = commands(dry_run("metrics-sidecar.sh"))
        (update,) = [c for c in cmds if c.startswith("gcloud run services update")]
        self.assertIn(f"--container {container['name']} --update-env-vars CUTOUT_METRICS_PORT={port}", update)
        self.assertIn("--container collector --image us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/", update)
        self.assertIn("/etc/rungmp/config.yaml=cutout-rungmp-config:latest", update)
        self.assertTrue(any("secretmanager.secretAccessor" in c for c in cmds))
        self.assertTrue(any("monitoring.metricWriter" in c for c in cmds))
        # The server accepts the variable (the metrics listener's host defaults to loopback).
        self.assertIn("CUTOUT_METRICS_PORT", server_env_names())

    def test_warmup_teardown(self):
        cmds = commands(dry_run("warmup-delete.sh", DELETE_SERVICE_ACCOUNT="1"))
        # In a dry run nothing is assumed to exist: nothing to delete, and nothing fails.
        self.assertFalse(any(" create " in c for c in cmds))


if __name__ == "__main__":
    ROOT = os.path.abspath(sys.argv.pop(1))
    SERVER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
