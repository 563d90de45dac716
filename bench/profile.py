"""Profile the gateway under wrk with py-spy, and keep the summary in bench/profiles/.

    pip install -e '.[bench]'         # py-spy
    python -m bench.profile hit       # `validator | JSON -> XML`, a hit, wrk -c32
    python -m bench.profile routed    # a `[[routes]]` request to bench.apps upstream

Starts the gateway on CPU 0 (and, for `routed`, the upstream on CPU 1), drives it with wrk
from CPU 1 for 12 s and samples it with py-spy (250 a second, without stopping it) for
10 s of that; then writes bench/profiles/NAME.txt: the share of samples in each function
(inclusive, and self), which is what the performance work was guided by. py-spy may
lose the outer frames of a sample: inclusive shares are lower bounds, self shares exact.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

from bench import clients_rows
from bench.http_rows import BODY, PIPES, _config, deploy
from bench.procs import (
    CLIENT_CPU,
    SERVER_CPU,
    free_port,
    gateway_argv,
    pinned,
    python,
    servers,
    workdir,
    wrk_script,
)

HERE = Path(__file__).resolve().parent


def summarize(raw: Path, top: int = 45) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";") if f]
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    out = [f"{total} samples", "", "inclusive (lower bounds):"]
    out += [f"{v / total * 100:5.1f}%  {k}" for k, v in inclusive.most_common(top)]
    out += ["", "self:"]
    out += [f"{v / total * 100:5.1f}%  {k}" for k, v in own.most_common(top)]
    return "\n".join(out) + "\n"


def _frame(frame: str) -> str:
    """`function (path/to/file.py:line)` as `function (file.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})" if where else name


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else "py-spy"


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "hit"
    if which not in ("hit", "routed", "authorised"):
        raise SystemExit("usage: python -m bench.profile hit|routed|authorised")
    folder = workdir()
    gw_port, admin, up = free_port(), free_port(), free_port()
    config = _config(folder, gw_port, admin, up)
    if which == "authorised":  # clients required, audit off: the credentials and the grant
        text = config.read_text().replace("[gateway]\n", "[gateway]\nrequire_client_auth = true\n")
        config.write_text(text + "[audit]\nenabled = false\n")
    root = HERE.parent
    specs = [
        ("upstream", [python(), "-m", "bench.apps", "upstream", str(up)], CLIENT_CPU,
         f"http://127.0.0.1:{up}/health", root),
        ("gateway", gateway_argv(config), SERVER_CPU,
         f"http://127.0.0.1:{gw_port}/_gateway/health", folder),
    ]  # fmt: skip
    pipe = next(iter(PIPES))
    with servers(*specs) as running:
        gateway = running["gateway"]
        url = f"{gateway.url}up/orders" if which == "routed" else gateway.url
        headers = {} if which == "routed" else {"Integration-Config": pipe}
        if which == "authorised":
            headers["Authorization"] = clients_rows.client_authorization(admin)
        if which != "routed":
            deploy(gateway.url, pipe, headers)
        script = wrk_script(folder, which, BODY, headers)
        load = subprocess.Popen(
            pinned(CLIENT_CPU, ["wrk", "-t1", "-c32", "-d12s", "-s", str(script), url]),
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1)
        raw = folder / "raw.txt"
        subprocess.run(
            pinned(CLIENT_CPU, [_py_spy(), "record", "-p", str(gateway.proc.pid), "-d", "10",
                                "-r", "250", "-f", "raw", "-o", str(raw), "--nonblocking"]),
            check=True,
            capture_output=True,
        )  # fmt: skip
        load.wait()
    out = HERE / "profiles" / f"{which}.txt"
    out.parent.mkdir(exist_ok=True)
    title = {
        "hit": f"`{pipe}`, a hit",
        "authorised": f"`{pipe}`, an authorised hit (audit off)",
        "routed": "a [[routes]] request",
    }[which]
    out.write_text(f"# py-spy, gateway under wrk -c32: {title}\n\n" + summarize(raw))
    print(out)


if __name__ == "__main__":
    main()
