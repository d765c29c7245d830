"""The bottom package: what every layer shares and nothing of ours is needed for.

``core.settings`` holds ``Settings`` (``GUIDELINE_*`` environment variables) and
``load_settings``; ``core.errors`` holds the product's error hierarchy. ``ingest``,
``assistant``, ``evals`` and ``ui`` import both from here; ``core`` imports no
package of ours (tests/test_layering.py checks it).
"""
