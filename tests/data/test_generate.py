"""Real Pythia 8 + FastJet generation, small counts."""

import json
import subprocess
import sys

import numpy as np
import pytest

from trigger.data.generate import generate, plan_chunks, run_chunks
from trigger.data.io import read_events
from trigger.data.processes import ProcessError, settings_for


def test_same_seed_same_events(tmp_path):
    a = generate("W", 300, 11, str(tmp_path / "a.h5"), chunk_size=150, n_jobs=2, show_progress=False)
    b = generate("W", 300, 11, str(tmp_path / "b.h5"), chunk_size=150, n_jobs=1, show_progress=False)
    pa, pb = read_events(tmp_path / "a.h5").particles, read_events(tmp_path / "b.h5").particles
    assert a["events"] == b["events"] == 300
    assert np.array_equal(pa, pb)
    c = read_events(tmp_path / "a.h5")
    assert ((c.particles[:, 1:9, 0] > 23).any(axis=1)).all(), "the lepton filter must hold for every event"


def test_custom_process_from_the_command_line(tmp_path):
    out = tmp_path / "zprime.h5"
    res = subprocess.run(
        [sys.executable, "-m", "trigger.cli", "data", "generate", "--process", "myZprime", "--events", "100", "--seed", "2",
         "--out", str(out), "--jobs", "1", "--no-lepton-filter",
         "--pythia", "NewGaugeBoson:ffbar2gmZZprime = on", "--pythia", "Zprime:gmZmode = 3",
         "--pythia", "32:m0 = 500", "--pythia", "32:onMode = off", "--pythia", "32:onIfAny = 11 13"],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    ef = read_events(out)
    assert len(ef) == 100 and ef.attrs["process"] == "myZprime"
    assert "32:m0 = 500" in json.loads(ef.attrs["pythia_settings"])
    assert np.median(ef.particles[:, 1:9, 0].max(axis=1)) > 100  # leptons from a 500 GeV resonance


def test_unknown_process_and_bad_setting(tmp_path):
    with pytest.raises(ProcessError, match="unknown process 'Wprime'"):
        settings_for("Wprime")
    with pytest.raises(ProcessError, match="Pythia rejected the setting 'Foo:bar = 3'"):
        generate("bad", 10, 1, str(tmp_path / "x.h5"), custom_settings=["Foo:bar = 3"], show_progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_chunks_on_a_dask_local_cluster(tmp_path):
    from dask.distributed import Client, LocalCluster

    jobs = plan_chunks("Z", settings_for("Z"), 120, 5, 60, True)
    local = [r.particles for r in run_chunks(jobs, n_jobs=1)]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        remote = [r.particles for r in run_chunks(jobs, scheduler=client)]
    assert all(np.array_equal(a, b) for a, b in zip(local, remote))
