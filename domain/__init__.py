"""The pure domain: facts, the lifecycle fold, what each person contributes to the figures,
and the person timeline. No I/O; imports only `schemas` (tests/unit/test_layering.py).
"""
