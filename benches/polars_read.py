#!/usr/bin/env python3
"""Times a plain polars read of every table of a dataset folder (the bar for wagewatch's ingest).

    python3 benches/polars_read.py DATASET [--repeat 3]

Prints one line per repeat, the best wall time, and the peak RSS of this process.
"""
import glob
import os
import resource
import sys
import time

import polars as pl


def read_all(dataset):
    rows = 0
    for path in sorted(glob.glob(os.path.join(dataset, "*.parquet"))):
        rows += pl.read_parquet(path).height
    for path in sorted(glob.glob(os.path.join(dataset, "*.csv"))):
        rows += pl.read_csv(path, infer_schema_length=0).height
    return rows


def main():
    dataset = sys.argv[1]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        rows = read_all(dataset)
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
        print(f"polars read {rows} rows in {took:.3f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"polars best {best:.3f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
