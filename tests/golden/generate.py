"""Regenerates every golden file: /usr/bin/python3 tests/golden/generate.py

Each gen_<area>.py module in this folder defines main(); this runs them all.
"""
import glob
import importlib.util
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
for path in sorted(glob.glob(os.path.join(here, "gen_*.py"))):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main()
    print("wrote goldens of", os.path.basename(path))
