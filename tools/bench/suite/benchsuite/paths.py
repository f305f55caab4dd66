"""Where the suite's files are."""

from pathlib import Path

SUITE = Path(__file__).resolve().parents[1]  # tools/bench/suite
REPO = SUITE.parents[2]
PROGRAMS = SUITE / "programs"
SYSTEM_PYTHON = "/usr/bin/python3"
