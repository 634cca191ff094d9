"""Generated stubs for the stevedore.v1 API (proto/stevedore/v1).

Every other module in this package is written by scripts/gen.sh; do not edit them.
"""
