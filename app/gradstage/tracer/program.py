"""Run one program under every capture mechanism and build its Trace."""

from __future__ import annotations

import ast
import builtins
import contextlib
import dis
import io
import linecache
import operator
import os
import random
import resource
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec
import torch

from gradstage.limits import Limits
from gradstage.schema import Trace
from gradstage.tracer.build import build_trace
from gradstage.tracer.explain import COMPILE_WARNING, explain_error, explain_warning
from gradstage.tracer.fastpath import fast_paths_as_plain
from gradstage.tracer.forward import ForwardMode
from gradstage.tracer.loops import END, ITER, LOOP, SIZED, instrument, sized
from gradstage.tracer.plotshim import make_modules
from gradstage.tracer.recorder import PROGRAM_FILE, Recorder
from gradstage.tracer.timeline import Ev
from gradstage.tracer.training import capture_training


class OutputLimitExceeded(BaseException):
    """The program printed more than it may; raised from print() to stop it there.

    A BaseException, so that a learner's ``except Exception`` does not swallow it.
    """


class TimeLimitExceeded(BaseException):
    """The program ran out of time; raised from a timer's signal to stop it where it is.

    A BaseException, so that a learner's ``except Exception`` does not swallow it.
    """


# Share of the sandbox's CPU and wall-clock limits after which the tracer stops the program
# itself: the rest is left for building its Trace before the hard limits would kill it, and
# at least TIME_LEFT seconds of each: a Trace at the event limit takes most of a second of CPU
# to build, and on a busy server a worker (at a lower priority) gets little of the CPU.
TIME_SHARE = 0.9
TIME_LEFT = 1.0


def _stop_at(limit: float) -> float:
    """When, in seconds of CPU or wall-clock time, the tracer stops the program itself."""
    return max(0.5 * limit, min(TIME_SHARE * limit, limit - TIME_LEFT))


# How long a program stopped in time has to end once stopped (its exception unwinding, its
# finally: blocks), before it counts as having swallowed the stop.
RESTOP_SECONDS = 0.05

# How late a stop may reach the program before it counts as stuck in one long call (a torch
# kernel on huge tensors: a signal's handler only runs between two Python instructions), and
# how often the watchdog that notices it looks.
STUCK_SECONDS = 0.25
WATCH_SECONDS = 0.05
WATCHDOG_STACK = 1 << 20


@contextlib.contextmanager
def _stopped_in_time(
    at: tuple[float, float] | None, give_up: Callable[[Any, bool], None] | None
) -> Iterator[list[int]]:
    """Stop the program after ``at`` seconds of CPU time or of wall-clock time: in the
    sandbox, a little before its hard time limits would kill it, so that its Trace survives
    (the line it was running and the graph it had built). A timer of CPU time and one of
    wall-clock time (a ``time.sleep``) raise ``TimeLimitExceeded`` in the program wherever it
    is, between two of its instructions.

    ``give_up(frame, long_call)`` sends the Trace so far from where the program is and ends
    the process (it does not return). It is called:

    - from the timer's handler when the program is still running ``RESTOP_SECONDS`` after a
      stop: it caught the exception (a bare ``except:`` in a loop);
    - from a watchdog thread when the stop has not reached the program ``STUCK_SECONDS``
      after it was due: the program is inside one long call, which a signal cannot
      interrupt, and ``frame`` is where it called it (``long_call``). Its main thread is then
      kept from running on while its Trace is built (the handler it runs next blocks).

    Without ``give_up`` a program is stopped again, and again. Yields the number of stops so
    far.
    """
    stops = [0]
    if at is None or threading.current_thread() is not threading.main_thread():
        yield stops
        return
    cpu_at, wall_at = at

    armed = True
    lock = threading.Lock()
    taken = threading.Event()  # the watchdog is sending the Trace: the program runs no more
    over = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if taken.is_set():
            threading.Event().wait()  # until the process ends
        if not armed:  # the program is over (the timers are being cancelled)
            return
        stops[0] += 1
        if stops[0] > 1 and give_up is not None:
            give_up(frame, False)
        signal.setitimer(signal.ITIMER_REAL, RESTOP_SECONDS)
        raise TimeLimitExceeded

    def watch(main: int, cpu_due: float, wall_due: float) -> None:
        assert give_up is not None
        while not over.wait(WATCH_SECONDS):
            if time.process_time() < cpu_due and time.monotonic() < wall_due:
                continue
            with lock:
                if over.is_set():
                    return
                taken.set()
            # Long enough for the Trace to be built before the program's thread could run a
            # Python instruction again (it waits for the interpreter lock that long, unless
            # this thread lets go of it in a call of its own).
            sys.setswitchinterval(30.0)
            give_up(sys._current_frames().get(main), True)

    old_prof = signal.signal(signal.SIGPROF, stop)
    old_alarm = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_PROF, cpu_at)
    signal.setitimer(signal.ITIMER_REAL, wall_at)
    if give_up is not None:
        due = (
            time.process_time() + cpu_at + STUCK_SECONDS,
            time.monotonic() + wall_at + STUCK_SECONDS,
        )
        watchdog = threading.Thread(
            target=watch, args=(threading.get_ident(), *due), name="gradstage-watchdog"
        )
        watchdog.daemon = True
        # A small stack: the sandbox's address-space limit counts the default 8 MiB.
        default_stack = threading.stack_size(WATCHDOG_STACK)
        try:
            watchdog.start()
        finally:
            threading.stack_size(default_stack)
    try:
        yield stops
    finally:
        with lock:
            over.set()
        if taken.is_set():
            threading.Event().wait()  # the watchdog is sending the Trace; the process ends
        armed = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, old_prof)
        signal.signal(signal.SIGALRM, old_alarm)


class _Stdout:
    """Captures what the program prints, exactly, and puts it on the timeline."""

    def __init__(
        self,
        rec: Recorder,
        cap: int,
        echo: Callable[[str], None] | None,
        stream: str = "stdout",
    ) -> None:
        self.rec = rec
        self.echo = echo
        self.stream = stream
        # After the run: where writes go (a logging handler the program set up keeps this
        # object; in a notebook it must then write where it would have without the tracer).
        self.released_to: Any = None
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.encoding = "utf-8"
        self.errors = "strict"

    def write(self, text: str) -> int:
        if self.released_to is not None:
            written: int = self.released_to.write(text)
            return written
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        # The cap is in bytes of UTF-8, as the sandbox counts what it receives: Chinese text or
        # emoji take three or four bytes a character.
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        room = max(self.cap - self.size, 0)
        kept = text
        if size > room:
            # Cut at a character boundary, never inside one.
            kept = text.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
        kept_size = size if kept is text else len(kept.encode("utf-8", "surrogatepass"))
        self.dropped += size - kept_size
        overflow = kept is not text
        if kept:
            if self.echo is not None:
                self.echo(kept)
            self.parts.append(kept)
            self.size += kept_size
            line, _ = self.rec.user_frame()
            last = self.rec.timeline.kept[-1] if self.rec.timeline.kept else None
            seg = self.rec.timeline._segment
            if seg:
                last = seg[-1]
            if (
                isinstance(last, Ev)
                and last.kind == "print"
                and last.fields.get("stream", "stdout") == self.stream
                and last.fields["text"][-1:] != "\n"
            ):
                last.fields["text"] += kept
            elif self.stream == "stdout":
                self.rec.emit("print", line=line, text=kept)
            else:
                self.rec.emit("print", line=line, text=kept, stream=self.stream)
        if overflow:
            raise OutputLimitExceeded
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.released_to is not None:
            self.released_to.flush()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")  # as io.StringIO: no file behind it

    def close(self) -> None:
        """Closing the console would lose what is printed next: it stays open, as a
        notebook's does."""

    @property
    def closed(self) -> bool:
        return False

    @property
    def name(self) -> str:
        return f"<{self.stream}>"

    @property
    def line_buffering(self) -> bool:
        return True

    @property
    def buffer(self) -> _Bytes:
        """Bytes written here are text in UTF-8 (``sys.stdout.buffer.write(b"...")``)."""
        return _Bytes(self)

    def reconfigure(self, **options: Any) -> None:
        """Accepted and ignored (the console is always UTF-8, line by line)."""

    def text(self) -> str:
        return "".join(self.parts)


class _Bytes:
    """``sys.stdout.buffer``: bytes, decoded as UTF-8, go to the text stream."""

    def __init__(self, text: _Stdout) -> None:
        self.text = text

    def write(self, data: bytes) -> int:
        self.text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        self.text.flush()


class _LoopMarks:
    """Receives the step markers inserted into the program's loops (see ``loops.py``).

    Loops nest at run time: ``stack`` holds each running loop's ``[line, step, total, run,
    backward calls before it]``, outermost first. Each step of any loop gets fresh site
    counts, so its ops reuse the ids of the same ops in the previous step; the first ``top``
    loop that runs (and while it runs) also groups the timeline into iterations. ``run``
    tells apart two runs of one loop in the same step of the code around it (a function with
    a loop, called twice): they do not share ids, while the run of an inner loop in each step
    of the outer one does.
    """

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.stack: list[list[Any]] = []
        self.path: tuple[tuple[int, int], ...] = ()  # (line, run) of each running loop
        self.timeline_depth: int | None = None

    def _depth(self, loop_line: int) -> int | None:
        stack = self.stack
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth][0] == loop_line:
                return depth
        return None

    def iteration(self, loop_line: int, total: int | None = None, top: bool = True) -> None:
        rec = self.rec
        stack = self.stack
        if stack and stack[-1][0] == loop_line:  # the next step of the innermost loop
            depth = len(stack) - 1
            stack[depth][1] += 1
        else:
            found = self._depth(loop_line)
            if found is None:
                stack.append([loop_line, 0, total, rec.loop_run(loop_line), rec.backward_count])
                self.path = (*self.path, (loop_line, stack[-1][3]))
                depth = len(stack) - 1
                if top and self.timeline_depth is None:
                    self.timeline_depth = depth
            else:
                depth = found
                self._leave(depth + 1)  # loops inside it, left without their end marker
                stack[depth][1] += 1
        if depth != self.timeline_depth:
            if rec.unnamed_tensors():
                rec.user_frame()  # names what the previous step bound
            rec.enter_step(depth, self.path)
            if self.timeline_depth is not None and depth == self.timeline_depth + 1:
                # The steps of a loop in each iteration of the top one that train (an epoch's
                # mini-batches: they call backward()) keep their detail for the first and
                # last steps only, too; a loop over a model's layers keeps all of it.
                running = stack[depth]
                trains = rec.backward_count > running[4]
                rec.inner_step(running[1], loop_line, trains and self._light(running))
            return
        rec.user_frame()
        rec.enter_step(depth, self.path)
        rec.begin_iteration(stack[depth][1], loop_line, light=self._light(stack[depth]))

    def _light(self, running: list[Any]) -> bool:
        """Whether this step of a loop is left out: between the first and the last steps kept
        when its length is known, else once its detail costs too much time."""
        _, index, count, *_ = running
        limits = self.rec.limits
        if count is not None:
            return bool(limits.detail_first <= index < count - limits.detail_last)
        return index >= limits.detail_first and self.rec.detail_costs_too_much()

    def loop(
        self, loop_line: int, iterable: Any, top: bool = True, early: bool = False
    ) -> Iterator[Any]:
        """Wrap a for loop's iterable: mark each step, knowing the count when it can
        (``early``: the loop may break or return, so its length says nothing)."""
        total = -1 if early else operator.length_hint(iterable, -1)
        count = total if total >= 0 else None
        iteration = self.iteration
        for item in iterable:
            iteration(loop_line, count, top)
            yield item

    def end(self, loop_line: int) -> None:
        depth = self._depth(loop_line)
        if depth is not None:
            self._leave(depth)

    def _leave(self, depth: int) -> None:
        """Loops from ``depth`` inwards are over."""
        if depth >= len(self.stack):
            return
        top = self.timeline_depth
        if top is not None and depth <= top + 1 < len(self.stack):
            self.rec.end_inner()  # the loop inside the top one is over (or both are)
        del self.stack[depth:]
        self.path = self.path[:depth]
        self.rec.leave_loops(depth, self.path)
        if self.timeline_depth is not None and self.timeline_depth >= depth:
            self.timeline_depth = None
            self.rec.end_loop()


def _program_line(tb: Any) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == PROGRAM_FILE:
            line = lineno
    return line


_RAISE = dis.opmap["RAISE_VARARGS"]


def _raised_by_program(exc: BaseException) -> bool:
    """True when a ``raise`` statement of the program raised ``exc``.

    A Ctrl-C arrives between two instructions, never at a ``raise``: this tells a program's
    own ``raise KeyboardInterrupt`` from the user stopping the tool."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return code.co_filename == PROGRAM_FILE and code.co_code[tb.tb_lasti] == _RAISE


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DISPATCH = os.path.join(os.path.dirname(torch.__file__), "overrides.py")


def _program_frames(frames: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    """The frames of a traceback or stack that a plain run would show: none of the tracer's
    (nor torch's dispatch to it), none of whatever runs the program (the sandbox, a notebook)."""
    items = list(frames)
    outside: set[int] = set()
    for frame, _ in items:
        code = frame.f_code
        if code.co_filename == PROGRAM_FILE and code.co_name == "<module>":
            caller = frame.f_back
            while caller is not None:
                outside.add(id(caller))
                caller = caller.f_back
            break
    # A stack lists the innermost frame first, a traceback the outermost: a frame whose callee
    # is torch's dispatch only called it (``return handle_torch_function(...)``), which a
    # plain run never does.
    inner_first = len(items) > 1 and items[0][0].f_back is items[1][0]
    for i, item in enumerate(items):
        frame = item[0]
        name = frame.f_code.co_filename
        if id(frame) in outside or name.startswith(_PACKAGE) or name == _DISPATCH:
            continue
        callee = i - 1 if inner_first else i + 1
        if 0 <= callee < len(items) and items[callee][0].f_code.co_filename == _DISPATCH:
            continue
        yield item


@contextlib.contextmanager
def _plain_tracebacks(source: str) -> Iterator[None]:
    """Tracebacks the program prints or formats (``traceback.print_exc()``, anomaly mode's
    stack of the forward call) look as in a plain run: the program's lines with their source
    text, without the frames of the tracer."""
    previous = linecache.cache.get(PROGRAM_FILE)
    # An entry without a modification time is never dropped by linecache.checkcache().
    linecache.cache[PROGRAM_FILE] = (len(source), None, source.splitlines(True), PROGRAM_FILE)
    summary = traceback.StackSummary
    original = summary.__dict__.get("_extract_from_extended_frame_gen")
    if isinstance(original, classmethod):
        extract = original.__func__

        def filtered(klass: Any, frame_gen: Any, /, **kwargs: Any) -> Any:
            return extract(klass, _program_frames(frame_gen), **kwargs)

        setattr(summary, "_extract_from_extended_frame_gen", classmethod(filtered))
    try:
        yield
    finally:
        if isinstance(original, classmethod):
            setattr(summary, "_extract_from_extended_frame_gen", original)
        if previous is None:
            linecache.cache.pop(PROGRAM_FILE, None)
        else:
            linecache.cache[PROGRAM_FILE] = previous


@contextlib.contextmanager
def _swap_modules(modules: dict[str, Any]) -> Iterator[None]:
    saved = {k: sys.modules.get(k) for k in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


@contextlib.contextmanager
def _compile_runs_eagerly() -> Iterator[None]:
    """``torch.compile`` (and ``Module.compile``) hand back what they were given, with a
    warning at the program's line: compiled code runs past the tracer (Dynamo traces through
    its torch-function mode and changes what the program computes), and a learner's graph is
    the same eager one."""
    compile_function = torch.compile
    compile_module = torch.nn.Module.compile

    def warn() -> None:
        warnings.warn(
            f"{COMPILE_WARNING} (each operation as PyTorch runs it)", UserWarning, stacklevel=3
        )

    def eager_compile(model: Any = None, **options: Any) -> Any:
        warn()
        if model is None:  # @torch.compile(mode=...): a decorator with options
            return lambda fn: fn
        return model

    def eager_module_compile(self: torch.nn.Module, *args: Any, **kwargs: Any) -> None:
        warn()

    torch.compile = eager_compile
    torch.nn.Module.compile = eager_module_compile  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.compile = compile_function
        torch.nn.Module.compile = compile_module  # type: ignore[method-assign]


@contextlib.contextmanager
def _torch_settings_kept() -> Iterator[None]:
    """Give back torch's global settings as they were: the program may change them.

    Random states, grad and anomaly modes, default dtype, print options, thread count. The
    tracer seeds the random generators and a program may call ``torch.set_printoptions`` or
    ``torch.set_grad_enabled(False)``; none of that may leak into the caller (a notebook, a
    test, the next program traced in the same process).
    """
    numpy_random: Any = None
    with contextlib.suppress(ImportError):
        import numpy

        numpy_random = numpy.random
    rng = torch.get_rng_state()
    py_rng = random.getstate()
    np_rng = numpy_random.get_state() if numpy_random is not None else None
    grad = torch.is_grad_enabled()
    anomaly = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())
    dtype = torch.get_default_dtype()
    printing = dict(vars(torch._tensor_str.PRINT_OPTS))
    threads = torch.get_num_threads()
    warn_always = torch.is_warn_always_enabled()
    # PyTorch's own warn-once warnings (a tensor that requires grad converted to a number)
    # would be given to the first program traced in a process only.
    torch.set_warn_always(True)
    try:
        yield
    finally:
        torch.set_warn_always(warn_always)
        torch.set_rng_state(rng)
        random.setstate(py_rng)
        if numpy_random is not None:
            numpy_random.set_state(np_rng)
        torch.set_grad_enabled(grad)
        torch.autograd.set_detect_anomaly(*anomaly)
        torch.set_default_dtype(dtype)
        vars(torch._tensor_str.PRINT_OPTS).update(printing)
        torch.set_num_threads(threads)


def _seed(seed: int) -> None:
    # torch.manual_seed also seeds every accelerator's generators, at a cost of its own (a
    # tenth of a millisecond and more) even where there are none.
    if torch.accelerator.is_available():
        torch.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)
    random.seed(seed)
    with contextlib.suppress(ImportError):
        import numpy

        numpy.random.seed(seed)


def trace_program(
    source: str,
    *,
    limits: Limits | None = None,
    namespace: dict[str, Any] | None = None,
    echo: Callable[[str], None] | None = None,
    stop_in_time: bool = False,
    on_stuck: Callable[[Trace], None] | None = None,
    time_limit: float | None = None,
    **overrides: Any,
) -> Trace:
    """Run ``source`` under the tracer and return its Trace (the program's errors included).

    ``namespace``: names the program can use besides its own (a notebook's variables); the
    program runs in a copy, so the caller's dict is not changed. ``echo``: also receives
    everything the program prints, as it prints it (the sandbox streams it to the server, so
    output survives a program that is killed). ``stop_in_time``: stop the program a little
    before ``limits.cpu_seconds`` or ``limits.wall_seconds`` (see ``_stop_at``) with a
    ``time_limit`` error at its line (the sandbox asks for it; in a notebook a long program
    may run on).
    ``on_stuck``: receives the Trace of a program that caught that stop and went on, built
    where it was stopped again; it must not return (the sandbox sends the Trace and exits).
    ``time_limit``: stop the program after that many seconds of CPU or wall-clock time, with
    a ``time_limit`` error at its line (the command line's ``--time-limit``).
    """
    limits = limits or Limits()
    # A byte-order mark (pasted from some Windows editors) is not code: Python skips it in a
    # file, so it is skipped here too.
    source = source.removeprefix("\ufeff")
    if overrides:
        limits = msgspec.structs.replace(limits, **overrides)
    stop_at: tuple[float, float] | None = None
    if stop_in_time:
        stop_at = (_stop_at(limits.cpu_seconds), _stop_at(limits.wall_seconds))
    elif time_limit is not None:
        limits = msgspec.structs.replace(limits, cpu_seconds=time_limit, wall_seconds=time_limit)
        stop_at = (time_limit, time_limit)
    rec = Recorder(limits)
    out = _Stdout(rec, limits.stdout_bytes, echo)
    err = _Stdout(rec, limits.stdout_bytes, None, "stderr")
    started = time.perf_counter()
    error: dict[str, Any] | None = None

    try:
        tree = ast.parse(source, filename=PROGRAM_FILE)
        try:
            code = compile(instrument(tree), PROGRAM_FILE, "exec")
        except RecursionError:
            # Nesting deeper than the loop marker can walk (a sum of hundreds of terms): the
            # program runs as written, its loops not grouped on the timeline.
            code = compile(source, PROGRAM_FILE, "exec")
    except SyntaxError as exc:
        line = exc.lineno
        if line is None and "\x00" in source:  # "source code cannot contain null bytes"
            line = source.count("\n", 0, source.index("\x00")) + 1
        error = {
            "type": type(exc).__name__,
            "message": exc.msg or str(exc),
            "line": line,
            "explanation": explain_error(type(exc).__name__, exc.msg or ""),
        }
        return build_trace(rec, out.text(), error, started, source, out.dropped, err.text())

    marks = _LoopMarks(rec)

    def plot_sink(y: list[Any], x: list[Any] | None, label: str | None) -> None:
        line, _ = rec.user_frame()
        index = rec.add_series(label or f"plot {len(rec.series) + 1}", "plot", y, x, line)
        rec.series[index]["label"] = label
        rec.emit("plot", line=line, series=index)

    namespace = {
        **(namespace or {}),
        "__name__": "__main__",
        "__builtins__": builtins,
        ITER: marks.iteration,
        LOOP: marks.loop,
        END: marks.end,
        SIZED: sized,
    }

    def on_warning(
        message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        text = str(message)
        where, _ = rec.user_frame()
        rec.emit(
            "warning",
            line=where,
            category=category.__name__,
            message=text,
            explanation=explain_warning(text),
            tensor=rec.warning_tensor,
        )

    def time_error(line: int | None, how: str = "stopped") -> dict[str, Any]:
        """The error of a program stopped in time: ``how`` it ended, "stopped" (where the
        stop reached it), "caught" (it swallowed the stop) or "long_call" (inside one)."""
        explanation = (
            "The program ran longer than it is allowed and was stopped at this line. Look for "
            "a loop that never ends, or use fewer iterations."
        )
        if how == "long_call":
            explanation = (
                "The program ran longer than it is allowed and was stopped at this line, in "
                "the middle of one operation that took too long to wait for (an operation "
                "on very large tensors, for example). Use smaller tensors."
            )
        elif how == "caught":
            explanation += (
                " It caught the exception that stopped it (a bare except: or except "
                "BaseException catches it) and went on, so it was stopped for good here."
            )
        return {
            "type": "TimeLimitExceeded",
            "message": f"the program ran longer than {limits.cpu_seconds:g} s of CPU or "
            f"{limits.wall_seconds:g} s in all",
            "line": line,
            "explanation": explanation,
            "code": "time_limit",
        }

    def give_up(frame: Any, long_call: bool) -> None:
        """The program swallowed its stop, or is stuck in one long call (``long_call``): its
        Trace as it is now goes to ``on_stuck``."""
        assert on_stuck is not None
        if long_call:
            # The program's call goes on using CPU time while the Trace is built: the rest of
            # the sandbox's allowance (up to its hard limit) is the Trace's.
            with contextlib.suppress(ValueError, OSError):
                _, hard = resource.getrlimit(resource.RLIMIT_CPU)
                resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        line = None
        while frame is not None and line is None:
            if frame.f_code.co_filename == PROGRAM_FILE:
                line = frame.f_lineno
            frame = frame.f_back
        error = time_error(line, "long_call" if long_call else "caught")
        with torch._C.DisableTorchFunction():
            on_stuck(_finish(rec, out, err, error, started, source, namespace))

    rec.seeded_by_program = "manual_seed" in source
    stops = [0]
    old_stdout, old_stderr, old_stdin = sys.stdout, sys.stderr, sys.stdin
    old_showwarning = warnings.showwarning
    try:
        with (
            _torch_settings_kept(),
            warnings.catch_warnings(),
            _swap_modules(make_modules(plot_sink)),
            capture_training(rec),
            _plain_tracebacks(source),
            _compile_runs_eagerly(),
        ):
            _seed(limits.seed)
            warnings.simplefilter("always")
            # ResourceWarnings are the garbage collector's, about whatever object it happens
            # to collect during the program (often not the program's own): not a lesson.
            warnings.simplefilter("ignore", ResourceWarning)
            # As plain Python: deprecations are the program's own only when its own lines
            # use what is deprecated, not when torch's code does (and only the first time in
            # a process, which would make the same program's Traces differ).
            for category in (DeprecationWarning, PendingDeprecationWarning):
                warnings.filterwarnings("ignore", category=category)
                warnings.filterwarnings("always", category=category, module="__main__")
            warnings.showwarning = on_warning
            # No keyboard: input() meets the end of its input at once, in the sandbox as in a
            # notebook or a terminal (where it would otherwise wait for the caller's).
            sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO()
            try:
                with (
                    fast_paths_as_plain(ForwardMode),
                    ForwardMode(rec),
                    _stopped_in_time(stop_at, give_up if on_stuck else None) as stops,
                ):
                    exec(code, namespace)
            finally:
                sys.stdout, sys.stderr, sys.stdin = old_stdout, old_stderr, old_stdin
                out.released_to, err.released_to = old_stdout, old_stderr
                warnings.showwarning = old_showwarning
    except OutputLimitExceeded as exc:
        error = {
            "type": "OutputLimitExceeded",
            "message": f"the program printed more than {limits.stdout_bytes} bytes",
            "line": _program_line(exc.__traceback__),
            "explanation": "Printed output is limited; the program was stopped there. Print "
            "less (for example only every 100th iteration).",
            "code": "output_limit",
        }
    except TimeLimitExceeded as exc:
        error = time_error(
            _program_line(exc.__traceback__), "caught" if stops[0] > 1 else "stopped"
        )
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = {
                "type": "SystemExit",
                "message": str(exc.code),
                "line": _program_line(exc.__traceback__),
                "explanation": "The program called exit() with a status.",
            }
    except BaseException as exc:  # the learner's error is part of the trace
        if isinstance(exc, KeyboardInterrupt) and not _raised_by_program(exc):
            raise  # Ctrl-C: stop the tool (a program's own ``raise KeyboardInterrupt`` is not)
        type_name = type(exc).__name__
        message = str(exc)
        error = {
            "type": type_name,
            "message": message,
            "line": _program_line(exc.__traceback__),
            "explanation": explain_error(type_name, message),
            "node": rec.running_node,
        }
    return _finish(rec, out, err, error, started, source, namespace)


def _finish(
    rec: Recorder,
    out: _Stdout,
    err: _Stdout,
    error: dict[str, Any] | None,
    started: float,
    source: str,
    namespace: dict[str, Any],
) -> Trace:
    """The Trace of a program that has ended (or was stopped): names, then the Trace."""
    with contextlib.suppress(Exception):
        rec.name_from_frame(namespace)
        rec.refresh_parameter_names()
    try:
        return build_trace(rec, out.text(), error, started, source, out.dropped, err.text())
    except Exception:
        if error is None or error.get("code") != "time_limit":
            raise
        # Stopped in the middle of recording an event: what was printed and where the
        # program was stopped are still worth showing.
        empty = Recorder(rec.limits)
        return build_trace(empty, out.text(), error, started, source, out.dropped, err.text())
