#!/usr/bin/env python3
"""Regenerate ``src/eks_gpu/catalog/data/zone_offerings.json``: each region's zones and which
of them offer each GPU instance type the catalog knows.

Why: without ``eks-gpu catalog refresh`` (which needs the user's AWS credentials) the only
zones eks-gpu knew were us-east-1a/b/c, so ``plan --region us-west-2`` placed nodes in
us-east-1a. AWS's facts for every region come with moto: its
``moto/ec2/resources/instance_type_offerings/availability-zone/<region>.json.gz`` files are
DescribeInstanceTypeOfferings(LocationType=availability-zone) answers, one per region,
recorded by moto's maintainers from one AWS account (zone *names* map to physical zones per
account, so "us-west-2d offers p5" is that account's view; the set of types a region offers
is not).

Input: the installed moto package (or ``--moto-dir``), and the GPU type names of the
committed ``gpu_instance_types.json``. Output, kept small: every region's zones (from all of
its offerings, CPU types included), and per GPU type the zone letters that offer it
(``"g5.xlarge": "abcd"`` = us-west-2a..d); a GPU type absent from a region is not offered
there. The header names moto, its version and the date.

Deterministic: :func:`build_document` and :func:`render` are pure, sorted and independent of
input order. :func:`main` keeps the committed file's date when nothing else changed, so a
rerun on the same moto rewrites the same bytes.

Usage: python scripts/gen_offerings.py [--moto-dir DIR] [--date YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "eks_gpu" / "catalog" / "data"
OUTPUT = DATA / "zone_offerings.json"
MOTO_SUBDIR = Path("ec2") / "resources" / "instance_type_offerings" / "availability-zone"
FORMAT = 1
ZONE = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)(?P<letter>[a-z])")


def zone_letter(region: str, location: str) -> str:
    """The letter of ``location`` in ``region`` (``us-west-2b`` -> ``b``); anything else
    (a Local Zone, another region) is a ValueError, so the file never holds a guess."""
    match = ZONE.fullmatch(location)
    if match is None or match["region"] != region:
        raise ValueError(f"{location!r} is not an availability zone of {region}")
    return match["letter"]


def region_entry(rows: Iterable[Mapping[str, str]], region: str, gpu_types: set[str]) -> Any:
    """One region: all of its zones, and the zone letters of each GPU type it offers."""
    zones: set[str] = set()
    offered: dict[str, set[str]] = {}
    for row in rows:
        letter = zone_letter(region, row["Location"])
        zones.add(letter)
        if row["InstanceType"] in gpu_types:
            offered.setdefault(row["InstanceType"], set()).add(letter)
    return {
        "zones": "".join(sorted(zones)),
        "gpu_types": {name: "".join(sorted(letters)) for name, letters in sorted(offered.items())},
    }


def build_document(
    offerings: Mapping[str, Iterable[Mapping[str, str]]],
    gpu_types: Iterable[str],
    moto_version: str,
    date: str,
) -> dict[str, Any]:
    """The file's content from region -> moto offering rows (pure)."""
    wanted = set(gpu_types)
    return {
        "format": FORMAT,
        "source": (
            f"moto {moto_version}: moto/{MOTO_SUBDIR.as_posix()}/<region>.json.gz "
            "(EC2 DescribeInstanceTypeOfferings, LocationType=availability-zone, as recorded "
            "by moto from one AWS account), GPU types of gpu_instance_types.json only"
        ),
        "moto_version": moto_version,
        "date": date,
        "generator": "scripts/gen_offerings.py",
        "regions": {
            region: region_entry(rows, region, wanted) for region, rows in sorted(offerings.items())
        },
    }


def render(document: Mapping[str, Any]) -> str:
    """The file's text: the header keys one per line, then one line per region."""
    lines = ["{"]
    for key, value in document.items():
        if key != "regions":
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines.append('  "regions": {')
    regions = list(document["regions"].items())
    for index, (region, entry) in enumerate(regions):
        comma = "," if index < len(regions) - 1 else ""
        lines.append(f"    {json.dumps(region)}: {json.dumps(entry, sort_keys=True)}{comma}")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def read_moto(moto_dir: Path) -> dict[str, list[dict[str, str]]]:
    """region -> moto's availability-zone offering rows."""
    folder = moto_dir / MOTO_SUBDIR
    files = sorted(folder.glob("*.json.gz"))
    if not files:
        raise SystemExit(f"no offering files under {folder}: is moto installed?")
    return {
        path.name.removesuffix(".json.gz"): json.loads(gzip.decompress(path.read_bytes()))
        for path in files
    }


def catalog_gpu_types() -> list[str]:
    """The GPU types the committed catalog knows."""
    document = json.loads((DATA / "gpu_instance_types.json").read_text())
    return [row["instance_type"] for row in document["instance_types"]]


def main(argv: list[str] | None = None) -> int:
    import importlib.metadata

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto-dir", type=Path, help="moto's package folder")
    parser.add_argument("--date", help="date in the header (default: today, or kept)")
    args = parser.parse_args(argv)
    if args.moto_dir is None:
        import moto

        args.moto_dir = Path(moto.__file__).parent
    version = importlib.metadata.version("moto")
    offerings, gpu_types = read_moto(args.moto_dir), catalog_gpu_types()
    old = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else None
    date = args.date or (old or {}).get("date") or datetime.date.today().isoformat()
    text = render(build_document(offerings, gpu_types, version, date))
    if old is not None and args.date is None and text != OUTPUT.read_text():
        date = datetime.date.today().isoformat()  # the content changed: date it today
        text = render(build_document(offerings, gpu_types, version, date))
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(offerings)} regions, moto {version}, {date}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
