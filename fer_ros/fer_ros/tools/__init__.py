"""Programs beside the library: the demo, the DDS delivery check and build-engine.

They may use every layer (core, ros, bag, files); nothing in the library imports them.
"""
