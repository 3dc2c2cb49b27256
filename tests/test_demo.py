"""The README's first command runs `examples/demo.py`: it must run end to end."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

DEMO = Path(__file__).parent.parent / "examples" / "demo.py"


def test_the_demo_runs_a_tenant_project_end_to_end(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the demo's loader caches there, not in ~
    runpy.run_path(str(DEMO), run_name="__main__")
    out = capsys.readouterr().out
    assert "POST /signup -> 202" in out
    assert "waits for its event: waiting" in out
    assert "after the event: {'user': 1, 'locale': 'en-GB'}" in out
    assert "GET /users -> [{'id': 1, 'email': 'ada@example.com', 'country': 'GB'}]" in out
    assert "KV after the workflow: [{'name': 'last-signup'}, {'name': 'welcome:1'}]" in out
    assert "fresh JavaScript isolate + call: median" in out
