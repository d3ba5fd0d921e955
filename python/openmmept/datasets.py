"""Reading corpora and labelled data sets (``ept prepare``, ``ept label``) into NumPy.

    from openmmept.datasets import read_dataset
    data = read_dataset("labels/A")
    data.labels["energy"]            # "delta:amber14-obc2": xtb minus that force field, or "total"
    r = data.records[0]              # one trajectory (or one molecule of a corpus)
    r.positions.shape                # (conformations, atoms, 3), Å
    r.energies, r.forces             # kJ/mol (conformations,), kJ/mol/Å (conformations, atoms, 3)

Shard checksums are verified against the manifest, as the ``ept`` command does.
"""
import dataclasses
import json
import zlib
from pathlib import Path
from typing import List, Optional

import numpy as np


@dataclasses.dataclass
class Record:
    domain: str
    source: str
    atomic_numbers: np.ndarray
    atom_names: List[str]
    residue_names: List[str]
    positions: np.ndarray                  # (conformations, atoms, 3) Å
    energies: Optional[np.ndarray] = None  # (conformations,) kJ/mol
    forces: Optional[np.ndarray] = None    # (conformations, atoms, 3) kJ/mol/Å
    bonds: Optional[np.ndarray] = None     # (bonds, 2) atom indices
    group: str = ""                        # what validation holds out together (a scaffold, a protein file)


@dataclasses.dataclass
class Dataset:
    manifest: dict
    records: List[Record]

    @property
    def labels(self) -> dict:
        """What the energies and forces are (empty for an unlabelled corpus)."""
        return self.manifest.get("labels", {})


def read_dataset(path) -> Dataset:
    """Reads the manifest and every shard of the corpus or labelled data set in folder ``path``."""
    import cbor2

    folder = Path(path)
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"'{folder}' is not a data set (no manifest.json); make one with `ept label` "
                                "or `ept prepare`")
    manifest = json.loads(manifest_path.read_text())
    records = []
    for shard in manifest["shards"]:
        data = (folder / shard["file"]).read_bytes()
        crc = f"{zlib.crc32(data):08x}"
        if crc != shard["crc32"]:
            raise ValueError(f"shard '{folder / shard['file']}' is damaged (CRC-32 {crc}, manifest says "
                             f"{shard['crc32']})")
        for r in cbor2.loads(data):
            n, count = len(r["z"]), r["conformers"]
            record = Record(r["domain"], r["source"], np.asarray(r["z"]), list(r["names"]), list(r["residues"]),
                            np.asarray(r["xyz"], dtype=float).reshape(count, n, 3))
            record.bonds = np.asarray(r.get("bonds", []), dtype=np.int64).reshape(-1, 2)
            record.group = r.get("group", "")
            if "energy" in r:
                record.energies = np.asarray(r["energy"], dtype=float)
                record.forces = np.asarray(r["forces"], dtype=float).reshape(count, n, 3)
            records.append(record)
    return Dataset(manifest, records)
