"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_readme_has_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(block: str) -> None:
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_the_limit_example_hits_its_limit(capsys: pytest.CaptureFixture[str]) -> None:
    block = next(b for b in BLOCKS if "CpuLimitError" in b)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    assert "stopped:" in capsys.readouterr().out
