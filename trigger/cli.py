"""`trigger`: one subcommand per stage, each a thin wrapper over a library function."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Keras/QKeras warn about the legacy .h5 format and quantizer serialisation on every save: noise here
warnings.filterwarnings("ignore", category=UserWarning, module=r"keras(\..*)?")
warnings.filterwarnings("ignore", category=DeprecationWarning)

app = typer.Typer(help="Anomaly-detection trigger: L1 data -> QKeras VAE -> hls4ml/da4ml firmware, verified bit for bit.",
                  no_args_is_help=True, add_completion=False)
data_app = typer.Typer(help="Event data: generate with Pythia 8 + FastJet, remake the shipped set, plot.", no_args_is_help=True)
app.add_typer(data_app, name="data")
export_app = typer.Typer(help="Hand a design to other software: a CMSSW emulator plug-in.", no_args_is_help=True)
app.add_typer(export_app, name="export")

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML configuration (default: configs/default.yaml).")
BuildOpt = typer.Option(Path("build"), "--build", "-b", help="Build directory for every output.")


def _load(config, build: Path | None = None):
    """The configuration given, else the build's own (BUILD/config.yaml), else configs/default.yaml; says which."""
    from trigger.config import load_config

    if config is None and build is not None and (build / "config.yaml").is_file():
        config = build / "config.yaml"
        typer.echo(f"configuration: {config} (the build's own)", err=True)
    elif config is None:
        typer.echo("configuration: configs/default.yaml (the default; no --config given and the build has no config.yaml)", err=True)
    else:
        typer.echo(f"configuration: {config}", err=True)
    return load_config(config)


def _fail(exc: Exception):
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _guard(fn):
    """Turn the errors we raise for bad input into a one-line message and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **k):
        from trigger.config import ConfigError
        from trigger.data.io import DataError
        from trigger.data.processes import ProcessError
        from emulator import EmulatorError
        from trigger.data.testvectors import TestVectorError
        from trigger.design import DesignError
        from trigger.export.cmssw import ExportError
        from trigger.design import ConversionError

        try:
            return fn(*a, **k)
        except (ConfigError, DataError, ProcessError, ConversionError, DesignError, EmulatorError, TestVectorError, ExportError,
                FileNotFoundError) as exc:
            _fail(exc)

    return wrapper


def _save_cfg(cfg, build: Path):
    from trigger.config import save_config

    build.mkdir(parents=True, exist_ok=True)
    save_config(cfg, build / "config.yaml")


@data_app.command("generate")
@_guard
def data_generate(
    process: str = typer.Option(..., "--process", "-p", help="Built-in process (W, Z, ttbar, QCD, Ato4l, LQ, h0tautau, hchtaunu) or a name for --pythia settings."),
    events: int = typer.Option(..., "--events", "-n", help="Number of events after the lepton filter."),
    seed: int = typer.Option(1, help="Base seed; each chunk derives its own."),
    out: Path = typer.Option(..., "--out", "-o", help="Output HDF5 file (ADC2021 layout)."),
    pythia: Optional[List[str]] = typer.Option(None, "--pythia", help="Pythia setting 'Key=value' (repeat); makes a custom process."),
    lepton_filter: bool = typer.Option(True, "--lepton-filter/--no-lepton-filter", help="ADC2021 prefilter: >= 1 e or mu with pT > 23 GeV."),
    chunk_size: int = typer.Option(2000, help="Events per independent seeded chunk."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Parallel processes (default: all cores)."),
    scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address: run chunks on a cluster."),
):
    """Generate one process into an HDF5 file in the ADC2021 layout."""
    from trigger.data.generate import generate

    info = generate(process, events, seed, str(out), custom_settings=pythia or None, lepton_filter=lepton_filter,
                    chunk_size=chunk_size, n_jobs=jobs, scheduler=scheduler)
    typer.echo(json.dumps(info, indent=1))


@data_app.command("default")
@_guard
def data_default(config: Optional[Path] = ConfigOpt, jobs: Optional[int] = typer.Option(None, "--jobs", "-j"),
                 only: Optional[List[str]] = typer.Option(None, "--only", help="Only these processes."),
                 scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address.")):
    """(Re)make the dataset of the config (the shipped default data), bit for bit from its seeds."""
    from trigger.data.dataset import build_default

    cfg = _load(config)
    typer.echo(json.dumps(build_default(cfg, n_jobs=jobs, scheduler=scheduler, only=only), indent=1))


@data_app.command("testvectors")
@_guard
def data_testvectors(file: Path = typer.Argument(..., help="uGT test-vector file (.txt), or with --write a words file."),
                     out: Path = typer.Option(..., "--out", "-o", help="Words file to write (HDF5), or with --write the test vector."),
                     muon_phi: str = typer.Option("raw", "--muon-phi", help="raw (at the muon system, 2024 menus) | extrapolated (2025 menus)."),
                     pt_halving: str = typer.Option("emulator", "--pt-halving", help="emulator (drop the 0.5 GeV bit, as CMS's software emulator) | exact."),
                     write: bool = typer.Option(False, "--write", help="Write a test vector from a words file and our trigger bits."),
                     build: Path = BuildOpt,
                     slots: Optional[str] = typer.Option(None, "--slots", help="With --write: comma-separated algorithm slots for our trigger bits.")):
    """Read a CMS uGT test vector into a words file (words, bx, algo_bits), or write one (--write)."""
    from trigger.data.testvectors import MuonPhi, PtHalving, read_testvector, write_testvector, write_words_file

    if write:
        from emulator import Emulator
        from trigger.data.words import read_words

        emu = Emulator.load(build)
        words, _ = read_words(file, None, emu.n_inputs)
        bits = emu.run(words)[2]
        cols = [int(x) for x in slots.split(",")] if slots else list(range(bits.shape[1]))
        write_testvector(out, words, bits, cols)
        typer.echo(f"{len(words)} bunch crossings, our bits in algorithm slots {cols} -> {out}")
        return
    try:
        mp, ph = MuonPhi(muon_phi), PtHalving(pt_halving)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    tv = read_testvector(file, mp, ph)
    write_words_file(out, tv, source=f"{file} muon_phi={mp.value} pt_halving={ph.value}")
    typer.echo(f"{len(tv.words)} bunch crossings -> {out} (words {tv.words.shape}, algo_bits {tv.algo_bits.shape})")


@data_app.command("l1ntuple")
@_guard
def data_l1ntuple(files: List[Path] = typer.Argument(..., help="L1Ntuple ROOT files (CMSSW L1TNtuples)."),
                  out: Path = typer.Option(..., "--out", "-o", help="HDF5 to write: a words file, or with --physics the ADC2021 layout."),
                  tree: str = typer.Option("l1UpgradeEmuTree/L1UpgradeTree", "--tree", help="l1UpgradeTree/L1UpgradeTree for unpacked data."),
                  muon_phi: str = typer.Option("raw", "--muon-phi", help="raw (muonIPhi, at the muon system: 2024 menus) | extrapolated (muonIPhiAtVtx: 2025)."),
                  muon_eta: str = typer.Option("extrapolated", "--muon-eta", help="extrapolated (muonIEtaAtVtx, the uGT's muon eta) | raw (muonIEta)."),
                  pt_halving: str = typer.Option("emulator", "--pt-halving", help="emulator (drop the 0.5 GeV bit, as CMS's software emulator) | exact."),
                  physics: bool = typer.Option(False, "--physics", help="Write the ADC2021 layout (pT GeV, eta, phi) with the configuration's units."),
                  config: Optional[Path] = ConfigOpt):
    """Read L1Ntuples (objects of bunch crossing 0, in the file's order) into the 57 words, or into the ADC2021 layout."""
    from trigger.data.l1ntuple import Options, convert
    from trigger.data.testvectors import MuonPhi, PtHalving

    try:
        opt = Options(MuonPhi(muon_phi), {"extrapolated": True, "raw": False}[muon_eta], PtHalving(pt_halving))
    except (ValueError, KeyError) as exc:
        raise typer.BadParameter(f"{exc}") from None
    units = _load(config).units if physics else None
    r = convert(files, out, tree, opt, units)
    typer.echo(f"{r['events']} events -> {r['out']} ({r['layout']})")


@data_app.command("plot")
@_guard
def data_plot(files: List[Path] = typer.Argument(None, help="HDF5 files (default: the config's data)."),
              config: Optional[Path] = ConfigOpt, build: Path = BuildOpt):
    """Per-process PNG distributions: multiplicities, leading pT, MET, eta; and, for files with region images, the
    mean calorimeter image of each process."""
    from trigger.data.dataset import process_file
    from trigger.physics.plots import file_plots

    cfg = _load(config, build)
    for w in file_plots(files or [process_file(cfg.data, n) for n in cfg.data.processes()], build / "reports" / "plots"):
        typer.echo(w)


@app.command()
@_guard
def train(config: Optional[Path] = ConfigOpt, build: Path = BuildOpt,
          baselines: bool = typer.Option(True, help="Also train the plain AE and AXOL1TL-v1 baselines.")):
    """Quantization-aware training of the VAE on background; writes build/model/."""
    from trigger.model.train import train as _train

    cfg = _load(config, build)
    _save_cfg(cfg, build)
    r = _train(cfg, build, baselines=baselines)
    typer.echo(f"trained in {r['seconds']:.1f} s; model in {build / 'model'}")


@app.command()
@_guard
def evaluate(config: Optional[Path] = ConfigOpt, build: Path = BuildOpt,
             scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address: score the files chunk by chunk on that "
                                                     "cluster (its workers must see the data and the build at the same paths).")):
    """ROC, AUC, thresholds for the target rates and signal efficiencies; writes build/reports/physics.json."""
    from trigger.physics.evaluate import evaluate as _evaluate

    cfg = _load(config, build)
    _save_cfg(cfg, build)
    r = _evaluate(cfg, build, scheduler=scheduler)
    for t in r["thresholds"]:
        typer.echo(f"{t['rate_khz']:g} kHz: threshold {t['threshold_int']} ({t['threshold_float']:.5g})")
    for sig, e in r["signals"].items():
        typer.echo(f"{sig}: AUC {e['scores'][r.get('primary', 'encoder_mu2')]['auc']:.3f}")


@app.command()
@_guard
def firmware(config: Optional[Path] = ConfigOpt, build: Path = BuildOpt,
             resources: bool = typer.Option(False, "--resources/--no-resources", help="Run yosys synth_xilinx for LUT/FF/DSP counts.")):
    """Write the hls4ml HLS project (and compile its C simulation) and the da4ml Verilog."""
    from trigger.firmware.build import build_firmware

    cfg = _load(config, build)
    _save_cfg(cfg, build)
    from trigger.firmware.build import LatencyBudgetError
    from trigger.firmware.rtl import RTLBuildError
    from trigger.firmware.timing import TimingEstimateError

    from trigger.design import load_design
    from trigger.verify.hazards import write_hazards

    try:
        write_hazards(load_design(build / "design.yaml"), build)
        s = build_firmware(cfg, build, resources=resources)
    except (LatencyBudgetError, TimingEstimateError, RTLBuildError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    typer.echo(f"latency {s['latency_cycles']} cycles = {s['latency_ns']:.1f} ns, II {s['ii']}; outputs in {build}/hls and {build}/rtl")


@export_app.command("cmssw")
@_guard
def export_cmssw_cmd(build: Path = BuildOpt, out: Path = typer.Option(..., "--out", "-o", help="Package folder to write."),
                     model_name: Optional[str] = typer.Option(None, "--model-name", help="Library and namespace name, e.g. GTADModel_v5 "
                                                              "(GTADModel_v3/_v4 hand CMSSW mu; default GTADModel_<design name>, "
                                                              "CICADA_<design name> for a 252-region design)."),
                     cxxflags: Optional[str] = typer.Option(None, "--cxxflags", help="g++ flags for the library (the Makefile's default: -O3).")):
    """Write BUILD's design as a CMSSW emulator plug-in package and build PKG/<model-name>.so with g++."""
    from trigger.export.cmssw import export_cmssw

    r = export_cmssw(build, out, model_name, cxxflags)
    if r["first"] == "calo":
        typer.echo(f"{r['library']}: calorimeter convention (ap_uint<10>* regions in, the score out); "
                   f"thresholds (score) {r['thresholds_score']}")
    else:
        typer.echo(f"{r['library']}: result pair first = {r['first']}; menu thresholds (loss x 16) {r['thresholds_loss_x16']}")


@app.command("import")
@_guard
def import_(design: Optional[Path] = typer.Argument(None, help="A trigger-design/1 file (YAML or JSON)."),
            build: Path = BuildOpt, config: Optional[Path] = ConfigOpt,
            keras: Optional[Path] = typer.Option(None, "--keras", help="A Keras/QKeras model file (.h5) instead of a design."),
            hls4ml_config: Optional[Path] = typer.Option(None, "--hls4ml-config", help="With --keras: hls4ml configuration (Model/LayerName -> Precision)."),
            spec: Optional[Path] = typer.Option(None, "--spec", help="With --keras: YAML with the design's inputs, scaling, score and thresholds.")):
    """Make BUILD a build of an outside design: `firmware`, `emulate`, `compare`, `sim` and `report` then use it."""
    from trigger.model.importer import import_design, import_keras

    if (design is None) == (keras is None):
        raise typer.BadParameter("give either a DESIGN file or --keras MODEL --hls4ml-config CFG --spec SPEC")
    cfg = _load(config, build)
    _save_cfg(cfg, build)
    if keras is not None:
        if hls4ml_config is None or spec is None:
            raise typer.BadParameter("--keras needs --hls4ml-config and --spec")
        d = import_keras(keras, hls4ml_config, spec, build)
    else:
        d = import_design(design, build)
    typer.echo(f"design {d.name!r} ({d.format}): {d.summary()}; thresholds "
               f"{[t.name for t in d.thresholds]} -> {build / 'design.yaml'}")


@app.command()
@_guard
def emulate(build: Path = BuildOpt, input: Path = typer.Option(..., "--input", "-i", help="Words file (HDF5 'words' or .npy) or ADC2021-layout HDF5."),
            out: Path = typer.Option(..., "--out", "-o", help="Output HDF5 with mu, score, trigger bits."),
            config: Optional[Path] = ConfigOpt,
            vectors: Optional[Path] = typer.Option(None, help="Also write test vectors (one event per line) here."),
            dump: Optional[int] = typer.Option(None, help="Print this event's words and outputs as hex/binary fields."),
            scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address: emulate chunk by chunk on that cluster "
                                                    "(its workers must see the input and the build at the same paths).")):
    """Run the bit-accurate emulator on a file, chunk by chunk."""
    import h5py
    import numpy as np

    from trigger.verify.bits import dump_event, write_vectors
    from trigger.verify.emulate import emulate_file

    cfg = _load(config, build)
    n = emulate_file(build, input, out, cfg.units, scheduler=scheduler)
    with h5py.File(out, "r") as f:
        fired = f["trigger_bits"][()].astype(np.int64).sum(0)
        if vectors or dump is not None:
            words, mu, score, bits = (f[k][()] for k in ("words", "mu", "score", "trigger_bits"))
    typer.echo(f"{n} events -> {out}; trigger fractions: {(fired / max(n, 1)).round(6).tolist()}")
    if vectors:
        write_vectors(build, words, (mu, score, bits), vectors)
        typer.echo(f"test vectors -> {vectors}")
    if dump is not None:
        typer.echo(dump_event(build, words[dump], (mu[dump], score[dump], bits[dump])))


@app.command()
@_guard
def compare(config: Optional[Path] = ConfigOpt, build: Path = BuildOpt,
            input: Optional[Path] = typer.Option(None, "--input", "-i", help="Compare on this file (words or ADC2021 layout) instead of the test events."),
            out: Optional[Path] = typer.Option(None, "--out", "-o", help="Directory for this run's JSON and report."),
            rtl_events: int = typer.Option(1_000_000, help="Events for emulator vs RTL (physics, then random words)."),
            reference_bits: Optional[str] = typer.Option(None, "--reference-bits", help="Comma-separated algo_bits columns of --input, one per threshold, to compare our bits with.")):
    """Bit-accuracy: QKeras vs emulator vs C simulation vs da4ml; writes bit_accuracy.json and .md."""
    from trigger.verify.compare import compare as _compare

    cfg = _load(config, build)
    cols = None
    if reference_bits:
        if input is None:
            raise typer.BadParameter("--reference-bits needs --input (a words file with algo_bits)")
        try:
            cols = [int(x) for x in reference_bits.split(",")]
        except ValueError:
            raise typer.BadParameter(f"--reference-bits {reference_bits!r}: expected comma-separated integers") from None
    r = _compare(cfg, build, str(input) if input else None, out, rtl_events, reference_bits=cols)
    typer.echo(f"{r['events']} events; all exact: {r['all_exact']}")
    ok = r["all_exact"]
    if r["reference_bits"]:
        for p in r["reference_bits"]["per_threshold"]:
            typer.echo(f"  {p['threshold']} vs column {p['reference_column']}: {p['disagreements']} disagreements "
                       f"of {p['events']} (ours fired {p['ours_fired']}, reference {p['reference_fired']})")
        ok = ok and r["reference_bits"]["total_disagreements"] == 0
    if not ok:
        raise typer.Exit(code=1)


@app.command()
@_guard
def sim(config: Optional[Path] = ConfigOpt, build: Path = BuildOpt,
        events: int = typer.Option(10000, help="Events streamed through the RTL."),
        quick: bool = typer.Option(False, help="Small event counts (the fast test subset)."),
        input: Optional[Path] = typer.Option(None, "--input", "-i", help="Stream every event of this file (words or ADC2021 layout).")):
    """cocotb testbenches on the RTL with Verilator: latency, II, bit-exactness, rates, reset/valid."""
    from cocotb_tests.runner import run_sim

    cfg = _load(config, build)
    r = run_sim(cfg, build, events=500 if quick else events, input_file=str(input) if input else None)
    typer.echo(json.dumps({k: r[k] for k in ("latency_cycles", "latency_ns", "initiation_interval", "events_simulated", "mismatches")}, indent=1))
    if r["mismatches"] or not r["passed"]:
        raise typer.Exit(code=1)


@app.command()
@_guard
def report(config: Optional[Path] = ConfigOpt, build: Path = BuildOpt):
    """Write build/reports/summary.json and summary.md from what the stages measured."""
    from trigger.report import write_summary

    write_summary(_load(config, build), build)
    typer.echo(f"{build / 'reports' / 'summary.md'}")


@app.command()
@_guard
def run(config: Optional[Path] = ConfigOpt, build: Path = BuildOpt,
        resources: bool = typer.Option(True, "--resources/--no-resources"),
        rtl_events: int = typer.Option(1_000_000), force: bool = typer.Option(False, help="Rerun every stage."),
        sim_events: int = typer.Option(2000, help="Events of the short cocotb pass on the RTL (0: skip it; `trigger sim` is the full one)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Say which stages would rerun, and why; run nothing.")):
    """The whole flow (what `make firmware` runs), reusing every stage whose inputs did not change."""
    from trigger.flow.pipeline import BitAccuracyError, run_flow

    from trigger.firmware.build import LatencyBudgetError
    from trigger.firmware.timing import TimingEstimateError

    if dry_run:
        plan = run_flow(_load(config, build), build, resources=resources, rtl_events=rtl_events, force=force,
                        sim_events=sim_events, dry_run=True)["plan"]
        for name, what in plan.items():
            typer.echo(f"{name:12s} {what}")
        return
    try:
        run_flow(_load(config, build), build, resources=resources, rtl_events=rtl_events, force=force, sim_events=sim_events)
    except (BitAccuracyError, LatencyBudgetError, TimingEstimateError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)


def main():
    app(prog_name="trigger")


if __name__ == "__main__":
    sys.exit(main())
