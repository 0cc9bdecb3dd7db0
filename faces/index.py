"""Exact nearest-neighbour search and clustering over 128-d face descriptors.

Framework-free: the faces service builds a :class:`DescriptorIndex` from a collection's
stored descriptor blobs and caches it until the collection changes. Search is exact
(no approximation can make a wrong match), vectorised, and fast enough for a million
faces on one core (docs/PERFORMANCE.md, "Faces: 1:N search").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from faces.engine import DEFAULT_THRESHOLD, DESCRIPTOR_SIZE

_STORAGE_DTYPE = np.dtype("<f4")
DESCRIPTOR_BYTES = DESCRIPTOR_SIZE * _STORAGE_DTYPE.itemsize
"""Size of a stored descriptor (Face.descriptor): 128 little-endian float32, 512 bytes."""


def descriptor_to_bytes(descriptor: np.ndarray) -> bytes:
    """The 512-byte little-endian float32 form descriptors are stored in."""
    vector = np.asarray(descriptor, dtype=_STORAGE_DTYPE).reshape(-1)
    if vector.shape != (DESCRIPTOR_SIZE,):
        raise ValueError(f"a descriptor has {DESCRIPTOR_SIZE} values, got {vector.size}")
    return vector.tobytes()


def descriptor_from_bytes(blob: bytes) -> np.ndarray:
    if len(blob) != DESCRIPTOR_BYTES:
        raise ValueError(f"a stored descriptor is {DESCRIPTOR_BYTES} bytes, got {len(blob)}")
    return np.frombuffer(blob, dtype=_STORAGE_DTYPE).astype(np.float32)


class IndexMatch(NamedTuple):
    row: int
    distance: float


class DescriptorIndex:
    """An immutable (N, 128) float32 matrix of descriptors and the ids of its rows.

    Distances use ||q - x||² = |q|² + |x|² - 2 q·x with the row norms precomputed, so a
    search is one matrix-vector product plus a partial sort; the few rows returned are
    then re-measured directly so reported distances carry no cancellation error.
    """

    def __init__(self, ids: Sequence[object], descriptors: np.ndarray) -> None:
        matrix = np.ascontiguousarray(descriptors, dtype=np.float32)
        if matrix.size == 0:
            matrix = matrix.reshape(0, DESCRIPTOR_SIZE)
        if matrix.ndim != 2 or matrix.shape[1] != DESCRIPTOR_SIZE:
            raise ValueError(f"descriptors must be (N, {DESCRIPTOR_SIZE}), got {matrix.shape}")
        if len(ids) != matrix.shape[0]:
            raise ValueError(f"{len(ids)} ids for {matrix.shape[0]} descriptors")
        self.ids: np.ndarray = _as_id_array(ids)
        self.matrix = matrix
        self.squared_norms = np.einsum("ij,ij->i", matrix, matrix)

    @classmethod
    def from_rows(cls, ids: Sequence[object], blobs: Iterable[bytes]) -> DescriptorIndex:
        """Build from stored 512-byte float32 blobs, in the order of ``ids``."""
        blobs = list(blobs)
        if any(len(blob) != DESCRIPTOR_BYTES for blob in blobs):
            raise ValueError(f"every stored descriptor must be {DESCRIPTOR_BYTES} bytes")
        joined = b"".join(blobs)
        matrix = np.frombuffer(joined, dtype=_STORAGE_DTYPE).reshape(-1, DESCRIPTOR_SIZE)
        return cls(ids, matrix.astype(np.float32))

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def search(
        self, query: np.ndarray, limit: int = 5, threshold: float = DEFAULT_THRESHOLD
    ) -> list[IndexMatch] | list[list[IndexMatch]]:
        """The ``limit`` nearest rows within ``threshold``, nearest first.

        A (128,) query gives one list; a (Q, 128) batch gives one list per query.
        """
        queries = np.asarray(query, dtype=np.float32)
        if queries.ndim == 1:
            return self.search_many(queries[np.newaxis], limit, threshold)[0]
        return self.search_many(queries, limit, threshold)

    def search_many(
        self, queries: np.ndarray, limit: int = 5, threshold: float = DEFAULT_THRESHOLD
    ) -> list[list[IndexMatch]]:
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != DESCRIPTOR_SIZE:
            raise ValueError(f"queries must be (Q, {DESCRIPTOR_SIZE}), got {queries.shape}")
        if limit <= 0 or len(self) == 0:
            return [[] for _ in range(queries.shape[0])]
        keep = min(limit, len(self))
        # |x|² - 2 q·x ranks rows like |q - x|² (|q|² is the same for every row), built in
        # place: at a million rows each extra pass over the scores costs ~5 ms.
        ranking = queries @ self.matrix.T
        ranking *= -2.0
        ranking += self.squared_norms
        if keep < len(self):
            candidates = np.argpartition(ranking, keep - 1, axis=1)[:, :keep]
        else:
            candidates = np.broadcast_to(np.arange(len(self)), (queries.shape[0], keep))
        differences = self.matrix[candidates] - queries[:, np.newaxis, :]
        distances = np.sqrt(np.einsum("qkd,qkd->qk", differences, differences, dtype=np.float64))
        order = np.argsort(distances, axis=1, kind="stable")
        rows = np.take_along_axis(candidates, order, axis=1)
        distances = np.take_along_axis(distances, order, axis=1)
        return [
            [
                IndexMatch(int(row), float(distance))
                for row, distance in zip(query_rows, query_distances, strict=True)
                if distance <= threshold
            ]
            for query_rows, query_distances in zip(rows, distances, strict=True)
        ]


def _as_id_array(ids: Sequence[object]) -> np.ndarray:
    # An object array keeps UUIDs and ints as they are; numpy would otherwise turn a
    # list of UUIDs into a 2-D array or strings.
    array = np.empty(len(ids), dtype=object)
    array[:] = list(ids)
    return array


def pairwise_distances(descriptors: np.ndarray) -> np.ndarray:
    """(N, N) float64 Euclidean distances, computed directly (N is a batch, ≤ ~100)."""
    matrix = np.asarray(descriptors, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"descriptors must be (N, {DESCRIPTOR_SIZE}), got {matrix.shape}")
    differences = matrix[:, np.newaxis, :] - matrix[np.newaxis, :, :]
    return np.sqrt(np.einsum("ijd,ijd->ij", differences, differences))


def cluster(descriptors: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> list[list[int]]:
    """Group rows whose faces are linked by distances ≤ ``threshold`` (single linkage).

    Linking is transitive: if A matches B and B matches C, all three are one group even
    when A and C are further apart, which is what "the same person across a batch"
    needs when photos vary in pose. Every row is in exactly one group; groups and their
    members are in ascending row order.
    """
    count = len(descriptors)
    if count == 0:
        return []
    distances = pairwise_distances(descriptors)
    parent = np.arange(count)

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return int(node)

    for first, second in np.argwhere(np.triu(distances <= threshold, k=1)):
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for row in range(count):
        groups.setdefault(root(row), []).append(row)
    return sorted(groups.values())
