"""Vehicle detection in the contract's shape, over the framework-free engine."""

from collections import Counter

from vehicles import engine
from visionera.api.uploads import DecodedImage


def detect_vehicles(*, image: DecodedImage, min_confidence: float | None, plates: bool) -> dict:
    options = {"plates": plates}
    if min_confidence is not None:
        options["min_confidence"] = min_confidence
    vehicles = engine.detect_vehicles(image.pixels, **options)
    rendered = []
    for vehicle in vehicles:
        item = {
            "type": vehicle.type,
            "confidence": round(float(vehicle.confidence), 4),
            "box": vehicle.box.as_dict(),
        }
        if plates and vehicle.plate is not None:
            item["plate"] = {
                "text": vehicle.plate.text,
                "confidence": round(float(vehicle.plate.confidence), 4),
                "box": vehicle.plate.box.as_dict(),
            }
        rendered.append(item)
    return {"vehicles": rendered, "counts": dict(Counter(v["type"] for v in rendered))}
