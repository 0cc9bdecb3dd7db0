"""The API's shapes of a person and a keypoint: one serializer per shape, rendering the
engine's ``as_dict()`` (bodies.engine), shared by every endpoint that shows a person.

A new output field is one line in ``as_dict()`` and one here: a response holds only what
these declare.
"""

from rest_framework import serializers

from visionera.api.serializers import BoxSerializer


class KeypointSerializer(serializers.Serializer):
    name = serializers.CharField()
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    score = serializers.FloatField()


class PersonSerializer(serializers.Serializer):
    box = BoxSerializer()
    confidence = serializers.FloatField()
    keypoints = KeypointSerializer(many=True)
