"""The API's shapes of a vehicle and its parts: one serializer per shape, rendering the
engine's ``as_dict()`` (vehicles.engine), shared by every endpoint that shows a vehicle.

A new output field is one line in ``as_dict()`` and one here: a response holds only what
these declare, and an optional field (``required=False``) is left out when the dict
lacks it.
"""

from rest_framework import serializers

from vehicles.engine import COLOURS, VEHICLE_TYPES
from visionera.api.serializers import BoxSerializer


class PlateSerializer(serializers.Serializer):
    text = serializers.CharField()
    confidence = serializers.FloatField()
    box = BoxSerializer()


class VehicleColourSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(COLOURS))
    confidence = serializers.FloatField()


class VehicleSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=list(VEHICLE_TYPES))
    confidence = serializers.FloatField()
    box = BoxSerializer()
    colour = VehicleColourSerializer(
        required=False, help_text="Cars, trucks, buses and trains: the dominant body colour."
    )
    plate = PlateSerializer(required=False, help_text="Only with plates=true, where one was read.")
