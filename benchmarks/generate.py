"""Time the planted-data generator. Budget (issue 2): 1M patients in <= 5 minutes."""

from __future__ import annotations

import shutil

from _common import ROOT, data_arguments, data_dir, measure, report

CODE = """
import json
from graphdetect.synth import generate
info = generate({out!r}, patients={patients}, seed={seed}, fmt={fmt!r})
print(json.dumps({{k: v for k, v in info.items() if isinstance(v, int)}}))
"""


def main() -> None:
    args = data_arguments(__doc__, 1_000_000)
    out = data_dir(args.patients, args.format, args.seed)
    shutil.rmtree(out, ignore_errors=True)
    ROOT.mkdir(parents=True, exist_ok=True)
    figures = measure(CODE.format(out=str(out), patients=args.patients, seed=args.seed,
                                  fmt=args.format))
    report(f"generate {args.patients:,} patients ({args.format}) -> {out}", figures,
           {"wall_s": 300})


if __name__ == "__main__":
    main()
