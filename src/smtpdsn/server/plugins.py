"""Plugins, as in Haraka: plain objects with ``hook_<stage>`` methods, run in order.

A plugin is any object. For each stage it wants to decide, it has a method, plain or
``async``::

    hook_connect(session, envelope)
    hook_helo(session, envelope, hostname)
    hook_ehlo(session, envelope, hostname)
    hook_mail(session, envelope, address, params: MailParams)
    hook_rcpt(session, envelope, address, params: RcptParams)
    hook_data(session, envelope)          # envelope.content holds the message
    hook_quit(session, envelope)

A hook returns one of:

* ``None`` or ``CONT``: no opinion, ask the next plugin;
* a verdict (``OK``, ``DENY``, ``DENYSOFT``, ``DENYDISCONNECT``, ``DENYSOFTDISCONNECT``,
  ``DISCONNECT``), alone or as ``(verdict, answer)`` where ``answer`` is a
  :class:`~smtpdsn.reply.Reply` (``smtpdsn.no_such_user()``), a text, a list of lines or
  None;
* a :class:`~smtpdsn.verdict.Resolution` from :func:`smtpdsn.resolve`;
* a reply alone: its class gives the verdict (2xx OK, 4xx DENYSOFT, 421
  DENYSOFTDISCONNECT, 5xx DENY, 221 DISCONNECT). A plain string is read as a reply
  (``"550 No such user"``).

Plugins run in order and the first answer other than CONT decides; :func:`smtpdsn.resolve`
turns it into the reply, so the reply always agrees with what the server does. Plain hooks
run in a worker thread of the runner's own pool (daemon threads, see
:class:`~smtpdsn.server.threads.DaemonThreadPool`), so a slow one does not stop other
connections. A hook that raises, returns something else, or runs longer than the runner's
timeout is logged with its traceback and answered ``451 4.3.0``. A plain hook that timed
out keeps its thread until it returns; that thread is set aside (up to ``max_abandoned``
of them) so it does not take the place of the others.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Final

from ..dsnparams import MailParams, RcptParams
from ..parse import parse_reply
from ..reply import Reply
from ..verdict import (
    CONT,
    DENY,
    DENYSOFT,
    DENYSOFTDISCONNECT,
    DISCONNECT,
    OK,
    Resolution,
    Verdict,
    resolve,
)
from .threads import DaemonThreadPool

__all__ = [
    "PLUGIN_ERROR_REPLY",
    "STAGES",
    "HookResult",
    "Plugin",
    "PluginError",
    "PluginRunner",
    "format_peer",
    "to_resolution",
]

log = logging.getLogger("smtpdsn.server")

#: The stages a plugin can hook, in the order of an SMTP session.
STAGES: Final = ("connect", "helo", "ehlo", "mail", "rcpt", "data", "quit")
#: What the client is told when a plugin fails (raises, times out, answers nonsense).
PLUGIN_ERROR_REPLY: Final = Reply(451, "4.3.0", "Temporary local problem, try again later")


class PluginError(Exception):
    """A plugin hook returned something that is not a verdict, a reply or None."""


def _verdict_of(reply: Reply) -> Verdict:
    if reply.code == 221:
        return DISCONNECT
    if reply.code == 421:
        return DENYSOFTDISCONNECT
    if reply.code < 300:
        return OK
    if reply.code < 400:
        raise PluginError(f"a hook cannot answer with the intermediate reply {reply.code}")
    return DENYSOFT if reply.code < 500 else DENY


def to_resolution(result: object) -> Resolution:
    """Turn what a hook returned into a :class:`~smtpdsn.verdict.Resolution`.

    Raises:
        PluginError: the value is not one of the documented forms.
        DSNError: the reply or text in it is not valid (from :func:`smtpdsn.resolve`).
    """
    if result is None:
        return resolve(CONT)
    if isinstance(result, Resolution):  # already resolved by smtpdsn.resolve
        return result
    if isinstance(result, Verdict):
        return resolve(result)
    if isinstance(result, Reply):
        return resolve(_verdict_of(result), result)
    if isinstance(result, str):
        reply = parse_reply(result)
        return resolve(_verdict_of(reply), reply)
    if isinstance(result, tuple) and 1 <= len(result) <= 2 and isinstance(result[0], Verdict):
        answer = result[1] if len(result) == 2 else None
        return resolve(result[0], answer)
    raise PluginError(
        f"a hook must return None, a verdict, a reply or (verdict, reply or text); "
        f"got {result!r:.200}"
    )


#: What a hook may return (see the module documentation).
HookResult = (
    Verdict
    | Reply
    | str
    | Resolution
    | tuple[Verdict]
    | tuple[Verdict, Reply | str | Sequence[str] | None]
    | None
)


class Plugin:
    """An optional base class that documents the hooks and their types.

    Subclass it and override the hooks you need; the hooks you do not override are not
    called. Any object with ``hook_<stage>`` methods works as well.
    """

    #: The plugin's name in log lines (default: the class name).
    name: str | None = None

    async def hook_connect(self, session: Any, envelope: Any) -> HookResult:
        """A client connected; the greeting is not sent yet."""
        return None

    async def hook_helo(self, session: Any, envelope: Any, hostname: str) -> HookResult:
        """HELO ``hostname``."""
        return None

    async def hook_ehlo(self, session: Any, envelope: Any, hostname: str) -> HookResult:
        """EHLO ``hostname``."""
        return None

    async def hook_mail(
        self, session: Any, envelope: Any, address: str, params: MailParams
    ) -> HookResult:
        """MAIL FROM ``address`` with its RET and ENVID."""
        return None

    async def hook_rcpt(
        self, session: Any, envelope: Any, address: str, params: RcptParams
    ) -> HookResult:
        """RCPT TO ``address`` with its NOTIFY and ORCPT."""
        return None

    async def hook_data(self, session: Any, envelope: Any) -> HookResult:
        """The message has been received (``envelope.content``), not yet delivered."""
        return None

    async def hook_quit(self, session: Any, envelope: Any) -> HookResult:
        """QUIT; the answer is ignored (the reply is always 221)."""
        return None


def format_peer(peer: object) -> str:
    """``("127.0.0.1", 25)`` -> ``127.0.0.1:25``; IPv6 hosts in brackets; else ``str()``."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer)


def _name(plugin: object) -> str:
    return getattr(plugin, "name", None) or type(plugin).__name__


class PluginRunner:
    """Runs the plugins' hooks for one stage, in order, with a time limit.

    Args:
        plugins: the plugin objects, in the order they are asked.
        timeout: seconds a hook may take before it is abandoned and answered 451 4.3.0.
        max_threads: how many plain hooks may run at once (in daemon threads of the
            runner's own pool); more wait for a free thread, within their timeout.
        max_abandoned: how many plain hooks that timed out may still be running in their
            threads without taking the place of the ``max_threads``; once so many hang,
            a further hung hook keeps its place until it returns.
    """

    def __init__(
        self,
        plugins: Sequence[object],
        *,
        timeout: float = 30.0,
        max_threads: int = 32,
        max_abandoned: int = 256,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"the plugin timeout must be positive, got {timeout!r}")
        self.plugins = tuple(plugins)
        self.timeout = timeout
        self.pool = DaemonThreadPool(max_threads, "smtpdsn-hook", max_abandoned=max_abandoned)
        self._hooks: dict[str, list[tuple[str, Callable[..., Any]]]] = {s: [] for s in STAGES}
        for plugin in self.plugins:
            if isinstance(plugin, type):
                raise TypeError(
                    f"plugin {plugin.__name__} is a class; pass an instance: {plugin.__name__}()"
                )
            for stage in STAGES:
                hook = getattr(plugin, f"hook_{stage}", None)
                if getattr(hook, "__func__", None) is getattr(Plugin, f"hook_{stage}"):
                    continue  # not overridden: nothing to ask
                if hook is not None:
                    if not callable(hook):
                        raise TypeError(f"{_name(plugin)}.hook_{stage} is not callable")
                    self._hooks[stage].append((_name(plugin), hook))
        #: The stages whose hooks all run on the event loop at once: plain hooks of
        #: plugins that set ``inline = True`` (quick, never blocking: the rules).
        self._inline = {
            stage: all(
                getattr(getattr(hook, "__self__", None), "inline", False) is True
                and not inspect.iscoroutinefunction(hook)
                for _, hook in hooks
            )
            for stage, hooks in self._hooks.items()
        }

    def close(self) -> None:
        """Let the pool's idle threads end, without waiting for busy ones (a hung hook's
        thread is a daemon thread and does not keep the process alive). The runner can be
        used again afterwards."""
        self.pool.shutdown(wait=False)

    def has_hooks(self, stage: str) -> bool:
        """True when at least one plugin hooks ``stage``."""
        return bool(self._hooks[stage])

    def is_inline(self, stage: str) -> bool:
        """True when :meth:`run_inline` can decide ``stage`` (no hook, or only the plain
        hooks of ``inline`` plugins)."""
        return self._inline[stage]

    def run_inline(self, stage: str, *args: object, peer: object = None) -> Resolution | None:
        """:meth:`run` for a stage whose hooks all run inline (see :meth:`is_inline`):
        each is called at once on the caller's thread, without a task or a worker thread."""
        for name, hook in self._hooks[stage]:
            try:
                answer = hook(*args)
            except Exception:
                return _failed(peer, name, stage)
            resolution = _decided(answer, peer, name, stage)
            if resolution is not None:
                return resolution
        return None

    async def run(self, stage: str, *args: object, peer: object = None) -> Resolution | None:
        """Ask each plugin's ``hook_<stage>(*args)``; the first answer other than CONT wins.

        Returns:
            The deciding plugin's resolution, a 451 4.3.0 DENYSOFT resolution when a
            plugin failed, or None when every plugin answered CONT (or none hooks it).
        """
        who = format_peer(peer)
        for name, hook in self._hooks[stage]:
            thread: list[int] = []
            task = asyncio.ensure_future(self._call(hook, args, thread))
            try:
                done, _ = await asyncio.wait({task}, timeout=self.timeout)
            except asyncio.CancelledError:
                task.cancel()  # the client went away: stop waiting for the plugin
                raise
            if not done:
                where = _where(task, thread)
                task.cancel()
                if thread:
                    self.pool.abandon(thread[0])
                log.error(
                    "%s plugin %s hook_%s timed out after %g s; answering %s\n%s",
                    who,
                    name,
                    stage,
                    self.timeout,
                    PLUGIN_ERROR_REPLY,
                    where,
                )
                return resolve(DENYSOFT, PLUGIN_ERROR_REPLY)
            try:
                answer = task.result()
            except Exception:
                return _failed(peer, name, stage)
            resolution = _decided(answer, peer, name, stage)
            if resolution is not None:
                return resolution
        return None

    async def _call(
        self, hook: Callable[..., Any], args: tuple[object, ...], thread: list[int]
    ) -> object:
        """Call a hook: an async one on the loop, a plain one in a worker thread (whose id
        goes into ``thread``, to show where it is stuck if it times out)."""
        if inspect.iscoroutinefunction(hook):
            return await hook(*args)

        def call() -> object:
            thread.append(threading.get_ident())
            return hook(*args)

        result = await asyncio.get_running_loop().run_in_executor(self.pool, call)
        if inspect.isawaitable(result):
            return await result
        return result


def _failed(peer: object, name: str, stage: str) -> Resolution:
    """Log the exception being handled (a hook that raised or answered nonsense) and give
    the 451 4.3.0 resolution."""
    log.exception(
        "%s plugin %s hook_%s failed; answering %s",
        format_peer(peer),
        name,
        stage,
        PLUGIN_ERROR_REPLY,
    )
    return resolve(DENYSOFT, PLUGIN_ERROR_REPLY)


def _decided(answer: object, peer: object, name: str, stage: str) -> Resolution | None:
    """A hook's answer as a resolution, or None for CONT (ask the next plugin)."""
    try:
        resolution = to_resolution(answer)
    except Exception:
        return _failed(peer, name, stage)
    if resolution.verdict is CONT:
        return None
    if resolution.adjusted:
        log.warning("%s plugin %s hook_%s: %s", format_peer(peer), name, stage, resolution.adjusted)
    return resolution


def _where(task: asyncio.Future[object], thread: list[int]) -> str:
    """Where a timed-out hook is running: its worker thread's stack, or the task's."""
    if thread:
        frame = sys._current_frames().get(thread[0])
        if frame is not None:
            return "Stack of the hook (still running in a worker thread):\n" + "".join(
                traceback.format_stack(frame)
            )
    # An async hook: follow the chain of awaits from the task's coroutine down.
    frames: list[traceback.FrameSummary] = []
    coro: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        code = frame.f_code
        frames.append(traceback.FrameSummary(code.co_filename, frame.f_lineno, code.co_name))
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return "Stack of the hook:\n" + "".join(traceback.format_list(frames))
