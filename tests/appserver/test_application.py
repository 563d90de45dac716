"""How an application runs its stages: at once when a stage can answer so, awaited under
the stage deadline otherwise, and each answer's type checked against the next stage."""

from __future__ import annotations

import asyncio
import time

import pytest

from appserver.application import Application
from appserver.plan import Plan, PlannedStage
from igwcore.message import Message, RequestContext
from igwcore.problems import StageFailed, StageTimeout
from repository.entry import ServiceEntry

REQUEST = RequestContext()


def entry(name: str, input: tuple[str, ...] = ("*/*",), output: str = "same") -> ServiceEntry:
    return ServiceEntry(
        name=name, kind="python", target={"callable": f"t:{name}"}, input=input, output=output
    )


class Stage:
    def __init__(self, service: ServiceEntry, *, now=None, later=None) -> None:
        self.entry = service
        self.calls: list[str] = []
        self._now, self._later = now, later

    def invoke_now(self, message: Message, request: RequestContext) -> Message | None:
        self.calls.append("now")
        return None if self._now is None else self._now(message)

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        self.calls.append("later")
        return await self._later(message)

    def size_bytes(self) -> int:
        return 64

    async def close(self) -> None:
        pass


def application(*stages: Stage) -> Application:
    planned = tuple(PlannedStage(s.entry.name, s.entry) for s in stages)
    plan = Plan(" | ".join(s.entry.name for s in stages), "0" * 32, planned, ("*/*",), "same")
    return Application(plan, list(stages), app_server="as0", node="t", now_ns=time.time_ns())  # type: ignore[arg-type]


async def test_a_stage_that_answers_at_once_is_not_awaited():
    stage = Stage(entry("quick"), now=lambda m: Message(m.body.upper(), m.content_type))
    message, timings = await application(stage).invoke(
        Message(b"abc", "text/plain"), REQUEST, timeout_s=1
    )
    assert message.body == b"ABC" and stage.calls == ["now"]
    assert [t.service for t in timings] == ["quick"]


async def test_a_stage_that_cannot_answer_at_once_is_awaited_under_the_deadline():
    async def slow(message: Message) -> Message:
        await asyncio.sleep(5)
        return message

    stage = Stage(entry("slow"), later=slow)
    started = time.monotonic()
    with pytest.raises(StageTimeout) as caught:
        await application(stage).invoke(Message(b"x"), REQUEST, timeout_s=0.2)
    assert time.monotonic() - started < 2
    assert stage.calls == ["now", "later"] and caught.value.members["stage"] == 0


async def test_what_a_stage_told_of_each_answer_is_the_time_it_took():
    told: list[tuple[str, float]] = []

    async def later(message: Message) -> Message:
        await asyncio.sleep(0.05)
        return message

    stages = (Stage(entry("a"), now=lambda m: m), Stage(entry("b"), later=later))
    await application(*stages).invoke(
        Message(b"x"), REQUEST, timeout_s=1, on_stage=lambda s, t: told.append((s, t))
    )
    assert [s for s, _ in told] == ["a", "b"] and told[1][1] >= 0.04


async def test_an_answer_the_next_stage_does_not_take_is_a_stage_failure_every_time():
    # The first stage says it answers JSON, but answers text: caught at run time.
    liar = Stage(
        entry("liar", output="application/json"), now=lambda m: Message(b"x", "text/plain")
    )
    strict = Stage(entry("strict", input=("application/json",)), now=lambda m: m)
    app = application(liar, strict)
    for _ in range(2):  # and again: what it learnt about accepted types never lets it by
        with pytest.raises(StageFailed, match="does not accept"):
            await app.invoke(Message(b"{}", "application/json"), REQUEST, timeout_s=1)


async def test_an_accepted_type_is_checked_once_and_remembered():
    json_out = Stage(
        entry("j", output="application/json"), now=lambda m: Message(b"{}", "application/json")
    )
    strict = Stage(entry("strict", input=("application/json",)), now=lambda m: m)
    app = application(json_out, strict)
    for _ in range(3):
        message, _ = await app.invoke(Message(b"x"), REQUEST, timeout_s=1)
        assert message.content_type == "application/json"
    assert app._accepted[1] == {"application/json"}


def test_an_application_of_fixed_size_stages_says_so():
    class Fixed(Stage):
        fixed_size = True

    assert application(Fixed(entry("f"))).fixed_size
    assert not application(Fixed(entry("f")), Stage(entry("g"))).fixed_size
