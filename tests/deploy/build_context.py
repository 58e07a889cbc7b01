"""The files a `docker build` stage sees, worked out without a Docker engine.

    context_files(root, gcloud=False)  -> sorted relative paths in the build context
    stage_source_set(d, stage, files)  -> {path in the stage's WORKDIR: path in the context}

The context starts from what a clone holds plus files not yet committed (`git ls-files --cached
--others --exclude-standard`). With gcloud=True it first drops what `.gcloudignore` excludes (gcloud
reads it with .gitignore syntax, so git itself judges it here), which is what `gcloud builds submit`
uploads; then Docker drops what `.dockerignore` excludes (Docker's own rules, below).
"""
import os
import re
import subprocess
import tempfile

import dockerfile as df


def _docker_pattern_regex(pattern):
    """moby/patternmatcher: `**` any number of path elements, `*` and `?` within one element."""
    pattern = os.path.normpath(pattern.strip()).lstrip("/")
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out += "(.*/)?"
            else:
                out += ".*"
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i)
            if end < 0:
                out += re.escape(c)
            else:
                out += pattern[i:end + 1].replace("\\", "\\\\")
                i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile("^" + out + "$")


def dockerignore_patterns(root):
    path = os.path.join(root, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]


def dockerignored(path, patterns):
    """Docker's rule: the last pattern that matches the path or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _docker_pattern_regex(pattern[1:] if negate else pattern)
        if any(regex.match(p) for p in prefixes):
            excluded = not negate
    return excluded


def gcloudignored(root, paths):
    """The subset of paths that .gcloudignore excludes, as git's own ignore matcher reads it."""
    path = os.path.join(root, ".gcloudignore")
    if not os.path.exists(path) or not paths:
        return set()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "init", "-q", tmp], check=True)
        with open(path) as src, open(os.path.join(tmp, ".gitignore"), "w") as dst:
            dst.write(src.read())
        result = subprocess.run(["git", "-C", tmp, "check-ignore", "--no-index", "--stdin"],
                                input="\n".join(paths) + "\n", capture_output=True, text=True)
        if result.returncode not in (0, 1):
            raise RuntimeError(result.stderr)
        return set(result.stdout.split())


def repository_files(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         check=True, capture_output=True).stdout.decode()
    return sorted(p for p in out.split("\0") if p and os.path.isfile(os.path.join(root, p)))


def context_files(root, gcloud=False, files=None):
    files = repository_files(root) if files is None else sorted(files)
    if gcloud:
        dropped = gcloudignored(root, files)
        files = [f for f in files if f not in dropped]
    patterns = dockerignore_patterns(root)
    return [f for f in files if not dockerignored(f, patterns)]


def _matches(source, path):
    """COPY source (a file, a directory or a glob) against a context path: the part below it or None."""
    source = os.path.normpath(source).lstrip("/")
    if source == ".":
        return path
    if path == source:
        return os.path.basename(path)
    if path.startswith(source + "/"):
        return path[len(source) + 1:]
    regex = _docker_pattern_regex(source)
    parts = path.split("/")
    for n in range(1, len(parts) + 1):
        if regex.match("/".join(parts[:n])):
            return "/".join(parts[n - 1:]) if n < len(parts) else parts[-1]
    return None


def stage_source_set(d, stage, files, workdir="/src"):
    """What the stage's COPY lines (from the context, not --from) put under `workdir`.

    Returns {relative path under workdir: context path}; a COPY source that matches nothing in the
    context raises ValueError (Docker fails the build the same way).
    """
    scope = d.stage_scope(stage)
    current = "/"
    placed = {}
    for ins in stage.instructions:
        if ins.keyword == "WORKDIR":
            current = os.path.join(current, df.expand(ins.args, scope))
            continue
        if ins.keyword not in ("COPY", "ADD"):
            continue
        source, sources, dest = df.copy_parts(ins.args)
        if source:
            continue
        dest = df.expand(dest, scope)
        dest_abs = os.path.normpath(os.path.join(current, dest))
        for raw in sources:
            src = df.expand(raw, scope)
            hits = [(p, _matches(src, p)) for p in files]
            hits = [(p, rel) for p, rel in hits if rel is not None]
            if not hits:
                raise ValueError(f"{stage.name} line {ins.line}: COPY {src}: nothing in the build context "
                                 f"matches (missing, or excluded by .dockerignore/.gcloudignore)")
            single_file = len(hits) == 1 and hits[0][0] == os.path.normpath(src)
            for path, rel in hits:
                if single_file and not dest.endswith("/") and len(sources) == 1:
                    target = dest_abs
                else:
                    target = os.path.join(dest_abs, rel)
                if target == workdir or target.startswith(workdir + "/"):
                    placed[os.path.relpath(target, workdir)] = path
    return placed


def stage_cmake_commands(stage):
    """The `cmake ...` commands of the stage's RUN lines, in order, as argument lists."""
    import shlex
    commands = []
    for run in stage.runs():
        for part in re.split(r"&&|;", run):
            words = shlex.split(part.strip())
            if words and words[0] == "cmake":
                commands.append(words)
    return commands
