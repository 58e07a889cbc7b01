"""A small Dockerfile reader for the checks here (no Docker engine runs on these machines).

Joins continuation lines, drops comments, splits the file into global ARGs and stages, and expands
${VAR} / $VAR from the ARG defaults in scope the way BuildKit does: global ARGs are visible in FROM
lines, and inside a stage only once re-declared with a bare `ARG NAME`.
"""
import json
import re
import shlex

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class Instruction:
    def __init__(self, keyword, args, line):
        self.keyword = keyword.upper()
        self.args = args
        self.line = line

    def __repr__(self):
        return f"{self.keyword} {self.args} (line {self.line})"


class Stage:
    def __init__(self, image, name, line):
        self.image = image          # as written
        self.name = name
        self.line = line
        self.instructions = []
        self.args = {}              # ARGs declared in the stage: name -> default or None

    def all(self, keyword):
        return [i for i in self.instructions if i.keyword == keyword]

    def runs(self):
        return [i.args for i in self.all("RUN")]


class Dockerfile:
    def __init__(self, text):
        self.global_args = {}
        self.stages = []
        for keyword, args, line in _logical_lines(text):
            ins = Instruction(keyword, args, line)
            if ins.keyword == "FROM":
                m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", args, re.I)
                if not m:
                    raise ValueError(f"line {line}: cannot read FROM {args}")
                self.stages.append(Stage(m.group(1), m.group(2), line))
            elif ins.keyword == "ARG":
                name, _, default = args.partition("=")
                target = self.stages[-1].args if self.stages else self.global_args
                target[name.strip()] = default if "=" in args else None
                if self.stages:
                    self.stages[-1].instructions.append(ins)
            elif not self.stages:
                raise ValueError(f"line {line}: {ins.keyword} before the first FROM")
            else:
                self.stages[-1].instructions.append(ins)

    def stage(self, name):
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def names(self):
        return [s.name for s in self.stages]

    def from_image(self, stage):
        """The FROM reference with global ARG defaults substituted."""
        return expand(stage.image, self.global_args)

    def stage_scope(self, stage):
        """ARG values visible inside a stage: re-declared globals take the global default."""
        scope = {}
        for name, default in stage.args.items():
            scope[name] = default if default is not None else self.global_args.get(name)
        return scope


def expand(text, scope):
    def sub(m):
        name = m.group(1) or m.group(2)
        return scope.get(name) or ""
    return _VAR.sub(sub, text)


def variables(text):
    return {m.group(1) or m.group(2) for m in _VAR.finditer(text)}


def exec_form(args):
    """The JSON array of an exec-form ENTRYPOINT/CMD, or None for shell form."""
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def env_pairs(args):
    """ENV a=b c=d (the KEY VALUE form too)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words)


def copy_parts(args):
    """COPY [--from=X] [--chown=...] SRC... DEST -> (from or None, [src], dest)."""
    words = shlex.split(args)
    source = None
    while words and words[0].startswith("--"):
        flag = words.pop(0)
        if flag.startswith("--from="):
            source = flag.split("=", 1)[1]
    return source, words[:-1], words[-1]


def _logical_lines(text):
    buf, start = "", None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue                      # comment lines inside a continuation are dropped
        if start is None:
            start = number
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        keyword, _, args = buf.partition(" ")
        yield keyword, args.strip(), start
        buf, start = "", None
    if buf:
        raise ValueError("the Dockerfile ends inside a continuation line")
