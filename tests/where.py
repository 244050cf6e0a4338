"""Where things are, for tests in any folder below tests/: the repository, and the shared real-world references."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared"  # ../shared/: absent on machines without the references (tests then skip, saying so)
