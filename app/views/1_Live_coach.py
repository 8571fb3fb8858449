"""Live coach: the webcam stream is coached frame by frame on this computer.

The frame callback (``LiveCoach.callback``) runs in a WebRTC worker thread and
never touches ``st.*``; the panel polls ``LiveCoach.snapshot()``, the same snapshot
the video's display is drawn from, so the two never disagree.
"""

from __future__ import annotations

import html
import json
import logging
import time

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from app.auth_ui import clinic, clinic_mode, md, require_principal
from app.live import STATE_TEXT, LiveCoach, LiveSnapshot, ice_servers, is_technical
from app.patient_ui import (
    after_session_form,
    choose_program_item,
    dose_line,
    item_run,
    needs_screening,
    next_program_item,
    program_item_picker,
    save_pending,
    saved_id,
    saved_notice,
    screening_gate,
)
from app.ui import (
    PHASE_TEXT,
    fill_text,
    get_library,
    get_store,
    page_header,
    render_report,
    show_demo,
    side_label,
    side_picker,
    stretch_picker,
)
from coach.pipeline import resolve_sides
from coach.report import SessionReport
from exercises.definition import StretchDefinition
from pose.hud import STATE_COLORS
from sessions.service import TodayItem

log = logging.getLogger("stretch_coach.app.live")

WEBRTC_KEY = "live-coach-stream"
SPEAK_GAP_S = 3.0         # never two spoken cues closer than this
SPEAK_REPEAT_S = 8.0      # the same cue is repeated at most this often

page_header("Live coach", ":material/videocam:",
            "Stretch in front of your webcam. The coach shows your position against the "
            "target, counts repetitions and times your holds. The video stays on this "
            "computer.")


def _save(report: SessionReport) -> int:
    return get_store().save(report)


# Personal mode (no accounts): sessions go to My sessions, as always. Clinic mode: a
# signed-in patient answers the safety questions first and saves into their record
# after the session (with pain and a reason when stopped early); therapists and
# admins can try the coach, nothing is saved for them.
in_clinic = clinic_mode()
principal = require_principal(intro="Sign in so your sessions go into your record.") \
    if in_clinic else None
patient = principal if principal is not None and principal.role == "patient" else None
service = clinic(patient) if patient is not None else None

lib = get_library()
default_id = st.query_params.get("stretch")
first = lib.get(default_id) or next(iter(lib.values()))
coach_key = "live_coach" if not in_clinic else "clinic-live-coach"  # signing out drops it
coach: LiveCoach | None = st.session_state.get(coach_key)
if coach is None:
    # in clinic mode the page saves (after asking how it went), not the coach
    coach = LiveCoach(first, first.run_sides, save=None if in_clinic else _save)
    st.session_state[coach_key] = coach

screened = None
if service is not None:
    save_pending(service, coach.report)
    if needs_screening():
        saved_notice()
    screened = screening_gate(service)
    if screened is None and not coach.running:
        st.stop()  # the safety questions come first (or a red flag stopped the session)
    if screened is not None:
        st.caption(f"Safety check done (pain {screened.pain_before}/10). {screened.advice}")
elif principal is not None:
    st.info("You are signed in as a "
            f"{'therapist' if principal.role == 'therapist' else 'administrator'}: you can "
            "try the coach here, but nothing is saved. Patients' sessions are saved in their "
            "own record.", icon=":material/info:")

try:
    servers = ice_servers()
except ValueError as e:
    st.error(f"The network settings for video are invalid: {e}. Using none (this computer "
             "and your local network only).")
    servers = []

settings = st.container()
left, right = st.columns([3, 2], gap="large")

with left:
    ctx = webrtc_streamer(
        key=WEBRTC_KEY,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": servers},
        media_stream_constraints={
            # 15 frames/s is plenty for slow stretches and halves the video work on both
            # sides; at 30 a busy computer falls behind and the returned video lags
            # seconds behind the panel (measured in tests/test_live_browser.py)
            "video": {"width": {"ideal": 640}, "height": {"ideal": 480},
                      "frameRate": {"ideal": 15, "max": 15}},
            "audio": False,
        },
        video_frame_callback=coach.callback,
        on_video_ended=coach.stop,
        async_processing=True,
        translations={"start": "Start camera", "stop": "Stop"},
    )
playing = bool(ctx.state.playing)
busy = playing or bool(ctx.state.signalling)
if not playing:
    with left:
        st.caption("If the camera doesn't start, allow camera access for this site in your "
                   "browser's address bar (the camera icon), then press **Start camera** "
                   "again.")

with settings:
    program = service.todays_program() if service is not None else []
    picked = None
    if program:
        mode = st.segmented_control(
            "What to do", ["program", "any"], default="program", key="live-mode",
            disabled=busy, format_func=lambda m: {"program": "Today's program",
                                                  "any": "Choose a stretch"}[m])
        if mode != "any":
            preferred = st.query_params.get("item")
            picked = program_item_picker(
                program, lib, key="live-item", disabled=busy,
                preferred=int(preferred) if str(preferred).isdigit() else None)
            if picked is None:
                st.stop()
    elif service is not None:
        st.caption("No program for today (none prescribed yet, or it has not started or "
                   "has ended: see **My program**): choose any stretch.")
    if picked is not None:
        _, definition, sides = picked
    else:
        c1, c2 = st.columns([3, 2])
        with c1:
            definition = stretch_picker("live-stretch",
                                        default=default_id or coach.definition.id,
                                        disabled=busy)
        with c2:
            side = side_picker(definition, "live-side", disabled=busy)
        sides = resolve_sides(definition, side)
    coach.configure(definition, sides)
    with st.expander("Camera setup and how to do it", expanded=not busy):
        how, shown = st.columns([3, 2])
        with shown:
            show_demo(definition.id)
        how.markdown(f"**Camera.** {definition.camera.setup}")
        how.markdown("Make sure the parts of your body the coach needs stay in the picture "
                     "for the whole stretch, with only you in view. When you press "
                     "**Start camera**, stand still in the starting position for a moment: "
                     "counting starts once the coach has seen you at rest.")
        step_side = sides[0] if definition.is_sided else None
        how.markdown("\n".join(f"{i}. {fill_text(s, definition, step_side)}"
                               for i, s in enumerate(definition.steps, 1)))
        if len(sides) > 1:
            how.caption(f"Do all repetitions on the {sides[0]} side first, then the "
                        f"{sides[1]} side. Both sides are tracked, so a repetition on either "
                        "side counts.")
        how.caption(f"Safety: {definition.safety}")

if not busy:
    # the stream stopped: finish, build the report and save it (idempotent with
    # on_video_ended, which does the same from the worker thread); a run whose video
    # had already stopped arriving is kept, to be resumed by the next Start
    coach.stop()
coach.prepare()  # load the pose model now, so the first frames after START are not lost


def _speak(text: str) -> None:
    """Say ``text`` with the browser's speech synthesis (no-op where unsupported)."""
    st.html(
        "<script>(function(){var w=window.parent||window;"
        "var s=w.speechSynthesis||window.speechSynthesis;if(!s){return;}"
        f"var u=new SpeechSynthesisUtterance({json.dumps(text)});u.rate=0.95;"
        "s.cancel();s.speak(u);})();</script>",
        unsafe_allow_javascript=True,
    )


def _to_say(snap: LiveSnapshot) -> tuple[str | None, bool]:
    """What to say now, and whether it is news (a count) rather than a repeatable cue."""
    if snap.done and not st.session_state.get("spoken-done"):
        st.session_state["spoken-done"] = True
        return f"Set complete: {snap.reps} of {snap.reps_target}. Well done.", True
    if snap.running and snap.reps > st.session_state.get("spoken-reps", 0):
        st.session_state["spoken-reps"] = snap.reps
        return f"{snap.reps} of {snap.reps_target}", True
    if snap.notice_kind == "dropped":
        return "The video connection dropped. Press Start to continue.", False
    if snap.state == "countdown":
        return "Get ready", False
    return snap.cue, False


def _maybe_speak(snap: LiveSnapshot) -> None:
    """One spoken sentence at a time, at least ``SPEAK_GAP_S`` apart."""
    if snap.running and snap.reps == 0:
        st.session_state["spoken-reps"] = 0
        st.session_state["spoken-done"] = False
    if not st.session_state.get("speak", True):
        return
    now = time.monotonic()
    last_text, last_t = st.session_state.get("spoken", ("", -1e9))
    if now - last_t < SPEAK_GAP_S:
        return
    text, news = _to_say(snap)
    if not text or (not news and text == last_text and now - last_t < SPEAK_REPEAT_S):
        return
    st.session_state["spoken"] = (text, now)
    _speak(text)


def _state_banner(snap: LiveSnapshot) -> None:
    r, g, b = STATE_COLORS.get(snap.state, STATE_COLORS["ready"])
    fg = "#141414" if snap.state == "moving" else "#ffffff"
    words = STATE_TEXT.get(snap.state, snap.state)
    if snap.state == "countdown" and snap.countdown_s > 0:
        words = f"Get ready: starting in {int(snap.countdown_s) + 1}"
    st.html(f'<div class="live-state" data-state="{html.escape(snap.state)}" '
            f'style="background:rgb({r},{g},{b});color:{fg};padding:.45rem .8rem;'
            f'border-radius:.5rem;font-size:1.5rem;font-weight:700">{html.escape(words)}</div>')


def _panel(snap: LiveSnapshot, hold_target: float) -> None:
    if snap.error and not snap.running and snap.frames == 0:
        st.error(f"The coach could not start: {snap.error}")
        return
    if snap.error:
        st.error(f"The coach hit a problem on some frames ({snap.error}); the details are "
                 "in the server log.")
    if snap.notice_kind == "dropped" or (snap.resumable and not snap.running):
        st.warning(snap.notice or "The video connection dropped: press Start to continue. "
                   "What you did so far is kept.", icon=":material/wifi_off:")
    elif snap.notice:
        st.warning(snap.notice, icon=":material/speed:")
    if not snap.running and snap.frames == 0 and not snap.resumable and not snap.done:
        if snap.notice_kind != "dropped":
            if coach.warming_up:
                st.info("Loading the pose model...", icon=":material/hourglass_top:")
            else:
                st.info("Press **Start camera** and allow the browser to use your camera.",
                        icon=":material/videocam:")
        return
    if snap.running or snap.done:
        _state_banner(snap)
        if snap.running and snap.state not in ("countdown", "loading"):
            st.markdown(f"**{PHASE_TEXT.get(snap.phase, snap.phase)}**")
    else:
        st.markdown("#### Camera stopped")
    if snap.done:
        st.success(f"Set complete: {snap.reps} of {snap.reps_target}. Well done! The "
                   "summary is below.", icon=":material/task_alt:")
    for side in snap.sides:
        name = "" if side.side == "both" else f" ({side.side})"
        st.markdown(f"**Reps{name}:** {side.reps} of {side.target}"
                    + (f" · {side.correct_reps} correct" if side.reps else ""))
    if snap.focus_side and not snap.done:
        st.caption(f"Now: the {snap.focus_side} side.")
    if hold_target > 0 and snap.running:
        share = min(1.0, snap.hold_s / hold_target)
        st.progress(share, text=f"Hold: {snap.hold_s:.1f} s of {hold_target:g} s")
    if snap.setup_message and snap.running:
        st.warning(snap.setup_message, icon=":material/photo_camera:")
    elif snap.cue and snap.running:
        st.info(snap.cue, icon=":material/record_voice_over:")
    if snap.running and snap.state != "countdown":
        st.caption(f"{snap.fps:.0f} frames/s coached of {snap.incoming_fps:.0f} received")
    _maybe_speak(snap)


def _item_of(report: SessionReport, items: list[TodayItem]) -> TodayItem | None:
    """The program item a session was a run of (same stretch, overlapping sides)."""
    for t in items:
        if t.item.exercise == report.exercise and (
                "both" in t.item.sides or set(t.item.sides) & set(report.sides)):
            return t
    return None


def _go_next(item_id: int, definition: StretchDefinition, sides: tuple[str, ...]) -> None:
    """"Next stretch" pressed (before the page runs again): the picker and the coach."""
    st.session_state["live-mode"] = "program"
    choose_program_item("live-item", item_id)
    coach.next_set(definition, sides)


def _offer_next(report: SessionReport, items: list[TodayItem], *, streaming: bool) -> None:
    """After a saved session: the next stretch of today's program, one button away."""
    done = _item_of(report, items)
    nxt = next_program_item(items, done.item.id if done is not None else None)
    if nxt is None:
        st.success("That was the last stretch of today's program. Well done!",
                   icon=":material/celebration:")
        return
    try:
        definition, sides = item_run(nxt, lib)
    except (KeyError, ValueError):
        st.caption("Choose the next stretch of today's program above and press "
                   "**Start camera** again.")
        return
    with st.container(key="live-next", border=True):
        st.markdown(f"**Next in today's program:** {md(nxt.item.exercise_name)} "
                    f"({dose_line(nxt.item)})")
        st.button(f"Next stretch: {nxt.item.exercise_name}", key="live-next-button",
                  type="primary", icon=":material/skip_next:", on_click=_go_next,
                  args=(nxt.item.id, definition, sides),
                  help="Switches the coach to this stretch. "
                  + ("The camera stays on: get ready in the starting position."
                     if streaming else "Then press **Start camera**."))


# the panel refreshes twice a second: don't fade it while it does (calmer to read)
st.html("<style>.st-key-live-panel [data-stale='true'], [data-stale='true']:has(.st-key-live-panel)"
        "{opacity: 1 !important; transition: none !important;}</style>")

with right:
    st.subheader("Your progress")
    hold_target = coach.prescription.hold_s

    warming = coach.warming_up
    shown_report = coach.report is not None and not coach.running
    # stopped here, but the coach is still finishing the run (on_video_ended may come after
    # this rerun, and the judge thread ends its frames first): wait for its summary
    finishing = not busy and coach.finishing

    @st.fragment(run_every=0.5 if busy or warming or finishing else None)
    def live_panel() -> None:
        if warming and not busy and not coach.warming_up:
            st.rerun()  # model loaded: redraw the page once, and stop polling
        if finishing and not coach.finishing:
            st.rerun()  # the stopped run is finished: show its summary (the whole page)
        if coach.report is not None and not coach.running and not shown_report:
            # the set is complete, or a run ended meanwhile (e.g. a dropped one recorded
            # by the keep-timer): show its summary now (the whole page)
            st.rerun()
        # inside the polling fragment: a click on it reruns only this fragment (cheaper than
        # the whole page). Outside it, CI once saw a click lost while the panel polled; the
        # cause is suspected, not shown, to be the full-page rerun racing the refresh
        st.toggle("Speak the cues", key="speak", value=True,
                  help="Reads the cues aloud with your browser's voice, one at a time. Turn "
                  "off to mute.")
        snap = coach.snapshot()
        with st.container(key="live-panel"):
            _panel(snap, hold_target)

    live_panel()
    if coach.resumable and not busy:
        # outside the polling fragment, and as a callback: the click always runs the whole
        # page after recording the run (its summary shows), even when the fragment was
        # polling or the run had meanwhile been recorded by the keep-timer
        st.button("End the session here", key="live-end-suspended",
                  on_click=coach.end_suspended,
                  help="Records what was done so far, marked as cut short by a technical "
                  "problem (not as your result).")

report = coach.report if not coach.running else None
if report is not None:
    st.divider()
    side_txt = ", ".join(side_label(s) for s in report.sides)
    st.header(f"Session summary: {report.exercise_name} ({side_txt})")
    if service is not None:
        new_id = after_session_form(service, report, screened, key="after-session")
        if new_id is not None:
            st.success(f"Saved to your record (session {new_id})"
                       + ("" if report.complete else ", marked as stopped early")
                       + ". Your therapist can see it.", icon=":material/task_alt:")
            if program:
                _offer_next(report, program, streaming=playing)
    elif coach.saved_id is not None:
        st.caption(f"Saved to My sessions (session {coach.saved_id})"
                   + ("" if report.complete else ", marked interrupted") + ".")
    if is_technical(report.problem):
        st.info("This session was cut short by a technical problem ("
                f"{report.problem.split(': ', 1)[1]}); it is recorded as such, not as your "
                "result.", icon=":material/info:")
    elif coach.save_error:
        st.warning(f"The session could not be saved: {html.escape(coach.save_error)}")
    render_report(report, key=f"live-{coach.saved_id or saved_id(report)}",
                  definition=lib.get(report.exercise))
elif not busy and coach.snapshot().frames and not coach.running and not coach.resumable \
        and coach.last_end in ("stopped", "dropped", "too_busy"):
    if coach.last_end == "too_busy":
        # the computer's problem, said as such: never the person's setup or position
        st.info("Nothing was counted, so nothing was saved: this computer was too busy to "
                "coach (too few video frames reached the coach). Close other programs, "
                "then press **Start camera** to try again.", icon=":material/info:")
    elif coach.last_end == "dropped":
        st.info("The video connection dropped before anything was counted, so nothing was "
                "saved. Press **Start camera** to try again.", icon=":material/info:")
    else:
        st.info("Nothing was counted yet, so nothing was saved: the coach starts counting "
                "once it has seen you still in the starting position for a moment, and "
                "counts a repetition once you move into the stretch. Press **Start "
                "camera** to try again.")

with st.expander("Connecting from another computer or phone"):
    st.markdown(
        "On this computer (or your local network) the video connects directly. If you "
        "open the app from elsewhere, the browser and the server may need a STUN/TURN "
        "server to reach each other. Set them before starting the app, as a JSON list:\n\n"
        "```bash\n"
        "export STRETCH_COACH_ICE_SERVERS='[{\"urls\": [\"stun:stun.example.org:3478\"]}, "
        "{\"urls\": [\"turn:turn.example.org:3478\"], \"username\": \"me\", "
        "\"credential\": \"secret\"}]'\n"
        "```\n"
        "or put the same list in `ice_servers.json` in the data folder "
        "(`$STRETCH_COACH_DATA`, default `~/.local/share/stretch-coach`), or in a file named "
        "by `$STRETCH_COACH_ICE_FILE`. Browsers only allow the camera on `https://` pages or "
        "on `localhost`.")
