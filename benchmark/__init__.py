"""Speed and size of streamdex against the DESIGN.md targets: `python -m benchmark --help`."""
