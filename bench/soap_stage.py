"""A soap stage against zeep called directly, side by side in one run.

    .venv/bin/python bench/soap_stage.py [--calls 400] [--concurrency 16]

Starts the example SOAP peer (examples/soap_peer) as its own process and calls its
`XMLCheck` operation four ways, interleaved round by round so that drift hits all alike:

- stage:        the gateway's soap stage (`SoapStage.invoke`, XML payload in, XML out)
- zeep-async:   zeep's AsyncClient with an httpx.AsyncClient (`await service.XMLCheck(...)`)
- zeep-thread:  zeep's sync Client, each call in `asyncio.to_thread`
- zeep-sync:    zeep's sync Client called on the loop (blocks it: a baseline, not an option)

Then the client-side CPU alone, without the network (the envelope written, a canned
answer read): the stage's mapping vs zeep's `create_message` + `process_reply`. Then the
event loop's worst stall while `--concurrency` calls run at once, and loading the WSDL
cold vs from the cache. Prints per-call times and the ratios stage / zeep.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appserver.kinds import KINDS, DeployEnv, target_check  # noqa: E402
from appserver.kinds import soap_envelope as soapenv  # noqa: E402
from igwcore.message import Message, RequestContext  # noqa: E402
from repository.wsdl import import_wsdl  # noqa: E402
from repository.wsdlcache import wsdl_cache  # noqa: E402

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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    options = parser.parse_args()
    proc, base = start_peer()
    wsdl = f"{base}/formatter?wsdl"
    try:
        env = DeployEnv()
        policy = env.fetch

        started = time.perf_counter()
        imported = await import_wsdl(
            check_target=target_check(env), url=wsdl, policy=policy, cache=wsdl_cache(env.shared)
        )
        cold_import = time.perf_counter() - started
        started = time.perf_counter()
        await import_wsdl(check_target=target_check(env), url=wsdl, policy=policy)
        warm_import = time.perf_counter() - started
        entry = imported.entries[0]
        started = time.perf_counter()
        stage = await KINDS["soap"].deploy(entry, {"document": None}, env)
        cached_deploy = time.perf_counter() - started
        started = time.perf_counter()
        other = await KINDS["soap"].deploy(entry, {"document": None}, DeployEnv())
        cold_deploy = time.perf_counter() - started
        await other.close()
        started = time.perf_counter()
        sync_client = zeep.Client(wsdl)
        zeep_load = time.perf_counter() - started
        http = httpx.AsyncClient()
        async_client = zeep.AsyncClient(wsdl, transport=AsyncTransport(client=http))
        thread_client = zeep.Client(wsdl)

        async def via_stage() -> object:
            return await stage.invoke(PAYLOAD, REQUEST)

        async def via_zeep_async() -> object:
            return await async_client.service.XMLCheck(document="kit")

        async def via_zeep_thread() -> object:
            return await asyncio.to_thread(thread_client.service.XMLCheck, document="kit")

        async def via_zeep_sync() -> object:
            return sync_client.service.XMLCheck(document="kit")

        calls: dict[str, Call] = {
            "stage": via_stage,
            "zeep-async": via_zeep_async,
            "zeep-thread": via_zeep_thread,
            "zeep-sync": via_zeep_sync,
        }
        assert b"OK:KIT" in (await via_stage()).body  # type: ignore[attr-defined]
        assert await via_zeep_async() == "OK:KIT"
        await sequential(calls, 20)  # warm up every path
        times = await sequential(calls, options.calls)

        print(f"peer: {base} (spyne, wsgiref threads, own process); {options.calls} calls each")
        print("\nsequential, one call at a time (median / mean / p95):")
        for name, samples in times.items():
            p95 = statistics.quantiles(samples, n=20)[-1]
            print(
                f"  {name:12} {ms(statistics.median(samples))} {ms(statistics.mean(samples))}"
                f" {ms(p95)}"
            )
        stage_median = statistics.median(times["stage"])
        for name in ("zeep-async", "zeep-thread", "zeep-sync"):
            ratio = stage_median / statistics.median(times[name])
            print(f"  ratio stage / {name:12} {ratio:5.2f}")

        print(f"\n{options.concurrency} calls in flight (time a call, worst event-loop stall):")
        results = {}
        for name in ("stage", "zeep-async", "zeep-thread", "zeep-sync"):
            conc = 1 if name == "zeep-sync" else options.concurrency
            results[name] = await concurrent(calls[name], options.calls, conc)
            per_call, stall = results[name]
            print(f"  {name:12} {ms(per_call)} a call   stall {ms(stall)}")
        for name in ("zeep-async", "zeep-thread"):
            ratio = results["stage"][0] / results[name][0]
            print(f"  ratio stage / {name:12} {ratio:5.2f}")

        stage_cpu, zeep_cpu = cpu_only(stage, sync_client, options.calls)
        print("\nclient-side CPU a call (envelope written + answer read, no network):")
        print(f"  stage        {ms(stage_cpu)}")
        print(f"  zeep         {ms(zeep_cpu)}")
        print(f"  ratio stage / zeep {stage_cpu / zeep_cpu:5.2f}")

        print("\nWSDL:")
        print(f"  first import (+ one-time thread pool start) {ms(cold_import)}")
        print(f"  import (fetch + parse, worker thread)  {ms(warm_import)}")
        print(f"  deploy, parse cached                   {ms(cached_deploy)}")
        print(f"  deploy, cold cache (fetch + parse)     {ms(cold_deploy)}")
        print(f"  zeep.Client(wsdl) (fetch + parse)      {ms(zeep_load)}")
        await stage.close()
        await http.aclose()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
