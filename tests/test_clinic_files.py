"""Clinical files on disk (issue 9, defects 1, 4 and 12): private, per patient, cleaned up."""

from __future__ import annotations

import gc
import os
import stat
from pathlib import Path

import pytest

from tests.clinic_support import neck_report


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)        # the usual default: files 0644, folders 0755
    yield
    os.umask(old)


def test_kept_videos_are_per_patient_private_and_unguessable(tmp_path: Path,
                                                             loose_umask: None) -> None:
    from sessions.files import keep_video

    src = tmp_path / "upload.mp4"       # two patients keep "the same" file in one second
    src.write_bytes(b"not really a video")
    data = tmp_path / "data"
    a1 = keep_video(src, data, 1)
    a2 = keep_video(src, data, 1)
    b1 = keep_video(src, data, 2)
    personal = keep_video(src, data, None)
    assert len({a1, a2, b1, personal}) == 4
    assert a1.parent == a2.parent == data / "videos" / "patient-1"
    assert b1.parent == data / "videos" / "patient-2"
    assert personal.parent == data / "videos" / "personal"
    for kept in (a1, a2, b1, personal):
        assert "upload" not in kept.name and kept.suffix == ".mp4"
        assert len(kept.stem) >= 22          # >= 128 random bits, url-safe
        assert kept.read_bytes() == src.read_bytes()
        assert _mode(kept) == 0o600
        assert _mode(kept.parent) == 0o700
    assert _mode(data / "videos") == 0o700


def test_data_folder_and_database_are_private(tmp_path: Path, loose_umask: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from sessions.db import database_url, dispose_engine
    from sessions.store import SessionStore

    data = tmp_path / "data"
    monkeypatch.setenv("STRETCH_COACH_DATA", str(data))
    monkeypatch.delenv("STRETCH_COACH_DB_URL", raising=False)
    url = database_url()
    assert _mode(data) == 0o700
    store = SessionStore(url)
    try:
        store.save(neck_report(1))
        files = [data / "sessions.db", data / "sessions.db-wal", data / "sessions.db-shm"]
        assert all(f.is_file() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        dispose_engine(url)
    # an existing folder made by an older release is tightened too
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    monkeypatch.setenv("STRETCH_COACH_DATA", str(old))
    database_url()
    assert _mode(old) == 0o700


def test_private_write_names_the_file_on_failure(tmp_path: Path, loose_umask: None) -> None:
    from sessions.files import write_private

    out = write_private(tmp_path / "export.csv", "a,b\n")
    assert _mode(out) == 0o600 and out.read_text() == "a,b\n"
    with pytest.raises(OSError, match="/dev/full"):
        write_private("/dev/full", "x" * 10_000)


def test_reports_and_frame_csvs_are_private_files(tmp_path: Path, loose_umask: None
                                                  ) -> None:
    """``analyze --json/--csv`` and the jobs' outputs: health data, 0600 whatever the umask
    (an existing file's looser mode is tightened too)."""
    from coach.report import FrameCsvWriter

    report = neck_report(1)
    fresh = tmp_path / "report.json"
    report.write_json(fresh)
    old = tmp_path / "old.json"
    old.write_text("{}")
    old.chmod(0o644)
    report.write_json(old)
    frames = FrameCsvWriter(tmp_path / "frames.csv", ["left"])
    frames.close()
    for f in (fresh, old, tmp_path / "frames.csv"):
        assert _mode(f) == 0o600, f.name
    assert '"exercise"' in old.read_text()
    assert (tmp_path / "frames.csv").read_text().startswith("frame,t_s,")


def test_an_uploaded_video_is_a_private_file(tmp_path: Path, loose_umask: None) -> None:
    import io

    from app.analyse_jobs import save_upload
    from sessions.files import new_job_folder

    folder = new_job_folder(tmp_path)
    path = save_upload(io.BytesIO(b"x" * 3_000_000), folder, ".MOV")
    assert path.parent == folder and path.name == "upload.mov"
    assert path.stat().st_size == 3_000_000
    assert _mode(path) == 0o600 and _mode(folder) == 0o700


def test_a_tabs_analysis_folder_goes_when_the_tab_does() -> None:
    from app.workdirs import TabWorkdir

    held = TabWorkdir()
    (held.path / "annotated.mp4").write_bytes(b"x")
    assert held.path.is_dir() and _mode(held.path) == 0o700
    path = held.path
    state = {"analysis": held}      # what st.session_state holds for the tab
    del held
    state.clear()                   # the browser session ended: Streamlit drops its state
    gc.collect()
    assert not path.exists()
    other = TabWorkdir()
    other.cleanup()                 # a new analysis replaces the old one
    other.cleanup()
    assert not other.path.exists() and not other.alive
