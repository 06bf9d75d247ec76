"""The sandbox's generated organisations, one module each; generator.py is the entry point."""
