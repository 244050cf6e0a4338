"""Real Pythia 8 + FastJet generation, small counts."""

import json
import subprocess
import sys

import numpy as np
import pytest

from trigger.data.generate import generate, plan_chunks, run_chunks
from trigger.data.io import read_events, read_regions
from trigger.data.regions import region_index
from trigger.data.processes import ProcessError, settings_for


def test_same_seed_same_events(tmp_path):
    a = generate("W", 300, 11, str(tmp_path / "a.h5"), chunk_size=150, n_jobs=2, show_progress=False)
    b = generate("W", 300, 11, str(tmp_path / "b.h5"), chunk_size=150, n_jobs=1, show_progress=False)
    pa, pb = read_events(tmp_path / "a.h5").particles, read_events(tmp_path / "b.h5").particles
    assert a["events"] == b["events"] == 300
    assert np.array_equal(pa, pb)
    c = read_events(tmp_path / "a.h5")
    assert ((c.particles[:, 1:9, 0] > 23).any(axis=1)).all(), "the lepton filter must hold for every event"
    ra, rb = read_regions(tmp_path / "a.h5"), read_regions(tmp_path / "b.h5")
    assert ra.shape == (300, 18, 14) and np.array_equal(ra, rb)


def test_region_images_see_the_electrons_not_the_muons(tmp_path):
    """Two independent paths through one event: the objects (smeared leptons) and the region sums. An isolated
    electron's region holds at least ~its pT (3 % smearing, 0.5 GeV floor); a muon deposits nothing, so the region
    of a hard muon holds far less than its pT."""
    generate("W", 300, 4, str(tmp_path / "w.h5"), chunk_size=300, n_jobs=1, show_progress=False)
    ef, reg = read_events(tmp_path / "w.h5"), read_regions(tmp_path / "w.h5")
    seen = {"egamma": [], "muon": []}
    for name, cols in (("egamma", range(1, 5)), ("muon", range(5, 9))):
        for k in cols:
            pt, eta, phi = ef.particles[:, k, 0], ef.particles[:, k, 1], ef.particles[:, k, 2]
            ok = (pt > 30) & (np.abs(eta) < 2.9)
            iphi, ieta = region_index(eta[ok], phi[ok])
            seen[name].append(reg[np.flatnonzero(ok), iphi, ieta] * 0.5 / pt[ok])
    e, m = np.concatenate(seen["egamma"]), np.concatenate(seen["muon"])
    assert len(e) > 50 and len(m) > 50, (len(e), len(m))
    assert np.mean(e > 0.85) > 0.97, np.sort(e)[:10]
    assert np.median(m) < 0.3, np.median(m)


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
