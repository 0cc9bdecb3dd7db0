"""The shared serializers render the engine's as_dict() whole: every key it gives is
declared (a key the serializer does not declare would silently vanish from the API)."""

import json

from bodies.engine import KEYPOINT_NAMES, Keypoint, Person
from bodies.serializers import PersonSerializer
from vision.geometry import Box


def test_a_person_renders_exactly_its_as_dict():
    person = Person(
        box=Box(1, 2, 30, 60),
        confidence=0.712345,
        keypoints=[
            Keypoint(name=name, x=10.5 + i, y=20.25 + i, score=0.123456 * (i % 8))
            for i, name in enumerate(KEYPOINT_NAMES)
        ],
    )
    rendered = json.loads(json.dumps(PersonSerializer(person.as_dict()).data))
    assert rendered == person.as_dict()
    assert all(isinstance(point["x"], int) for point in rendered["keypoints"])
