"""The `python` kind: a callable named `module:function` (or a class) in the target.

A function is called once a message as `fn(message, **args)`. A class is instantiated
once at deploy as `cls(**args)` (plus `settings=` — the operator's `[services.NAME]`
table — and `isolation=` — the gateway's killable worker processes — when its
constructor takes them), its `prepare()` coroutine awaited if it has one; the instance is
then called once a message, and its `close()` (if any) runs when the application goes.
Either may be a coroutine function; a plain function runs in the python services' own
threads (`DeployEnv.python_threads`) so that it never stalls the event loop nor fills the
gateway's threads, unless the target says `"inline": true`. Only callables of modules
that `[repository] python_modules` allows run (`refusal`, SPEC §10.2).

A call may return a `Message`, `bytes` or `str` (typed as the entry's output, or the
input's type where the output is `same`), or a `dict`/`list` (written as JSON).

A class may also define `call_now(message, request)`: what the call would return, when
it can be had at once (no I/O, little work), else None; the hit path tries it first and
awaits the call only when it gives None (the built-ins do, for payloads under
`INLINE_LIMIT`). A class whose `size_bytes()` never changes once made says so with
`fixed_size = True`; a function target's stage is of fixed size.
"""

from __future__ import annotations

import asyncio
import contextvars
import fnmatch
import functools
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, ClassVar

from appserver.kinds.base import DeployEnv
from igwcore import mediatype
from igwcore.message import Message, RequestContext
from igwcore.problems import StageError
from repository.builtins import BUILTIN_ENTRIES
from repository.entry import ServiceEntry

# The built-ins' callables, allowed in any entry whatever `python_modules` says.
BUILTIN_CALLABLES = frozenset(entry.target["callable"] for entry in BUILTIN_ENTRIES)


def refusal(ref: str, allowed: Sequence[str]) -> str | None:
    """Why `target.callable` `ref` may not run, or None (see `_refusal`); remembered for
    the allowed, since every deployment of the entry asks."""
    key = (ref, tuple(allowed))
    if key in _ALLOWED:
        return None
    reason = _refusal(ref, allowed)
    if reason is None and len(_ALLOWED) < 4096:
        _ALLOWED.add(key)
    return reason


_ALLOWED: set[tuple[str, tuple[str, ...]]] = set()


def _refusal(ref: str, allowed: Sequence[str]) -> str | None:
    """Why `target.callable` `ref` may not run (SPEC §10.2), or None when it may: it must
    name a function or class defined in a module that a pattern of `[repository]
    python_modules` matches (shell-style, case-sensitive, over the dotted name). A module
    is imported only once a pattern allowed it: importing runs its code."""
    if ref in BUILTIN_CALLABLES:
        return None
    module_name, _, name = ref.partition(":")
    where = f"target.callable {ref!r}"
    if not any(fnmatch.fnmatchcase(module_name, pattern) for pattern in allowed):
        listed = ", ".join(allowed) if allowed else "none"
        return (
            f"{where}: module {module_name!r} is not allowed by [repository] python_modules "
            f"(allowed: {listed})"
        )
    if "." in name:
        return f"{where}: an attribute path; name a function or class of the module itself"
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # whatever the module's own code raises on import
        return f"{where}: {module_name} cannot be imported: {type(e).__name__}: {e}"
    target = getattr(module, name, None)
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        return f"{where}: {module_name} defines no function or class {name!r}"
    if target.__module__ != module_name:
        return f"{where}: {name} is defined in {target.__module__}, not in {module_name}"
    return None


def load_allowed(ref: str, allowed: Sequence[str]) -> Any:
    """The callable `ref` names, once `refusal` has nothing against it; else StageError."""
    reason = refusal(ref, allowed)
    if reason is not None:
        raise StageError(reason)
    try:
        return load_callable(ref)
    except (ImportError, AttributeError, ValueError) as e:
        raise StageError(f"cannot load {ref}: {e}") from e


def load_callable(ref: str) -> Any:
    """The object `module:attr` names (imported once, then remembered)."""
    found = _LOADED.get(ref)
    if found is None:
        found = _load(ref)
        if len(_LOADED) < 4096:
            _LOADED[ref] = found
    return found


_LOADED: dict[str, Any] = {}


def _load(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"callable must be 'module:function', not {ref!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    if not (inspect.isclass(fn) or inspect.isfunction(fn) or inspect.ismethod(fn)):
        fn = type(fn).__call__  # an instance: its class's __call__, cached once a class
    names, any_keyword = _parameters(fn)
    return any_keyword or name in names


@functools.lru_cache(maxsize=1024)
def _parameters(fn: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    """Parameter names and whether **kwargs is taken; inspect.signature is slow on a miss."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return frozenset(), False
    return frozenset(params), any(p.kind is p.VAR_KEYWORD for p in params.values())


def to_message(result: Any, given: Message, entry: ServiceEntry) -> Message:
    """Turn what a callable returned into the message the next stage receives."""
    if isinstance(result, Message):
        return result
    declared = entry.output
    if declared in (mediatype.SAME, mediatype.ANY):
        ctype = given.content_type
    else:
        ctype = mediatype.normalize(declared)
    if isinstance(result, bytes | bytearray | memoryview):
        return Message(bytes(result), ctype)
    if isinstance(result, str):
        return Message(result.encode(), ctype)
    if isinstance(result, dict | list):
        return Message(json.dumps(result).encode(), "application/json")
    if result is None:
        return given
    raise TypeError(f"a python stage returned {type(result).__name__}")


class PythonStage:
    def __init__(
        self,
        entry: ServiceEntry,
        call: Callable[..., Any],
        inline: bool,
        threads: Executor,
        instance: Any = None,
    ) -> None:
        self.entry = entry
        self._call = call
        self._threads = threads
        self._async = inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
            type(call).__call__
        )
        self._inline = inline
        self._instance = instance
        self._takes_request = _accepts(call, "request")
        self.fixed_size = instance is None or bool(getattr(instance, "fixed_size", False))
        call_now = getattr(instance, "call_now", None)
        if call_now is not None:
            self._call_now = call_now
        elif inline and not self._async:
            self._call_now = self._inline_call
        else:
            self.invoke_now = None  # type: ignore[assignment]

    def invoke_now(self, message: Message, request: RequestContext) -> Message | None:
        """The answer at once, when the callable can give it without waiting; else None."""
        result = self._call_now(message, request)
        return None if result is None else to_message(result, message, self.entry)

    def _inline_call(self, message: Message, request: RequestContext) -> Any:
        if self._takes_request:
            result = self._call(message, request=request)
        else:
            result = self._call(message)
        return message if result is None else result

    async def invoke(self, message: Message, request: RequestContext) -> Message:
        kwargs = {"request": request} if self._takes_request else {}
        if self._async:
            result = await self._call(message, **kwargs)
        elif self._inline:
            result = self._call(message, **kwargs)
        else:
            # Python services' own threads: a blocking one can fill them, not the gateway's.
            context = contextvars.copy_context()
            call = functools.partial(context.run, self._call, message, **kwargs)
            result = await asyncio.get_running_loop().run_in_executor(self._threads, call)
        return to_message(result, message, self.entry)

    def size_bytes(self) -> int:
        own = sys.getsizeof(self)
        sizer = getattr(self._instance, "size_bytes", None)
        return own + (int(sizer()) if callable(sizer) else 0)

    async def close(self) -> None:
        closer = getattr(self._instance, "close", None)
        if closer is None:
            return
        result = closer()
        if inspect.isawaitable(result):
            await result


class PythonKind:
    name: ClassVar[str] = "python"
    target_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["callable"],
        "properties": {
            "callable": {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"},
            "inline": {"type": "boolean"},
        },
        "additionalProperties": False,
    }

    def check_target(self, target: Mapping[str, Any], env: DeployEnv) -> list[dict[str, str]]:
        """The callable must be allowed by `[repository] python_modules` (SPEC §10.2)."""
        reason = refusal(str(target["callable"]), env.python_modules)
        return [] if reason is None else [{"field": "target/callable", "reason": reason}]

    def check_args(self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv) -> None:
        """A class target may define `check_args(args, settings)`; it raises ArgumentError."""
        try:
            target = load_allowed(entry.target["callable"], env.python_modules)
        except StageError:
            return  # reported when the stage deploys
        checker = getattr(target, "check_args", None)
        if inspect.isclass(target) and checker is not None:
            checker(args, env.settings_of(entry.name))

    def deploys_at_once(self, entry: ServiceEntry, env: DeployEnv) -> bool:
        """Whether `deploy_now` deploys this entry (its class has no `prepare`)."""
        try:
            target = load_allowed(entry.target["callable"], env.python_modules)
        except StageError:
            return False  # `deploy` says why
        return not (inspect.isclass(target) and getattr(target, "prepare", None) is not None)

    def deploy_now(
        self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv
    ) -> PythonStage | None:
        """The stage, deployed at once when that needs no wait: a function, or a class
        without `prepare`; else None (then `deploy` is awaited, under the deadline)."""
        target = load_allowed(entry.target["callable"], env.python_modules)
        if inspect.isclass(target) and getattr(target, "prepare", None) is not None:
            return None
        return self._made(entry, target, args, env)

    async def deploy(
        self, entry: ServiceEntry, args: Mapping[str, Any], env: DeployEnv
    ) -> PythonStage:
        target = load_allowed(entry.target["callable"], env.python_modules)
        stage = self._made(entry, target, args, env)
        prepare = getattr(stage._instance, "prepare", None)
        if prepare is not None:
            try:
                await prepare()
            except BaseException:
                await stage.close()
                raise
        return stage

    def _made(
        self, entry: ServiceEntry, target: Any, args: Mapping[str, Any], env: DeployEnv
    ) -> PythonStage:
        inline = bool(entry.target.get("inline", False))
        if inspect.isclass(target):
            extra: dict[str, Any] = {}
            if _accepts(target, "settings"):
                extra["settings"] = env.settings_of(entry.name)
            if _accepts(target, "isolation"):
                extra["isolation"] = env.isolation
            instance = target(**args, **extra)
            return PythonStage(entry, instance, inline, env.python_threads, instance)
        fixed = dict(args)

        def call(message: Message, **kw: Any) -> Any:
            return target(message, **fixed, **kw)

        if inspect.iscoroutinefunction(target):

            async def acall(message: Message, **kw: Any) -> Any:
                return await target(message, **fixed, **kw)

            return PythonStage(entry, acall, inline, env.python_threads)
        stage = PythonStage(entry, call, inline, env.python_threads)
        stage._takes_request = _accepts(target, "request")
        return stage
