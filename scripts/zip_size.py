"""Prints the size of each binary and of the Lambda zip it would ship in (bootstrap, deflate -9).

Usage: zip_size.py <binary>...  (used by coldstart.sh and measure-prometheus.sh)
"""
import os
import sys
import tempfile
import zipfile

for path in sys.argv[1:]:
    with tempfile.TemporaryDirectory() as d:
        z = os.path.join(d, "bootstrap.zip")
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as f:
            f.write(path, "bootstrap")
        name = os.path.basename(path)
        print(f"{name:<24} bootstrap {os.path.getsize(path) / 1048576:.2f} MB, zip {os.path.getsize(z) / 1048576:.2f} MB")
