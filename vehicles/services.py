"""Vehicle detection in the contract's shape, over the framework-free engine."""

from collections import Counter

from vehicles import engine
from vision.media import DecodedImage


def detect_vehicles(
    *, image: DecodedImage, min_confidence: float | None, plates: bool, tiling: str = "auto"
) -> dict:
    options = {"plates": plates, "tiling": tiling}
    if min_confidence is not None:
        options["min_confidence"] = min_confidence
    vehicles = engine.detect_vehicles(image.pixels, **options)
    rendered = [vehicle.as_dict() for vehicle in vehicles]
    return {"vehicles": rendered, "counts": dict(Counter(v["type"] for v in rendered))}
