"""The ADC2021 / Level-1 event layout: 19 objects x (pT, eta, phi), one fixed order."""

from __future__ import annotations

import numpy as np

N_OBJECTS = 19
N_FEATURES = 3 * N_OBJECTS  # the 57 words the firmware takes

# (object type, ADC2021 class id, number of slots), in slot order
GROUPS = (("met", 1, 1), ("egamma", 2, 4), ("muon", 3, 4), ("jet", 4, 10))
CLASS_NAMES = [b"MET_class_1", b"Four_Ele_class_2", b"Four_Mu_class_3", b"Ten_Jet_class_4"]
PARTICLE_NAMES = [b"Pt", b"Eta", b"Phi", b"Class"]


def _slots():
    out, start = {}, 0
    for name, _, n in GROUPS:
        out[name] = slice(start, start + n)
        start += n
    return out


SLOTS = _slots()
SLOT_TYPE = np.array([name for name, _, n in GROUPS for _ in range(n)])
SLOT_CLASS = np.array([cls for _, cls, n in GROUPS for _ in range(n)], dtype=np.int64)
FEATURE_NAMES = [f"{SLOT_TYPE[i]}{i - SLOTS[SLOT_TYPE[i]].start}_{v}" for i in range(N_OBJECTS) for v in ("pt", "eta", "phi")]
