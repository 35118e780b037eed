"""Typed errors of the inference core; every message names the input and the fix."""


class FerError(Exception):
    """Base class of every error the inference core raises on purpose."""


class InputError(FerError, ValueError):
    """An image, box or setting handed to the core is not usable."""


class ModelError(FerError, RuntimeError):
    """A model bundle, network file or engine cannot be loaded or used."""


class ConfigError(FerError, ValueError):
    """A configuration value (YAML, CLI or ROS parameter) is out of range or unknown."""
