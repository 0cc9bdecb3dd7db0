"""Exact descriptor search and batch clustering, checked against brute force."""

import uuid

import numpy as np
import pytest

from faces.index import (
    DescriptorIndex,
    IndexMatch,
    cluster,
    descriptor_from_bytes,
    descriptor_to_bytes,
    pairwise_distances,
)


def random_descriptors(count: int, seed: int = 0) -> np.ndarray:
    """Random vectors at the scale of real dlib descriptors (norm ≈ 1.4)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True) * 1.4


def brute_force(matrix: np.ndarray, query: np.ndarray, limit: int, threshold: float):
    distances = np.linalg.norm(matrix.astype(np.float64) - query.astype(np.float64), axis=1)
    order = np.argsort(distances, kind="stable")[:limit]
    return [(int(row), float(distances[row])) for row in order if distances[row] <= threshold]


@pytest.fixture(scope="module")
def gallery() -> np.ndarray:
    return random_descriptors(5000)


def near(query_source: np.ndarray, seed: int, spread: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (query_source + rng.normal(scale=spread, size=128)).astype(np.float32)


@pytest.mark.parametrize("limit", [1, 5, 50])
def test_search_equals_brute_force(gallery, limit):
    index = DescriptorIndex(list(range(len(gallery))), gallery)
    for seed in range(20):
        query = near(gallery[seed * 97], seed, spread=0.1)
        found = index.search(query, limit=limit, threshold=10.0)
        expected = brute_force(gallery, query, limit, threshold=10.0)
        assert [row for row, _ in found] == [row for row, _ in expected]
        np.testing.assert_allclose([d for _, d in found], [d for _, d in expected], atol=1e-5)


def test_threshold_drops_far_rows_and_results_are_nearest_first(gallery):
    index = DescriptorIndex(list(range(len(gallery))), gallery)
    query = near(gallery[42], seed=1)
    found = index.search(query, limit=5, threshold=0.6)
    assert found == [IndexMatch(42, pytest.approx(found[0].distance))]
    assert found[0].distance < 0.6
    everything = index.search(query, limit=5, threshold=100.0)
    assert [match.distance for match in everything] == sorted(m.distance for m in everything)


def test_batch_of_queries_gives_one_list_each(gallery):
    index = DescriptorIndex(list(range(len(gallery))), gallery)
    queries = np.stack([near(gallery[row], seed=row) for row in (3, 1000, 4999)])
    results = index.search(queries, limit=3, threshold=0.6)
    assert [[match.row for match in matches] for matches in results] == [[3], [1000], [4999]]
    assert results[1] == index.search(queries[1], limit=3, threshold=0.6)


def test_limit_larger_than_the_index_and_empty_index():
    small = random_descriptors(3)
    index = DescriptorIndex(["a", "b", "c"], small)
    assert len(index.search(small[0], limit=10, threshold=100.0)) == 3
    empty = DescriptorIndex([], np.empty((0, 128), dtype=np.float32))
    assert len(empty) == 0 and empty.search(small[0]) == []
    assert index.search(small[0], limit=0) == []


def test_ids_keep_their_type():
    ids = [uuid.uuid4() for _ in range(4)]
    index = DescriptorIndex(ids, random_descriptors(4))
    (match,) = index.search(index.matrix[2], limit=1)
    assert index.ids[match.row] == ids[2] and isinstance(index.ids[match.row], uuid.UUID)


def test_from_rows_round_trips_stored_blobs(gallery):
    blobs = [descriptor_to_bytes(row) for row in gallery[:100]]
    assert all(len(blob) == 512 for blob in blobs)
    index = DescriptorIndex.from_rows(list(range(100)), iter(blobs))
    np.testing.assert_array_equal(index.matrix, gallery[:100])
    np.testing.assert_array_equal(descriptor_from_bytes(blobs[7]), gallery[7])


def test_bad_shapes_and_blobs_are_refused():
    with pytest.raises(ValueError):
        DescriptorIndex([1, 2], random_descriptors(3))
    with pytest.raises(ValueError):
        DescriptorIndex([1], np.zeros((1, 64), dtype=np.float32))
    with pytest.raises(ValueError):
        DescriptorIndex.from_rows([1], [b"\x00" * 100])
    with pytest.raises(ValueError):
        descriptor_to_bytes(np.zeros(127))


def test_pairwise_distances_are_symmetric_with_a_zero_diagonal():
    descriptors = random_descriptors(6)
    distances = pairwise_distances(descriptors)
    assert distances.shape == (6, 6)
    np.testing.assert_allclose(distances, distances.T)
    np.testing.assert_allclose(np.diag(distances), 0.0)
    assert distances[1, 4] == pytest.approx(np.linalg.norm(descriptors[1] - descriptors[4]))


def test_cluster_groups_people_and_chains_transitively():
    people = random_descriptors(3, seed=5)
    rng = np.random.default_rng(9)
    rows = [
        people[0],
        people[1],
        people[0] + rng.normal(scale=0.02, size=128),
        people[2],
        people[1] + rng.normal(scale=0.02, size=128),
    ]
    assert cluster(np.stack(rows), threshold=0.6) == [[0, 2], [1, 4], [3]]
    # a - b and b - c are within 0.6, a - c is not: one person seen from two sides.
    chain = np.zeros((3, 128))
    chain[1, 0], chain[2, 0] = 0.5, 1.0
    assert cluster(chain, threshold=0.6) == [[0, 1, 2]]
    assert cluster(np.empty((0, 128))) == []
