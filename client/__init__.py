"""The Python client of streamdex (web3): deposit, act, inspect, list outputs, execute vouchers."""
