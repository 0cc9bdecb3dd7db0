"""People and pose in the contract's shape, over the framework-free engine."""

from bodies import engine
from visionera.api.uploads import DecodedImage


def analyze_bodies(*, image: DecodedImage, min_confidence: float | None) -> dict:
    options = {} if min_confidence is None else {"min_confidence": min_confidence}
    people = engine.analyze_bodies(image.pixels, **options)
    rendered = [
        {
            "box": person.box.as_dict(),
            "confidence": round(float(person.confidence), 4),
            "keypoints": [
                {
                    "name": point.name,
                    "x": int(round(point.x)),
                    "y": int(round(point.y)),
                    "score": round(float(point.score), 4),
                }
                for point in person.keypoints
            ],
        }
        for person in people
    ]
    return {"people": rendered, "count": len(rendered)}
