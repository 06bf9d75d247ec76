"""Plain-English explanations of material variances, built only from synced data.

facts.py holds what a narrative may cite, local.py the deterministic default generator, and
provider.py the generator interface with an optional OpenAI-compatible chat provider.
"""
