"""A soap stage against zeep's own client, side by side in one run (rows of `python -m bench`).

    python -m bench --only soap          (or: python -m bench.soap_stage [--calls 400])

Starts the example SOAP peer (examples/soap_peer) as its own process and calls its
`XMLCheck` operation two ways, interleaved call by call so that drift hits both alike:
the gateway's soap stage (`SoapStage.invoke`, XML payload in, XML out) and zeep's
AsyncClient over httpx (`await service.XMLCheck(...)`); one at a time, then
`--concurrency` at once. Then the client-side CPU alone, without the network (the
envelope written, a canned answer read): the stage's mapping against zeep's
`create_message` + `process_reply`; and how long until the first call can be made:
deploying the stage from the parsed-WSDL cache against `zeep.Client(wsdl)`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import requests
import zeep
from zeep.transports import AsyncTransport

from appserver.kinds import KINDS, DeployEnv, target_check
from appserver.kinds import soap_envelope as soapenv
from bench.table import Row, render
from igwcore.message import Message, RequestContext
from repository.wsdl import import_wsdl
from repository.wsdlcache import wsdl_cache

ROOT = Path(__file__).resolve().parents[1]

PAYLOAD = Message(b"<XMLCheck><document>kit</document></XMLCheck>", "application/xml")
REQUEST = RequestContext()
Call = Callable[[], Awaitable[object]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_peer() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.soap_peer", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/formatter?wsdl", timeout=1).status_code == 200:
                return proc, base
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the SOAP peer did not start")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f} ms"


async def sequential(calls: dict[str, Call], n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(n):
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            times[name].append(time.perf_counter() - started)
    return times


async def concurrent(call: Call, n: int, concurrency: int) -> tuple[float, float]:
    """(seconds a call at `concurrency` in flight, the loop's worst stall in seconds)."""
    stalls: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stalls.append(now - last - 0.001)
            last = now

    queue = list(range(n))

    async def worker() -> None:
        while queue:
            queue.pop()
            await call()

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    done.set()
    await ticker
    return elapsed / n, max(stalls, default=0.0)


def cpu_only(stage: object, client: zeep.Client, n: int) -> tuple[float, float]:
    """Seconds a call of client-side work alone: (stage mapping, zeep)."""
    operation = stage.operation  # type: ignore[attr-defined]
    real = requests.post(
        stage.address,  # type: ignore[attr-defined]
        data=soapenv.envelope(operation, PAYLOAD),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"XMLCheck"'},
        timeout=10,
    )
    canned = real.content
    binding = client.service._binding
    op = binding.get("XMLCheck")
    started = time.perf_counter()
    for _ in range(n):
        soapenv.answer(200, soapenv.envelope(operation, PAYLOAD))
    stage_s = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for _ in range(n):
        envelope = client.create_message(client.service, "XMLCheck", document="kit")
        zeep.wsdl.utils.etree_to_string(envelope)
        binding.process_reply(client, op, real)
    zeep_s = (time.perf_counter() - started) / n
    assert canned
    return stage_s, zeep_s


async def measure(calls_n: int, concurrency: int) -> dict[str, float]:
    """Seconds: a call one at a time and `concurrency` at once (stage and zeep-async),
    client-side CPU a call, and loading the WSDL (deploy from the cache, zeep.Client)."""
    proc, base = start_peer()
    wsdl = f"{base}/formatter?wsdl"
    try:
        env = DeployEnv()
        imported = await import_wsdl(
            check_target=target_check(env), url=wsdl, policy=env.fetch, cache=wsdl_cache(env.shared)
        )
        entry = imported.entries[0]
        started = time.perf_counter()
        stage = await KINDS["soap"].deploy(entry, {"document": None}, env)
        cached_deploy = time.perf_counter() - started
        started = time.perf_counter()
        sync_client = zeep.Client(wsdl)
        zeep_load = time.perf_counter() - started
        http = httpx.AsyncClient()
        async_client = zeep.AsyncClient(wsdl, transport=AsyncTransport(client=http))

        async def via_stage() -> object:
            return await stage.invoke(PAYLOAD, REQUEST)

        async def via_zeep() -> object:
            return await async_client.service.XMLCheck(document="kit")

        calls: dict[str, Call] = {"stage": via_stage, "zeep": via_zeep}
        assert b"OK:KIT" in (await via_stage()).body  # type: ignore[attr-defined]
        assert await via_zeep() == "OK:KIT"
        await sequential(calls, 10)  # warm up both
        times = await sequential(calls, calls_n)
        stage_conc, _ = await concurrent(via_stage, calls_n, concurrency)
        zeep_conc, _ = await concurrent(via_zeep, calls_n, concurrency)
        stage_cpu, zeep_cpu = cpu_only(stage, sync_client, calls_n)
        await stage.close()
        await http.aclose()
        env.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    return {
        "stage": statistics.median(times["stage"]),
        "zeep": statistics.median(times["zeep"]),
        "stage_conc": stage_conc,
        "zeep_conc": zeep_conc,
        "stage_cpu": stage_cpu,
        "zeep_cpu": zeep_cpu,
        "deploy": cached_deploy,
        "zeep_load": zeep_load,
    }


def soap_rows(*, smoke: bool = False, calls: int = 400, concurrency: int = 16) -> list[Row]:
    """The rows of `python -m bench`: the soap stage beside zeep's own async client."""
    m = asyncio.run(measure(20 if smoke else calls, concurrency))
    group = "SOAP stage (example peer, XMLCheck) beside zeep.AsyncClient"
    zeep_label = "ms zeep"

    def row(label: str, ours: str, theirs: str) -> Row:
        return Row(group, label, m[ours] * 1e3, "ms", m[theirs] * 1e3, zeep_label,
                   m[theirs] / m[ours])  # fmt: skip

    return [
        row("a call, one at a time (median)", "stage", "zeep"),
        row(f"a call, {concurrency} in flight", "stage_conc", "zeep_conc"),
        row("client-side CPU a call (envelope written, answer read)", "stage_cpu", "zeep_cpu"),
        row("ready to call: deploy (WSDL cached) / zeep.Client(wsdl)", "deploy", "zeep_load"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    options = parser.parse_args()
    print(render(soap_rows(calls=options.calls, concurrency=options.concurrency)))


if __name__ == "__main__":
    main()
