import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import write_tiny_dataset  # noqa: E402


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The whole flow on the tiny synthetic config: train, evaluate, firmware (no resources). Built once."""
    from trigger.config import load_config
    from trigger.physics.evaluate import evaluate
    from trigger.firmware.build import build_firmware
    from trigger.model.train import train

    root = tmp_path_factory.mktemp("tiny")
    cfg = load_config(write_tiny_dataset(root))
    build = root / "build"
    from trigger.config import save_config

    train(cfg, build)
    save_config(cfg, build / "config.yaml")  # as every CLI command does: later commands default to it
    evaluate(cfg, build, plots=False)
    fw = build_firmware(cfg, build)
    return cfg, build, fw


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test`, `--dist loadgroup`): every test of the trained tiny flow runs in one process,
    which builds it once; the other tests go file by file (module fixtures built once)."""
    for item in items:
        tiny = "tiny" in getattr(item, "fixturenames", ())
        item.add_marker(pytest.mark.xdist_group("tiny" if tiny else item.path.name))
