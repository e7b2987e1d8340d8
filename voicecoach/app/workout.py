"""The live run use case (``voicecoach run``): where to start, what to say first, play,
ask how hard it was, and remember it all.

Its adapters come from the injected ``Env``; what the user should read goes through
``tell`` (the command line prints it on stderr), so nothing here prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.app import checkin, history, player
from voicecoach.app.env import Env, VoiceOptions, prepare_live, prepare_loaded
from voicecoach.app.headstart import Growing
from voicecoach.app.ports import Playback, Progress
from voicecoach.app.session import Making
from voicecoach.core import coaching as say
from voicecoach.core import screen_lines as SL
from voicecoach.core.ending import Progression, progression
from voicecoach.core.messages import Messages
from voicecoach.core.model import Routine
from voicecoach.core.records import LastRun, SessionRecord, Summary, resume_point
from voicecoach.core.timeline import SAMPLE_RATE
from voicecoach.core.transport import rate_wpm
from voicecoach.errors import VoicecoachError
from voicecoach.routine import loader, resources
from voicecoach.routine.catalogues import messages as catalogue_messages

if TYPE_CHECKING:
    from voicecoach.app.session import Session


def _advice(env: Env, digest: str) -> Progression | None:
    """The history's suggestion for next time; a broken history never stops a workout
    (the recorder tells why the session could not be saved), it only gives no tip."""
    try:
        return progression(env.sessions(), digest)
    except VoicecoachError:
        return None


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``voicecoach run`` was asked to do."""

    routine: str | None = None  # a path or a bundled name; None: the default (or resume's)
    resume: bool = False  # start where the routine's last run stopped (no routine: the
    # latest unfinished run)
    quiet: bool = False  # no status line
    voice: VoiceOptions = field(default_factory=VoiceOptions)


def keys_line(has_safety: bool, words: Messages) -> str:
    """The keys, printed before a live run, in the session's language (``words``)."""
    return SL.show(words, SL.KEYS_RUN_SAFETY if has_safety else SL.KEYS_RUN)


def _both(first: Progress, second: Progress | None) -> Progress:
    """A progress callback that tells ``first`` and then ``second`` (if any)."""
    if second is None:
        return first

    def both(done: int, total: int) -> None:
        first(done, total)
        second(done, total)

    return both


QUICK_QUIT = 60.0  # seconds: a resumed session quit sooner gets no check-in


def run_workout(
    options: RunOptions, env: Env, tell: Callable[[str], None], *, routine: Routine | None = None
) -> None:
    """Do a workout live. Every run is saved to the history; a routine's safety note is
    said the first time it is run; ``--resume`` starts where the routine's last run
    stopped (without a routine: the latest unfinished run, named by voice and on screen).
    On a terminal the screen follows the session, and a summary stays at the end.

    ``routine``: one built in memory (``voicecoach intervals``) instead of
    ``options.routine``; it has no file to resume from, so no resume point is kept."""
    last: LastRun | None = None
    if routine is not None:
        loaded, path, start = routine, routine.path, 0
    else:
        if options.resume and options.routine is None:
            last = resume_point(env.load_last_run(None))
            if not Path(last.path).is_file():
                raise VoicecoachError(
                    f"cannot resume: {last.path}, the routine of the last unfinished session,"
                    " is gone (deleted or moved)"
                )
        ref = options.routine or (last.path if last else resources.DEFAULT_ROUTINE)
        loaded = loader.load(ref)
        path = str(loader.resolve(ref).resolve())
        if options.resume and last is None:
            last = resume_point(env.load_last_run(path), loaded.digest, routine=ref)
        start = resume_point(last, loaded.digest).exercise if last else 0
    voice = options.voice.apply(loaded)  # raises first if --language has no catalogue
    words = catalogue_messages(options.voice.checked_language() or loaded.language)
    tell(words.gettext(say.PREPARING))  # printed at once; said too if clips must be made
    history = env.recorder()  # opens nothing yet; saving runs on its own thread
    # A quick look (a millisecond or two) decides whether the safety note is said.
    first_time = not history.has_run(loaded.digest)
    out = env.output()
    speech = env.speech(voice)
    notice: list[Playback] = []

    def progress(done: int, total: int) -> None:
        # Called only when clips must be synthesized (a cold cache): say so at once, so
        # a listener away from the screen knows why nothing else is heard yet.
        if done < total and not notice:
            clip = env.quick_level(speech.clip(words.gettext(say.PREPARING)))
            notice.append(out.play(clip, SAMPLE_RATE))

    # The tip for next time, from the last check-ins of this routine (a routine built in
    # memory has no history of its own).
    advice = _advice(env, loaded.digest) if routine is None else None
    # A bar on a terminal while clips are made (not with --quiet: nothing on the
    # screen); gone before the screen shows the session.
    label = words.gettext(say.PREPARING).rstrip("… ")
    growing: Growing | None = None  # a cold session, made while it plays
    with contextlib.nullcontext() if options.quiet else env.bar(label) as bar:
        if start == 0:  # a cold session starts playing while the rest is made (headstart)
            made = prepare_live(
                env, loaded, options.voice, include_safety=first_time, speech=speech,
                progress=_both(progress, bar), progression=advice,
            )  # fmt: skip
            if isinstance(made, Making):  # played as it is made, from the first sound
                growing = Growing(made)
                prepared = growing.session  # the routine's shape, exact where it plays
            else:
                prepared = made
        else:
            prepared = prepare_loaded(
                env, loaded, options.voice, include_safety=first_time, speech=speech,
                progress=_both(progress, bar), progression=advice,
            )  # fmt: skip
    count = max((e.index for e in prepared.timeline.events), default=-1) + 1
    if start >= count > 0:
        raise VoicecoachError("nothing to resume: the last run had reached the end")
    for playing in notice:
        while not playing.wait(0.1):
            pass
    if last is not None and start > 0:
        name = next(e.exercise for e in prepared.timeline.events if e.index == start)
        line = say.resuming(words, loaded.title, start + 1, count, name or "")
        tell(line)
        resuming = out.play(prepared.say(line), SAMPLE_RATE)
        while not resuming.wait(0.1):
            pass

    def remember(index: int, finished: bool = False) -> None:
        if routine is not None:
            return
        env.save_last_run(LastRun(path, loaded.digest, index, finished))

    def respeak(level: int) -> Session:
        """The session at another speech rate (the [ and ] keys): cold clips are made."""
        at = replace(options.voice, rate=rate_wpm(voice.rate, level))
        return prepare_loaded(env, loaded, at, include_safety=first_time, progression=advice)

    shown = None if options.quiet else env.status()
    effort: int | None = None
    try:
        with env.keys() as key_source:
            if key_source is not None and shown is not None:
                tell(keys_line(bool(loaded.safety), words))
            began = env.now() if last is not None else None
            result = player.play_session(
                prepared, out=out, keys=key_source, status=shown, start_index=start,
                recorder=history, on_exercise=remember, respeak=respeak, growing=growing,
            )  # fmt: skip
            remember(result.exercise, result.completed)
            # Quitting a resumed session at once means "not now": no question then.
            quick = began is not None and (env.now() - began).total_seconds() < QUICK_QUIT
            asked = result.completed or not quick
            if key_source is not None and result.reached and asked:
                effort = checkin.check_in(prepared, out=out, keys=key_source, status=shown)
                if effort is not None:
                    history.checkin(effort)
    finally:
        history.close()  # waits (briefly) for the last writes
        if history.warning and shown is None:
            tell(history.warning)
    if shown is not None:
        shown.summary(_summary(env, loaded, count, history.warning, effort, words))
    if not result.completed and result.exercise < count and routine is None:
        name = next(e.exercise for e in prepared.timeline.events if e.index == result.exercise)
        tell(SL.show(words, SL.STOPPED, exercise=name))


def _summary(
    env: Env, routine: Routine, count: int, warning: str | None, effort: int | None,
    words: Messages,
) -> Summary:  # fmt: skip
    """The end-of-workout summary, from the history as saved (this session is its latest
    of this routine; unless saving failed, when ``warning`` says so), in ``words``."""
    sessions: Sequence[SessionRecord] = ()
    if warning is None:  # else the history is not to be trusted, or read, now
        try:
            sessions = env.sessions()
        except VoicecoachError as err:  # the workout is over: say so, never fail here
            warning = f"Warning: the history could not be read back: {err}"
    mine = [s for s in sessions if s.routine_digest == routine.digest]
    record = max(mine, key=lambda s: s.id) if mine and warning is None else None
    return history.summary(
        record, sessions, env.now(), title=routine.title, total=count, warning=warning,
        effort=effort, words=words,
    )  # fmt: skip
