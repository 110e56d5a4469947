"""The local stand-in for the Cartesi node: its rollup HTTP server for now, the rest later."""
