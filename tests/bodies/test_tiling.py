"""Tiled detection (SAHI-style slices) finds small people without duplicating large ones."""

import numpy as np
import pytest

import vision.detection
from bodies.engine import analyze_bodies
from tests.helpers import fixture_rgb
from vision.detection import (
    AUTO_TILING_MIN_SIDE,
    MAX_TILES,
    detect_objects,
    should_tile,
    tile_grid,
)


@pytest.fixture(scope="module")
def kite():
    return fixture_rgb("objects/kite.jpg")


@pytest.fixture(scope="module")
def kite_people(kite):
    return {mode: detect_objects(kite, labels=("person",), tiling=mode) for mode in ("off", "on")}


def test_tiling_finds_more_of_the_small_people_on_the_beach(kite_people):
    untiled, tiled = kite_people["off"], kite_people["on"]
    small = 40  # px tall in the 1352x900 photo
    assert len(untiled) == 6
    assert len(tiled) >= 9
    assert sum(d.box.height < small for d in tiled) > sum(d.box.height < small for d in untiled)


def test_tiling_reads_each_small_person_once(kite_people):
    """No two tiled boxes of one person: the girl at the water's edge used to come twice."""
    tiled = kite_people["on"]
    for i, first in enumerate(tiled):
        for second in tiled[i + 1 :]:
            assert first.box.iou(second.box) < 0.4, (first.box, second.box)
    girl = [d for d in tiled if 170 <= d.box.x <= 190 and 530 <= d.box.y <= 550]
    assert len(girl) == 1


def test_the_walkers_in_front_are_found_by_both(kite_people):
    for mode, found in kite_people.items():
        assert any(d.box.height > 140 and d.box.x > 200 for d in found), mode
        assert any(d.box.height > 140 and d.box.x < 200 for d in found), mode


@pytest.mark.parametrize(
    ("photo", "people"),
    [("faces/two_people.jpg", 2), ("faces/probes/obama_and_biden.jpg", 3)],
)
def test_tiling_adds_no_duplicates_on_large_people(photo, people):
    """On big people a tile sees a head or a torso; those fragments must not be reported."""
    image = fixture_rgb(photo)
    untiled = detect_objects(image, labels=("person",), tiling="off")
    tiled = detect_objects(image, labels=("person",), tiling="on")
    assert len(untiled) == len(tiled) == people
    for before, after in zip(
        sorted(untiled, key=lambda d: d.box.x), sorted(tiled, key=lambda d: d.box.x), strict=True
    ):
        assert before.box.iou(after.box) > 0.9


def test_auto_tiles_only_large_images():
    assert not should_tile(768, 576)
    assert not should_tile(AUTO_TILING_MIN_SIDE - 1, 400)
    assert should_tile(AUTO_TILING_MIN_SIDE, 400)
    assert should_tile(640, 480, "on") and not should_tile(4000, 3000, "off")
    with pytest.raises(ValueError):
        should_tile(640, 480, "sometimes")


@pytest.mark.parametrize(("width", "height"), [(1352, 900), (2000, 1428), (7000, 5000), (900, 90)])
def test_tiles_cover_the_image_and_stay_within_the_budget(width, height):
    tiles = tile_grid(width, height)
    assert 1 <= len(tiles) <= MAX_TILES
    covered = np.zeros((height, width), dtype=bool)
    for left, top, right, bottom in tiles:
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
        covered[top:bottom, left:right] = True
    assert covered.all()


def test_auto_mode_is_what_the_body_engine_does_by_default(kite, monkeypatch):
    passes = []
    real = vision.detection._detect_pass
    monkeypatch.setattr(
        vision.detection, "_detect_pass", lambda *a: passes.append(1) or real(*a)
    )
    analyze_bodies(kite)
    assert len(passes) == 1 + len(tile_grid(1352, 900))
    passes.clear()
    analyze_bodies(kite, tiling="off")
    assert len(passes) == 1


def test_a_zero_threshold_on_every_tile_stays_bounded(kite, monkeypatch):
    """min_confidence=0 makes every cell of every class a candidate (284k per pass): each
    pass decodes only its best MAX_CANDIDATES and the merge keeps MAX_CANDIDATES."""
    decoded = []
    real = vision.detection._expected_distances
    monkeypatch.setattr(
        vision.detection,
        "_expected_distances",
        lambda bins: decoded.append(len(bins)) or real(bins),
    )
    found = detect_objects(kite, 0.0, tiling="on")
    assert len(found) <= vision.detection.MAX_CANDIDATES
    assert max(decoded) <= vision.detection.MAX_CANDIDATES
    people = analyze_bodies(kite, min_confidence=0.0, tiling="on")
    assert len(people) == 50  # bodies.engine.MAX_PEOPLE


def test_candidates_are_cut_to_the_best_max_candidates_in_one_place():
    limit = vision.detection.MAX_CANDIDATES
    count = limit + 5
    rng = np.random.default_rng(3)
    scores = rng.permutation(np.arange(count, dtype=np.float32)) / count
    corners = np.repeat(scores[:, None], 4, axis=1)
    ids = np.arange(count)
    per_class = np.stack([scores, 1 - scores], axis=1)
    kept = vision.detection._best_candidates(corners, scores, ids, per_class)
    assert len(kept[1]) == limit
    assert list(kept[1]) == sorted(scores, reverse=True)[:limit]
    # Every array is cut and ordered alike, so a candidate's parts stay together.
    assert (kept[0][:, 0] == kept[1]).all() and (kept[3][:, 0] == kept[1]).all()
    assert (scores[kept[2]] == kept[1]).all()
    few = vision.detection._best_candidates(corners[:3], scores[:3], ids[:3], per_class[:3])
    assert list(few[2]) == [0, 1, 2]  # under the limit: untouched, in their order
