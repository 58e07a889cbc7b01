"""The list of attack cases: each is a function decorated with @case, named after the fault it
reproduces, with the issue item it comes from and the outcome it expects (in words; the checks in
its body say the same in code)."""
CASES = []


def case(item, expect):
    def register(fn):
        CASES.append({"name": fn.__name__, "item": item, "expect": expect, "run": fn})
        return fn
    return register


class Context:
    """What every case gets: the server binary, the fixture models, a work folder, quick or full,
    and a server with the default flags shared by the cases that need nothing else."""

    def __init__(self, server, fixtures, work, quick):
        self.server = server
        self.fixtures = fixtures
        self.work = work
        self.quick = quick
        self._shared = None

    def model(self, name):
        import os
        return os.path.join(self.fixtures, name)

    def size(self, quick, full):
        return quick if self.quick else full

    def shared_server(self):
        from harness import Server
        if self._shared is None or not self._shared.alive():
            if self._shared is not None:
                self._shared.close()
            self._shared = Server(self, self.model("tiny.pt"), name="shared").ready()
        return self._shared

    def close(self):
        if self._shared is not None:
            self._shared.close()
            self._shared = None
