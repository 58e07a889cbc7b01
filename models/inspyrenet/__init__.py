"""InSPyReNet (Swin-B) for cutout: architecture, checkpoint loading and TorchScript export."""
from .model import BASE_SIZES, MODE_BY_SIZE, InSPyReNetSwinB

__all__ = ["InSPyReNetSwinB", "BASE_SIZES", "MODE_BY_SIZE"]
