"""How real face descriptors sit in space, per folder of photos: the figures that
bench/search.py's calibrated generator is fitted to, and what it makes of them at scale.

    .venv/bin/python bench/face_geometry.py --faces ~/faces/orl_yale ~/faces/celeba \\
        [--size 1000000]

For each folder (one folder per person, as bench/search.py --faces reads it; descriptors
from the project's engine), it prints: faces and people; descriptor norms; the norm of
the mean descriptor; distances between two photos of one person and between two people
(percentiles); how many principal axes hold 50/80/95 % of the variance; the share of the
variance that lies between people. Then, for CalibratedPeople fitted to that folder and
--size generated people: the median distance from another photo of an enrolled person
to its nearest face, and from a stranger to its nearest face, with the gap to the second
nearest. The smaller those gaps, the more crowded the gallery, and the broader an HNSW
search must be to find the true nearest.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import CalibratedPeople, photo_faces  # noqa: E402

PAIRS = 400_000
QUERIES = 500


def describe(labels: np.ndarray, descriptors: np.ndarray, size: int) -> list[str]:
    rng = np.random.default_rng(1)
    people = np.unique(labels)
    same = np.concatenate([_pairwise(descriptors[labels == person]) for person in people])
    first, second = rng.integers(0, len(descriptors), (2, PAIRS))
    apart = labels[first] != labels[second]
    different = np.linalg.norm(descriptors[first[apart]] - descriptors[second[apart]], axis=1)
    spectrum = np.linalg.eigvalsh(np.cov(descriptors.T))[::-1]
    cumulative = np.cumsum(spectrum) / spectrum.sum()
    from faces.index import DescriptorIndex

    generator = CalibratedPeople(list(labels), descriptors)
    within = np.trace(generator.within @ generator.within.T)
    between = np.trace(generator.between @ generator.between.T)
    lines = [
        f"{len(descriptors):,d} faces of {len(people)} people",
        f"descriptor norm 1st/50th/99th percentile: {_percentiles(np.linalg.norm(descriptors, axis=1), 1, 50, 99)};"
        f" norm of the mean descriptor {np.linalg.norm(descriptors.mean(0)):.2f}",
        f"same person, distance 5th/50th/95th: {_percentiles(same, 5, 50, 95)}",
        f"different people, 1st/5th/50th/95th: {_percentiles(different, 1, 5, 50, 95)}",
        "principal axes holding 50/80/95 % of the variance: "
        + "/".join(str(int(np.searchsorted(cumulative, share)) + 1) for share in (0.5, 0.8, 0.95)),
        f"variance between people: {between / (between + within):.0%}",
    ]
    faces, centres = generator.faces(size, rng)
    queries = {"another photo of an enrolled person": generator.same_people(centres, QUERIES, rng),
               "a stranger": generator.strangers(QUERIES, rng)}
    exact = DescriptorIndex(np.arange(len(faces)), faces)
    for kind, batch in queries.items():
        nearest = np.array([[match.distance for match in exact.search(query, 2, 99.0)]
                            for query in batch])
        lines.append(f"among {size:,d} generated people, {kind}: nearest face (median)"
                     f" {np.median(nearest[:, 0]):.3f}, gap to the second nearest"
                     f" {np.median(nearest[:, 1] - nearest[:, 0]):.4f}")
    return lines


def _pairwise(matrix: np.ndarray) -> np.ndarray:
    distances = np.linalg.norm(matrix[:, None] - matrix[None], axis=-1)
    return distances[np.triu_indices(len(matrix), 1)]


def _percentiles(values: np.ndarray, *percentiles: float) -> str:
    return " / ".join(f"{np.percentile(values, p):.2f}" for p in percentiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", nargs="+", required=True, help="folders of photos")
    parser.add_argument("--size", type=int, default=1_000_000)
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionera.settings")
    import django

    django.setup()
    for folder in arguments.faces:
        enrolled_labels, enrolled, probe_labels, probes = photo_faces(Path(folder).expanduser())
        labels = np.array(enrolled_labels + probe_labels)
        print(f"== {folder}", flush=True)
        for line in describe(labels, np.concatenate([enrolled, probes]).astype(np.float64),
                             arguments.size):
            print(f"  {line}", flush=True)


if __name__ == "__main__":
    main()
