"""The velikey-e2e command line (placeholder until the CLI lands)."""


def main() -> None:
    raise SystemExit("velikey-e2e: not yet implemented")
