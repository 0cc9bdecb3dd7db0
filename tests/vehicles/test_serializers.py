"""The shared serializers render the engine's as_dict() whole: every key it gives is
declared (a key the serializer does not declare would silently vanish from the API)."""

import json

from vehicles.engine import COLOURS, VEHICLE_TYPES, Plate, Vehicle, VehicleColour
from vehicles.serializers import VehicleColourSerializer, VehicleSerializer
from vision.geometry import Box


def _rendered(serializer_class, item: dict) -> dict:
    return json.loads(json.dumps(serializer_class(item).data))


def test_a_full_vehicle_renders_exactly_its_as_dict():
    vehicle = Vehicle(
        type="truck",
        confidence=0.612345,
        box=Box(1, 2, 30, 40),
        plate=Plate(text="AB123", confidence=0.987654, box=Box(2, 3, 4, 5)),
        colour=VehicleColour(name="white", confidence=0.83333),
    )
    assert _rendered(VehicleSerializer, vehicle.as_dict()) == vehicle.as_dict()


def test_optional_parts_are_left_out_when_the_engine_has_none():
    vehicle = Vehicle(type="bicycle", confidence=0.5, box=Box(0, 0, 10, 10))
    rendered = _rendered(VehicleSerializer, vehicle.as_dict())
    assert rendered == vehicle.as_dict()
    assert "plate" not in rendered and "colour" not in rendered


def test_the_choices_are_the_engines_constants():
    assert list(VehicleSerializer().fields["type"].choices) == list(VEHICLE_TYPES)
    assert list(VehicleColourSerializer().fields["name"].choices) == list(COLOURS)
