#!/usr/bin/python3
"""Structure of the Dockerfile, checked without a Docker engine.

    check_dockerfile.py REPO_ROOT

Stages and targets; every base image and download pinned (tags, snapshot dates, versions, sha256);
ARG scoping (a stage uses only the ARGs it declares); apt pinned to the snapshot; the model baked in
at build time from the model stage; runtime stages: non-root USER, exec-form ENTRYPOINT, EXPOSE
matching PORT, CUTOUT_MODEL pointing at the baked file, CUDA_MODULE_LOADING=LAZY, no CUDA devel
image; COPY sources present in the repository and not excluded by .dockerignore.
"""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_context as bc  # noqa: E402
import dockerfile as df  # noqa: E402

ROOT = None
RUNTIME_STAGES = ("cpu", "cuda")
EXPECTED_STAGES = ["model-inspyrenet", "model-file", "model", "build-cpu", "cpu", "build-cuda", "cuda"]


def load():
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        return df.Dockerfile(f.read())


# Docker's rules (the last matching pattern decides; `*` stays within a path element, `**` spans
# them), shared with the stage-build test.
dockerignored = bc.dockerignored


class DockerfileStructure(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = load()

    def test_stages_and_default_target(self):
        self.assertEqual(self.d.names(), EXPECTED_STAGES)
        self.assertEqual(self.d.stages[-1].name, "cuda", "the default target (last stage) is the GPU image")

    def test_base_images_pinned(self):
        names = set(self.d.names())
        for stage in self.d.stages:
            ref = self.d.from_image(stage)
            if ref in names or ref == "scratch":
                continue
            self.assertNotIn("$", ref, f"{stage.name}: unexpanded FROM {stage.image}")
            name, _, tag = ref.rpartition(":")
            self.assertTrue(name and tag, f"{stage.name}: FROM {ref} has no tag")
            self.assertFalse(tag.startswith("latest"), f"{stage.name}: FROM {ref}")
            self.assertRegex(tag, r"\d+\.\d+|\d{8}", f"{stage.name}: FROM {ref}: a moving tag, not a version or date")

    def test_model_stage_is_chosen_by_build_arg(self):
        model = self.d.stage("model")
        self.assertEqual(model.image, "model-${MODEL_SOURCE}")
        source = self.d.global_args["MODEL_SOURCE"]
        self.assertIn(f"model-{source}", self.d.names(), "MODEL_SOURCE's default names a stage")

    def test_version_args_have_defaults(self):
        for name, default in self.d.global_args.items():
            if name == "LIBTORCH_SHA256":
                continue   # no published value: the deployer sets it (test_libtorch_is_pinned)
            self.assertTrue(default, f"global ARG {name} has no default: the build is not pinned")
        self.assertRegex(self.d.global_args["INSPYRENET_CKPT_SHA256"], r"^[0-9a-f]{64}$")
        self.assertRegex(self.d.global_args["DEBIAN_SNAPSHOT"], r"^\d{8}T\d{6}Z$")
        self.assertRegex(self.d.global_args["UBUNTU_SNAPSHOT"], r"^\d{8}T\d{6}Z$")
        self.assertRegex(self.d.global_args["LIBTORCH_VERSION"], r"^\d+\.\d+\.\d+$")
        self.assertRegex(self.d.global_args["LIBTORCH_CUDA"], r"^cu\d+$")

    def test_stages_use_only_declared_args(self):
        for stage in self.d.stages:
            declared = set(stage.args)
            for ins in stage.instructions:
                if ins.keyword in ("RUN", "COPY", "ENV", "USER", "WORKDIR", "EXPOSE"):
                    used = df.variables(ins.args)
                    if ins.keyword == "RUN":
                        used -= {"PATH", "HOME"}   # shell variables of the image
                    missing = used - declared
                    self.assertFalse(missing, f"{stage.name} line {ins.line}: {sorted(missing)} not "
                                              f"declared with ARG in this stage (expands to empty)")

    def test_downloads_are_verified(self):
        for stage in self.d.stages:
            for run in stage.runs():
                if re.search(r"\b(curl|wget)\s+-", run):
                    self.assertIn("sha256sum", run, f"{stage.name}: a download without sha256sum")

    def test_libtorch_is_pinned(self):
        """The pin is required (an empty or malformed one stops the build before the download) and
        checked with sha256sum -c before the archive is unpacked."""
        self.assertIn("LIBTORCH_SHA256", self.d.global_args)
        default = self.d.global_args["LIBTORCH_SHA256"]
        self.assertTrue(default == "" or re.fullmatch(r"[0-9a-f]{64}", default), default)
        (run,) = [r for r in self.d.stage("build-cuda").runs() if "libtorch.zip" in r]
        refuse = run.find("grep -Eqx '[0-9a-f]{64}'")
        download = run.find("curl -fsSL")
        check = run.find('echo "${LIBTORCH_SHA256}  /tmp/libtorch.zip" | sha256sum -c -')
        unzip = run.find("unzip -q /tmp/libtorch.zip")
        self.assertTrue(0 <= refuse < download < check < unzip,
                        "refuse a missing pin, download, sha256sum -c, then unzip")
        self.assertNotIn('if [ -n "${LIBTORCH_SHA256}" ]', run, "the check is not optional")
        # The refusal itself, run by a shell as the build would (before any download).
        (guard,) = [r[:r.find(" && curl ")] for r in self.d.stage("build-cuda").runs() if "grep -Eqx" in r]
        for value, ok in (("", False), ("abc", False), ("A" * 64, False), ("0" * 64 + " x", False),
                          ("0a" * 32, True)):
            rc = subprocess.run(["sh", "-c", guard], env={"LIBTORCH_SHA256": value, "PATH": os.environ["PATH"]},
                                capture_output=True).returncode
            self.assertEqual(rc == 0, ok, f"LIBTORCH_SHA256={value!r}")
        with open(os.path.join(ROOT, "deploy/cloudbuild.yaml")) as f:
            self.assertIn("LIBTORCH_SHA256=${_LIBTORCH_SHA256}", f.read(), "Cloud Build passes the pin")

    def test_apt_is_pinned_to_the_snapshot(self):
        for stage in self.d.stages:
            for run in stage.runs():
                if "apt-get install" in run and "runtime-packages" not in run:
                    self.assertRegex(run, r"apt-pin \"\$\{(DEBIAN|UBUNTU)_SNAPSHOT\}\"",
                                     f"{stage.name}: apt-get install without the snapshot pin")
                if "apt-get install" in run:
                    self.assertIn("--no-install-recommends", run, stage.name)
                    self.assertIn("rm -rf /var/lib/apt/lists", run, f"{stage.name}: apt lists left in the layer")

    def test_model_export_uses_the_checkpoint_and_size(self):
        run = " ".join(self.d.stage("model-inspyrenet").runs())
        self.assertIn('models/export.py inspyrenet --checkpoint', run)
        self.assertIn('--size "${INSPYRENET_SIZE}"', run)
        self.assertEqual(self.d.global_args["INSPYRENET_SIZE"], "1024")
        self.assertIn("--out /model/model.pt", run)

    def test_runtime_stages(self):
        for name in RUNTIME_STAGES:
            with self.subTest(stage=name):
                stage = self.d.stage(name)
                scope = self.d.stage_scope(stage)
                users = stage.all("USER")
                self.assertEqual(len(users), 1, "one USER")
                user = df.expand(users[0].args, scope).split(":")[0]
                self.assertNotIn(user, ("", "root", "0"), "runs as root")
                last_run = max(i.line for i in stage.all("RUN"))
                self.assertGreater(users[0].line, last_run, "USER after the last RUN")
                self.assertIn(f"--uid \"${{APP_UID}}\"", " ".join(stage.runs()), "the user is created")

                entry = stage.all("ENTRYPOINT")
                self.assertEqual(len(entry), 1)
                argv = df.exec_form(entry[0].args)
                self.assertIsNotNone(argv, "ENTRYPOINT in exec form, so SIGTERM reaches the server")
                self.assertEqual(argv, ["/opt/cutout/bin/cutout-server"])
                self.assertFalse(stage.all("CMD"), "no CMD: settings come from the environment")

                env = {}
                for ins in stage.all("ENV"):
                    env.update(df.env_pairs(ins.args))
                exposed = [e.args for e in stage.all("EXPOSE")]
                self.assertEqual(exposed, [env["PORT"]], "EXPOSE matches the default PORT")

                copies = [df.copy_parts(c.args) for c in stage.all("COPY")]
                model_dest = [dest for src, _, dest in copies if src == "model"]
                self.assertEqual(model_dest, [env["CUTOUT_MODEL"]], "CUTOUT_MODEL is the baked model")
                binary = [dest for src, files, dest in copies if files and files[0].endswith("cutout-server")]
                self.assertEqual(binary, [argv[0]])
                self.assertTrue(any("not found" in r and "ldd" in r for r in stage.runs()),
                                "the build fails when a library is missing")

    def test_cuda_runtime(self):
        stage = self.d.stage("cuda")
        base = self.d.from_image(stage)
        self.assertIn("-base-", base, "runtime on the CUDA base flavour, not devel/cudnn")
        env = {}
        for ins in stage.all("ENV"):
            env.update(df.env_pairs(ins.args))
        self.assertEqual(env.get("CUDA_MODULE_LOADING"), "LAZY")
        copies = [df.copy_parts(c.args) for c in stage.all("COPY")]
        self.assertIn(("build-cuda", ["/opt/libtorch/lib"], "/opt/libtorch/lib"), copies,
                      "LibTorch's lib/ (with its CUDA libraries) at the binary's RPATH")
        self.assertIn(("build-cuda", ["/src/build/runtime-packages.txt"], "/tmp/runtime-packages.txt"), copies)
        self.assertTrue(any("xargs -a /tmp/runtime-packages.txt" in r and "apt-get install" in r
                            for r in stage.runs()))
        build = self.d.stage("build-cuda")
        self.assertIn("-devel-", self.d.from_image(build), "nvcc is needed by LibTorch's CMake package")
        run = " ".join(build.runs())
        self.assertIn("libtorch-cxx11-abi-shared-with-deps-${LIBTORCH_VERSION}%2B${LIBTORCH_CUDA}.zip", run)
        self.assertIn("unzip -q /tmp/libtorch.zip -d /opt", run)
        self.assertIn("-DCMAKE_PREFIX_PATH=/opt/libtorch", run)
        self.assertIn("runtime-packages.sh build/cutout-server /opt/libtorch/lib", run)

    def test_cpu_variant_mirrors_setup(self):
        stage = self.d.stage("build-cpu")
        self.assertIn("bookworm", self.d.from_image(stage))
        run = " ".join(stage.runs())
        with open(os.path.join(ROOT, "scripts/setup.sh")) as f:
            setup = f.read()
        for pkg in ("libtorch-dev", "libopencv-dev", "libcpp-httplib-dev", "nlohmann-json3-dev",
                    "libspdlog-dev", "libcli11-dev"):
            self.assertIn(pkg, setup, f"setup.sh no longer installs {pkg}: update the Dockerfile")
            self.assertIn(pkg, run)
        self.assertIn("-DCMAKE_BUILD_TYPE=Release", run)

    def test_copy_sources_exist_and_reach_the_context(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        for stage in self.d.stages:
            scope = self.d.stage_scope(stage)
            for ins in stage.all("COPY"):
                source, files, _ = df.copy_parts(ins.args)
                if source:
                    continue
                for f in files:
                    path = df.expand(f, scope).rstrip("/")
                    if stage.name == "model-file":
                        continue   # a file the builder provides (made by a script, never committed)
                    self.assertTrue(os.path.exists(os.path.join(ROOT, path)),
                                    f"{stage.name} line {ins.line}: {path} is not in the repository")
                    self.assertFalse(dockerignored(path, patterns),
                                     f"{stage.name} line {ins.line}: {path} is excluded by .dockerignore")
        self.assertTrue(dockerignored("build/cutout-server", patterns), "build/ stays out of the context")
        self.assertTrue(dockerignored(".git/HEAD", patterns))


class ContextRules(unittest.TestCase):
    """The matchers the stage-build test relies on, on known cases of Docker's and git's rules."""

    def test_dockerignore_rules(self):
        pats = ["*", "!src/", "src/**/*.tmp", "!bench/gpu/engine_bench.cmake", "docs/*.md", "**/__pycache__"]
        cases = {"src/a.cpp": False, "src/x/y.tmp": True, "top.txt": True, "bench/gpu/engine_bench.cmake": False,
                 "bench/gpu/run.sh": True, "src/m/__pycache__/z.pyc": True}
        for path, excluded in cases.items():
            self.assertEqual(dockerignored(path, pats), excluded, path)
        # `*` stays within one path element.
        self.assertTrue(dockerignored("docs/a.md", ["docs/*.md"]))
        self.assertFalse(dockerignored("docs/x/a.md", ["docs/*.md"]))

    def test_gcloudignore_is_read_with_gits_rules(self):
        import tempfile
        with tempfile.TemporaryDirectory() as root:
            with open(os.path.join(root, ".gcloudignore"), "w") as f:
                f.write("bench/*\n!bench/gpu/\nbench/gpu/*\n!bench/gpu/keep.cmake\nbuild/\n")
            paths = ["bench/gpu/keep.cmake", "bench/gpu/run.sh", "bench/x.py", "build/a", "src/b.cpp"]
            self.assertEqual(bc.gcloudignored(root, paths), {"bench/gpu/run.sh", "bench/x.py", "build/a"})


if __name__ == "__main__":
    ROOT = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
    unittest.main(verbosity=2)
