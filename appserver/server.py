"""App servers: in-process hosts of deployed applications, and placement among them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from appserver.application import Application
from appserver.kinds import KINDS, DeployEnv, Stage
from appserver.plan import Plan
from igwcore.problems import ArgumentError, StageError, StageFailed, StageTimeout

log = logging.getLogger("integration_gateway.appserver")


class AppServer:
    """Holds applications; deploys a plan by deploying each stage's kind once."""

    def __init__(self, name: str, node: str, env: DeployEnv) -> None:
        self.name = name
        self.node = node
        self.env = env
        self.applications: dict[str, Application] = {}
        self.size_bytes = 0  # kept as applications come and go: placement reads it often

    async def build(self, plan: Plan, now_ns: int) -> Application:
        """Deploy every stage of `plan`; the application is not hosted until `host()`.

        A stage's deployment is held to the stage deadline: compiling a client's schema or
        stylesheet is client-supplied work too (SPEC §10.4)."""
        stages: list[Stage] = []
        timeout_s = self.env.stage_timeout_s
        try:
            for index, planned in enumerate(plan.stages):
                kind = KINDS[planned.service.kind]
                try:
                    # A kind that can deploy this stage at once does (nothing to wait for,
                    # so nothing for a deadline to stop); else the deploy is awaited.
                    now = getattr(kind, "deploy_now", None)
                    stage = None if now is None else now(planned.service, planned.args, self.env)
                    if stage is None:
                        async with asyncio.timeout(timeout_s):
                            stage = await kind.deploy(planned.service, planned.args, self.env)
                except (TimeoutError, ArgumentError, StageError) as e:
                    raise _deploy_problem(index, planned.service.id, timeout_s, e) from None
                stages.append(stage)
        except BaseException:
            for stage in stages:
                await stage.close()
            raise
        return Application(plan, stages, app_server=self.name, node=self.node, now_ns=now_ns)

    def build_now(self, plan: Plan, now_ns: int) -> Application | None:
        """`build` without a wait, when every stage's kind deploys it at once
        (`deploys_at_once`); else None, having deployed nothing."""
        env = self.env
        for planned in plan.stages:
            at_once = getattr(KINDS[planned.service.kind], "deploys_at_once", None)
            if at_once is None or not at_once(planned.service, env):
                return None
        stages: list[Stage] = []
        try:
            for index, planned in enumerate(plan.stages):
                kind = KINDS[planned.service.kind]
                try:
                    stage = kind.deploy_now(planned.service, planned.args, env)  # type: ignore[attr-defined]
                    if stage is None:
                        raise StageError("the kind could not deploy the stage at once")
                except Exception as e:
                    raise _deploy_problem(
                        index, planned.service.id, env.stage_timeout_s, e
                    ) from None
                stages.append(stage)
        except BaseException:
            _close_later(stages)
            raise
        return Application(plan, stages, app_server=self.name, node=self.node, now_ns=now_ns)

    def host(self, application: Application) -> None:
        self.applications[application.key] = application
        self.size_bytes += application.size_bytes()

    def release(self, key: str) -> Application | None:
        application = self.applications.pop(key, None)
        if application is not None:
            self.size_bytes -= application.size_bytes()
        return application

    def remeasure(self, application: Application) -> None:
        """Refresh the estimate of a hosted application: a stage grows while in use (a
        second compiled stylesheet for a second concurrent request)."""
        if self.applications.get(application.key) is application:
            before = application.size_bytes()
            self.size_bytes += application.remeasure() - before


def _deploy_problem(index: int, service: str, timeout_s: float, e: Exception) -> Exception:
    """A stage's failed deployment (a timeout, ArgumentError, StageError) as the problem
    that names it."""
    if isinstance(e, TimeoutError):
        return StageTimeout(
            f"stage {index} ({service}) could not be deployed within {timeout_s:g} s",
            stage=index,
            service=service,
            timeout_s=timeout_s,
        )
    if isinstance(e, ArgumentError):
        return e.problem(index, service)
    assert isinstance(e, StageError)
    return StageFailed(
        f"stage {index} ({service}) could not be deployed: {e.reason}",
        stage=index,
        service=service,
        reason=e.reason,
    )


def _close_later(stages: list[Stage]) -> None:
    """Close what a failed `build_now` had deployed, in a task (closing may await)."""
    if not stages:
        return

    async def close_all() -> None:
        for stage in stages:
            try:
                await stage.close()
            except Exception:
                log.exception("closing a stage of a failed deployment failed")

    task = asyncio.get_running_loop().create_task(close_all())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Task[None]] = set()


def least_loaded(servers: Iterable[AppServer]) -> AppServer:
    """The application server holding the fewest applications, then the fewest estimated bytes."""
    return min(servers, key=lambda s: (len(s.applications), s.size_bytes))
