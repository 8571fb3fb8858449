"""Clinical files on disk (issue 9, defects 1, 4 and 12): private, per patient, cleaned up."""

from __future__ import annotations

import os
import stat
import time
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


def _age(folder: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(folder, (then, then))


def test_old_job_folders_are_swept_but_not_an_unfinished_jobs(tmp_path: Path) -> None:
    from sessions.files import new_job_folder, sweep_job_folders

    old, recent, running = (new_job_folder(tmp_path) for _ in range(3))
    (old / "annotated.mp4").write_bytes(b"x")
    _age(old, 7)
    _age(running, 7)        # e.g. queued behind a busy worker for hours
    assert sweep_job_folders(tmp_path, 6 * 3600, keep=[str(running)]) == 1
    assert not old.exists() and recent.is_dir() and running.is_dir()


def test_the_analyse_page_sweep_keeps_the_running_jobs_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.analyse_jobs import STALE_S, sweep_old_job_files
    from sessions.db import dispose_engine
    from sessions.files import new_job_folder
    from sessions.jobs import JobStore

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("STRETCH_COACH_DATA", str(tmp_path))
    monkeypatch.setenv("STRETCH_COACH_DB_URL", url)
    monkeypatch.delenv("STRETCH_COACH_JOBS_DIR", raising=False)
    try:
        store = JobStore(url)
        folders = {}
        for state in ("running", "queued", "done", "cancelled"):
            folder = folders[state] = new_job_folder(tmp_path)
            jid = store.submit(folder / "upload.mp4", "neck_side_tilt",
                               params={"folder": str(folder)})
            if state == "running":
                store.claim(jid, "host:1")
            elif state == "done":
                store.finish(jid, store.claim(jid, "host:1"), neck_report(1), save=False)
            elif state == "cancelled":
                store.cancel(jid)
            _age(folder, STALE_S / 3600 + 1)
        orphan = new_job_folder(tmp_path)     # its job's record is gone
        _age(orphan, STALE_S / 3600 + 1)
        assert sweep_old_job_files() == 3
        assert {k for k, f in folders.items() if f.exists()} == {"running", "queued"}
        assert not orphan.exists()
    finally:
        dispose_engine(url)
