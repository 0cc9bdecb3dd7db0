"""People and pose in the contract's shape, over the framework-free engine."""

from bodies import engine
from vision.media import DecodedImage


def analyze_bodies(
    *, image: DecodedImage, min_confidence: float | None, tiling: str = "auto"
) -> dict:
    options = {"tiling": tiling}
    if min_confidence is not None:
        options["min_confidence"] = min_confidence
    people = engine.analyze_bodies(image.pixels, **options)
    rendered = [person.as_dict() for person in people]
    return {"people": rendered, "count": len(rendered)}
