"""Built-in Pythia 8 processes. A user process is just another list of settings."""

from __future__ import annotations

# Applied to every process. Multiparton interactions are off: 6-8x faster generation, and the
# Level-1 objects we build (leptons, R=0.4 jets, MET) are dominated by the hard process. No pileup.
COMMON = [
    "Beams:eCM = 13000.",
    "PartonLevel:MPI = off",
    "Print:quiet = on",
    "Next:numberCount = 0",
]

BUILTIN: dict[str, list[str]] = {
    "W": ["WeakSingleBoson:ffbar2W = on", "24:onMode = off", "24:onIfAny = 11 13 15"],
    "Z": [
        "WeakSingleBoson:ffbar2gmZ = on",
        "PhaseSpace:mHatMin = 50.",
        "23:onMode = off",
        "23:onIfAny = 11 13 15",
    ],
    "ttbar": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"],
    # QCD passes the lepton filter ~5e-4 of the time: sample pTHat with a bias towards hard events
    # and carry Pythia's compensating per-event weight.
    "QCD": [
        "HardQCD:all = on",
        "PhaseSpace:pTHatMin = 20.",
        "PhaseSpace:bias2Selection = on",
        "PhaseSpace:bias2SelectionPow = 4.",
        "PhaseSpace:bias2SelectionRef = 20.",
    ],
    "Ato4l": [
        "HiggsSM:gg2H = on",
        "25:m0 = 50.",
        "25:onMode = off",
        "25:onIfMatch = 23 23",
        "23:onMode = off",
        "23:onIfAny = 11 13",
    ],
    "LQ": [
        "LeptoQuark:gg2LQLQbar = on",
        "LeptoQuark:qqbar2LQLQbar = on",
        "42:m0 = 80.",
        "42:chargeType = 2",
        "42:oneChannel = 1 1.0 0 5 -15",
    ],
    "h0tautau": ["HiggsSM:gg2H = on", "25:m0 = 60.", "25:onMode = off", "25:onIfMatch = 15 -15"],
    "hchtaunu": [
        "Higgs:useBSM = on",
        "HiggsBSM:ffbar2H+- = on",
        "37:m0 = 60.",
        "37:onMode = off",
        "37:onIfMatch = 15 16",
    ],
}


class ProcessError(ValueError):
    pass


def settings_for(name: str, custom: list[str] | None = None) -> list[str]:
    """The full Pythia settings of a process: built-in by name, or the given custom list."""
    if custom is not None:
        if not custom:
            raise ProcessError(f"process {name!r}: the custom settings list is empty")
        return list(custom)
    if name not in BUILTIN:
        raise ProcessError(
            f"unknown process {name!r}: built-in processes are {sorted(BUILTIN)}; "
            "give a custom process its Pythia settings (--pythia 'Setting=value' or `settings:` in the config)"
        )
    return list(BUILTIN[name])
