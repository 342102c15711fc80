"""Ctrl-C and SIGTERM stop a command by raising in its main thread, only where raising is safe.

Python runs a signal's handler between two bytecodes of whatever the main thread is running, and that
may be Python code called from C that does not expect an exception: Numba unboxes each
`numpy.random.Generator` argument by calling into `ctypes` and its own typing code, and an exception
raised there crashes the process (SIGSEGV) instead of unwinding it. So the handler raises only when the
interrupted frame is this package's own code or a stdlib wait (a future's result, a queue, a join:
not any stdlib code, since Numba's dispatch calls `threading.RLock` too);
elsewhere it tries again a moment later, and after a second of that raises anyway.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import queue
import selectors
import signal
import threading
import time
from pathlib import Path

RETRY_SECONDS = 0.02
GIVE_UP_SECONDS = 1.0  # then raise wherever the thread is: a long stay outside our code is no dispatch

_OURS = str(Path(__file__).parent) + os.sep
_WAIT_MODULES = (
    threading.__file__,
    queue.__file__,
    selectors.__file__,
    str(Path(concurrent.futures.__file__).parent),
)
_WAITS = frozenset(
    {"wait", "join", "_wait_for_tstate_lock", "result", "as_completed", "get", "put", "select"}
)


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so it unwinds as an interrupt does: partial outputs are
    removed on the way out, not left behind by a process that simply vanished."""


def safe_to_raise(frame) -> bool:
    """Whether an exception raised in `frame` unwinds through Python only."""
    if frame is None:
        return False
    code = frame.f_code
    if code.co_filename.startswith(_OURS):
        return True
    return code.co_name in _WAITS and code.co_filename.startswith(_WAIT_MODULES)


@contextlib.contextmanager
def stopping_safely():
    """While inside: SIGINT raises KeyboardInterrupt and SIGTERM raises `Terminated`, at a safe point
    (main thread only; a SIGINT the parent ignores stays ignored). The previous handlers come back after.

    A deferred signal is retried by SIGALRM, not by a thread: the handler itself must not wait, since a
    wait is where a second signal would raise."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = {signal.SIGTERM: Terminated}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        wanted[signal.SIGINT] = KeyboardInterrupt
    can_retry = hasattr(signal, "setitimer")  # not on Windows: there a signal raises where it lands
    pending: dict[int, float] = {}  # deferred signal -> when it first came

    def stop(signum, frame):
        first = pending.setdefault(signum, time.monotonic())
        if not can_retry or safe_to_raise(frame) or time.monotonic() - first > GIVE_UP_SECONDS:
            pending.clear()
            raise wanted[signum]
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)

    def retry(signum, frame):
        for deferred in list(pending):
            stop(deferred, frame)

    handlers = {**dict.fromkeys(wanted, stop), **({signal.SIGALRM: retry} if can_retry else {})}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        if can_retry:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
