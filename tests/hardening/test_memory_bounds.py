"""The documented bound on one request's memory, measured on hostile images built here.

Each measurement runs in a fresh Python process (the app's code, its real face engine), so
the peak RSS it reports belongs to that request alone and not to whatever the test session
did before: models are loaded and one real photo analysed first, the kernel's peak-RSS
mark is reset (/proc/self/clear_refs), and the peak's growth over the resident size is
compared with visionera.api.uploads'
request_memory_bound (8 bytes a pixel + 48 MB). The bombs are a few kilobytes, are all
under the default 50 MP cap (so they are decoded, not refused, except the WebP, whose
decoder's memory counts it at 2.5 × its pixels), and each made the process grow by far
more before the fix (measured: 16-bit PNG 1.39 GB, palette PNG 745 MB, WebP 797 MB).
The vehicle and body engines are measured the same way, through their services, on very
wide or tall images built from the fixture photos.
"""

import json
import os
import secrets
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import PROJECT_ROOT
from tests.helpers import fixture_path
from visionera.api.errors import FileTooLarge
from visionera.api.uploads import image_from_bytes, memory_pixels, request_memory_bound

WIDTH, HEIGHT = 8000, 6213  # 49.7 megapixels, under the default 50 MP cap

PEAK_RSS = r"""
import os

def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

def reset_peak():
    # Start measuring: the kernel's peak RSS (VmHWM) is set back to the current RSS, so
    # what imports and warm-up allocated and freed before does not count.
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status("VmRSS")

def peak_growth(start):
    return _status("VmHWM") - start
"""

MEASURE = PEAK_RSS + r"""
import gc, json, sys
import django
django.setup()
from faces import services
from tests.helpers import fixture_path
from visionera.api.uploads import image_from_bytes

mode, paths = sys.argv[1], sys.argv[2:]
services.detect_faces(image=image_from_bytes(fixture_path("faces/obama.jpg").read_bytes()))
gc.collect()
before = reset_peak()
pixels = []
def decoded():
    for path in paths:
        with open(path, "rb") as handle:
            image = image_from_bytes(handle.read(), max_bytes=10**9)
        pixels.append(image.width * image.height * image.scale ** 2)
        yield image
        del image  # like the view's generator, keep no reference once it is handed on
if mode == "batch":
    result = services.batch_match(images=decoded(), threshold=0.6)
    faces = [image["faces_detected"] for image in result["images"]]
elif mode == "compare":  # as FaceCompareApi: headers counted first, pixels decoded later
    from PIL import Image
    from faces.errors import NoFaceDetected
    from visionera.api.uploads import decodable_together, memory_pixels
    counted = []
    for path in paths:
        with Image.open(path) as opened:
            counted.append(memory_pixels(opened))
    together = decodable_together(*counted)
    try:
        result = services.compare_faces(images=decoded(), threshold=0.6, held_together=together)
        faces = list(result["faces_detected"].values())
    except NoFaceDetected as error:
        faces = list(error.extra["faces_detected"].values())
else:
    faces = [services.detect_faces(image=image)["count"] for image in decoded()]
print(json.dumps({"growth": peak_growth(before), "pixels": pixels, "faces": faces}))
"""


MEASURE_ENGINE = PEAK_RSS + r"""
import gc, json, sys
import django
django.setup()
from bodies import services as bodies
from tests.helpers import fixture_path
from vehicles import services as vehicles
from visionera.api.uploads import image_from_bytes

engine, path = sys.argv[1:]
analyse, warm_up = {
    "vehicles": (
        lambda image: vehicles.detect_vehicles(image=image, min_confidence=None, plates=False),
        "objects/plate_car.png",
    ),
    "bodies": (
        lambda image: bodies.analyze_bodies(image=image, min_confidence=None),
        "objects/person.jpg",
    ),
}[engine]
analyse(image_from_bytes(fixture_path(warm_up).read_bytes()))
gc.collect()
before = reset_peak()
with open(path, "rb") as handle:
    image = image_from_bytes(handle.read(), max_bytes=10**9)
pixels = image.width * image.height
answer = analyse(image)
print(json.dumps({"growth": peak_growth(before), "pixels": [pixels], "answer": answer}))
"""


def _measure(mode: str, *paths: Path) -> dict:
    """Face detection (``single``) or batch-match (``batch``) on the images at ``paths``;
    ``vehicles`` or ``bodies`` runs that engine's service on the one image at ``paths``."""
    script = MEASURE_ENGINE if mode in ("vehicles", "bodies") else MEASURE
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visionera.settings",
        "PYTHONPATH": str(PROJECT_ROOT),
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, mode, *map(str, paths)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(mode, [path.name for path in paths], f"grew {result['growth'] / 1e6:.0f} MB")
    return result


# --------------------------------------------------------------------------- builders


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(path: Path, *, bit_depth: int, color_type: int, channels: int, extra=b"") -> Path:
    """A well-formed flat PNG, its zero rows compressed as they are generated (the file is a
    few kilobytes; its pixels never exist in this process)."""
    row = b"\x00" * (1 + WIDTH * channels * bit_depth // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(HEIGHT)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", WIDTH, HEIGHT, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )
    return path


def _encoded_in_a_throwaway_process(path: Path, new_image: str, fmt: str, options) -> Path:
    # Pillow needs the whole image to encode: built in a process of its own, so that its
    # memory is not the measuring process's.
    code = (
        "import sys; from PIL import Image; "
        f"{new_image}.save(sys.argv[1], {fmt!r}, **{options!r})"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=120)
    return path


def jpeg(path: Path, mode="CMYK", size=(WIDTH, HEIGHT), **options) -> Path:
    return _encoded_in_a_throwaway_process(
        path, f"Image.new({mode!r}, {size!r})", "JPEG", {"quality": 5, **options})


def webp(path: Path, mode="RGB", size=(WIDTH, HEIGHT), **options) -> Path:
    # One colour: a few kilobytes whatever the size.
    return _encoded_in_a_throwaway_process(
        path, f"Image.new({mode!r}, {size!r}, 'teal')", "WEBP", options)


def on_wide_canvas(path: Path, fixture: str, size: tuple[int, int]) -> Path:
    """A fixture photo pasted on a flat grey canvas of ``size``: a PNG of well under a
    megabyte however many pixels. Built in a throwaway process, as ``jpeg`` is."""
    code = (
        "import sys; from PIL import Image; "
        f"canvas = Image.new('RGB', {size!r}, (128, 128, 128)); "
        f"photo = Image.open(sys.argv[2]).convert('RGB'); "
        f"canvas.paste(photo, ((canvas.width - photo.width) // 2, "
        "(canvas.height - photo.height) // 2)); "
        "canvas.save(sys.argv[1], 'PNG')"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path), str(fixture_path(fixture))], check=True, timeout=120
    )
    return path


def stretched(path: Path, fixture: str, size: tuple[int, int]) -> Path:
    """A fixture photo stretched to ``size``, as a JPEG; built in a throwaway process."""
    code = (
        "import sys; from PIL import Image; "
        f"Image.open(sys.argv[2]).convert('RGB').resize({size!r}).save(sys.argv[1], 'JPEG', "
        "quality=40)"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path), str(fixture_path(fixture))], check=True, timeout=120
    )
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    palette = _chunk(b"PLTE", bytes(range(256)) * 3) + _chunk(b"tRNS", b"\x00")
    return {
        "16-bit grey PNG": png(folder / "grey16.png", bit_depth=16, color_type=0, channels=1),
        "palette PNG with transparency": png(
            folder / "palette.png", bit_depth=8, color_type=3, channels=1, extra=palette
        ),
        "RGBA PNG": png(folder / "rgba.png", bit_depth=8, color_type=6, channels=4),
        "16-bit RGB PNG": png(folder / "rgb16.png", bit_depth=16, color_type=2, channels=3),
        "CMYK JPEG": jpeg(folder / "cmyk.jpg"),
        "lossless WebP": webp(folder / "lossless.webp", lossless=True),
    }


# --------------------------------------------------------------------------- the bound


def test_the_documented_bound_at_the_default_cap_is_under_half_a_gigabyte(settings):
    assert settings.VISIONERA_MAX_IMAGE_PIXELS == 50_000_000
    assert request_memory_bound(50_000_000) <= 450 * 1024 * 1024


@pytest.mark.parametrize(
    "kind",
    [
        "16-bit grey PNG",
        "palette PNG with transparency",
        "RGBA PNG",
        "16-bit RGB PNG",
        "CMYK JPEG",
    ],
)
def test_a_49_megapixel_bomb_stays_under_the_bound(bombs, kind):
    path = bombs[kind]
    if kind.endswith("PNG"):
        assert path.stat().st_size < 300_000  # a small upload, allowed on the free plan
    result = _measure("single", path)
    [pixels] = result["pixels"]
    assert pixels == WIDTH * HEIGHT  # decoded in full, not refused
    assert result["faces"] == [0]
    assert result["growth"] < request_memory_bound(pixels), (kind, result["growth"] / 1e6)


def _orientation_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()  # "Exif\0\0" + the TIFF structure, as a JPEG's APP1 holds it


@pytest.mark.parametrize("orientation", [6, 8])
@pytest.mark.parametrize("kind", ["RGBA PNG", "RGB JPEG"])
def test_a_49_megapixel_image_turned_by_its_exif_stays_under_the_bound(
    tmp_path, kind, orientation
):
    """Turning the array used to happen while Pillow's decoded image was still referenced:
    measured before the fix, orientations 6 and 8 grew the process by 483 / 507 MB (RGB
    JPEG) and 497 / 497 MB (RGBA PNG) against a bound of 446 MB; 354 to 366 MB now."""
    exif = _orientation_exif(orientation)
    if kind == "RGBA PNG":
        path = png(tmp_path / "turned.png", bit_depth=8, color_type=6, channels=4,
                   extra=_chunk(b"eXIf", exif[len(b"Exif\0\0"):]))
    else:
        path = jpeg(tmp_path / "turned.jpg", "RGB", exif=exif)
    with Image.open(path) as opened:
        assert opened.getexif()[0x0112] == orientation
    result = _measure("single", path)
    [pixels] = result["pixels"]
    assert pixels == WIDTH * HEIGHT
    assert result["faces"] == [0]
    assert result["growth"] < request_memory_bound(pixels), (kind, result["growth"] / 1e6)


@pytest.mark.parametrize("mode, options", [
    ("CMYK", {}),
    ("RGB", {"subsampling": 0}),
])
def test_a_49_megapixel_progressive_jpeg_is_refused_from_its_header(tmp_path, mode, options):
    """libjpeg holds a progressive JPEG's every coefficient (2 bytes a sample) until its last
    scan: measured before the fix, a 0.8 MB progressive CMYK file of 49.7 MP grew the
    process by 596 MB against a bound of 448 MB. Its memory counts against the cap now."""
    path = jpeg(tmp_path / "progressive.jpg", mode, progressive=True, **options)
    assert path.stat().st_size < 2_000_000  # small enough for the free plan
    with pytest.raises(FileTooLarge, match="progressive JPEG of 8000×6213 px"):
        image_from_bytes(path.read_bytes(), max_bytes=10**9)


def _decoded_within_the_bound_it_is_counted_at(path, size, counted_at_least):
    """An image its decoder's memory counts above its pixels, yet under the cap: decoded,
    within the bound of what it is counted as."""
    with Image.open(path) as opened:
        counted = memory_pixels(opened)
    assert counted_at_least < counted <= 50_000_000
    result = _measure("single", path)
    assert result["pixels"] == [size[0] * size[1]]
    assert result["growth"] < request_memory_bound(counted), result["growth"] / 1e6


def test_a_progressive_jpeg_under_the_cap_stays_under_its_bound(tmp_path):
    path = jpeg(tmp_path / "progressive.jpg", "RGB", (7000, 4000), progressive=True,
                subsampling=0)
    # 28 MP, counted as 49 MP: decoded.
    _decoded_within_the_bound_it_is_counted_at(path, (7000, 4000), 45_000_000)


def test_a_49_megapixel_webp_is_refused_from_its_header(bombs):
    """Pillow decodes a WebP through libwebp's animation decoder, two RGBA canvases and a
    copy of the frame beside its own image: measured before the fix, this 2 KB file grew
    the process by 797 MB (16 bytes a pixel) against a bound of 446 MB. WebP counts at
    2.5 × its pixels against the cap now."""
    path = bombs["lossless WebP"]
    assert path.stat().st_size < 10_000
    with pytest.raises(FileTooLarge, match="WebP image of 8000×6213 px"):
        image_from_bytes(path.read_bytes(), max_bytes=10**9)


@pytest.mark.parametrize("mode, options", [
    ("RGBA", {"quality": 50}),  # the costliest measured: 16.4 bytes a pixel
    ("RGB", {"lossless": True}),
])
def test_a_webp_under_the_cap_stays_under_its_bound(tmp_path, mode, options):
    path = webp(tmp_path / "under.webp", mode, (5000, 3990), **options)
    # 20 MP, counted as 50 MP: decoded.
    _decoded_within_the_bound_it_is_counted_at(path, (5000, 3990), 49_000_000)


def test_batch_memory_is_one_image_not_the_sum_of_the_batch(bombs):
    """Eight 49.7 MP images in one batch: the peak stays within one image's bound (it was
    the sum: every decoded image was held until the last one was described)."""
    paths = [bombs["palette PNG with transparency"], bombs["16-bit grey PNG"]] * 4
    result = _measure("batch", *paths)
    assert result["faces"] == [0] * 8
    assert result["growth"] < request_memory_bound(WIDTH * HEIGHT), result["growth"] / 1e6


@pytest.mark.parametrize("orientation", [1, 6])
def test_compare_of_two_49_megapixel_images_stays_under_one_images_bound(tmp_path, orientation):
    """Compare held both decoded images (and described them in parallel): two 49.7 MP RGBA
    PNGs grew the process by 512 MB (495 MB with orientation 6; 549 / 635 MB on a server
    before the EXIF fix) against a bound of 446 MB. Images that do not fit the pixel cap
    together are now decoded, described and dropped one at a time."""
    extra = b"" if orientation == 1 else _chunk(
        b"eXIf", _orientation_exif(orientation)[len(b"Exif\0\0"):]
    )
    path = png(tmp_path / "rgba.png", bit_depth=8, color_type=6, channels=4, extra=extra)
    result = _measure("compare", path, path)
    assert result["pixels"] == [WIDTH * HEIGHT] * 2
    assert result["faces"] == [0, 0]
    assert result["growth"] < request_memory_bound(WIDTH * HEIGHT), result["growth"] / 1e6


def test_the_compare_endpoint_holds_both_images_only_when_they_fit_together(
    pro_client, settings
):
    """Through the API: two 12 MP PNGs. Together (24 MP) they fit the 50 MP cap and are
    decoded at once, then described in parallel, as before; under a 20 MP cap each is
    decoded, described and dropped before the other (tracemalloc's heap peak: one image)."""
    import io
    import tracemalloc

    from tests.helpers import upload

    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 120, 150)).save(buffer, format="PNG")
    one_image = 4000 * 3000 * 3

    def heap_peak_of_a_compare():
        images = {name: upload(f"{name}.png", buffer.getvalue()) for name in ("source", "target")}
        tracemalloc.start()
        try:
            response = pro_client.post("/api/faces/compare", images)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert response.status_code == 400, response.content[:300]
        assert response.json()["error"]["code"] == "no_face_detected"
        return peak

    together = heap_peak_of_a_compare()
    settings.VISIONERA_MAX_IMAGE_PIXELS = 20_000_000
    one_at_a_time = heap_peak_of_a_compare()
    print(f"compare of two 12 MP images: heap peak {together / 1e6:.0f} MB together,"
          f" {one_at_a_time / 1e6:.0f} MB one at a time")
    assert together > 2 * one_image
    assert one_at_a_time < 2 * one_image  # the image, its grey copy for the detector, strips


def test_the_batch_endpoint_decodes_one_image_at_a_time(pro_client):
    """Through the API: six 12 MP PNGs (a few KB each). tracemalloc sees numpy's buffers,
    so its peak shows how many decoded images were alive at once: one (36 MB), where the
    view used to decode all six before describing any (216 MB)."""
    import io
    import tracemalloc

    from PIL import Image

    from tests.helpers import upload

    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 120, 150)).save(buffer, format="PNG")
    one_image = 4000 * 3000 * 3
    images = [upload(f"{index}.png", buffer.getvalue()) for index in range(6)]
    tracemalloc.start()
    try:
        response = pro_client.post("/api/faces/batch-match", {"images": images})
        _, heap_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.content[:300]
    assert [image["faces_detected"] for image in response.json()["images"]] == [0] * 6
    print(f"batch of six 12 MP images: heap peak {heap_peak / 1e6:.0f} MB")
    assert heap_peak < 2 * one_image  # the image, its grey copy for the detector, strips


def test_a_huge_jpeg_in_a_batch_is_decoded_reduced_with_its_box_in_uploaded_pixels(pro_client):
    """obama.jpg enlarged 5× (4550×5685, 26 MP) is decoded at 1/2 scale by libjpeg (its
    longest side stays ≥ 2560 px); the face is found, matched to the original photo, and
    its box is reported in the uploaded image's pixels."""
    import io

    from PIL import Image

    from tests.helpers import fixture_path, upload

    original = fixture_path("faces/obama.jpg").read_bytes()
    with Image.open(io.BytesIO(original)) as photo:
        enlarged = photo.convert("RGB").resize((photo.width * 5, photo.height * 5))
    buffer = io.BytesIO()
    enlarged.save(buffer, format="JPEG", quality=85)
    response = pro_client.post(
        "/api/faces/batch-match",
        {"images": [upload("obama.jpg", original), upload("huge.jpg", buffer.getvalue())]},
    )
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    small, huge = (image["box"] for image in body["images"])
    for key in ("x", "y", "width", "height"):
        assert abs(huge[key] - 5 * small[key]) <= max(10, small["width"] * 5 // 20), (huge, small)
    assert body["pairs"][0]["match"] is True and body["pairs"][0]["distance"] < 0.3


def test_a_bomb_last_in_a_batch_is_refused_before_any_image_is_decoded(
    pro_client, settings, monkeypatch
):
    """Headers are checked while the request is validated, so the batch's good images are
    not decoded and described only to be thrown away when the last one is refused."""
    import io

    from PIL import Image

    from tests.helpers import upload
    from visionera.api import uploads

    decoded = []
    real_rgb_array = uploads._rgb_array
    monkeypatch.setattr(
        uploads, "_rgb_array", lambda image: decoded.append(image.size) or real_rgb_array(image)
    )
    settings.VISIONERA_MAX_IMAGE_PIXELS = 4_000_000
    good, bomb = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(good, format="PNG")
    Image.new("L", (4000, 4000), 0).save(bomb, format="PNG")
    images = [upload(f"{index}.png", good.getvalue()) for index in range(3)]
    images.append(upload("bomb.png", bomb.getvalue()))
    response = pro_client.post("/api/faces/batch-match", {"images": images})
    assert response.status_code == 413, response.content[:300]
    assert response.json()["error"]["code"] == "file_too_large"
    assert "4000×4000 px (16.0 megapixels)" in response.json()["error"]["message"]
    assert decoded == []


# --------------------------------------------------------------------------- the engines
# Vehicles and bodies each hand a model a square: the detector's input with the image's
# proportions kept, MoveNet's crop around a person. Made at full resolution, its side is
# the image's longer one (or the person's height), so its memory grew with max(w, h)²
# rather than with the pixels the cap counts: very wide or tall images within the cap.
WIDE = (20000, 2480)  # 49.6 megapixels


def test_a_car_on_a_very_wide_canvas_stays_under_the_bound(tmp_path):
    """plate_car.png on a 20000×2480 grey canvas: its car is a look-alike (car, truck,
    bus), so the type is settled by a pass on the image padded to a square, which was
    20000² × 3 bytes (measured through the API before the fix: 1293 MB)."""
    path = on_wide_canvas(tmp_path / "wide_car.png", "objects/plate_car.png", WIDE)
    assert path.stat().st_size < 2_000_000  # a small upload, allowed on the free plan
    result = _measure("vehicles", path)
    assert result["pixels"] == [WIDE[0] * WIDE[1]]
    # A car, truck or bus was found, so settle_types ran its pass on the square.
    counts = result["answer"]["counts"]
    assert sum(counts.get(kind, 0) for kind in ("car", "truck", "bus")) >= 1, counts
    assert result["growth"] < request_memory_bound(WIDE[0] * WIDE[1]), result["growth"] / 1e6


def test_a_person_stretched_very_tall_stays_under_the_bound(tmp_path):
    """person.jpg stretched to 2480×20000: MoveNet's square around the person has the
    person's height plus margin as its side, and was cut at full resolution (measured
    through the API before the fix: a person box 13014 px tall, 1125 MB)."""
    tall = WIDE[::-1]
    path = stretched(tmp_path / "tall_person.jpg", "objects/person.jpg", tall)
    assert path.stat().st_size < 2_000_000  # a small upload, allowed on the free plan
    result = _measure("bodies", path)
    assert result["pixels"] == [tall[0] * tall[1]]
    people = result["answer"]["people"]
    assert people and max(person["box"]["height"] for person in people) > tall[0], people
    assert result["growth"] < request_memory_bound(tall[0] * tall[1]), result["growth"] / 1e6
