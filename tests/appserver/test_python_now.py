"""The python kind's two paths: `call_now` and `deploy_now` when there is nothing to wait
for, the awaited call and deploy otherwise (appserver/kinds/python.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from appserver.kinds.base import DeployEnv
from appserver.kinds.python import PythonKind
from igwcore.message import Message, RequestContext
from igwcore.problems import StageError
from repository.entry import ServiceEntry

REQUEST = RequestContext()
KIND = PythonKind()


@pytest.fixture
def env():
    e = DeployEnv(python_modules=("tests.appserver.test_python_now",))
    yield e
    e.close()


def entry(callable: str, **target: Any) -> ServiceEntry:
    ref = f"tests.appserver.test_python_now:{callable}"
    return ServiceEntry(name=callable, kind="python", target={"callable": ref, **target})


class Halves:
    """Answers small payloads at once, larger ones only when awaited."""

    fixed_size = True
    prepared = 0

    def call_now(self, message: Message, request: RequestContext) -> bytes | None:
        return None if len(message.body) > 4 else b"now:" + message.body

    async def __call__(self, message: Message) -> bytes:
        return b"later:" + message.body


class Prepared:
    async def prepare(self) -> None:
        Prepared.prepared = True

    def __call__(self, message: Message) -> Message:
        return message


Prepared.prepared = False


def upper(message: Message) -> bytes:
    return message.body.upper()


async def test_a_class_answers_at_once_or_is_awaited(env):
    stage = KIND.deploy_now(entry("Halves"), {}, env)
    assert stage is not None and stage.fixed_size
    assert stage.invoke_now(Message(b"abc"), REQUEST) == Message(b"now:abc")
    assert stage.invoke_now(Message(b"abcdef"), REQUEST) is None
    assert (await stage.invoke(Message(b"abcdef"), REQUEST)).body == b"later:abcdef"


async def test_a_class_with_prepare_is_deployed_awaited(env):
    assert KIND.deploy_now(entry("Prepared"), {}, env) is None
    stage = await KIND.deploy(entry("Prepared"), {}, env)
    assert Prepared.prepared and stage.invoke_now is None and not stage.fixed_size


async def test_an_inline_function_answers_at_once_and_a_threaded_one_never(env):
    inline = KIND.deploy_now(entry("upper", inline=True), {}, env)
    threaded = KIND.deploy_now(entry("upper"), {}, env)
    assert inline is not None and threaded is not None
    assert inline.invoke_now(Message(b"a"), REQUEST).body == b"A"
    assert threaded.invoke_now is None
    assert (await threaded.invoke(Message(b"a"), REQUEST)).body == b"A"


class Refuses:
    def __init__(self) -> None:
        raise StageError("no, not today")


async def test_a_build_at_once_that_fails_closes_what_it_had_deployed(env, tmp_path):
    from appserver.plan import Plan, PlannedStage
    from appserver.server import AppServer
    from igwcore.problems import StageFailed
    from repository.builtins import BUILTIN_ENTRIES
    from repository.builtins.logger import LOG_FILES

    logger = next(e for e in BUILTIN_ENTRIES if e.name == "logger")
    env.settings = {"logger": {"dir": str(tmp_path)}}
    planned = (
        PlannedStage("logger(file=a.txt)", logger, {"level": "INFO", "file": "a.txt"}),
        PlannedStage("Refuses", entry("Refuses")),
    )
    plan = Plan("x", "0" * 32, planned, ("*/*",), "same")
    with pytest.raises(StageFailed, match=r"stage 1 .* no, not today"):
        AppServer("as0", "t", env).build_now(plan, 0)
    path = (tmp_path / "a.txt").resolve()
    assert LOG_FILES.users(path) == 1  # closed in a task of its own, next
    await asyncio.sleep(0.05)
    assert LOG_FILES.users(path) == 0
