"""Python tests (model architecture, export, reference). Run from the repo root:
/usr/bin/python3 -m unittest discover -s tests/python -t ."""
