"""SPEC §5, §6: purging against the running gateway — the policy, the budget per app
server, on_deploy, size estimates, and applications never torn down under a request."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from appserver.application import Application
from appserver.plan import Plan, PlannedStage
from appserver.purge import PurgePolicy
from appserver.server import AppServer
from gateway.applist import ApplicationList, Clock
from gateway.scheduler import JOB, PurgeScheduler
from igwcore.message import Message, RequestContext
from repository.entry import ServiceEntry
from repository.store import MIGRATIONS
from tests.conftest import Running, http_entry, problem

SLOW_S = 1


async def until(condition: Callable[[], Any], timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def applications(gw: Running) -> list[dict[str, Any]]:
    return (await (await gw.adm("GET", "/applications")).json())["items"]


async def deploy(gw: Running, header: str) -> str:
    r = await gw.call(header, {})
    assert r.status == 200, await r.text()
    return r.headers["Integration-App"]


async def start_slow(gw: Running, upstream: str) -> tuple[asyncio.Task[Any], Application]:
    """A request held open in an application (an http stage that answers in SLOW_S)."""
    await gw.adm("POST", "/services", http_entry("slow", f"{upstream}/slow?s={SLOW_S}"))
    request = asyncio.create_task(gw.call("slow", b"still here", "text/plain"))
    key = gw.gateway.parse("slow").key
    await until(lambda: (a := gw.gateway.applications.get(key)) is not None and a.in_flight)
    app = gw.gateway.applications.get(key)
    assert app is not None
    return request, app


def purge_runs(metrics: str, trigger: str) -> float:
    line = f'igw_purge_runs_total{{trigger="{trigger}"}} '
    found = [float(x.removeprefix(line)) for x in metrics.splitlines() if x.startswith(line)]
    return found[0] if found else 0.0


# --- the report and the budget ------------------------------------------------------------


async def test_purge_reports_keys_freed_bytes_and_what_remains(gw):
    old = await deploy(gw, "json_to_xml(root=a)")
    new = await deploy(gw, "json_to_xml(root=b)")
    size = {a["key"]: a["size_bytes"] for a in await applications(gw)}
    report = await (await gw.adm("POST", "/purge", {"max_apps": 1})).json()
    assert report == {"purged": [old], "freed_bytes": size[old], "remaining": 1}
    assert [a["key"] for a in await applications(gw)] == [new]
    policy = await (await gw.adm("GET", "/purge/policy")).json()
    assert policy["max_apps"] == 1000  # the body held for that one purge only


async def test_a_use_makes_an_application_the_most_recently_used(gw):
    a = await deploy(gw, "json_to_xml(root=a)")
    b = await deploy(gw, "json_to_xml(root=b)")
    await deploy(gw, "json_to_xml(root=a)")
    report = await (await gw.adm("POST", "/purge", {"max_apps": 1})).json()
    assert report["purged"] == [b] and a not in report["purged"]


async def test_on_deploy_purges_the_least_recently_used_so_the_budget_holds(start_gateway):
    gw = await start_gateway(purge={"max_apps": 2})
    a = await deploy(gw, "json_to_xml(root=a)")
    b = await deploy(gw, "json_to_xml(root=b)")
    await deploy(gw, "json_to_xml(root=a)")
    c = await deploy(gw, "json_to_xml(root=c)")
    assert sorted(x["key"] for x in await applications(gw)) == sorted([a, c])
    assert b not in {x["key"] for x in await applications(gw)}
    r = await gw.call("json_to_xml(root=b)", {})
    assert r.headers["Integration-Cache"] == "miss"  # purged, so assembled again


async def test_without_on_deploy_the_budget_waits_for_the_next_purge(start_gateway):
    gw = await start_gateway(purge={"max_apps": 1, "on_deploy": False})
    await deploy(gw, "json_to_xml(root=a)")
    await deploy(gw, "json_to_xml(root=b)")
    assert len(await applications(gw)) == 2
    report = await (await gw.adm("POST", "/purge")).json()
    assert len(report["purged"]) == 1 and report["remaining"] == 1


async def test_a_deployment_is_no_capacity_while_every_application_is_in_flight(
    start_gateway, upstream
):
    gw = await start_gateway(upstream, purge={"max_apps": 1})
    slow, busy = await start_slow(gw, upstream)
    body = await problem(await gw.call("validator", {}), 503, "no-capacity")
    assert "in flight" in body["detail"]
    r = await slow
    assert r.status == 200 and await r.read() == b"still here"
    assert (await gw.call("validator", {})).status == 200
    assert [a["stages"] for a in await applications(gw)] == [["validator@1.0.0"]]
    await until(lambda: busy.closed)


async def test_a_budget_no_application_can_fit_is_no_capacity(start_gateway):
    gw = await start_gateway(purge={"max_bytes": 100})
    body = await problem(await gw.call("validator", {}), 503, "no-capacity")
    assert "alone" in body["detail"]


# --- several app servers ------------------------------------------------------------------


async def test_applications_spread_over_app_servers_and_the_budget_holds_per_server(
    start_gateway,
):
    gw = await start_gateway(appserver={"count": 3})
    keys = [await deploy(gw, f"json_to_xml(root=r{i})") for i in range(6)]
    listed = await applications(gw)
    assert Counter(a["app_server"] for a in listed) == {"as0": 2, "as1": 2, "as2": 2}
    for a in listed:
        assert a["endpoint"].endswith(f"/{a['app_server']}/{a['key']}"), a["endpoint"]
    report = await (await gw.adm("POST", "/purge", {"max_apps": 1})).json()
    assert sorted(report["purged"]) == sorted(keys[:3]) and report["remaining"] == 3
    listed = await applications(gw)
    assert sorted(a["app_server"] for a in listed) == ["as0", "as1", "as2"]


async def test_placement_takes_the_fewest_applications_then_the_fewest_bytes(
    start_gateway, upstream
):
    gw = await start_gateway(upstream, appserver={"count": 2})
    await gw.adm("POST", "/services", http_entry("big", upstream + "/echo"))
    await deploy(gw, "big")  # as0: an http session and its connection
    await deploy(gw, "json_to_xml(root=a)")  # as1: fewer applications
    await deploy(gw, "json_to_xml(root=b)")  # as1 again: as many, fewer bytes
    await deploy(gw, "json_to_xml(root=c)")  # as0: fewer applications
    servers = {a["canonical"]: a["app_server"] for a in await applications(gw)}
    assert servers == {
        "big": "as0",
        "json_to_xml(root=a)": "as1",
        "json_to_xml(root=b)": "as1",
        "json_to_xml(root=c)": "as0",
    }


async def test_on_deploy_makes_room_on_the_app_server_it_deploys_to(start_gateway):
    gw = await start_gateway(appserver={"count": 2}, purge={"max_apps": 1})
    first = [await deploy(gw, f"json_to_xml(root=r{i})") for i in range(2)]
    third = await deploy(gw, "json_to_xml(root=r2)")
    listed = {a["key"]: a["app_server"] for a in await applications(gw)}
    assert len(listed) == 2 and third in listed and first[1] in listed
    assert sorted(listed.values()) == ["as0", "as1"]


# --- size estimates -----------------------------------------------------------------------


def stylesheet(padding: int) -> str:
    comment = "x" * padding
    return (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f'<xsl:template match="/"><out><!-- {comment} --></out></xsl:template>'
        "</xsl:stylesheet>"
    ).replace('"', "'")


async def test_size_estimates_grow_with_what_an_application_holds(gw, upstream):
    await gw.adm("POST", "/services", http_entry("echo", upstream + "/echo"))
    await deploy(gw, "validator")
    await deploy(gw, "validator | json_to_xml")
    await deploy(gw, "echo")
    for padding in (10, 6000):
        r = await gw.call(f'xslt(stylesheet="{stylesheet(padding)}")', b"<a/>", "application/xml")
        assert r.status == 200, await r.text()
    size = {a["canonical"]: a["size_bytes"] for a in await applications(gw)}
    small_xslt, big_xslt = (size[c] for c in sorted((c for c in size if "xslt" in c), key=len))
    assert size["validator"] < size["validator | json_to_xml"] < size["echo"]
    # A compiled stylesheet lives in the isolation's workers, under a byte bound of their
    # own (SPEC §10.10); the application holds its source.
    assert small_xslt < big_xslt
    assert big_xslt - small_xslt > 6000


async def test_app_server_bytes_are_the_sum_of_its_applications(start_gateway):
    gw = await start_gateway(appserver={"count": 2})
    for i in range(5):
        await deploy(gw, f"json_to_xml(root=r{i})")
    await gw.adm("POST", "/purge", {"max_apps": 2})
    listed = await applications(gw)
    metrics = await (await gw.adm("GET", "/metrics")).text()
    for name in ("as0", "as1"):
        total = sum(a["size_bytes"] for a in listed if a["app_server"] == name)
        assert f'igw_application_bytes{{app_server="{name}"}} {float(total)}' in metrics


# --- safety: never torn down under a request ----------------------------------------------


async def test_a_purge_leaves_an_application_in_flight_and_closes_it_after(gw, upstream):
    slow, app = await start_slow(gw, upstream)
    await deploy(gw, "validator")
    report = await (await gw.adm("POST", "/purge", {"max_idle_s": 0})).json()
    assert app.key not in report["purged"] and len(report["purged"]) == 1
    r = await slow
    assert r.status == 200 and await r.read() == b"still here"
    assert gw.gateway.applications.get(app.key) is app and not app.closed
    report = await (await gw.adm("POST", "/purge", {"max_idle_s": 0})).json()
    assert report["purged"] == [app.key]
    await until(lambda: app.stages[0].closed)  # its http session, closed with it


async def test_a_deleted_application_finishes_its_request_then_closes(gw, upstream):
    slow, app = await start_slow(gw, upstream)
    assert (await gw.adm("DELETE", f"/applications/{app.key}")).status == 204
    assert gw.gateway.applications.get(app.key) is None
    assert not app.stages[0].closed
    r = await slow
    assert r.status == 200 and await r.read() == b"still here"
    await until(lambda: app.stages[0].closed)


async def test_a_changed_service_lets_its_request_finish_then_closes_the_application(gw, upstream):
    slow, app = await start_slow(gw, upstream)
    r = await gw.adm("PUT", "/services/slow@1.0.0", http_entry("slow", upstream + "/echo"))
    assert r.status == 200
    assert gw.gateway.applications.get(app.key) is None
    r = await slow
    assert r.status == 200 and await r.read() == b"still here"
    await until(lambda: app.stages[0].closed)
    r = await gw.call("slow", b"now", "text/plain")
    assert r.headers["Integration-Cache"] == "miss" and await r.read() == b"now"


async def test_a_purged_application_closes_its_stages(gw, upstream):
    await gw.adm("POST", "/services", http_entry("echo", upstream + "/echo"))
    key = await deploy(gw, "echo")
    app = gw.gateway.applications.get(key)
    assert app is not None and not app.stages[0].closed
    await gw.adm("POST", "/purge", {"max_idle_s": 0})
    await until(lambda: app.stages[0].closed)


# --- the policy ---------------------------------------------------------------------------


async def test_a_put_policy_outlives_a_restart_and_config_gives_the_rest(start_gateway, tmp_path):
    first = await start_gateway(work=tmp_path, purge={"max_apps": 10, "interval_s": 3600})
    r = await first.adm("PUT", "/purge/policy", {"max_apps": 3, "cron": "0 4 * * *"})
    assert r.status == 200
    await first.gateway.stop()
    second = await start_gateway(
        work=tmp_path, purge={"max_apps": 10, "interval_s": 1800, "max_idle_s": 5}
    )
    p = await (await second.adm("GET", "/purge/policy")).json()
    assert (p["max_apps"], p["cron"]) == (3, "0 4 * * *")  # stored by the PUT
    assert (p["interval_s"], p["max_idle_s"]) == (1800, 5)  # never PUT: config.toml's
    assert second.gateway.scheduler.description == "cron '0 4 * * *'"


async def test_a_key_put_back_to_its_config_value_follows_config_again(start_gateway, tmp_path):
    first = await start_gateway(work=tmp_path, purge={"max_apps": 10})
    await first.adm("PUT", "/purge/policy", {"max_apps": 3})
    await first.adm("PUT", "/purge/policy", {"max_apps": 10})
    await first.gateway.stop()
    second = await start_gateway(work=tmp_path, purge={"max_apps": 20})
    assert (await (await second.adm("GET", "/purge/policy")).json())["max_apps"] == 20


async def test_the_policy_is_stored_in_a_repository_of_the_previous_schema(start_gateway, tmp_path):
    path = tmp_path / "var" / "repository.sqlite"
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    first = await start_gateway(work=tmp_path)
    assert (await first.adm("PUT", "/purge/policy", {"max_idle_s": 7})).status == 200
    await first.gateway.stop()
    second = await start_gateway(work=tmp_path)
    assert (await (await second.adm("GET", "/purge/policy")).json())["max_idle_s"] == 7


async def test_a_get_answer_is_a_valid_put_body(gw):
    policy = await (await gw.adm("GET", "/purge/policy")).json()
    r = await gw.adm("PUT", "/purge/policy", policy)
    assert r.status == 200 and await r.json() == policy


async def test_a_put_reschedules_at_once_and_scheduled_purges_count(gw):
    key = await deploy(gw, "validator")
    r = await gw.adm("PUT", "/purge/policy", {"interval_s": 0.1, "max_idle_s": 0})
    assert r.status == 200
    await until(lambda: gw.gateway.applications.get(key) is None, timeout_s=3)
    metrics = await (await gw.adm("GET", "/metrics")).text()
    assert purge_runs(metrics, "schedule") >= 1
    assert "igw_purged_applications_total 1.0" in metrics


def next_run(scheduler: PurgeScheduler) -> str | None:
    """When APScheduler will run the purge next (None: no schedule)."""
    job = scheduler._scheduler.get_job(JOB)
    return None if job is None or job.next_run_time is None else job.next_run_time.isoformat()


async def test_a_put_that_keeps_the_schedule_does_not_restart_it(gw):
    await gw.adm("PUT", "/purge/policy", {"interval_s": 600})
    before = next_run(gw.gateway.scheduler)
    await asyncio.sleep(0.02)
    await gw.adm("PUT", "/purge/policy", {"max_apps": 7})
    assert next_run(gw.gateway.scheduler) == before
    await gw.adm("PUT", "/purge/policy", {"interval_s": 0})
    assert next_run(gw.gateway.scheduler) is None


async def test_requested_and_deploy_purges_count_by_trigger(start_gateway):
    gw = await start_gateway(purge={"max_apps": 1})
    await deploy(gw, "json_to_xml(root=a)")
    await deploy(gw, "json_to_xml(root=b)")  # over budget: a deploy purge
    await gw.adm("POST", "/purge", {"max_idle_s": 0})
    metrics = await (await gw.adm("GET", "/metrics")).text()
    assert purge_runs(metrics, "deploy") == 1
    assert purge_runs(metrics, "request") == 1
    assert "igw_purged_applications_total 2.0" in metrics


# --- purge cost ---------------------------------------------------------------------------


class TinyStage:
    """A stage that holds nothing and counts its closing."""

    closed = 0

    def __init__(self, entry: ServiceEntry) -> None:
        self.entry = entry

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        return message

    def size_bytes(self) -> int:
        return 64

    async def close(self) -> None:
        TinyStage.closed += 1


def tiny_applications(n: int, now_ns: int) -> list[Application]:
    entry = ServiceEntry(
        id="tiny@1.0.0",
        name="tiny",
        version="1.0.0",
        description="",
        kind="python",
        params={},
        input=("*/*",),
        output="same",
        converter=False,
        target={"callable": "tiny:tiny"},
        enabled=True,
    )
    planned = (PlannedStage("tiny", entry),)
    stage = TinyStage(entry)
    return [
        Application(
            Plan(f"tiny(n={i})", f"{i:032x}", planned, ("*/*",), "same"),
            [stage],
            app_server="as0",
            node="bench",
            now_ns=now_ns,
        )
        for i in range(n)
    ]


async def test_purging_20000_idle_applications_removes_and_closes_them_all(tmp_path):
    servers = [AppServer("as0", "bench", None)]  # type: ignore[arg-type]
    apps = ApplicationList(servers, PurgePolicy(on_deploy=False), Clock())
    TinyStage.closed = 0
    for app in tiny_applications(20_000, now_ns=time.time_ns() - 3600 * 10**9):
        await apps.add(app)
    report = await apps.purge(PurgePolicy(max_idle_s=60), trigger="request")
    assert len(report.purged) == 20_000 and report.remaining == 0 and len(apps) == 0
    assert servers[0].applications == {} and servers[0].size_bytes == 0
    await apps.wait_closed()
    assert TinyStage.closed == 20_000


async def test_a_use_remeasures_the_application_and_its_app_server_follows():
    server = AppServer("as0", "test", None)  # type: ignore[arg-type]
    apps = ApplicationList([server], PurgePolicy(on_deploy=False), Clock())
    (app,) = tiny_applications(1, now_ns=time.time_ns())
    grows = GrowingStage(app.stages[0].entry)
    app.stages = [grows]
    await apps.add(app)
    before = server.size_bytes
    grows.held += 50_000  # a second compiled copy, say, for a concurrent request
    apps.touch(app, hit=True)
    assert app.size_bytes() == server.size_bytes == before + 50_000
    apps.remove([app.key])
    assert server.size_bytes == 0


class GrowingStage(TinyStage):
    held = 64

    def size_bytes(self) -> int:
        return self.held


async def test_a_changed_service_takes_its_20000_applications_off_the_list():
    servers = [AppServer("as0", "bench", None)]  # type: ignore[arg-type]
    apps = ApplicationList(servers, PurgePolicy(on_deploy=False), Clock())
    TinyStage.closed = 0
    for app in tiny_applications(20_000, now_ns=time.time_ns()):
        await apps.add(app)
    assert apps.using(["other@1.0.0"]) == []
    removed = await apps.remove_using(["tiny@1.0.0"])
    assert len(removed) == 20_000 and len(apps) == 0 and apps.using(["tiny@1.0.0"]) == []
    await apps.wait_closed()
    assert TinyStage.closed == 20_000


async def test_purged_applications_leave_the_service_index():
    servers = [AppServer("as0", "test", None)]  # type: ignore[arg-type]
    apps = ApplicationList(servers, PurgePolicy(on_deploy=False), Clock())
    for app in tiny_applications(3, now_ns=time.time_ns() - 3600 * 10**9):
        await apps.add(app)
    assert len(apps.using(["tiny@1.0.0"])) == 3
    await apps.purge(PurgePolicy(max_idle_s=60), trigger="request")
    assert apps.using(["tiny@1.0.0"]) == []
