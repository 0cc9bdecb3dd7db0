"""Output shapes shared by several domains' endpoints."""

from rest_framework import serializers


class BoxSerializer(serializers.Serializer):
    """A box in pixels of the uploaded image, after EXIF rotation."""

    x = serializers.IntegerField()
    y = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
